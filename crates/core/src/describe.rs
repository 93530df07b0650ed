//! Stage 8: saying what each cluster is about.
//!
//! Top terms by class-based TF-IDF (c-TF-IDF, as BERTopic uses) times the
//! term's concentration: all texts of a cluster form one document; a term's
//! weight is its frequency in the cluster times `ln(1 + A / f_t)`, with `A`
//! the mean number of words per cluster and `f_t` the term's frequency over
//! all clusters, times the share of the term's occurrences that fall in
//! this cluster. With few clusters the logarithm hardly separates a word
//! every cluster uses from one cluster's own ("said" and "reuters" named
//! three of agnews' four clusters); the share does
//! (docs/quality.md#cluster-names). A term must also occur in at least two
//! of the cluster's texts and in 1% of them (or in `--min-term-freq` of them): a word seen
//! once scores `ln(1 + A)`, above most repeated words, so without the floor
//! a cluster of texts that share no content word (trec's "What is a wop ?")
//! was named after whichever singletons sort first. Such a cluster keeps
//! only the terms it shares (its lead term), or none. The suggested name
//! joins the top three terms that do not repeat each other's words. The
//! most representative texts are those with the highest score (the cluster
//! classifier's probability, or the soft assignment to the centroid).
//!
//! Which words may describe a cluster ([`DescribeConfig`], [`text_terms`])
//! is decided here and nowhere else: not the clustering's features, which
//! keep what helps to cluster (punctuation in Chinese titles, numbers), but
//! words a person would use for a label. Stop words (the built-in English
//! and Chinese lists and the user's), markup that real corpora carry (HTML
//! entities cut into "lt", "quot", "39"), tokens without a letter (plain
//! numbers), placeholders such as `<url>`, and single Chinese characters
//! where the pipeline cuts words (photo captions' 图) never name a cluster.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::features::stopwords::is_stop_word;
use crate::text::segment::is_han;

/// Which terms describe clusters. Defaults: [`DescribeConfig::default`]
/// (in `model::config`, beside every other default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribeConfig {
    /// Leave out the built-in stop words and markup words.
    pub default_stop_words: bool,
    /// The user's words that never describe a cluster (`--stop-words FILE`),
    /// lowercase.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_words: Vec<String>,
    /// A term must occur in at least this many of a cluster's texts (none:
    /// two, or 1% of the cluster's texts where that is more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_term_freq: Option<usize>,
    /// Shortest and longest term n-grams (`--term-ngrams 1-2`): an n-gram is
    /// n neighbouring words that may each describe a cluster.
    pub ngrams: (usize, usize),
}

/// Words of web and news markup that describe nothing: HTML entities' names
/// (left as words when a corpus holds `&lt;` or agnews' `quot;`), URL parts,
/// and Chinese news captions' "photo" words. General knowledge, not read
/// off any corpus's labels.
pub const MARKUP: &[&str] = &[
    "lt", "gt", "amp", "quot", "apos", "nbsp", "http", "https", "www", "com", "html", "htm",
    "href", "img", "src", "br", "rel", "nofollow", "lrb", "rrb", "lsb", "rsb", "组图", "附图",
    "图文", "高清", "图片", "视频", "图集",
];

/// English stop words as people type them without the apostrophe, which
/// the built-in list (with it) misses.
pub const INFORMAL: &[&str] = &[
    "im", "ive", "id", "ill", "dont", "doesnt", "didnt", "cant", "couldnt", "wont", "wouldnt",
    "isnt", "wasnt", "arent", "youre", "theyre", "thats", "whats", "theres",
];

/// Whether one pipeline token may describe a cluster under `cfg`;
/// `han_words`: Chinese is cut into words (single characters then say too little).
pub fn describes(token: &str, cfg: &DescribeConfig, han_words: bool) -> bool {
    if !token.chars().any(char::is_alphabetic) || (token.starts_with('<') && token.ends_with('>')) {
        return false;
    }
    let chars = token.chars().count();
    let han = token.chars().all(is_han);
    if chars < 2 && (han_words || !han) {
        return false;
    }
    if cfg.default_stop_words
        && (is_stop_word(token) || MARKUP.contains(&token) || INFORMAL.contains(&token))
    {
        return false;
    }
    !cfg.stop_words.iter().any(|s| s == token)
}

/// The terms of one text that may describe its cluster: its lead terms
/// (`^what`, kept from the features, where the model has them), then every
/// n-gram of neighbouring describing tokens (Chinese words joined without a
/// space, others with one; a possessive's "'s" dropped).
pub fn text_terms(
    tokens: &[String],
    lead: &[String],
    cfg: &DescribeConfig,
    han_words: bool,
) -> Vec<String> {
    // A possessive names what it belongs to: "scala's" counts as "scala".
    let tokens: Vec<String> = tokens
        .iter()
        .map(|t| {
            let bare = t.strip_suffix("'s").or_else(|| t.strip_suffix("’s"));
            bare.filter(|b| !b.is_empty()).unwrap_or(t).to_string()
        })
        .collect();
    let ok: Vec<bool> = tokens
        .iter()
        .map(|t| describes(t, cfg, han_words))
        .collect();
    let mut out: Vec<String> = lead.to_vec();
    let (lo, hi) = (cfg.ngrams.0.max(1), cfg.ngrams.1.max(cfg.ngrams.0.max(1)));
    for n in lo..=hi {
        for i in 0..tokens.len().saturating_sub(n - 1) {
            if !ok[i..i + n].iter().all(|&b| b) {
                continue;
            }
            let mut term = tokens[i].clone();
            for w in &tokens[i + 1..i + n] {
                let han = |s: &str| s.chars().last().is_some_and(is_han);
                if !(han(&term) && w.chars().next().is_some_and(is_han)) {
                    term.push(' ');
                }
                term.push_str(w);
            }
            if n == 1 || !cfg.stop_words.contains(&term) {
                out.push(term);
            }
        }
    }
    out
}

/// The words (or phrases) of a user's stop-word file: one per line, `#`
/// comments and blank lines ignored, lowercased as terms are, inner spaces
/// collapsed so that "credit  card" matches the term "credit card".
pub fn parse_stop_words(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            line.split('#')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// A term's tally within one cluster.
#[derive(Clone, Copy)]
struct Term {
    count: f64,
    texts: usize,
    last: usize,
}

/// Top `top` terms per cluster by c-TF-IDF, with weights; `words[i]` are
/// text i's terms ([`text_terms`]), `labels[i]` its cluster. Terms found in
/// fewer than `min_texts` (none: `max(2, ceil(1%))`) of the cluster's texts
/// are left out, so a list may be shorter than `top`, or empty.
pub fn class_tfidf(
    words: &[Vec<String>],
    labels: &[usize],
    k: usize,
    top: usize,
    min_texts: Option<usize>,
) -> Vec<Vec<(String, f32)>> {
    // Per cluster and term: its count, how many texts hold it, and the last
    // text that counted (so a word repeated inside one text counts it once).
    let mut per: Vec<HashMap<&str, Term>> = vec![HashMap::new(); k];
    let mut all: HashMap<&str, f64> = HashMap::new();
    let mut sizes = vec![0f64; k];
    let mut texts = vec![0usize; k];
    for (i, (doc, &l)) in words.iter().zip(labels).enumerate() {
        texts[l] += 1;
        // Punctuation may help clustering (Chinese titles) but names nothing.
        for w in doc.iter().filter(|w| w.chars().any(char::is_alphanumeric)) {
            let t = per[l].entry(w).or_insert(Term {
                count: 0.0,
                texts: 0,
                last: usize::MAX,
            });
            t.count += 1.0;
            if t.last != i {
                t.last = i;
                t.texts += 1;
            }
            *all.entry(w).or_insert(0.0) += 1.0;
            sizes[l] += 1.0;
        }
    }
    let avg = sizes.iter().sum::<f64>() / k.max(1) as f64;
    per.iter()
        .enumerate()
        .map(|(c, counts)| {
            let floor = min_texts
                .unwrap_or_else(|| 2.max(texts[c].div_ceil(100)))
                .max(1);
            let mut scored: Vec<(&str, f64)> = counts
                .iter()
                .filter(|(_, s)| s.texts >= floor)
                .map(|(&t, s)| {
                    (
                        t,
                        s.count / sizes[c].max(1.0)
                            * (1.0 + avg / all[t]).ln()
                            * (s.count / all[t]),
                    )
                })
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            scored
                .into_iter()
                .take(top)
                .map(|(t, s)| (t.to_string(), s as f32))
                .collect()
        })
        .collect()
}

/// A name from the top terms: the first three that share no word with a
/// term already taken ("credit card" then not "card"), joined by "/", lead
/// terms read as words ("^how_many" as "how many…"); `cluster-ID` without terms.
pub fn suggest_name(id: usize, top_terms: &[String]) -> String {
    let mut taken: Vec<String> = Vec::new();
    for t in top_terms {
        let shown = match t.strip_prefix('^') {
            Some(lead) => format!("{}…", lead.replace('_', " ")),
            None => t.clone(),
        };
        let words = |s: &str| -> Vec<String> {
            s.trim_end_matches('…')
                .split(' ')
                .map(String::from)
                .collect()
        };
        let han = |s: &str| s.chars().all(is_han);
        let overlaps = taken.iter().any(|o| {
            words(o).iter().any(|w| words(&shown).contains(w))
                || (han(o) && han(&shown) && (o.contains(&shown) || shown.contains(o.as_str())))
        });
        if !overlaps {
            taken.push(shown);
        }
        if taken.len() == 3 {
            break;
        }
    }
    if taken.is_empty() {
        format!("cluster-{id}")
    } else {
        taken.join("/")
    }
}

/// Indices of the `n` highest-scoring texts of each cluster, best first.
pub fn representatives(labels: &[usize], scores: &[f32], k: usize, n: usize) -> Vec<Vec<usize>> {
    let mut by = crate::rows::ranked_by_class(labels, scores, k);
    by.iter_mut().for_each(|list| list.truncate(n));
    by
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_tfidf_prefers_distinctive_terms() {
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let words = vec![
            w("goal match team common"),
            w("goal team match common"),
            w("bank loan stock common"),
            w("bank stock loan common"),
        ];
        let top = class_tfidf(&words, &[0, 0, 1, 1], 2, 2, None);
        assert_eq!(top[0][0].0, "goal");
        assert_eq!(top[1][0].0, "bank");
        assert!(top[0].iter().all(|(t, _)| t != "common" && t != ","));
        assert_eq!(suggest_name(0, &[]), "cluster-0");
        assert_eq!(
            representatives(&[0, 0, 1], &[0.2, 0.9, 0.5], 2, 1),
            vec![vec![1], vec![2]]
        );
    }

    #[test]
    fn class_tfidf_drops_terms_that_one_text_holds() {
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        // Cluster 0: "what is X?" with a different rare X each time, one word
        // ("laser") in two texts, and one repeated inside a single text.
        let mut words = vec![
            w("^what wop"),
            w("^what tmj"),
            w("^what dsl dsl"),
            w("^what laser"),
            w("^what laser urologist"),
        ];
        let mut labels = vec![0; words.len()];
        for t in ["^who first president", "^who first wrote", "^who wrote"] {
            words.push(w(t));
            labels.push(1);
        }
        let top = class_tfidf(&words, &labels, 2, 10, None);
        let terms = |c: usize| top[c].iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>();
        // "dsl" twice in one text still counts one text: left out.
        assert_eq!(terms(0), vec!["^what", "laser"]);
        assert_eq!(terms(1), vec!["^who", "first", "wrote"]);
        // A cluster whose texts share nothing gets no terms and a plain name.
        let top = class_tfidf(&[w("wop"), w("tmj")], &[0, 0], 1, 5, None);
        assert!(top[0].is_empty());
        assert_eq!(suggest_name(3, &[]), "cluster-3");
    }

    #[test]
    fn descriptions_leave_out_markup_numbers_and_single_han_characters() {
        let cfg = DescribeConfig {
            default_stop_words: true,
            stop_words: parse_stop_words("# mine\nApple\n\ncredit   card  # a phrase\n"),
            min_term_freq: None,
            ngrams: (1, 2),
        };
        assert_eq!(cfg.stop_words, vec!["apple", "credit card"]);
        let t = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let terms = text_terms(
            &t("apple inc . & lt ; aapl.o & gt ; said # 39 ; 2004 quot <url> credit card bank's"),
            &["^apple".to_string()],
            &cfg,
            true,
        );
        assert_eq!(
            terms,
            vec![
                "^apple",
                "inc",
                "aapl.o",
                "said",
                "credit",
                "card",
                "bank",
                "card bank"
            ]
        );
        // Chinese: 图 alone and caption words go; words join without a space.
        let zh = text_terms(&t("组图 : 图 人民 银行 降息"), &[], &cfg, true);
        assert_eq!(zh, vec!["人民", "银行", "降息", "人民银行", "银行降息"]);
        // Cut into characters, single characters are all there is.
        assert_eq!(
            text_terms(&t("图 书"), &[], &cfg, false),
            vec!["图", "书", "图书"]
        );
        let plain = DescribeConfig {
            default_stop_words: false,
            ngrams: (1, 1),
            ..cfg
        };
        assert_eq!(
            text_terms(&t("the lt bank"), &[], &plain, true),
            vec!["the", "lt", "bank"]
        );
    }

    #[test]
    fn names_skip_terms_that_repeat_a_word_and_read_lead_terms() {
        let s = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert_eq!(
            suggest_name(
                0,
                &s(&["credit card", "card", "credit", "party", "art", "fee"])
            ),
            "credit card/party/art"
        );
        assert_eq!(
            suggest_name(1, &s(&["^how_many", "people"])),
            "how many…/people"
        );
        assert_eq!(
            suggest_name(2, &s(&["人民银行", "银行", "降息"])),
            "人民银行/降息"
        );
        // --min-term-freq 1 keeps a term one text holds.
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let top = class_tfidf(&[w("wop"), w("tmj")], &[0, 0], 1, 5, Some(1));
        assert_eq!(top[0].len(), 2);
    }
}

//! TF-IDF document vectors, as scikit-learn's `TfidfVectorizer` computes them.
//!
//! tf is the count of a term in the document (or `1 + ln(count)` with
//! `sublinear_tf`), idf is `ln((1 + n) / (1 + df)) + 1` (smoothed), each row is
//! L2-normalized. Tokens come from the text pipeline, so Chinese is cut into
//! jieba words; single-letter Latin words and stop words are dropped, as
//! scikit-learn's default token pattern and `stop_words="english"` do.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::stopwords::is_stop_word;
use super::Csr;
use crate::text::segment::{is_han, Token, TokenKind};
use crate::text::TextPipeline;

/// TF-IDF settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TfidfConfig {
    /// Use `1 + ln(tf)` instead of the raw count. Default true.
    pub sublinear_tf: bool,
    /// Drop terms found in fewer documents. Default 2.
    pub min_df: usize,
    /// Drop terms found in more than this fraction of documents. Default 1.0 (keep all).
    pub max_df: f64,
    /// Drop English and Chinese stop words. Default true.
    pub stop_words: bool,
    /// Drop non-Han words with fewer characters. Default 2.
    pub min_word_chars: usize,
    /// Whether punctuation tokens are terms. Default [`Punctuation::Auto`].
    pub punctuation: Punctuation,
    /// Negation scope: after a negator (not, never, n't, 不, 没有, ...) the
    /// next this many terms of the same clause are marked with
    /// [`NEGATED`] ("¬good" is another term than "good"), so that bag-of-words
    /// features keep what a negation does to polarity. 0 (off) in models
    /// written before it existed.
    #[serde(default)]
    pub negation: usize,
    /// Lead terms: "^w1", "^w1_w2", ... for the first this many words of the
    /// text (stop words included), so that how a text opens is a feature:
    /// question types ("^who", "^how_many") rather than topics. 0 (off) is
    /// the default and what older models load with.
    #[serde(default)]
    pub lead: usize,
}

impl TfidfConfig {
    /// The default negation scope for a corpus: 3 when most texts contain
    /// Chinese (jieba cuts 不好吃 into 不 + 好吃) or with two seed classes (a
    /// negated seed counts for the other pole), 0 otherwise, where it measured
    /// worse (docs/defaults.md#negation).
    pub fn negation_for(mostly_chinese: bool, seed_classes: Option<usize>) -> usize {
        if seed_classes == Some(2) || mostly_chinese {
            3
        } else {
            0
        }
    }
}

impl TfidfConfig {
    /// The default lead for a corpus whose texts open with `openings`
    /// effective distinct words ([`opening_words`]): 1 when that is between
    /// [`FEW_OPENINGS`]'s bounds (as questions open with what / how / who /
    /// where: a small closed set of openings is structure, not topic), 0
    /// otherwise (docs/defaults.md#lead).
    pub fn lead_for(openings: f64) -> usize {
        usize::from((FEW_OPENINGS.0..=FEW_OPENINGS.1).contains(&openings))
    }
}

/// The range of effective opening words ([`opening_words`]) in which
/// [`TfidfConfig::lead_for`] turns lead terms on; where the bounds come
/// from: docs/defaults.md#lead.
pub const FEW_OPENINGS: (f64, f64) = (3.0, 63.0);

/// Characters of each text that [`opening_words`] cuts: enough for the
/// first word, without segmenting whole documents.
const OPENING_CHARS: usize = 64;

/// The effective number of distinct opening words of a corpus: `exp` of the
/// entropy of its texts' first word (as `pipeline` cuts it, punctuation
/// aside; texts without a word do not count). 1 when every text opens with
/// the same word, the number of distinct words when they are equally
/// frequent; 0 for a corpus without words.
pub fn opening_words(pipeline: &TextPipeline, texts: &[&str]) -> f64 {
    let counts = count_words(texts, |t, m| {
        let end = t
            .char_indices()
            .nth(OPENING_CHARS)
            .map_or(t.len(), |(i, _)| i);
        if let Some(tk) = pipeline
            .tokenize(&t[..end])
            .into_iter()
            .find(|tk| tk.kind != TokenKind::Punct)
        {
            *m.entry(tk.text).or_insert(0) += 1;
        }
    });
    let total: usize = counts.values().sum();
    if total == 0 {
        return 0.0;
    }
    // Summed in a fixed order: the decision must not depend on the map's.
    let mut c: Vec<usize> = counts.into_values().collect();
    c.sort_unstable();
    let h: f64 = c
        .iter()
        .map(|&x| {
            let p = x as f64 / total as f64;
            -p * p.ln()
        })
        .sum();
    h.exp()
}

/// The prefix of a term inside a negation's scope.
pub const NEGATED: char = '¬';

pub use crate::text::negation::is_negator;

/// Punctuation as TF-IDF terms.
///
/// Kept for Chinese, where it helps, and dropped for English, where it
/// hurts (docs/defaults.md#punctuation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Punctuation {
    /// Never a term.
    Drop,
    /// Always a term.
    Keep,
    /// A term when most texts of the corpus contain Chinese.
    Auto,
}

impl Default for TfidfConfig {
    fn default() -> Self {
        TfidfConfig {
            sublinear_tf: true,
            min_df: 2,
            max_df: 1.0,
            stop_words: true,
            min_word_chars: 2,
            punctuation: Punctuation::Auto,
            negation: 0,
            lead: 0,
        }
    }
}

/// A fitted TF-IDF model.
#[derive(Clone, Debug)]
pub struct Tfidf {
    /// Settings it was fitted with.
    pub config: TfidfConfig,
    /// The text pipeline that produced the terms.
    pub pipeline: TextPipeline,
    /// Terms in column order (sorted).
    pub terms: Vec<String>,
    /// idf of each column.
    pub idf: Vec<f32>,
    index: HashMap<String, u32>,
}

impl Tfidf {
    /// The analyzer: pipeline tokens filtered by the config (`Auto` punctuation counts as `Drop` here;
    /// [`fit_transform`](Self::fit_transform) resolves it for the corpus).
    pub fn analyze(pipeline: &TextPipeline, cfg: &TfidfConfig, text: &str) -> Vec<String> {
        Self::terms_of(cfg, pipeline.tokenize(text))
    }

    /// The analyzer's filter on tokens already cut by the pipeline. With a
    /// negation scope, the terms after a negator are marked (see
    /// [`TfidfConfig::negation`]); punctuation ends the scope.
    pub fn terms_of(cfg: &TfidfConfig, tokens: Vec<Token>) -> Vec<String> {
        let punct = cfg.punctuation == Punctuation::Keep;
        let mut scope = 0usize;
        let mut out = Vec::with_capacity(tokens.len() + cfg.lead);
        if cfg.lead > 0 {
            let mut lead = String::from("^");
            for (i, t) in tokens
                .iter()
                .filter(|t| t.kind != TokenKind::Punct)
                .take(cfg.lead)
                .enumerate()
            {
                if i > 0 {
                    lead.push('_');
                }
                lead.push_str(&t.text);
                out.push(lead.clone());
            }
        }
        for t in tokens {
            if cfg.negation > 0 {
                if t.kind == TokenKind::Punct {
                    scope = 0;
                } else if is_negator(&t.text) {
                    // The negator itself is a term unless it is a stop word
                    // ("not" is; 不 and "never" are not).
                    scope = cfg.negation;
                    if !(cfg.stop_words && is_stop_word(&t.text)) {
                        out.push(t.text);
                    }
                    continue;
                }
            }
            let keep = match t.kind {
                TokenKind::Punct => punct,
                TokenKind::Han => true,
                _ => t.text.chars().count() >= cfg.min_word_chars,
            };
            if !keep || (cfg.stop_words && is_stop_word(&t.text)) {
                continue;
            }
            if scope > 0 {
                // (punctuation reset the scope above, so this is a word)
                scope -= 1;
                let mut m = String::with_capacity(t.text.len() + NEGATED.len_utf8());
                m.push(NEGATED);
                m.push_str(&t.text);
                out.push(m);
            } else {
                out.push(t.text);
            }
        }
        out
    }

    /// `cfg` with `Auto` punctuation resolved for this corpus: kept when most texts contain Chinese.
    pub fn resolve_config(cfg: &TfidfConfig, texts: &[&str]) -> TfidfConfig {
        let mut cfg = cfg.clone();
        if cfg.punctuation == Punctuation::Auto {
            cfg.punctuation = if mostly_chinese(texts) {
                Punctuation::Keep
            } else {
                Punctuation::Drop
            };
        }
        cfg
    }

    /// Fit on `texts` and return the model and the document-term matrix.
    pub fn fit_transform(
        texts: &[&str],
        pipeline: &TextPipeline,
        cfg: &TfidfConfig,
    ) -> (Tfidf, Csr) {
        let cfg = Self::resolve_config(cfg, texts);
        let docs: Vec<Vec<String>> = texts
            .par_iter()
            .map(|t| Self::analyze(pipeline, &cfg, t))
            .collect();
        Self::fit_terms(&docs, pipeline, &cfg)
    }

    /// Fit on documents already analyzed under `cfg` (resolved, see
    /// [`resolve_config`](Self::resolve_config)) by `pipeline`.
    pub fn fit_terms(
        docs: &[Vec<String>],
        pipeline: &TextPipeline,
        cfg: &TfidfConfig,
    ) -> (Tfidf, Csr) {
        let df = super::document_frequency(docs);
        let n = docs.len();
        let max_df = (cfg.max_df * n as f64).floor() as usize;
        let terms = super::terms_by_df(&df, cfg.min_df, max_df.max(1));
        let idf = terms
            .iter()
            .map(|t| (((1 + n) as f64 / (1 + df[t]) as f64).ln() + 1.0) as f32)
            .collect();
        let index = terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as u32))
            .collect();
        let model = Tfidf {
            config: cfg.clone(),
            pipeline: pipeline.clone(),
            terms: terms.into_iter().map(String::from).collect(),
            idf,
            index,
        };
        let m = model.matrix(docs);
        (model, m)
    }

    /// The fitted model as JSON (config, pipeline, terms, idf).
    pub fn to_json(&self) -> String {
        serde_json::json!({"config": self.config, "pipeline": self.pipeline, "terms": self.terms, "idf": self.idf}).to_string()
    }

    /// A model from [`to_json`](Self::to_json)'s output.
    pub fn from_json(s: &str) -> Result<Tfidf, String> {
        #[derive(Deserialize)]
        struct Raw {
            config: TfidfConfig,
            pipeline: TextPipeline,
            terms: Vec<String>,
            idf: Vec<f32>,
        }
        let raw: Raw =
            serde_json::from_str(s).map_err(|e| format!("TF-IDF model is not valid: {e}"))?;
        if raw.terms.len() != raw.idf.len() {
            return Err("TF-IDF terms and idf differ in length".into());
        }
        let index = raw
            .terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Ok(Tfidf {
            config: raw.config,
            pipeline: raw.pipeline,
            terms: raw.terms,
            idf: raw.idf,
            index,
        })
    }

    /// Vectors for new texts under the fitted vocabulary and idf.
    pub fn transform(&self, texts: &[&str]) -> Csr {
        let docs: Vec<Vec<String>> = texts
            .par_iter()
            .map(|t| Self::analyze(&self.pipeline, &self.config, t))
            .collect();
        self.matrix(&docs)
    }

    /// Whether `term` is in the vocabulary.
    pub fn knows(&self, term: &str) -> bool {
        self.index.contains_key(term)
    }

    /// Vectors for documents already analyzed (see [`terms_of`](Self::terms_of)).
    pub fn matrix(&self, docs: &[Vec<String>]) -> Csr {
        self.matrix_of(docs, |d, ids| {
            ids.extend(d.iter().filter_map(|t| self.index.get(t).copied()))
        })
    }

    /// Vectors of documents' [`char_ngrams`] (`lo..=hi`) when this model
    /// was fitted on them: `matrix` of the n-gram lists, without building
    /// each n-gram as a string (the server's per-request cost).
    pub fn ngram_matrix(&self, docs: &[Vec<String>], lo: usize, hi: usize) -> Csr {
        self.matrix_of(docs, |d, ids| {
            for_each_ngram(d, lo, hi, |g| ids.extend(self.index.get(g).copied()))
        })
    }

    /// Rows from each document's term ids (pushed by `ids_of`, any order).
    fn matrix_of<F>(&self, docs: &[Vec<String>], ids_of: F) -> Csr
    where
        F: Fn(&[String], &mut Vec<u32>) + Sync,
    {
        // A few documents (a server request) run on the calling thread.
        let row = |d: &Vec<String>| {
            let mut ids = Vec::new();
            ids_of(d, &mut ids);
            ids.sort_unstable();
            let mut cols = Vec::new();
            let mut vals = Vec::new();
            for chunk in ids.chunk_by(|a, b| a == b) {
                let tf = chunk.len() as f32;
                let tf = if self.config.sublinear_tf {
                    1.0 + tf.ln()
                } else {
                    tf
                };
                cols.push(chunk[0]);
                vals.push(tf * self.idf[chunk[0] as usize]);
            }
            let norm = vals.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                vals.iter_mut().for_each(|v| *v /= norm);
            }
            (cols, vals)
        };
        let rows: Vec<(Vec<u32>, Vec<f32>)> = if docs.len() < 64 {
            docs.iter().map(row).collect()
        } else {
            docs.par_iter().map(row).collect()
        };
        let mut indptr = vec![0];
        let mut indices = Vec::new();
        let mut data = Vec::new();
        for (c, v) in rows {
            indices.extend(c);
            data.extend(v);
            indptr.push(indices.len());
        }
        Csr {
            indptr,
            indices,
            data,
            n_cols: self.terms.len(),
        }
    }
}

/// The character n-grams (`lo..=hi` characters) of each term padded with a
/// space on either side, as scikit-learn's `char_wb` analyzer cuts words
/// (except that a padded term shorter than `n` gives no `n`-gram, where
/// scikit-learn repeats the whole term): `"excel"` gives `" e"`, `"ex"`,
/// ..., `"el "`, `" ex"`, ..., `"cel "`. Terms that share a stem, a prefix
/// or a misspelling share n-grams, so a classifier over them generalizes
/// across word forms (the lexical classifier's features, see
/// `cluster::head::fit_lexical`).
pub fn char_ngrams(terms: &[String], lo: usize, hi: usize) -> Vec<String> {
    let mut out = Vec::new();
    for_each_ngram(terms, lo, hi, |g| out.push(g.to_string()));
    out
}

/// Call `f` with each of [`char_ngrams`]'s n-grams in its order, built in
/// one reused buffer.
fn for_each_ngram(terms: &[String], lo: usize, hi: usize, mut f: impl FnMut(&str)) {
    let mut chars = Vec::new();
    let mut buf = String::new();
    for t in terms {
        chars.clear();
        chars.push(' ');
        chars.extend(t.chars());
        chars.push(' ');
        for m in lo.max(1)..=hi {
            for w in chars.windows(m) {
                buf.clear();
                buf.extend(w);
                f(&buf);
            }
        }
    }
}

/// Whether more than half of `texts` contain a Han character.
pub fn mostly_chinese(texts: &[&str]) -> bool {
    let chinese = texts.par_iter().filter(|t| t.chars().any(is_han)).count();
    2 * chinese > texts.len()
}

/// Word counts over `texts`: `count` adds a text's words to a map; the maps
/// are filled per thread, then merged (no text's tokens outlive it).
fn count_words<F>(texts: &[&str], count: F) -> HashMap<String, usize>
where
    F: Fn(&str, &mut HashMap<String, usize>) + Sync,
{
    texts
        .par_iter()
        .fold(HashMap::new, |mut m: HashMap<String, usize>, t| {
            count(t, &mut m);
            m
        })
        .reduce(HashMap::new, |mut a, b| {
            for (w, c) in b {
                *a.entry(w).or_insert(0) += c;
            }
            a
        })
}

/// Share of a corpus's word tokens (as `pipeline` cuts them, punctuation
/// aside) whose word occurs fewer than 5 times, counted in
/// [`RARE_SAMPLE`] texts spread evenly over the corpus (all of them in a
/// smaller corpus). A fixed sample makes the share a property of the
/// corpus's language rather than of its size: over all texts it falls as
/// the corpus grows, as words recur (waimai_10k 0.24 in 1,000 texts, 0.08 in
/// 11,987; docs/defaults.md#sparse-chinese).
pub fn rare_word_share(pipeline: &TextPipeline, texts: &[&str]) -> f64 {
    let n = texts.len();
    let m = n.min(RARE_SAMPLE);
    let sample: Vec<&str> = (0..m).map(|i| texts[i * n / m]).collect();
    let counts = count_words(&sample, |t, m| {
        for tk in pipeline.tokenize(t) {
            if tk.kind != TokenKind::Punct {
                *m.entry(tk.text).or_insert(0) += 1;
            }
        }
    });
    let total: usize = counts.values().sum();
    let rare: usize = counts.values().filter(|&&c| c < 5).sum();
    rare as f64 / total.max(1) as f64
}

/// Texts that [`rare_word_share`] counts words in.
pub const RARE_SAMPLE: usize = 1000;

/// A mostly-Chinese corpus whose words are sparse: its
/// [`rare_word_share`] is above this (news titles full of names;
/// `crate::model::CorpusProfile::sparse_chinese` decides it). There the RNN
/// reads characters and the LSA block over words is off by default
/// (docs/defaults.md#sparse-chinese).
pub const SPARSE_SHARE: f64 = 0.4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negation_marks_the_next_terms_of_the_clause() {
        let p = TextPipeline::default();
        let on = |n: usize, text: &str| {
            let cfg = TfidfConfig {
                negation: n,
                ..TfidfConfig::default()
            };
            Tfidf::analyze(&p, &cfg, text).join(" ")
        };
        // Stop words neither count nor get marked; punctuation ends the scope;
        // "n't" forms and Chinese negators open one (不 stays a term itself).
        let en = "The plot is not very good, but never boring and it isn't long at all.";
        assert_eq!(on(0, en), "plot good never boring long");
        assert_eq!(on(2, en), "plot ¬good never ¬boring ¬long");
        assert_eq!(on(1, "not funny not moving"), "¬funny ¬moving");
        for t in ["not", "NOT", "Never", "isn't", "DON'T", "不", "没有"] {
            assert!(is_negator(t), "{t}");
        }
        for t in ["note", "knot", "nt", "t", "不错", "n’t", "中文"] {
            assert!(!is_negator(t), "{t}");
        }
        assert_eq!(
            on(2, "真心不好吃！味道没有想象的好"),
            "真心 不 ¬好吃 味道 没有 ¬想象 ¬好"
        );
    }

    #[test]
    fn char_ngrams_cut_padded_terms_as_scikit_learns_char_wb() {
        // TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4))
        //   .build_analyzer()("excel 中国") ->
        let want = [
            " e", "ex", "xc", "ce", "el", "l ", " ex", "exc", "xce", "cel", "el ", " exc", "exce",
            "xcel", "cel ", " 中", "中国", "国 ", " 中国", "中国 ", " 中国 ",
        ];
        let got = char_ngrams(&["excel".to_string(), "中国".to_string()], 2, 4);
        assert_eq!(got, want);
    }

    #[test]
    fn ngram_matrix_is_the_matrix_of_the_ngram_lists() {
        let docs: Vec<Vec<String>> = [
            vec!["excel", "vba", "cell"],
            vec!["excel", "excel", "chart"],
            vec!["中国", "经济", "vba"],
            vec![],
        ]
        .iter()
        .map(|d| d.iter().map(|t| t.to_string()).collect())
        .collect();
        let grams: Vec<Vec<String>> = docs.iter().map(|d| char_ngrams(d, 2, 4)).collect();
        let pipeline = TextPipeline::default();
        let (t, x) = Tfidf::fit_terms(&grams, &pipeline, &TfidfConfig::default());
        assert!(t.terms.len() > 10 && x.indices.len() > 20);
        assert_eq!(t.ngram_matrix(&docs, 2, 4), x);
        assert_eq!(t.matrix(&grams), x);
    }

    /// The rare-word share reads a fixed sample, so a bigger corpus of the
    /// same language gives about the same share (over all texts it falls
    /// as words recur).
    #[test]
    fn the_rare_word_share_does_not_fall_with_corpus_size() {
        let p = TextPipeline::default();
        // Zipf-like words: word j drawn with probability ~ 1/j.
        let mut x: u64 = 7;
        let mut word = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = ((x >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
            format!("w{}", (20000f64.powf(u)) as u64)
        };
        let corpus: Vec<String> = (0..8000)
            .map(|_| (0..6).map(|_| word()).collect::<Vec<_>>().join(" "))
            .collect();
        let texts: Vec<&str> = corpus.iter().map(String::as_str).collect();
        let small = rare_word_share(&p, &texts[..RARE_SAMPLE]);
        let large = rare_word_share(&p, &texts);
        assert!((small - large).abs() < 0.05, "{small} {large}");
        let every = count_words(&texts, |t, m| {
            for w in t.split(' ') {
                *m.entry(w.to_string()).or_insert(0) += 1;
            }
        });
        let rare: usize = every.values().filter(|&&c| c < 5).sum();
        let over_all = rare as f64 / every.values().sum::<usize>() as f64;
        assert!(over_all < small - 0.1, "{over_all} {small}");
    }

    #[test]
    fn opening_words_count_distinct_first_words_and_decide_the_lead() {
        let p = TextPipeline::default();
        // Four openings, equally frequent; punctuation and case do not count.
        let questions = [
            "What is the capital of France ?",
            "\"Who wrote Hamlet ?",
            "how many legs has a spider",
            "Where is Timbuktu",
            "what was the first car",
            "¿ Who painted it",
            "How far is the moon",
            "where do eels go",
        ];
        let n = opening_words(&p, &questions);
        assert!((n - 4.0).abs() < 1e-9, "{n}");
        assert_eq!(TfidfConfig::lead_for(n), 1);
        // One or two opening words say too little, no lead; all different:
        // topics, no lead.
        let same = ["i feel glad", "i am sad", "i was angry"];
        assert!((opening_words(&p, &same) - 1.0).abs() < 1e-9);
        assert_eq!(TfidfConfig::lead_for(opening_words(&p, &same)), 0);
        let two = ["the film was great", "a great film", "the cast", "a cast"];
        assert!((opening_words(&p, &two) - 2.0).abs() < 1e-9);
        assert_eq!(TfidfConfig::lead_for(2.0), 0);
        assert_eq!(TfidfConfig::lead_for(3.0), 1);
        assert_eq!(TfidfConfig::lead_for(21.3), 1);
        assert_eq!(TfidfConfig::lead_for(63.5), 0);
        let topics: Vec<String> = (0..100).map(|i| format!("w{i} market news")).collect();
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        assert!((opening_words(&p, &topics) - 100.0).abs() < 1e-6);
        assert_eq!(TfidfConfig::lead_for(opening_words(&p, &topics)), 0);
        // Texts without a word do not count; a corpus without any gives 0.
        assert_eq!(opening_words(&p, &["", "?!"]), 0.0);
        assert_eq!(TfidfConfig::lead_for(0.0), 0);
        // Chinese: the first jieba word.
        let zh = ["北京今天下雨", "北京明天晴", "上海今天下雨", "上海明天晴"];
        assert!((opening_words(&p, &zh) - 2.0).abs() < 1e-9);
    }
}

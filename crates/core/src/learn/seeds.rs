//! Seed words: a few words or short phrases per class, the only guidance a
//! user gives when they know which classes they want but have no labeled
//! texts. This module owns the seed sets (parsing a user's JSON, the shipped
//! defaults) and matching them in tokenized texts, with negation handling, to
//! give first pseudo-labels. Generalizing beyond the texts that contain a
//! seed word is [`super::weak`]'s job.
//!
//! Matching: Latin-script seeds match whole tokens in order ("not worth"
//! matches the tokens `not worth`); seeds in Chinese or Japanese script match
//! as substrings of the text with token boundaries removed, so "好吃" matches
//! however jieba cut it. A match is negated when a negator (not, never, n't,
//! 不, 没有, ...) occurs among the three tokens before it in the same clause,
//! or just before it inside its own token (不好吃). With two classes a negated
//! match counts for the other class ("not good" is negative); with more it
//! is ignored. A text's pseudo-label is the class with the most matches,
//! when that is a strict maximum.

use serde::{Deserialize, Serialize};

use crate::text::TextPipeline;

/// One class and its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedClass {
    /// Class name (kept by describe, predict, serve, report).
    pub name: String,
    /// Words or short phrases.
    pub seeds: Vec<String>,
}

/// Classes in order, each with its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedSet {
    /// The classes; k is their number.
    pub classes: Vec<SeedClass>,
}

/// What the seed words decide. Clustering finds the corpus's own main axis;
/// seed words state the user's. Where the two agree, the clusters are the
/// better classes (they use all of the corpus's structure, not only the
/// texts a seed word reaches) and the seeds only name them; where they do
/// not, the seed classifier follows the user's axis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedRole {
    /// Decided at training: cluster, and keep the clusters (named by the
    /// seed classes they hold) when the seed labels agree with them at
    /// least [`super::weak::WeakConfig::name_agreement`]; else classify.
    /// A trained model records the decision; a seed-word model saved
    /// before the choice existed has none and classifies.
    #[default]
    Auto,
    /// The seed classifier decides the classes ([`super::weak`]).
    Classify,
    /// The corpus is clustered as without seeds; the seeds name the clusters.
    Name,
}

impl SeedRole {
    /// Whether the role is still to be decided (not written in a model).
    pub fn is_auto(&self) -> bool {
        *self == SeedRole::Auto
    }
}

/// The shipped seed sets: `(name, JSON)`, the files in `crates/core/seeds/`.
/// Written from general knowledge of each language (common words and
/// phrases of praise and complaint, and of each emotion; 33 to 101 per
/// class), never chosen by looking at a corpus or its labels; a test
/// checks that they parse and that no two classes share a word.
pub const BUILTIN: [(&str, &str); 4] = [
    (
        "sentiment-en",
        include_str!("../../seeds/sentiment-en.json"),
    ),
    (
        "sentiment-zh",
        include_str!("../../seeds/sentiment-zh.json"),
    ),
    ("emotion-en", include_str!("../../seeds/emotion-en.json")),
    ("emotion-zh", include_str!("../../seeds/emotion-zh.json")),
];

impl SeedSet {
    /// A shipped set by name (`sentiment-en`, `sentiment-zh`, `emotion-en`, `emotion-zh`).
    pub fn builtin(name: &str) -> Option<SeedSet> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, json)| SeedSet::from_json(json).expect("shipped seed sets are valid"))
    }

    /// Parse `{"class": ["seed", ...], ...}`, keeping the classes in file order.
    pub fn from_json(text: &str) -> Result<SeedSet, String> {
        let pairs: OrderedPairs = serde_json::from_str(text)
            .map_err(|e| format!("expected {{\"class name\": [\"seed word\", ...], ...}}: {e}"))?;
        let classes: Vec<SeedClass> = pairs
            .0
            .into_iter()
            .map(|(name, seeds)| SeedClass { name, seeds })
            .collect();
        if classes.len() < 2 {
            return Err(format!(
                "{} class(es) given; seed words need at least 2 classes",
                classes.len()
            ));
        }
        for c in &classes {
            if c.name.trim().is_empty() {
                return Err("a class name is empty".into());
            }
            if c.seeds.iter().all(|s| s.trim().is_empty()) {
                return Err(format!("class {:?} has no seed words", c.name));
            }
        }
        for (i, c) in classes.iter().enumerate() {
            if classes[..i].iter().any(|o| o.name == c.name) {
                return Err(format!("class {:?} is given twice", c.name));
            }
        }
        Ok(SeedSet { classes })
    }
}

impl SeedSet {
    /// The set as `--seeds` reads it: `{"class": ["seed", ...], ...}`, classes
    /// in order, one class per line.
    pub fn to_json(&self) -> String {
        let lines: Vec<String> = (self.classes.iter())
            .map(|c| {
                format!(
                    "  {}: {}",
                    serde_json::Value::from(c.name.as_str()),
                    serde_json::Value::from(c.seeds.clone())
                )
            })
            .collect();
        format!("{{\n{}\n}}\n", lines.join(",\n"))
    }

    /// A word-score lexicon (AFINN, VADER and their kind): one word or
    /// phrase per line, a tab (or the last run of spaces) before its score,
    /// further columns ignored, `#` comment lines and blank lines skipped.
    /// Words scoring above `threshold` seed class "positive", below
    /// `-threshold` class "negative"; errors name the line.
    pub fn from_scores(text: &str, threshold: f64) -> Result<SeedSet, String> {
        let (mut pos, mut neg) = (Vec::new(), Vec::new());
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let (word, rest) = match line.split_once('\t') {
                Some((w, r)) => (w, r.split('\t').next().unwrap_or("")),
                None => line
                    .trim()
                    .rsplit_once(char::is_whitespace)
                    .ok_or_else(|| {
                        format!("line {}: expected WORD<TAB>SCORE, found {line:?}", i + 1)
                    })?,
            };
            let score: f64 = rest.trim().parse().map_err(|_| {
                format!(
                    "line {}: {:?} is not a number (expected WORD<TAB>SCORE)",
                    i + 1,
                    rest.trim()
                )
            })?;
            let word = word.trim().to_lowercase();
            if word.is_empty() {
                return Err(format!("line {}: the word is empty", i + 1));
            }
            if score > threshold {
                pos.push(word);
            } else if score < -threshold {
                neg.push(word);
            }
        }
        for (name, seeds, side, bound) in [
            ("positive", &pos, "above", threshold),
            ("negative", &neg, "below", -threshold),
        ] {
            if seeds.is_empty() {
                return Err(format!(
                    "no word scores {side} {bound} (class {name:?} would have no seed words)"
                ));
            }
        }
        Ok(SeedSet {
            classes: vec![
                SeedClass {
                    name: "positive".into(),
                    seeds: pos,
                },
                SeedClass {
                    name: "negative".into(),
                    seeds: neg,
                },
            ],
        })
    }

    /// A user's seed words at `path`: a JSON file (`{"class": ["word",
    /// ...]}`), a word-score lexicon ([`SeedSet::from_scores`] with
    /// `threshold`), or a folder of word lists, one per class, named after
    /// it (`joy.txt` is class "joy"; files in name order, hidden ones
    /// skipped). Errors name the file.
    pub fn read(path: &std::path::Path, threshold: f64) -> Result<SeedSet, String> {
        let shown = path.display();
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))
        };
        if path.is_dir() {
            let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("{shown}: cannot read the folder: {e}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter(|p| {
                    !p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect();
            files.sort();
            let lists = files
                .iter()
                .map(|p| {
                    let name = p
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    Ok((name, read(p)?))
                })
                .collect::<Result<Vec<_>, String>>()?;
            return SeedSet::from_lists(&lists).map_err(|e| format!("{shown}: {e}"));
        }
        let text = read(path)?;
        if text.trim().is_empty() {
            return Err(format!("{shown}: the file is empty"));
        }
        if text.trim_start().starts_with('{') {
            SeedSet::from_json(&text)
        } else {
            SeedSet::from_scores(&text, threshold)
        }
        .map_err(|e| format!("{shown}: {e}"))
    }

    /// Classes from one word list each: `(class name, file text)` pairs
    /// (a folder of `joy.txt`, `anger.txt`, ... read by the caller), one
    /// word or phrase per line, `#` comments and blank lines skipped.
    pub fn from_lists(lists: &[(String, String)]) -> Result<SeedSet, String> {
        let mut map = serde_json::Map::new();
        for (name, text) in lists {
            let words: Vec<serde_json::Value> = text
                .lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|w| !w.is_empty())
                .map(|w| w.to_lowercase().into())
                .collect();
            if words.is_empty() {
                return Err(format!("the list of class {name:?} has no words"));
            }
            map.insert(name.clone(), words.into());
        }
        // One parser for every form: the JSON one checks the classes.
        let mut set = SeedSet::from_json(&serde_json::Value::Object(map).to_string())?;
        let order: Vec<&String> = lists.iter().map(|(n, _)| n).collect();
        set.classes
            .sort_by_key(|c| order.iter().position(|n| **n == c.name));
        Ok(set)
    }
}

/// A JSON object read as ordered `(key, value)` pairs (serde_json's map
/// sorts keys, and class order matters to users).
struct OrderedPairs(Vec<(String, Vec<String>)>);

impl<'de> Deserialize<'de> for OrderedPairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OrderedPairs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object mapping class names to lists of seed words")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<OrderedPairs, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Vec<String>>()? {
                    out.push((k, v));
                }
                Ok(OrderedPairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Tokens that end a negation's scope.
const CLAUSE_BREAKS: [&str; 20] = [
    ",", ".", "!", "?", ";", ":", "，", "。", "！", "？", "；", "：", "but", "however", "though",
    "但", "但是", "可是", "不过", "却",
];

enum Pattern {
    /// Consecutive whole tokens.
    Tokens(Vec<String>),
    /// Characters of the text with token boundaries removed.
    Chars(Vec<char>),
}

/// Compiled seeds of a [`SeedSet`], ready to match tokenized texts.
pub struct Matcher {
    patterns: Vec<(usize, Pattern)>,
    k: usize,
}

/// What matching found in one text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matches {
    /// Per class: matches counted for it (negated ones included as the
    /// other class's, with two classes).
    pub counts: Vec<f32>,
    /// How many of the matches were negated.
    pub negated: usize,
}

impl Matcher {
    /// Compile `seeds` with the pipeline the texts are tokenized with.
    pub fn new(seeds: &SeedSet, pipeline: &TextPipeline) -> Matcher {
        let mut patterns = Vec::new();
        for (c, class) in seeds.classes.iter().enumerate() {
            for s in &class.seeds {
                let toks = pipeline.tokens(s);
                if toks.is_empty() {
                    continue;
                }
                let p = if toks
                    .iter()
                    .any(|t| t.chars().any(crate::text::segment::is_cjk))
                {
                    Pattern::Chars(toks.concat().chars().collect())
                } else {
                    Pattern::Tokens(toks)
                };
                patterns.push((c, p));
            }
        }
        Matcher {
            patterns,
            k: seeds.classes.len(),
        }
    }

    /// Number of classes.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Seed matches in one tokenized text.
    pub fn matches(&self, tokens: &[String]) -> Matches {
        let mut counts = vec![0f32; self.k];
        let mut negated = 0;
        // The text without token boundaries, and each char's token.
        let mut chars = Vec::new();
        let mut tok_of = Vec::new();
        for (t, tok) in tokens.iter().enumerate() {
            for ch in tok.chars() {
                chars.push(ch);
                tok_of.push(t);
            }
        }
        let mut starts: Vec<usize> = Vec::with_capacity(tokens.len() + 1);
        let mut acc = 0;
        for tok in tokens {
            starts.push(acc);
            acc += tok.chars().count();
        }
        for (c, p) in &self.patterns {
            let mut hits: Vec<(usize, bool)> = Vec::new(); // (token, negated inside the token)
            match p {
                Pattern::Tokens(seq) => {
                    if seq.len() <= tokens.len() {
                        for t in 0..=tokens.len() - seq.len() {
                            if tokens[t..t + seq.len()] == seq[..] {
                                hits.push((t, false));
                            }
                        }
                    }
                }
                Pattern::Chars(seq) => {
                    if seq.len() <= chars.len() {
                        for i in 0..=chars.len() - seq.len() {
                            if chars[i..i + seq.len()] == seq[..] {
                                let t = tok_of[i];
                                // "不好吃" cut as one token: the negator precedes the match inside it.
                                let prefix = &chars[starts[t]..i];
                                let inside =
                                    prefix.last().is_some_and(|&ch| "不没无未别".contains(ch));
                                hits.push((t, inside));
                            }
                        }
                    }
                }
            }
            for (t, inside) in hits {
                let neg = inside || negated_before(tokens, t);
                if !neg {
                    counts[*c] += 1.0;
                } else {
                    negated += 1;
                    if self.k == 2 {
                        counts[1 - c] += 1.0;
                    }
                }
            }
        }
        Matches { counts, negated }
    }
}

/// A negator among the three tokens before `t`, within its clause.
fn negated_before(tokens: &[String], t: usize) -> bool {
    for j in (t.saturating_sub(3)..t).rev() {
        let w = tokens[j].as_str();
        if CLAUSE_BREAKS.contains(&w) {
            return false;
        }
        if crate::text::negation::is_negator(w) {
            return true;
        }
    }
    false
}

/// The class with strictly the most matches, if any.
pub fn pseudo_label(m: &Matches) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    let mut tie = false;
    for (c, &n) in m.counts.iter().enumerate() {
        match best {
            Some((_, b)) if n == b => tie = true,
            Some((_, b)) if n < b => {}
            _ => {
                best = Some((c, n));
                tie = false;
            }
        }
    }
    match best {
        Some((c, n)) if n > 0.0 && !tie => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_written_as_json_reads_back_in_order() {
        let set = SeedSet::from_json(r#"{"负面": ["难吃", "太慢"], "a \"b\"": ["x y"]}"#).unwrap();
        let text = set.to_json();
        assert_eq!(SeedSet::from_json(&text).unwrap(), set, "{text}");
        assert!(text.find("负面").unwrap() < text.find("x y").unwrap());
    }

    fn toks(s: &str) -> Vec<String> {
        TextPipeline::default().tokens(s)
    }

    #[test]
    fn lexicons_in_the_common_formats_parse() {
        let afinn = "# AFINN-like\ngood\t3\nbad\t-3\nmeh\t0\nnot good\t-2\nLovely 2\n";
        let set = SeedSet::from_scores(afinn, 0.0).unwrap();
        assert_eq!(set.classes[0].name, "positive");
        assert_eq!(set.classes[0].seeds, vec!["good", "lovely"]);
        assert_eq!(set.classes[1].seeds, vec!["bad", "not good"]);
        // VADER: word, mean, std, ratings; the threshold drops weak words.
        let vader = "great\t3.1\t0.7\t[3, 3]\nok\t0.9\t0.5\t[1, 1]\nawful\t-3.4\t0.5\t[-3]\n";
        let set = SeedSet::from_scores(vader, 1.0).unwrap();
        assert_eq!(set.classes[0].seeds, vec!["great"]);
        assert_eq!(set.classes[1].seeds, vec!["awful"]);
        let e = SeedSet::from_scores("good\tvery\n", 0.0).unwrap_err();
        assert!(e.contains("line 1") && e.contains("not a number"), "{e}");
        let e = SeedSet::from_scores("good\t3\n", 0.0).unwrap_err();
        assert!(e.contains("\"negative\" would have no seed words"), "{e}");
        let e = SeedSet::from_scores("good\n", 0.0).unwrap_err();
        assert!(e.contains("expected WORD<TAB>SCORE"), "{e}");
        // One list per class, in the order given.
        let lists = vec![
            ("joy".to_string(), "happy\n# comment\nGlad\n\n".to_string()),
            ("anger".to_string(), "angry\n".to_string()),
        ];
        let set = SeedSet::from_lists(&lists).unwrap();
        assert_eq!(set.classes[0].name, "joy");
        assert_eq!(set.classes[0].seeds, vec!["happy", "glad"]);
        assert_eq!(set.classes[1].name, "anger");
        let empty = vec![
            ("joy".to_string(), "happy".to_string()),
            ("fear".to_string(), "# none\n".to_string()),
        ];
        assert!(SeedSet::from_lists(&empty)
            .unwrap_err()
            .contains("\"fear\" has no words"));
        assert!(SeedSet::from_lists(&lists[..1])
            .unwrap_err()
            .contains("at least 2 classes"));
    }

    #[test]
    fn builtin_sets_parse_and_share_no_word() {
        for (name, _) in BUILTIN {
            let s = SeedSet::builtin(name).unwrap();
            assert!(s.classes.len() >= 2);
            for (i, c) in s.classes.iter().enumerate() {
                assert!((30..=150).contains(&c.seeds.len()), "{name} {}", c.name);
                let mut words = c.seeds.clone();
                words.sort();
                words.dedup();
                assert_eq!(
                    words.len(),
                    c.seeds.len(),
                    "{name} {} repeats a word",
                    c.name
                );
                for other in &s.classes[i + 1..] {
                    let shared: Vec<&String> =
                        c.seeds.iter().filter(|w| other.seeds.contains(w)).collect();
                    assert!(
                        shared.is_empty(),
                        "{name}: {} and {} share {shared:?}",
                        c.name,
                        other.name
                    );
                }
            }
        }
        assert_eq!(SeedSet::builtin("emotion-zh").unwrap().classes.len(), 7);
        assert!(SeedSet::builtin("nope").is_none());
    }

    #[test]
    fn parsing_keeps_file_order_and_rejects_bad_sets() {
        let s = SeedSet::from_json(r#"{"zeta": ["a"], "alpha": ["b", "c"]}"#).unwrap();
        assert_eq!(s.classes[0].name, "zeta");
        assert_eq!(s.classes[1].seeds, vec!["b", "c"]);
        for bad in [
            r#"{"one": ["a"]}"#,
            r#"{"a": ["x"], "b": []}"#,
            r#"{"a": ["x"], "b": "y"}"#,
            r#"["a", "b"]"#,
            r#"{"a": ["x"], "a": ["y"]}"#,
            "not json",
        ] {
            assert!(SeedSet::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matches_count_and_negation_flips_with_two_classes() {
        let seeds = SeedSet::builtin("sentiment-en").unwrap();
        let m = Matcher::new(&seeds, &TextPipeline::default());
        let pos = m.matches(&toks("A great film with a beautiful score."));
        assert_eq!(pos.counts, vec![2.0, 0.0]);
        assert_eq!(pseudo_label(&pos), Some(0));
        let neg = m.matches(&toks("It is not good at all"));
        assert_eq!((neg.counts.clone(), neg.negated), (vec![0.0, 1.0], 1));
        assert_eq!(pseudo_label(&neg), Some(1));
        // "n't" as its own token (SST's tokenization) and glued.
        assert_eq!(m.matches(&toks("it is n't good")).counts, vec![0.0, 1.0]);
        assert_eq!(m.matches(&toks("it wasn't good")).counts, vec![0.0, 1.0]);
        // Negation stops at a clause break.
        assert_eq!(
            m.matches(&toks("not long, but good")).counts,
            vec![1.0, 0.0]
        );
        // No seed, or a tie: no label.
        assert_eq!(pseudo_label(&m.matches(&toks("a film"))), None);
        assert_eq!(pseudo_label(&m.matches(&toks("good and bad"))), None);
    }

    #[test]
    fn chinese_seeds_match_across_token_cuts_with_negation() {
        let seeds = SeedSet::builtin("sentiment-zh").unwrap();
        let m = Matcher::new(&seeds, &TextPipeline::default());
        assert_eq!(
            pseudo_label(&m.matches(&toks("味道很好吃，下次还来"))),
            Some(0)
        );
        assert_eq!(
            pseudo_label(&m.matches(&toks("送餐太慢，而且难吃"))),
            Some(1)
        );
        // 不好吃: negated positive counts as negative.
        let n = m.matches(&toks("不好吃"));
        assert!(n.negated >= 1 && pseudo_label(&n) == Some(1), "{n:?}");
        let n = m.matches(&toks("一点也不好吃"));
        assert_eq!(pseudo_label(&n), Some(1), "{n:?}");
        // 不错 is positive, not a negated 错.
        assert_eq!(pseudo_label(&m.matches(&toks("味道不错"))), Some(0));
    }

    #[test]
    fn negation_is_ignored_with_more_than_two_classes() {
        let seeds = SeedSet::builtin("emotion-en").unwrap();
        let m = Matcher::new(&seeds, &TextPipeline::default());
        assert_eq!(
            pseudo_label(&m.matches(&toks("i feel so happy today"))),
            Some(0)
        );
        let n = m.matches(&toks("i am not happy"));
        assert_eq!((pseudo_label(&n), n.negated), (None, 1));
        assert_eq!(
            pseudo_label(&m.matches(&toks("i feel scared and nervous"))),
            Some(3)
        );
    }
}

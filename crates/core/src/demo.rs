//! The embedded demo corpus: 432 short texts in English and Chinese on six
//! topics (sports, technology, finance, food, health, travel), with gold
//! labels, written for textrnn by `scripts/make_demo_corpus.py` and compiled
//! into the binary so `textrnn demo` needs no files.

use crate::corpus::{read_corpus_from, Corpus, Format, ReadOptions};

/// The corpus as JSONL (`text`, `label`, `lang` fields).
pub const DEMO_JSONL: &str = include_str!("../data/demo.jsonl");

/// Number of topics in the demo corpus.
pub const DEMO_K: usize = 6;

/// The demo corpus split by language (`en`, `zh`), each with its labels.
///
/// The two halves share almost no vocabulary, so clustering them together
/// mostly separates the languages; the demo clusters each on its own.
pub fn corpus_by_language() -> Vec<(String, Corpus)> {
    let mut by: Vec<(String, String)> = Vec::new();
    for line in DEMO_JSONL.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).expect("the embedded demo corpus is valid");
        let lang = v["lang"].as_str().unwrap_or("?").to_string();
        match by.iter_mut().find(|(l, _)| *l == lang) {
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => by.push((lang, format!("{line}\n"))),
        }
    }
    let opts = ReadOptions {
        label_field: Some("label".into()),
        ..ReadOptions::default()
    };
    by.into_iter()
        .map(|(lang, text)| {
            let c = read_corpus_from(
                text.as_bytes(),
                &format!("<demo:{lang}>"),
                Format::Jsonl,
                &opts,
            )
            .expect("valid demo corpus");
            (lang, c)
        })
        .collect()
}

/// The demo corpus with its labels.
pub fn corpus() -> Corpus {
    let opts = ReadOptions {
        label_field: Some("label".into()),
        ..ReadOptions::default()
    };
    read_corpus_from(DEMO_JSONL.as_bytes(), "<demo>", Format::Jsonl, &opts)
        .expect("the embedded demo corpus is valid")
}

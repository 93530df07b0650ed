//! The embedded demo corpus: 432 short texts in English and Chinese on six
//! topics (sports, technology, finance, food, health, travel), with gold
//! labels, written for textrnn by `scripts/make_demo_corpus.py` and compiled
//! into the binary so `textrnn demo` needs no files.

use crate::corpus::{read_corpus_from, Corpus, Format, ReadOptions};

/// The corpus as JSONL (`text`, `label`, `lang` fields).
pub const DEMO_JSONL: &str = include_str!("../data/demo.jsonl");

/// Number of topics in the demo corpus.
pub const DEMO_K: usize = 6;

/// The demo corpus with its labels.
pub fn corpus() -> Corpus {
    let opts = ReadOptions {
        label_field: Some("label".into()),
        ..ReadOptions::default()
    };
    read_corpus_from(DEMO_JSONL.as_bytes(), "<demo>", Format::Jsonl, &opts)
        .expect("the embedded demo corpus is valid")
}

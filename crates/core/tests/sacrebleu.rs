//! BLEU and chrF against sacreBLEU's values on a committed fixture
//! (`fixtures/sacrebleu.json`, written by `scripts/make_sacrebleu_fixture.py`).

use textrnn::translate::{corpus_bleu, corpus_chrf, BleuTokenizer};

#[test]
fn bleu_and_chrf_match_sacrebleu() {
    let text = include_str!("fixtures/sacrebleu.json");
    let cases: serde_json::Value = serde_json::from_str(text).unwrap();
    let cases = cases.as_object().unwrap();
    assert!(cases.len() >= 4);
    for (name, c) in cases {
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        let hyps = strings(&c["hyps"]);
        let refs: Vec<Vec<String>> = c["refs"].as_array().unwrap().iter().map(strings).collect();
        let tok = match c["tokenize"].as_str().unwrap() {
            "13a" => BleuTokenizer::Mteval13a,
            "zh" => BleuTokenizer::Zh,
            t => panic!("tokenizer {t}"),
        };
        let b = corpus_bleu(&hyps, &refs, tok);
        let want = |k: &str| c[k].as_f64().unwrap();
        assert!(
            (b.score - want("bleu")).abs() < 1e-9,
            "{name}: BLEU {} vs {}",
            b.score,
            want("bleu")
        );
        assert!((b.bp - want("bp")).abs() < 1e-9, "{name}: BP");
        assert_eq!(b.sys_len as f64, want("sys_len"), "{name}: sys_len");
        assert_eq!(b.ref_len as f64, want("ref_len"), "{name}: ref_len");
        for (i, p) in c["precisions"].as_array().unwrap().iter().enumerate() {
            let p = p.as_f64().unwrap();
            assert!(
                (b.precisions[i] - p).abs() < 1e-9,
                "{name}: p{} {} vs {p}",
                i + 1,
                b.precisions[i]
            );
        }
        let f = corpus_chrf(&hyps, &refs);
        assert!(
            (f - want("chrf")).abs() < 1e-9,
            "{name}: chrF {f} vs {}",
            want("chrf")
        );
    }
}

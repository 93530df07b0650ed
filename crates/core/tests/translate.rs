//! The translator end to end on a toy language pair the test writes: Chinese
//! digit strings to English number words. It must learn them (BLEU on
//! held-out pairs), save and load to the same translations, and refuse a
//! damaged model directory.

use textrnn::nn::gemm::Threads;
use textrnn::rng::Rng;
use textrnn::translate::bleu::{corpus_bleu, BleuTokenizer};
use textrnn::translate::decode::DecodeOptions;
use textrnn::translate::tokenize::Lang;
use textrnn::translate::train::{train, TranslateConfig};
use textrnn::translate::translator::Translator;

const ZH: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
const EN: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

fn pairs(n: usize, seed: u64) -> Vec<(String, String)> {
    let mut r = Rng::new(seed);
    (0..n)
        .map(|_| {
            let len = 2 + r.below(5);
            let d: Vec<usize> = (0..len).map(|_| r.below(10)).collect();
            let zh: String = d.iter().map(|&i| ZH[i]).collect::<String>() + "。";
            let en = d.iter().map(|&i| EN[i]).collect::<Vec<_>>().join(" ") + ".";
            (zh, en)
        })
        .collect()
}

fn toy_config() -> TranslateConfig {
    TranslateConfig {
        src: Lang::Zh,
        tgt: Lang::En,
        embed: 16,
        hidden: 24,
        dec_hidden: 48,
        dropout: 0.1,
        batch_size: 16,
        lr: 1e-2,
        warmup: 20,
        epochs: Some(12),
        min_count: 1,
        ..TranslateConfig::default()
    }
}

fn bleu(tr: &Translator, test: &[(String, String)], beam: usize) -> (f64, Vec<String>) {
    let src: Vec<&str> = test.iter().map(|(s, _)| s.as_str()).collect();
    let opts = DecodeOptions {
        beam,
        ..DecodeOptions::default()
    };
    let hyps: Vec<String> = tr
        .translate(&src, &opts, Threads::One)
        .into_iter()
        .map(|mut h| h.swap_remove(0).text)
        .collect();
    let refs: Vec<Vec<String>> = test.iter().map(|(_, t)| vec![t.clone()]).collect();
    (
        corpus_bleu(&hyps, &refs, BleuTokenizer::Mteval13a).score,
        hyps,
    )
}

#[test]
fn learns_a_toy_pair_saves_loads_and_refuses_damage() {
    let (tr_pairs, valid, test) = (pairs(600, 1), pairs(40, 2), pairs(60, 3));
    let mut epochs = Vec::new();
    let mut tr = train(&tr_pairs, &valid, &toy_config(), 1, None, &mut |p| {
        if let Some(e) = &p.epoch_done {
            epochs.push(e.clone());
        }
    })
    .unwrap();
    assert_eq!(epochs.len(), 12);
    assert!(epochs.iter().all(|e| e.valid_bleu.is_some()));
    let (greedy, hyps) = bleu(&tr, &test, 1);
    let (beam, _) = bleu(&tr, &test, 4);
    assert!(greedy > 80.0, "greedy BLEU {greedy}: {:?}", &hyps[..5]);
    assert!(beam > 80.0, "beam BLEU {beam}");
    assert!(hyps
        .iter()
        .all(|h| !h.contains("<unk>") && h.ends_with('.')));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toy.model");
    tr.save(&path).unwrap();
    let loaded = Translator::load(&path).unwrap();
    assert_eq!(bleu(&loaded, &test, 4).1, bleu(&tr, &test, 4).1);
    let bleus = |t: &Translator| t.epochs.iter().map(|e| e.valid_bleu).collect::<Vec<_>>();
    assert_eq!(bleus(&loaded), bleus(&tr));

    // One changed byte in the weights: refused, naming the file.
    let w = path.join("weights.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    let at = bytes.len() - 3;
    bytes[at] ^= 0x40;
    std::fs::write(&w, bytes).unwrap();
    let err = Translator::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("weights.safetensors") && err.contains("checksum"),
        "{err}"
    );
    // Not a translation model at all.
    let err = Translator::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a textrnn translation model"), "{err}");
}

#[test]
fn same_seed_same_model() {
    let data = pairs(120, 4);
    let mut cfg = toy_config();
    cfg.epochs = Some(2);
    let a = train(&data, &[], &cfg, 1, None, &mut |_| {}).unwrap();
    let b = train(&data, &[], &cfg, 1, None, &mut |_| {}).unwrap();
    assert_eq!(a.model.out.weight.value, b.model.out.weight.value);
    assert_eq!(
        a.model.encoder.embedding.weight.value,
        b.model.encoder.embedding.weight.value
    );
}

#[test]
fn an_interrupted_run_resumes_to_the_same_model() {
    use textrnn::translate::train::TranslateCheckpoint;
    let (data, valid) = (pairs(160, 5), pairs(20, 6));
    let mut cfg = toy_config();
    cfg.epochs = Some(3);
    let whole = train(&data, &valid, &cfg, 1, None, &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ckpt = TranslateCheckpoint {
        path: dir.path().join("toy.checkpoint"),
        every: 4,
        resume: false,
    };
    // Interrupted in the middle of the second epoch (10 batches an epoch).
    let mut steps = 0;
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train(&data, &valid, &cfg, 1, Some(&ckpt), &mut |p| {
            if p.epoch_done.is_none() {
                steps += 1;
                assert!(steps < 15, "interrupted");
            }
        })
    }));
    assert!(stopped.is_err() && ckpt.path.exists());
    let resumed = TranslateCheckpoint {
        resume: true,
        ..ckpt.clone()
    };
    let mut epochs_seen = Vec::new();
    let again = train(&data, &valid, &cfg, 1, Some(&resumed), &mut |p| {
        if let Some(e) = &p.epoch_done {
            epochs_seen.push(e.epoch);
        }
    })
    .unwrap();
    assert_eq!(epochs_seen, [2, 3]);
    assert_eq!(again.model.out.weight.value, whole.model.out.weight.value);
    assert_eq!(
        again.model.decoder.w_hh.value,
        whole.model.decoder.w_hh.value
    );
    let bleus = |t: &Translator| t.epochs.iter().map(|e| e.valid_bleu).collect::<Vec<_>>();
    assert_eq!(bleus(&again), bleus(&whole));
    // Other settings: refused, not silently mixed.
    let mut other = cfg.clone();
    other.hidden = 20;
    let err = train(&data, &valid, &other, 1, Some(&resumed), &mut |_| {})
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("other data or settings"), "{err}");
}

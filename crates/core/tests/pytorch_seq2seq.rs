//! The translation model against PyTorch: a tiny attention encoder-decoder
//! built as the PyTorch reference builds its model, in float64, saved by
//! `scripts/make_seq2seq_fixture.py` (tests/fixtures/pytorch_seq2seq.json;
//! no Python needed here). The teacher-forced loss with label smoothing,
//! every parameter's gradient, and one decoding step's log-probabilities
//! must match within 1e-10.

use serde_json::Value;
use textrnn::nn::encoder::EncoderCache;
use textrnn::nn::gemm::Threads;
use textrnn::nn::rnn::Cell;
use textrnn::nn::{Module, Param};
use textrnn::rng::Rng;
use textrnn::translate::model::{PairBatch, Seq2Seq, Seq2SeqConfig};
use textrnn::vocab::Special;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn loss_gradients_and_a_step_match_pytorch() {
    let f: Value = serde_json::from_str(include_str!("fixtures/pytorch_seq2seq.json")).unwrap();
    let c = &f["config"];
    let n = |k: &str| c[k].as_u64().unwrap() as usize;
    let cfg = Seq2SeqConfig {
        src_vocab: n("src_vocab"),
        tgt_vocab: n("tgt_vocab"),
        embed: n("embed"),
        hidden: n("hidden"),
        dec_hidden: n("dec_hidden"),
        layers: 1,
        cell: Cell::Gru,
        bidirectional: true,
        dropout: 0.0,
    };
    let mut m = Seq2Seq::<f64>::new(cfg, &mut Rng::new(0));
    let weights = f["weights"].as_object().unwrap();
    let mut seen = 0;
    m.visit(&mut |p: &mut Param<f64>| {
        let w = floats(&weights[&p.name]);
        assert_eq!(w.len(), p.value.len(), "{}", p.name);
        p.value = w;
        seen += 1;
    });
    assert_eq!(seen, weights.len(), "every PyTorch tensor has a parameter");
    let pairs: Vec<(Vec<u32>, Vec<u32>)> = f["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let ids = |v: &Value| {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as u32)
                    .collect()
            };
            (ids(&p[0]), ids(&p[1]))
        })
        .collect();
    let refs: Vec<(&[u32], &[u32])> = pairs.iter().map(|(s, t)| (&s[..], &t[..])).collect();
    let batch = PairBatch::new(&refs, 32);
    m.zero_grad();
    let loss = m.loss(
        &batch,
        None,
        f["label_smoothing"].as_f64().unwrap(),
        true,
        Threads::One,
    );
    let want = f["loss"].as_f64().unwrap();
    assert!((loss - want).abs() < 1e-10, "loss {loss} vs PyTorch {want}");
    let grads = f["grads"].as_object().unwrap();
    m.visit(&mut |p: &mut Param<f64>| {
        for (i, (&a, b)) in p.grad.iter().zip(floats(&grads[&p.name])).enumerate() {
            assert!((a - b).abs() < 1e-10, "{}[{i}]: {a} vs PyTorch {b}", p.name);
        }
    });
    // One decoding step from <bos>, rows in the source layout's order.
    let enc = m.encode(
        &batch.src,
        None,
        &mut EncoderCache::default(),
        None,
        Threads::One,
    );
    let b = pairs.len();
    let mut state = enc.h0.clone();
    let span_of: Vec<usize> = (0..b).collect();
    let logp = m.step(
        &enc,
        &vec![Special::Bos as u32; b],
        &mut state,
        &mut [],
        &span_of,
        None,
        Threads::One,
    );
    let v = n("tgt_vocab");
    for (r, &pair) in enc.pair_of_row.iter().enumerate() {
        let want = floats(&f["step_logp"][pair]);
        for (j, &w) in want.iter().enumerate() {
            let got = logp[r * v + j];
            assert!(
                (got - w).abs() < 1e-10,
                "pair {pair} token {j}: {got} vs PyTorch {w}"
            );
        }
    }
}

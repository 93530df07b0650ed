//! The engine against PyTorch values saved by `scripts/make_rnn_fixture.py`
//! (tests/fixtures/pytorch_rnn.json; no Python needed here):
//! - LSTM and GRU, 2 layers, bidirectional, packed lengths 5/3/2, float64:
//!   outputs and every gradient within 1e-5;
//! - the first 10 losses of a seeded Adam run (float32) within 1e-4;
//! - safetensors written by PyTorch load under our names, and ours round-trip.

use serde_json::Value;
use textrnn::batch::Batch;
use textrnn::nn::encoder::{Encoder, EncoderCache, EncoderConfig};
use textrnn::nn::gemm::Threads;
use textrnn::nn::linear::Linear;
use textrnn::nn::optim::{Optimizer, OptimizerKind};
use textrnn::nn::packed::Packed;
use textrnn::nn::pool::Pooling;
use textrnn::nn::rnn::Cell;
use textrnn::nn::{loss, weights, Module, Param, Real};
use textrnn::rng::Rng;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/pytorch_rnn.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Set every parameter from `weights` (PyTorch names; `prefix` added to the fixture's names).
fn load<T: Real>(model: &mut dyn Module<T>, weights: &Value, prefix: &str) {
    let obj = weights.as_object().unwrap();
    model.visit(&mut |p: &mut Param<T>| {
        let key = p.name.strip_prefix(prefix).unwrap_or(&p.name);
        if let Some(w) = obj.get(key) {
            let data = floats(&w["data"]);
            let shape: Vec<usize> = w["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(shape, p.shape, "{}", p.name);
            p.value = data.iter().map(|&x| T::f(x)).collect();
        }
    });
}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "{what}[{i}]: ours {x} pytorch {y}");
    }
}

#[test]
fn outputs_and_gradients_match_pytorch() {
    let fx = fixture();
    for (name, cell) in [("lstm", Cell::Lstm), ("gru", Cell::Gru)] {
        let case = &fx["gradients"][name];
        let lengths: Vec<usize> = case["lengths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        let (b, t, e, h2) = (3, 5, 3, 8);
        let x = floats(&case["x"]);
        // One vocabulary id per real token; its embedding row is that token's input vector.
        let cfg = EncoderConfig {
            vocab: 5 + b * t,
            embed: e,
            hidden: 4,
            layers: 2,
            bidirectional: true,
            cell,
            pooling: Pooling::Mean,
            dropout: 0.0,
        };
        let mut enc = Encoder::<f64>::new(cfg, &mut Rng::new(0));
        load(&mut enc, &case["weights"], "rnn.");
        let seqs: Vec<Vec<u32>> = (0..b)
            .map(|i| (0..lengths[i]).map(|s| (5 + i * t + s) as u32).collect())
            .collect();
        for i in 0..b {
            for s in 0..t {
                let row = 5 + i * t + s;
                enc.embedding.weight.value[row * e..(row + 1) * e]
                    .copy_from_slice(&x[(i * t + s) * e..(i * t + s + 1) * e]);
            }
        }
        let batch = Batch::new(&seqs, &[0, 1, 2], 100);
        let packed = Packed::of(&batch);
        let mut cache = EncoderCache::default();
        let states = enc
            .forward_states(&batch, None, &mut cache, Threads::One)
            .to_vec();
        let out = floats(&case["out"]);
        let r = floats(&case["r"]);
        let mut dstates = vec![0.0; packed.n() * h2];
        for i in 0..b {
            for s in 0..lengths[i] {
                let row = packed.row(s, i);
                close(
                    &states[row * h2..(row + 1) * h2],
                    &out[(i * t + s) * h2..(i * t + s + 1) * h2],
                    1e-5,
                    &format!("{name} out[{i},{s}]"),
                );
                dstates[row * h2..(row + 1) * h2]
                    .copy_from_slice(&r[(i * t + s) * h2..(i * t + s + 1) * h2]);
            }
        }
        enc.zero_grad();
        enc.backward_states(&mut cache, &dstates, Threads::One);
        let grads = case["grads"].as_object().unwrap();
        let mut checked = 0;
        enc.visit(&mut |p: &mut Param<f64>| {
            if let Some(g) = grads.get(p.name.strip_prefix("rnn.").unwrap_or("")) {
                close(
                    &p.grad,
                    &floats(g),
                    1e-5,
                    &format!("{name} grad {}", p.name),
                );
                checked += 1;
            }
        });
        assert_eq!(checked, 16, "all 2 layers x 2 directions x 4 tensors");
        let dx = floats(&case["dx"]);
        for i in 0..b {
            for s in 0..lengths[i] {
                let row = 5 + i * t + s;
                close(
                    &enc.embedding.weight.grad[row * e..(row + 1) * e],
                    &dx[(i * t + s) * e..(i * t + s + 1) * e],
                    1e-5,
                    &format!("{name} dx[{i},{s}]"),
                );
            }
        }
    }
}

/// The benchmark's model in small: embedding -> RNN -> mean -> linear; loss mean(out^2).
struct BenchModel {
    enc: Encoder<f32>,
    proj: Linear<f32>,
}

impl Module<f32> for BenchModel {
    fn visit(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.enc.visit(f);
        self.proj.visit(f);
    }
}

fn bench_model(cell: Cell) -> BenchModel {
    let cfg = EncoderConfig {
        vocab: 20,
        embed: 4,
        hidden: 5,
        layers: 1,
        bidirectional: false,
        cell,
        pooling: Pooling::Mean,
        dropout: 0.0,
    };
    let mut rng = Rng::new(0);
    BenchModel {
        enc: Encoder::new(cfg, &mut rng),
        proj: Linear::new("proj.", 5, 3, &mut rng),
    }
}

#[test]
fn first_ten_adam_losses_match_pytorch() {
    let fx = fixture();
    for (name, cell) in [("lstm", Cell::Lstm), ("gru", Cell::Gru)] {
        let case = &fx["adam"][name];
        let mut m = bench_model(cell);
        load(&mut m, &case["weights"], "");
        let batches: Vec<Batch> = case["batches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|bt| {
                let seqs: Vec<Vec<u32>> = bt
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        r.as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x.as_u64().unwrap() as u32)
                            .collect()
                    })
                    .collect();
                Batch::new(&seqs, &(0..seqs.len()).collect::<Vec<_>>(), 100)
            })
            .collect();
        let mut opt = Optimizer::new(OptimizerKind::adam());
        let lr = case["lr"].as_f64().unwrap();
        let expected = floats(&case["losses"]);
        for (step, want) in expected.iter().enumerate() {
            let batch = &batches[step % 4];
            m.zero_grad();
            let mut cache = EncoderCache::default();
            let pooled = m.enc.forward(batch, None, &mut cache, Threads::One);
            let mut out = Vec::new();
            m.proj.forward(&pooled, batch.b, &mut out, Threads::One);
            let (l, dout) = loss::mse(&out, &vec![0.0; out.len()]);
            let mut dpooled = Vec::new();
            m.proj
                .backward(&pooled, batch.b, &dout, Some(&mut dpooled), Threads::One);
            m.enc.backward(&mut cache, &dpooled, Threads::One);
            opt.update(&mut m, lr).unwrap();
            assert!(
                (l as f64 - want).abs() <= 1e-4,
                "{name} step {step}: ours {l} pytorch {want}"
            );
        }
    }
}

#[test]
fn safetensors_from_pytorch_load_and_ours_round_trip() {
    let fx = fixture();
    let mut m = bench_model(Cell::Lstm);
    weights::load_bytes(&mut m, include_bytes!("fixtures/pytorch_lstm.safetensors")).unwrap();
    let mut expected = bench_model(Cell::Lstm);
    load(&mut expected, &fx["adam"]["lstm"]["weights"], "");
    let values = |x: &mut BenchModel| {
        let mut v = Vec::new();
        x.visit(&mut |p: &mut Param<f32>| v.push((p.name.clone(), p.value.clone())));
        v
    };
    assert_eq!(values(&mut m), values(&mut expected));
    let bytes = weights::to_bytes(&mut m, None);
    let mut back = bench_model(Cell::Lstm);
    weights::load_bytes(&mut back, &bytes).unwrap();
    assert_eq!(values(&mut back), values(&mut m));
    // A GRU cannot load LSTM weights: shapes differ, and the error says which tensor.
    let err = weights::load_bytes(&mut bench_model(Cell::Gru), &bytes)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("rnn.weight_ih_l0") && err.contains("expected [15, 4]"),
        "{err}"
    );
    assert!(weights::load_bytes(&mut back, &bytes[..bytes.len() / 2]).is_err());
}

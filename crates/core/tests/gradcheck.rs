//! Finite-difference checks in f64 of every backward pass: each layer, every
//! combination of cell, direction, depth and pooling on uneven lengths, every
//! loss. Five-point central differences with step 1e-4 (truncation error
//! O(h^4), rounding ~1e-12), so even gradients near 1e-6 are measured
//! precisely; the largest relative error
//! `|analytic - numeric| / (max(|analytic|, |numeric|) + 1e-6)` must be <= 1e-5.

use textrnn::batch::Batch;
use textrnn::nn::encoder::{Encoder, EncoderCache, EncoderConfig};
use textrnn::nn::gemm::Threads;
use textrnn::nn::linear::Linear;
use textrnn::nn::loss;
use textrnn::nn::pool::Pooling;
use textrnn::nn::rnn::Cell;
use textrnn::nn::{Module, Param};
use textrnn::rng::Rng;

const EPS: f64 = 1e-4;
const TOL: f64 = 1e-5;

fn rel(a: f64, n: f64) -> f64 {
    (a - n).abs() / (a.abs().max(n.abs()) + 1e-6)
}

/// `f'(0)` from f(±h), f(±2h).
fn five_point(mut f: impl FnMut(f64) -> f64) -> f64 {
    (-f(2.0 * EPS) + 8.0 * f(EPS) - 8.0 * f(-EPS) + f(-2.0 * EPS)) / (12.0 * EPS)
}

/// Check every parameter value of `model` under `loss_of` (which also runs backward when asked).
fn check_params<M: Module<f64>>(
    model: &mut M,
    loss_and_grad: &dyn Fn(&mut M, bool) -> f64,
    what: &str,
) {
    model.zero_grad();
    loss_and_grad(model, true);
    let mut analytic: Vec<(String, Vec<f64>)> = Vec::new();
    model.visit(&mut |p: &mut Param<f64>| analytic.push((p.name.clone(), p.grad.clone())));
    let mut worst = (0.0, String::new());
    for (pi, (name, grads)) in analytic.iter().enumerate() {
        for (k, &grad) in grads.iter().enumerate() {
            let shift = |m: &mut M, delta: f64| {
                let mut idx = 0;
                m.visit(&mut |p: &mut Param<f64>| {
                    if idx == pi {
                        p.value[k] += delta;
                    }
                    idx += 1;
                });
            };
            let at = |m: &mut M, delta: f64| {
                shift(m, delta);
                let l = loss_and_grad(m, false);
                shift(m, -delta);
                l
            };
            let numeric = five_point(|d| at(model, d));
            let e = rel(grad, numeric);
            if e > worst.0 {
                worst = (
                    e,
                    format!("{name}[{k}]: analytic {} numeric {numeric}", grads[k]),
                );
            }
        }
    }
    assert!(
        worst.0 <= TOL,
        "{what}: worst relative error {:.2e} at {}",
        worst.0,
        worst.1
    );
}

fn uneven_batch() -> Batch {
    // Lengths 5, 3, 3, 1 with ids that include <unk> (1) and repeated tokens.
    let seqs = vec![vec![5, 6, 7, 8, 9], vec![10, 11, 5], vec![1, 7, 7], vec![9]];
    Batch::new(&seqs, &[0, 1, 2, 3], 16)
}

fn encoder(
    cell: Cell,
    bidirectional: bool,
    layers: usize,
    pooling: Pooling,
    dropout: f64,
) -> Encoder<f64> {
    let cfg = EncoderConfig {
        vocab: 12,
        embed: 3,
        hidden: 4,
        layers,
        bidirectional,
        cell,
        pooling,
        dropout,
    };
    Encoder::new(cfg, &mut Rng::new(11))
}

#[test]
fn encoder_every_cell_direction_depth_and_pooling() {
    let batch = uneven_batch();
    for cell in [Cell::Lstm, Cell::Gru] {
        for bidirectional in [false, true] {
            for layers in [1, 2] {
                for pooling in [
                    Pooling::Mean,
                    Pooling::Max,
                    Pooling::Last,
                    Pooling::Attention,
                ] {
                    let mut enc = encoder(cell, bidirectional, layers, pooling, 0.0);
                    let d = enc.config.output_dim();
                    let mut r = Rng::new(3);
                    let weights: Vec<f64> = (0..batch.b * d).map(|_| r.normal()).collect();
                    let f = |m: &mut Encoder<f64>, backward: bool| {
                        let mut cache = EncoderCache::default();
                        let out = m.forward(&batch, None, &mut cache, Threads::One);
                        if backward {
                            m.backward(&mut cache, &weights, Threads::One);
                        }
                        out.iter().zip(&weights).map(|(a, b)| a * b).sum()
                    };
                    check_params(
                        &mut enc,
                        &f,
                        &format!("{cell:?} bi={bidirectional} layers={layers} {pooling:?}"),
                    );
                }
            }
        }
    }
}

#[test]
fn encoder_with_dropout_masks() {
    let batch = uneven_batch();
    for cell in [Cell::Lstm, Cell::Gru] {
        let mut enc = encoder(cell, true, 2, Pooling::Mean, 0.3);
        let d = enc.config.output_dim();
        let weights: Vec<f64> = (0..batch.b * d).map(|i| (i as f64 * 0.37).sin()).collect();
        let f = |m: &mut Encoder<f64>, backward: bool| {
            let mut cache = EncoderCache::default();
            let mut rng = Rng::new(99); // the same masks on every call
            let out = m.forward(&batch, Some(&mut rng), &mut cache, Threads::One);
            if backward {
                m.backward(&mut cache, &weights, Threads::One);
            }
            out.iter().zip(&weights).map(|(a, b)| a * b).sum()
        };
        check_params(&mut enc, &f, &format!("{cell:?} with dropout"));
    }
}

/// A loss of a vector and its gradient.
type LossAndGrad<'a> = &'a dyn Fn(&[f64]) -> (f64, Vec<f64>);

/// Check the gradient of `f` w.r.t. the vector `x`.
fn check_input(x: &[f64], f: LossAndGrad, what: &str) {
    let (_, g) = f(x);
    let mut worst = (0.0, 0);
    for k in 0..x.len() {
        let numeric = five_point(|d| {
            let mut y = x.to_vec();
            y[k] += d;
            f(&y).0
        });
        let e = rel(g[k], numeric);
        if e > worst.0 {
            worst = (e, k);
        }
    }
    assert!(
        worst.0 <= TOL,
        "{what}: worst relative error {:.2e} at {}",
        worst.0,
        worst.1
    );
}

fn randn(n: usize, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.normal()).collect()
}

#[test]
fn linear_layer() {
    let mut lin = Linear::<f64>::new("proj.", 5, 3, &mut Rng::new(1));
    let x = randn(4 * 5, 2);
    let w = randn(4 * 3, 3);
    let f = |m: &mut Linear<f64>, backward: bool| {
        let mut y = Vec::new();
        m.forward(&x, 4, &mut y, Threads::One);
        if backward {
            m.backward(&x, 4, &w, None, Threads::One);
        }
        y.iter().zip(&w).map(|(a, b)| a * b).sum()
    };
    check_params(&mut lin, &f, "linear params");
    let lin2 = lin.clone();
    check_input(
        &x,
        &|xx| {
            let mut y = Vec::new();
            lin2.forward(xx, 4, &mut y, Threads::One);
            let mut m = lin2.clone();
            let mut dx = Vec::new();
            m.backward(xx, 4, &w, Some(&mut dx), Threads::One);
            (y.iter().zip(&w).map(|(a, b)| a * b).sum(), dx)
        },
        "linear input",
    );
}

#[test]
fn losses() {
    let target = randn(12, 5);
    check_input(&randn(12, 4), &|p| loss::mse(p, &target), "mse");

    let targets = [Some(2), None, Some(0), Some(3)];
    check_input(
        &randn(16, 6),
        &|l| loss::cross_entropy(l, 4, &targets),
        "cross-entropy",
    );

    let z2 = randn(15, 8);
    check_input(
        &randn(15, 7),
        &|z1| {
            let (l, d1, _) = loss::info_nce(z1, &z2, 5, 0.5);
            (l, d1)
        },
        "info-nce view 1",
    );
    let z1 = randn(15, 7);
    check_input(
        &z2,
        &|z2| {
            let (l, _, d2) = loss::info_nce(&z1, z2, 5, 0.5);
            (l, d2)
        },
        "info-nce view 2",
    );

    let mu = randn(3 * 4, 9);
    let z = randn(5 * 4, 10);
    let p = loss::dec_target(&loss::dec_soft_assign(&z, &mu, 4), 3);
    check_input(
        &z,
        &|z| {
            let (l, dz, _) = loss::dec_kl(z, &mu, 4, &p);
            (l, dz)
        },
        "dec kl z",
    );
    check_input(
        &mu,
        &|mu| {
            let (l, _, dmu) = loss::dec_kl(&z, mu, 4, &p);
            (l, dmu)
        },
        "dec kl mu",
    );

    // Sampled softmax: the same negatives on every call (fixed seed).
    let (v, h) = (30, 4);
    let weight = randn(v * h, 11);
    let bias = randn(v, 12);
    let tgt = [3, 17, 3];
    check_input(
        &randn(3 * h, 13),
        &|hid| {
            let r = loss::sampled_softmax(hid, h, &weight, &bias, &tgt, 6, &mut Rng::new(5));
            (r.loss, r.dhidden)
        },
        "sampled softmax hidden",
    );
    let hid = randn(3 * h, 13);
    check_input(
        &weight,
        &|w| {
            let r = loss::sampled_softmax(&hid, h, w, &bias, &tgt, 6, &mut Rng::new(5));
            let mut dw = vec![0.0; v * h];
            for (j, row, _) in &r.dweight {
                dw[j * h..(j + 1) * h]
                    .iter_mut()
                    .zip(row)
                    .for_each(|(a, b)| *a += b);
            }
            (r.loss, dw)
        },
        "sampled softmax weights",
    );
}

#[test]
fn rnn_layer_from_an_initial_state() {
    use textrnn::nn::packed::Packed;
    use textrnn::nn::rnn::{RnnCache, RnnLayer};
    // Lengths 4, 2, 2, 1 in packed order; input 3, hidden 4.
    let p = Packed::new(&[4, 2, 2, 1]);
    let (inp, hd) = (3, 4);
    let x = randn(p.n() * inp, 21);
    let w = randn(p.n() * hd, 22);
    for cell in [Cell::Lstm, Cell::Gru] {
        for reverse in [false, true] {
            let layer = RnnLayer::<f64>::new("rnn.", cell, inp, hd, 0, reverse, &mut Rng::new(5));
            let what = format!("{cell:?} reverse={reverse}");
            let run = |m: &mut RnnLayer<f64>, h0: &[f64], backward: bool| {
                let mut h = Vec::new();
                let mut cache = RnnCache::default();
                m.forward_from(&x, h0, &p, &mut h, Some(&mut cache), Threads::One);
                let loss = h.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
                let mut dh0 = vec![0.0; h0.len()];
                if backward {
                    m.backward_to(&x, &p, &mut cache, &w, None, Some(&mut dh0), Threads::One);
                }
                (loss, dh0)
            };
            let h0 = randn(p.b() * hd, 23);
            let mut m = layer.clone();
            check_params(&mut m, &|m, b| run(m, &h0, b).0, &format!("{what} params"));
            check_input(
                &h0,
                &|hh| run(&mut layer.clone(), hh, true),
                &format!("{what} h0"),
            );
        }
    }
}

#[test]
fn translation_model_every_cell_with_attention_and_bridge() {
    use textrnn::translate::model::{PairBatch, Seq2Seq, Seq2SeqConfig};
    // Uneven sources and targets whose length orders differ, so the source
    // and target layouts sort the pairs differently.
    let pairs: Vec<(Vec<u32>, Vec<u32>)> = vec![
        (vec![5, 6, 7, 8], vec![5]),
        (vec![9, 1], vec![6, 7, 8, 9]),
        (vec![10], vec![7, 7]),
    ];
    let refs: Vec<(&[u32], &[u32])> = pairs.iter().map(|(s, t)| (&s[..], &t[..])).collect();
    let batch = PairBatch::new(&refs, 16);
    for cell in [Cell::Gru, Cell::Lstm] {
        for (bidirectional, layers, dropout) in [(true, 1, 0.0), (false, 2, 0.0), (true, 1, 0.3)] {
            let cfg = Seq2SeqConfig {
                src_vocab: 12,
                tgt_vocab: 11,
                embed: 3,
                hidden: 3,
                dec_hidden: 4,
                layers,
                cell,
                bidirectional,
                dropout,
            };
            let mut m = Seq2Seq::<f64>::new(cfg, &mut Rng::new(3));
            let f = |m: &mut Seq2Seq<f64>, backward: bool| {
                // The same masks at every evaluation: a fresh generator.
                let mut rng = Rng::new(9);
                let r = (dropout > 0.0).then_some(&mut rng);
                m.loss(&batch, r, 0.1, backward, Threads::One)
            };
            check_params(
                &mut m,
                &f,
                &format!("seq2seq {cell:?} bi={bidirectional} layers={layers} dropout={dropout}"),
            );
        }
    }
}

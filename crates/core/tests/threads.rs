//! Threads: a fixed thread count gives bit-identical results run to run, and
//! splitting the batch over threads agrees with one thread within float
//! tolerance (the forward and backward passes, and a few Adam steps).

use textrnn::batch::Batch;
use textrnn::nn::encoder::{Encoder, EncoderCache, EncoderConfig};
use textrnn::nn::gemm::Threads;
use textrnn::nn::optim::{Optimizer, OptimizerKind};
use textrnn::nn::pool::Pooling;
use textrnn::nn::rnn::Cell;
use textrnn::nn::{Module, Param};
use textrnn::rng::Rng;

fn batch() -> Batch {
    // 40 rows of uneven lengths, so both threads get work and rows end at different steps.
    let mut rng = Rng::new(4);
    let seqs: Vec<Vec<u32>> = (0..40)
        .map(|_| {
            (0..1 + rng.below(12))
                .map(|_| 5 + rng.below(45) as u32)
                .collect()
        })
        .collect();
    Batch::new(&seqs, &(0..40).collect::<Vec<_>>(), 100)
}

/// A two-layer bidirectional encoder with dropout, small enough for every test here.
fn config(cell: Cell, pooling: Pooling) -> EncoderConfig {
    EncoderConfig {
        vocab: 50,
        embed: 8,
        hidden: 16,
        layers: 2,
        bidirectional: true,
        cell,
        pooling,
        dropout: 0.1,
    }
}

/// A pool of two threads, for the two-thread side of each comparison.
fn two_threads() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
}

/// Three Adam steps; returns the final parameters and every pooled output.
fn train(cell: Cell, threads: Threads) -> (Vec<f32>, Vec<f32>) {
    let mut enc = Encoder::<f32>::new(config(cell, Pooling::Attention), &mut Rng::new(1));
    let mut opt = Optimizer::<f32>::new(OptimizerKind::adamw());
    let b = batch();
    let mut outs = Vec::new();
    for step in 0..3 {
        enc.zero_grad();
        let mut cache = EncoderCache::default();
        let mut rng = Rng::new(100 + step);
        let pooled = enc.forward(&b, Some(&mut rng), &mut cache, threads);
        let dpooled: Vec<f32> = pooled.iter().map(|x| 2.0 * x).collect();
        enc.backward(&mut cache, &dpooled, threads);
        opt.update(&mut enc, 1e-2).unwrap();
        outs.extend(pooled);
    }
    outs.extend(enc.encode(&b, threads));
    let mut params = Vec::new();
    enc.visit(&mut |p: &mut Param<f32>| params.extend_from_slice(&p.value));
    (params, outs)
}

#[test]
fn fixed_thread_count_is_bit_identical_and_counts_agree() {
    let pool = two_threads();
    for cell in [Cell::Lstm, Cell::Gru] {
        let one = train(cell, Threads::One);
        assert_eq!(
            one,
            train(cell, Threads::One),
            "{cell:?}: one thread, run to run"
        );
        let two = pool.install(|| train(cell, Threads::Many(2)));
        assert_eq!(
            two,
            pool.install(|| train(cell, Threads::Many(2))),
            "{cell:?}: two threads, run to run"
        );
        let worst = one
            .0
            .iter()
            .chain(&one.1)
            .zip(two.0.iter().chain(&two.1))
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-4, "{cell:?}: 1 vs 2 threads differ by {worst}");
    }
}

#[test]
fn padding_never_changes_a_result() {
    // A text encoded alone equals the same text inside a batch of longer and shorter texts.
    for cell in [Cell::Lstm, Cell::Gru] {
        for pooling in [
            Pooling::Mean,
            Pooling::Max,
            Pooling::Last,
            Pooling::Attention,
        ] {
            let cfg = EncoderConfig {
                vocab: 30,
                embed: 6,
                hidden: 5,
                layers: 2,
                bidirectional: true,
                cell,
                pooling,
                dropout: 0.0,
            };
            let enc = Encoder::<f64>::new(cfg, &mut Rng::new(2));
            let text = vec![7, 8, 9, 10];
            let alone = enc.encode(
                &Batch::new(std::slice::from_ref(&text), &[0], 100),
                Threads::One,
            );
            let seqs = vec![vec![5; 11], text, vec![6, 6]];
            let mixed = Batch::new(&seqs, &[0, 1, 2], 100);
            let all = enc.encode(&mixed, Threads::One);
            let row = mixed.doc_index.iter().position(|&d| d == 1).unwrap();
            let d = alone.len();
            for (a, b) in alone.iter().zip(&all[row * d..(row + 1) * d]) {
                assert!((a - b).abs() < 1e-12, "{cell:?} {pooling:?}: {a} vs {b}");
            }
        }
    }
}

/// Inference (`encode`, input projected step by step, nothing kept) gives the
/// training forward pass's outputs: bit-identical in f32 with the packed
/// kernel, within rounding in f64 (gemm crate), at one and two threads.
#[test]
fn inference_path_equals_training_forward() {
    let pool = two_threads();
    for cell in [Cell::Lstm, Cell::Gru] {
        let cfg = config(cell, Pooling::Mean);
        let b = batch();
        for threads in [Threads::One, Threads::Many(2)] {
            pool.install(|| {
                let enc = Encoder::<f32>::new(cfg.clone(), &mut Rng::new(1));
                let trained = enc.forward(&b, None, &mut EncoderCache::default(), threads);
                let inferred = enc.encode(&b, threads);
                if textrnn::nn::kernel::available() {
                    assert_eq!(trained, inferred, "{cell:?} {threads:?} f32");
                }
                for (x, y) in trained.iter().zip(&inferred) {
                    assert!((x - y).abs() < 1e-5, "{cell:?} f32: {x} vs {y}");
                }
                let enc = Encoder::<f64>::new(cfg.clone(), &mut Rng::new(1));
                let trained = enc.forward(&b, None, &mut EncoderCache::default(), threads);
                let inferred = enc.encode(&b, threads);
                for (x, y) in trained.iter().zip(&inferred) {
                    assert!((x - y).abs() < 1e-12, "{cell:?} f64: {x} vs {y}");
                }
            });
        }
    }
}

/// Inference with a prepared state (weights packed once; with or without
/// the input projection folded into per-token tables) gives what the plain
/// path gives: bit for bit on the packed f32 kernel (the same FMA chain per
/// gate), within rounding elsewhere; for both cells, one or two directions,
/// one or two threads, and a second layer on top.
#[test]
fn prepared_inference_equals_plain() {
    let pool = two_threads();
    let b = batch();
    for cell in [Cell::Lstm, Cell::Gru] {
        for bidirectional in [false, true] {
            let cfg = EncoderConfig {
                bidirectional,
                ..config(cell, Pooling::Mean)
            };
            for threads in [Threads::One, Threads::Many(2)] {
                for fold in [false, true] {
                    pool.install(|| {
                        let what = format!("{cell:?} bi={bidirectional} {threads:?} fold={fold}");
                        let enc = Encoder::<f32>::new(cfg.clone(), &mut Rng::new(2));
                        let prepared = enc.prepare(fold, threads);
                        assert_eq!(prepared.folded(), fold);
                        let plain = enc.encode(&b, threads);
                        let fast = enc.encode_with(&b, Some(&prepared), threads);
                        if textrnn::nn::kernel::available() {
                            assert_eq!(plain, fast, "{what}");
                        }
                        for (x, y) in plain.iter().zip(&fast) {
                            assert!((x - y).abs() < 1e-5, "{what} f32: {x} vs {y}");
                        }
                        let enc = Encoder::<f64>::new(cfg.clone(), &mut Rng::new(2));
                        let prepared = enc.prepare(fold, threads);
                        let plain = enc.encode(&b, threads);
                        let fast = enc.encode_with(&b, Some(&prepared), threads);
                        for (x, y) in plain.iter().zip(&fast) {
                            assert!((x - y).abs() < 1e-12, "{what} f64: {x} vs {y}");
                        }
                        // Folding is only chosen where it reproduces the plain
                        // path exactly, and only once it pays for itself.
                        assert!(!enc.fold_pays(usize::MAX), "f64 never folds");
                        let enc = Encoder::<f32>::new(cfg.clone(), &mut Rng::new(2));
                        assert!(!enc.fold_pays(cfg.vocab - 1));
                        assert_eq!(enc.fold_pays(cfg.vocab), textrnn::nn::kernel::available());
                    });
                }
            }
        }
    }
}

/// A cache reused from a larger batch, after a backward pass and after a
/// forward pass (its buffers keep their old values and are only grown, never
/// cleared), gives the same forward and gradients as a fresh one: every
/// cached element is written before it is read.
#[test]
fn reused_cache_equals_fresh_cache() {
    for cell in [Cell::Lstm, Cell::Gru] {
        let cfg = EncoderConfig {
            dropout: 0.0,
            ..config(cell, Pooling::Mean)
        };
        let big = batch();
        let seqs: Vec<Vec<u32>> = (0..7)
            .map(|i| (0..1 + i % 4).map(|t| 5 + (i * 3 + t) as u32).collect())
            .collect();
        let small = Batch::new(&seqs, &(0..7).collect::<Vec<_>>(), 100);
        let run = |cache: &mut EncoderCache<f32>| {
            let mut enc = Encoder::<f32>::new(cfg.clone(), &mut Rng::new(1));
            let pooled = enc.forward(&small, None, cache, Threads::One);
            enc.backward(cache, &pooled, Threads::One);
            let mut grads = Vec::new();
            enc.visit(&mut |p: &mut Param<f32>| grads.extend_from_slice(&p.grad));
            (pooled, grads)
        };
        let mut used = EncoderCache::default();
        let mut enc = Encoder::<f32>::new(cfg.clone(), &mut Rng::new(9));
        let pooled = enc.forward(&big, None, &mut used, Threads::One);
        enc.backward(&mut used, &pooled, Threads::One);
        enc.forward(&big, None, &mut used, Threads::One);
        assert_eq!(
            run(&mut used),
            run(&mut EncoderCache::default()),
            "{cell:?}"
        );
    }
}

//! Training that survives: divergence recovery (undo, halve the learning
//! rate, continue; give up with a clear error after repeated failures) and
//! checkpoints that resume to the same encoder.

use textrnn::learn::CheckpointConfig;
use textrnn::learn::{train_contrastive, Objective, TrainConfig, TrainError};
use textrnn::model::ModelConfig;
use textrnn::nn::gemm::Threads;
use textrnn::nn::Module;
use textrnn::rng::Rng;

/// Random token sequences over a small vocabulary.
fn seqs(n: usize) -> Vec<Vec<u32>> {
    let mut rng = Rng::new(7);
    (0..n)
        .map(|_| {
            let len = 3 + rng.below(10);
            (0..len).map(|_| 5 + rng.below(60) as u32).collect()
        })
        .collect()
}

fn config() -> TrainConfig {
    let mut c = ModelConfig::new(2, 3).train;
    c.encoder.vocab = 65;
    c.encoder.embed = 8;
    c.encoder.hidden = 8;
    c.batch_size = 8;
    c.epochs = 2;
    c
}

fn weights(enc: &mut textrnn::nn::encoder::Encoder<f32>) -> Vec<f32> {
    let mut out = Vec::new();
    enc.visit(&mut |p| out.extend_from_slice(&p.value));
    out
}

#[test]
fn a_nan_step_is_undone_and_training_goes_on_at_half_the_rate() {
    let data = seqs(120);
    let clean = train_contrastive(&data, &config(), None, Threads::One, &mut |_| {}).unwrap();
    let mut cfg = config();
    cfg.fault_nan_at = vec![4];
    let (mut enc, log, steps) = train_contrastive(&data, &cfg, None, Threads::One, &mut |_| {})
        .expect("one NaN is recovered from");
    assert_eq!(log.len(), 2);
    assert!(steps.iter().all(|s| s.loss.is_finite()));
    // Training went on after the recovery, at half the learning rate.
    assert_eq!(steps.len(), clean.2.len());
    let last = steps.last().unwrap();
    let last_clean = clean.2.last().unwrap();
    assert!(
        (last.lr - 0.5 * last_clean.lr).abs() < 1e-12,
        "{} vs {}",
        last.lr,
        last_clean.lr
    );
    assert!(weights(&mut enc).iter().all(|v| v.is_finite()));
}

#[test]
fn repeated_divergence_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint() {
    let data = seqs(120);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.checkpoint");
    let mut cfg = config();
    cfg.checkpoint = Some(CheckpointConfig {
        path: path.clone(),
        every: 2,
        resume: false,
    });
    // Every step from 5 on fails once: recoveries run out.
    cfg.fault_nan_at = (5..40).collect();
    let err = train_contrastive(&data, &cfg, None, Threads::One, &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, TrainError::Diverged { recoveries: 5, .. }),
        "{msg}"
    );
    assert!(
        msg.contains("training diverged") && msg.contains("loss"),
        "{msg}"
    );
    assert!(msg.contains("run.checkpoint"), "{msg}");
    assert!(path.exists(), "the last good checkpoint is kept");
}

/// For both objectives (the language model's output layer is part of the
/// checkpoint while training).
#[test]
fn resuming_from_a_checkpoint_reaches_the_same_encoder() {
    for objective in [Objective::Contrastive, Objective::LanguageModel] {
        resume_reaches_the_same_encoder(objective);
    }
}

fn resume_reaches_the_same_encoder(objective: Objective) {
    let data = seqs(150);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.checkpoint");
    let mut cfg = config();
    cfg.objective = objective;
    cfg.epochs = 3;
    let (mut full, full_log, full_steps) =
        train_contrastive(&data, &cfg, None, Threads::One, &mut |_| {}).unwrap();

    // A run that stops after its checkpoint at step 12 (as if killed there)...
    cfg.checkpoint = Some(CheckpointConfig {
        path: path.clone(),
        every: 6,
        resume: false,
    });
    let mut seen = 0;
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train_contrastive(&data, &cfg, None, Threads::One, &mut |p| {
            seen = p.step;
            if p.step == 14 {
                panic!("killed");
            }
        })
    }));
    assert_eq!(seen, 14);
    assert!(path.exists());
    // ...then resumes from it.
    cfg.checkpoint.as_mut().unwrap().resume = true;
    let (mut resumed, log, steps) =
        train_contrastive(&data, &cfg, None, Threads::One, &mut |_| {}).unwrap();
    assert_eq!(weights(&mut resumed), weights(&mut full));
    assert_eq!(steps, full_steps);
    assert_eq!(
        log.iter().map(|e| e.val_loss.to_bits()).collect::<Vec<_>>(),
        full_log
            .iter()
            .map(|e| e.val_loss.to_bits())
            .collect::<Vec<_>>()
    );

    // A checkpoint for other data is refused, clearly.
    let other = seqs(151);
    let err = train_contrastive(&other, &cfg, None, Threads::One, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("other data or settings"), "{err}");
}

/// The language-model objective lowers its validation loss, is
/// deterministic, and leaves no output layer in the trained encoder.
#[test]
fn the_language_model_objective_learns_and_drops_its_output_layer() {
    // Sequences with structure to learn: each token is the previous plus one
    // (12 epochs bring the validation loss from about 7.8 to below half).
    let data: Vec<Vec<u32>> = (0..200)
        .map(|i| {
            (0..4 + i % 6)
                .map(|t| 5 + ((i * 7 + t) % 40) as u32)
                .collect()
        })
        .collect();
    let mut cfg = config();
    cfg.objective = Objective::LanguageModel;
    cfg.epochs = 12;
    cfg.patience = 12;
    cfg.lr = 1e-2;
    let (mut enc, log, steps) =
        train_contrastive(&data, &cfg, None, Threads::One, &mut |_| {}).unwrap();
    assert!(enc.objective.is_empty());
    assert!(steps.iter().all(|s| s.loss.is_finite() && s.loss > 0.0));
    assert!(
        log.last().unwrap().val_loss < 0.5 * log[0].val_loss,
        "{:?}",
        log.iter().map(|e| e.val_loss).collect::<Vec<_>>()
    );
    let (mut again, _, _) =
        train_contrastive(&data, &cfg, None, Threads::One, &mut |_| {}).unwrap();
    assert_eq!(weights(&mut enc), weights(&mut again));
    // The same parameters as a contrastive encoder of the same shape.
    let (mut c, _, _) =
        train_contrastive(&data, &config(), None, Threads::One, &mut |_| {}).unwrap();
    assert_eq!(weights(&mut enc).len(), weights(&mut c).len());
}

//! `textrnn train`: the main job. Train an RNN encoder without labels,
//! cluster, save the model. The flags are in `args.rs`, their translation
//! into the library's settings in `config.rs`, the printed summary in
//! `summary.rs`; this file runs the job.

mod args;
mod config;
mod summary;

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use textrnn::learn::seeds::{SeedSet, BUILTIN};
use textrnn::learn::CheckpointConfig;
use textrnn::model::{CorpusProfile, Model, ModelConfig};
use textrnn::nn::gemm::Threads;
use textrnn::nn::rnn::Cell;

use args::KArg;
pub use args::TrainArgs;

use super::{output, progress};

/// MODEL_DIR.checkpoint, beside the model directory.
pub fn checkpoint_path(out: &Path) -> std::path::PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    out.with_file_name(format!("{name}.checkpoint"))
}

/// A shipped seed set by name, or a user's: a JSON file, a word-score
/// lexicon (with `threshold`), or a folder of word lists.
fn load_seeds(spec: &str, threshold: f64) -> Result<SeedSet> {
    if let Some(s) = SeedSet::builtin(spec) {
        return Ok(s);
    }
    let path = std::path::Path::new(spec);
    if !path.exists() {
        let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        anyhow::bail!(
            "--seeds {spec}: not a shipped seed set ({}) and no such file or folder",
            names.join(", ")
        );
    }
    SeedSet::read(path, threshold).map_err(|e| anyhow::anyhow!("--seeds {e}"))
}

/// The number of clusters asked for: `--k`, or the seed words' classes.
fn resolve_k(a: &TrainArgs, seeds: Option<&SeedSet>) -> Result<KArg> {
    let k_arg = match (seeds, a.k) {
        (Some(s), None) => KArg::Fixed(s.classes.len()),
        (Some(s), Some(KArg::Fixed(k))) if k == s.classes.len() => KArg::Fixed(k),
        (Some(s), Some(_)) => anyhow::bail!(
            "--k must match the {} classes of the seed words (or be left out)",
            s.classes.len()
        ),
        (None, Some(k)) => k,
        (None, None) => anyhow::bail!("give --k (or --seeds)"),
    };
    if let Some(k) = k_arg.fixed() {
        anyhow::ensure!(k >= 1, "--k must be at least 1");
    } else {
        anyhow::ensure!(
            a.classes.k_min >= 2 && a.classes.k_max >= a.classes.k_min,
            "--k auto needs 2 <= --k-min <= --k-max"
        );
    }
    Ok(k_arg)
}

/// Say so when `k` cannot give useful clusters of `n` texts: one cluster
/// classifies nothing, and fewer than two texts per cluster make singletons.
fn warn_degenerate(n: usize, k: usize) {
    if k == 1 {
        eprintln!("warning: --k 1 puts every text in one cluster; nothing is told apart");
    } else if n < 2 * k {
        eprintln!(
            "warning: {n} texts for --k {k}: fewer than 2 texts per cluster, so most clusters will be single texts"
        );
    }
}

/// Checkpoints every `--checkpoint-every` steps beside the model, or an
/// error when `--resume` cannot have them.
fn checkpoints(a: &TrainArgs, cfg: &mut ModelConfig) -> Result<std::path::PathBuf> {
    let ckpt_path = checkpoint_path(Path::new(&a.out));
    let resume = a.output.resume;
    if a.output.checkpoint_every > 0 && !a.encoder.select {
        if ckpt_path.exists() && !resume {
            eprintln!(
                "note: {} is from an interrupted run; it will be replaced (pass --resume to continue it)",
                ckpt_path.display()
            );
        }
        cfg.train.checkpoint = Some(CheckpointConfig {
            path: ckpt_path.clone(),
            every: a.output.checkpoint_every,
            resume,
        });
    } else if resume {
        anyhow::bail!("--resume needs checkpoints (--checkpoint-every above 0)");
    }
    if resume && !ckpt_path.exists() {
        eprintln!(
            "note: no checkpoint at {}; training from the start",
            ckpt_path.display()
        );
    }
    Ok(ckpt_path)
}

pub fn run(a: TrainArgs) -> Result<()> {
    let start = Instant::now();
    let seeds = (a.seeds.as_deref())
        .map(|s| load_seeds(s, a.seed_words.seed_threshold))
        .transpose()?;
    let k_arg = resolve_k(&a, seeds.as_ref())?;
    let k_wanted = k_arg.fixed().unwrap_or(a.classes.k_min);
    config::validate(&a)?;
    // Where the model goes is checked before any work: a bad --out used to
    // be found only after training.
    Model::check_destination(Path::new(&a.out)).context("cannot save the model there")?;
    let corpus = a.input.read()?;
    let texts = corpus.texts();
    textrnn::model::check_clusterable(&texts, k_wanted, seeds.is_some())
        .with_context(|| format!("cannot cluster {}", corpus.source))?;
    if let Some(k) = k_arg.fixed().filter(|_| seeds.is_none()) {
        warn_degenerate(texts.len(), k);
    }
    let profile = CorpusProfile::measure(&a.encoder.chinese.pipeline(), &texts);
    let mut cfg = config::build(&a, k_wanted, k_arg.fixed().is_none(), seeds, &profile);
    a.terms.apply(&mut cfg.describe)?;
    let ckpt_path = checkpoints(&a, &mut cfg)?;
    let mut bar = progress::Training::new();
    let threads = Threads::Many(rayon::current_num_threads());
    let hidden = a.encoder.hidden;
    let grid = [
        (Cell::Lstm, hidden),
        (Cell::Gru, hidden),
        (Cell::Lstm, (hidden / 2).max(1)),
        (Cell::Gru, (hidden / 2).max(1)),
    ];
    let fitted = if a.encoder.select {
        Model::fit_select(&texts, &cfg, &grid, threads, &mut |p| bar.update(p))
    } else {
        Model::fit(&texts, &cfg, threads, &mut |p| bar.update(p))
    };
    let mut fitted = match fitted {
        Ok(f) => f,
        Err(e) => {
            // Keep a checkpoint only when it is the last good state of a diverged run.
            if !e.diverged() {
                let _ = std::fs::remove_file(&ckpt_path);
            }
            return Err(anyhow::Error::new(e))
                .with_context(|| format!("cannot train on {}", corpus.source));
        }
    };
    bar.finish();
    fitted.model.manifest.profile = Some(profile);
    let read = a.input.options();
    fitted.model.manifest.text_field = Some(read.text_field);
    fitted.model.manifest.input_format = read.format;
    if let Err(e) = fitted.model.save(Path::new(&a.out)) {
        // Training went well; only a run that failed in training keeps its checkpoint.
        let _ = std::fs::remove_file(&ckpt_path);
        return Err(anyhow::Error::new(e).context("cannot save the model"));
    }
    // The model is safe: the checkpoint has done its job.
    let _ = std::fs::remove_file(&ckpt_path);
    let seconds = start.elapsed().as_secs_f64();
    if let Some(path) = &a.out_assignments {
        let names: Vec<String> = (fitted.model.manifest.clusters.iter())
            .map(|c| c.name.clone())
            .collect();
        output::write_assignments_scored(path, &corpus, &fitted.labels, &fitted.scores, &names)?;
    }
    let scores = output::score(&corpus, &fitted.labels);
    let k = fitted.model.manifest.config.k;
    let majority = output::majority_labels(&corpus, &fitted.labels, k);
    let mut out = std::io::stdout().lock();
    let openings = a.repr.lead.is_none().then_some(profile.openings);
    summary::print(&mut out, &fitted, &corpus, openings, majority.as_ref())?;
    if let Some(s) = &scores {
        output::print_scores(&mut out, s)?;
    }
    writeln!(out, "model saved to {} ({seconds:.1} s)", a.out)?;
    if a.json {
        output::print_json_summary(&mut out, scores.as_ref(), texts.len(), k, seconds)?;
    }
    out.flush()?;
    Ok(())
}

//! `textrnn eval`: score a trained model on labeled text, beside the TF-IDF baseline.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use textrnn::baseline::{self, BaselineConfig};
use textrnn::eval::{encode_labels, Scores};
use textrnn::model::Model;
use textrnn::nn::gemm::Threads;

use super::InputArgs;

/// Classify INPUT with a model and score it against --label-field: ACC, NMI, ARI, purity,
/// a confusion table, and TF-IDF + k-means on the same texts side by side.
///
/// Example: textrnn eval --model so.model ../shared/data/stackoverflow/data.jsonl --label-field label
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct EvalArgs {
    /// Model directory.
    #[arg(long, value_name = "MODEL_DIR")]
    model: String,
    #[command(flatten)]
    input: InputArgs,
    /// End stdout with one JSON line of the model's and the baseline's scores.
    #[arg(long)]
    json: bool,
}

pub fn run(a: EvalArgs) -> Result<()> {
    anyhow::ensure!(
        a.input.label_field.is_some(),
        "eval needs --label-field (labels are only used to score)"
    );
    let start = Instant::now();
    let model = Model::load(Path::new(&a.model)).context("cannot load the model")?;
    let corpus = a.input.read_for(&model)?;
    let texts = corpus.texts();
    let labels = corpus.labels().context("some texts have no label")?;
    let (truth, classes) = encode_labels(&labels);
    let bar = super::progress::spinner(format!("classify {} texts", texts.len()));
    let (pred, _) = model.predict(&texts, Threads::Many(rayon::current_num_threads()));
    bar.set_message("TF-IDF + k-means baseline");
    let ours = Scores::compute(&truth, &pred);
    let seconds = start.elapsed().as_secs_f64();
    let k = model.manifest.clusters.len();
    let base = baseline::run(&texts, &BaselineConfig::new(k, 0))
        .ok()
        .map(|r| Scores::compute(&truth, &r.labels));
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} texts, {} classes, {} clusters",
        texts.len(),
        classes.len(),
        k
    )?;
    writeln!(
        out,
        "{:<24} {:>6} {:>6} {:>6} {:>7}",
        "method", "ACC", "NMI", "ARI", "purity"
    )?;
    let row = |name: &str, s: &Scores| {
        format!(
            "{name:<24} {:>6.1} {:>6.1} {:>6.1} {:>7.1}",
            100.0 * s.acc,
            100.0 * s.nmi,
            100.0 * s.ari,
            100.0 * s.purity
        )
    };
    writeln!(out, "{}", row("textrnn model", &ours))?;
    if let Some(b) = &base {
        writeln!(out, "{}", row("TF-IDF + k-means", b))?;
    }
    // Confusion: rows are clusters (by name), columns classes.
    let mut table = vec![vec![0usize; classes.len()]; k];
    for (&t, &p) in truth.iter().zip(&pred) {
        table[p][t] += 1;
    }
    writeln!(out, "\nconfusion (rows: clusters, columns: classes)")?;
    let names: Vec<String> = classes
        .iter()
        .map(|c| c.chars().take(10).collect())
        .collect();
    writeln!(
        out,
        "{:<28} {}",
        "",
        names.iter().map(|n| format!("{n:>10}")).collect::<String>()
    )?;
    for (c, row) in table.iter().enumerate() {
        let info = &model.manifest.clusters[c];
        let name: String = format!("{} {}", info.id, info.name)
            .chars()
            .take(28)
            .collect();
        writeln!(
            out,
            "{name:<28} {}",
            row.iter().map(|v| format!("{v:>10}")).collect::<String>()
        )?;
    }
    // Per cluster: the class it stands for (by name, else majority), precision, recall.
    let names: Vec<String> = model
        .manifest
        .clusters
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let per = textrnn::eval::per_cluster(&truth, &pred, &classes, &names);
    writeln!(
        out,
        "\nper cluster: the class it stands for (= same name, else its majority), precision, recall, F1"
    )?;
    for s in &per {
        let label: String = format!("{} {}", model.cluster_id(s.cluster), names[s.cluster])
            .chars()
            .take(28)
            .collect();
        writeln!(
            out,
            "{label:<28} {:>2}{:<16} P {:>5.1}  R {:>5.1}  F1 {:>5.1}  ({} texts)",
            if s.by_name { "= " } else { "~ " },
            s.class.chars().take(16).collect::<String>(),
            100.0 * s.precision,
            100.0 * s.recall,
            100.0 * s.f1,
            s.size
        )?;
    }
    if a.json {
        let s = |s: &Scores| json!({"acc": s.acc, "nmi": s.nmi, "ari": s.ari, "purity": s.purity});
        writeln!(
            out,
            "{}",
            json!({"acc": ours.acc, "nmi": ours.nmi, "ari": ours.ari, "purity": ours.purity, "n": texts.len(), "k": k,
            "seconds": (seconds * 1000.0).round() / 1000.0, "baseline": base.as_ref().map(s),
            "per_cluster": per.iter().map(|p| json!({"cluster": model.cluster_id(p.cluster), "name": names[p.cluster],
                "class": p.class, "by_name": p.by_name, "precision": p.precision, "recall": p.recall, "f1": p.f1, "size": p.size})).collect::<Vec<_>>()})
        )?;
    }
    Ok(())
}

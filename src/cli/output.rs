//! Printing results: cluster tables, scores, JSON lines, assignment files.

use std::io::Write;

use anyhow::{Context, Result};
use serde_json::json;
use textrnn::baseline::ClusterSummary;
use textrnn::corpus::Corpus;
use textrnn::eval::{encode_labels, Scores};
use textrnn::io::AtomicFile;

/// Scores against the corpus labels, if it has them.
pub fn score(corpus: &Corpus, pred: &[usize]) -> Option<Scores> {
    let labels = corpus.labels()?;
    let (truth, _) = encode_labels(&labels);
    Some(Scores::compute(&truth, pred))
}

/// The majority gold label of each cluster, if labels exist.
pub fn majority_labels(corpus: &Corpus, pred: &[usize], k: usize) -> Option<Vec<String>> {
    let labels = corpus.labels()?;
    let (truth, names) = encode_labels(&labels);
    let mut counts = vec![vec![0usize; names.len()]; k];
    for (&t, &p) in truth.iter().zip(pred) {
        counts[p][t] += 1;
    }
    Some(
        counts
            .iter()
            .map(|row| {
                let (best, n) = row
                    .iter()
                    .enumerate()
                    .max_by_key(|&(i, &n)| (n, std::cmp::Reverse(i)))
                    .unwrap_or((0, &0));
                if *n == 0 {
                    "-".into()
                } else {
                    let total: usize = row.iter().sum();
                    format!("{} {:.0}%", names[best], 100.0 * *n as f64 / total as f64)
                }
            })
            .collect(),
    )
}

/// One line per cluster: id, size, majority label, top terms.
pub fn print_clusters(
    out: &mut impl Write,
    clusters: &[ClusterSummary],
    majority: Option<&[String]>,
) -> Result<()> {
    for c in clusters {
        let terms: Vec<&str> = c.top_terms.iter().map(|(t, _)| t.as_str()).collect();
        match majority {
            Some(m) => writeln!(
                out,
                "cluster {:>2}  {:>6} texts  [{}]  {}",
                c.id,
                c.size,
                m[c.id],
                terms.join(" ")
            )?,
            None => writeln!(
                out,
                "cluster {:>2}  {:>6} texts  {}",
                c.id,
                c.size,
                terms.join(" ")
            )?,
        }
    }
    Ok(())
}

/// The human line of scores.
pub fn print_scores(out: &mut impl Write, s: &Scores) -> Result<()> {
    writeln!(
        out,
        "ACC {:.1}  NMI {:.1}  ARI {:.1}  purity {:.1}  (percent; labels used only to score)",
        100.0 * s.acc,
        100.0 * s.nmi,
        100.0 * s.ari,
        100.0 * s.purity
    )?;
    Ok(())
}

/// The machine-readable last line.
pub fn print_json_summary(
    out: &mut impl Write,
    s: Option<&Scores>,
    n: usize,
    k: usize,
    seconds: f64,
) -> Result<()> {
    let v = json!({
        "acc": s.map(|s| s.acc),
        "nmi": s.map(|s| s.nmi),
        "ari": s.map(|s| s.ari),
        "purity": s.map(|s| s.purity),
        "n": n,
        "k": k,
        "seconds": (seconds * 1000.0).round() / 1000.0,
    });
    writeln!(out, "{v}")?;
    Ok(())
}

/// `v` with the record's `"id"`, when the corpus was read with an id field.
fn with_id(corpus: &Corpus, i: usize, mut v: serde_json::Value) -> serde_json::Value {
    if let Some(id) = &corpus.docs[i].id {
        v["id"] = id.clone().into();
    }
    v
}

/// Write one `{"cluster": id}` line per input record (null for skipped records), atomically.
pub fn write_assignments(path: &str, corpus: &Corpus, pred: &[usize]) -> Result<()> {
    let mut f = AtomicFile::create(path).with_context(|| format!("cannot create {path}"))?;
    for rec in corpus.record_map() {
        match rec {
            Some(i) => writeln!(f, "{}", with_id(corpus, i, json!({ "cluster": pred[i] }))),
            None => writeln!(f, "{}", json!({ "cluster": null, "skipped": true })),
        }
        .with_context(|| format!("cannot write {path}"))?;
    }
    f.commit().with_context(|| format!("cannot write {path}"))?;
    Ok(())
}

/// Write one `{"id"?, "cluster", "name", "score"}` line per input record
/// (null for skipped records), atomically.
pub fn write_assignments_scored(
    path: &str,
    corpus: &Corpus,
    pred: &[usize],
    scores: &[f32],
    names: &[String],
) -> Result<()> {
    let mut f = AtomicFile::create(path).with_context(|| format!("cannot create {path}"))?;
    for rec in corpus.record_map() {
        match rec {
            Some(i) => writeln!(
                f,
                "{}",
                with_id(
                    corpus,
                    i,
                    json!({
                        "cluster": pred[i],
                        "name": names[pred[i]],
                        "score": (scores[i] as f64 * 1e4).round() / 1e4,
                    })
                )
            ),
            None => writeln!(f, "{}", json!({ "cluster": null, "skipped": true })),
        }
        .with_context(|| format!("cannot write {path}"))?;
    }
    f.commit().with_context(|| format!("cannot write {path}"))?;
    Ok(())
}

//! `textrnn baseline`: TF-IDF (+ LSA) + k-means, the reference every RNN result is compared with.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use textrnn::baseline::{self, BaselineConfig};

use super::{output, ChineseArg, InputArgs};

/// Cluster INPUT with TF-IDF (+ LSA) + k-means.
///
/// Examples:
///   textrnn baseline ../shared/data/stackoverflow/data.jsonl --k 20 --lsa --label-field label
///   cat tickets.txt | textrnn baseline - --k 8 --out clusters.jsonl
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct BaselineArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Number of clusters.
    #[arg(long, short = 'k')]
    k: usize,
    /// Project TF-IDF onto LSA dimensions (truncated SVD) before k-means.
    #[arg(long)]
    lsa: bool,
    /// LSA dimensions.
    #[arg(long, default_value_t = 100, value_name = "D")]
    lsa_dims: usize,
    /// Random seed (k-means++ and SVD).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// k-means restarts; the lowest inertia wins.
    #[arg(long, default_value_t = 10)]
    n_init: usize,
    /// Drop terms found in fewer texts.
    #[arg(long, default_value_t = 2)]
    min_df: usize,
    /// How Chinese is cut.
    #[arg(long, value_enum, default_value_t)]
    chinese: ChineseArg,
    /// Top terms shown per cluster.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Write one {"cluster": id} line per input record to FILE.
    #[arg(long, value_name = "FILE")]
    out: Option<String>,
    /// End stdout with one JSON line: {"acc","nmi","ari","purity","n","k","seconds"}.
    #[arg(long)]
    json: bool,
}

pub fn run(a: BaselineArgs) -> Result<()> {
    let start = Instant::now();
    anyhow::ensure!(a.k >= 1, "--k must be at least 1");
    anyhow::ensure!(a.n_init >= 1, "--n-init must be at least 1");
    anyhow::ensure!(!a.lsa || a.lsa_dims >= 1, "--lsa-dims must be at least 1");
    let corpus = a.input.read()?;
    let texts = corpus.texts();
    let mut cfg = BaselineConfig::new(a.k, a.seed);
    cfg.lsa = a.lsa.then_some(a.lsa_dims);
    cfg.n_init = a.n_init;
    cfg.tfidf.min_df = a.min_df.max(1);
    cfg.pipeline = a.chinese.pipeline();
    cfg.top_terms = a.top;
    let bar = super::progress::spinner("TF-IDF + k-means");
    let result =
        baseline::run(&texts, &cfg).with_context(|| format!("cannot cluster {}", corpus.source))?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    if let Some(path) = &a.out {
        output::write_assignments(path, &corpus, &result.labels)?;
    }
    let scores = output::score(&corpus, &result.labels);
    let majority = output::majority_labels(&corpus, &result.labels, a.k);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} texts from {} ({}), {} TF-IDF terms{}, k = {}",
        texts.len(),
        corpus.source,
        corpus.format,
        result.n_terms,
        if a.lsa {
            format!(", LSA {}", a.lsa_dims)
        } else {
            String::new()
        },
        a.k
    )?;
    output::print_clusters(&mut out, &result.clusters, majority.as_deref())?;
    if let Some(s) = &scores {
        output::print_scores(&mut out, s)?;
    }
    writeln!(out, "{seconds:.2} s")?;
    if a.json {
        output::print_json_summary(&mut out, scores.as_ref(), texts.len(), a.k, seconds)?;
    }
    out.flush()?;
    Ok(())
}

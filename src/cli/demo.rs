//! `textrnn demo`: the main job on the embedded demo corpus.

use std::io::Write;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use textrnn::baseline::{self, BaselineConfig};
use textrnn::demo;
use textrnn::eval::Scores;
use textrnn::model::{Model, ModelConfig};
use textrnn::nn::gemm::Threads;

use super::output;

/// Train the RNN path without labels on the embedded demo corpus (432 short texts,
/// 6 topics, English and Chinese, each language clustered on its own), print the
/// clusters with names, top terms and an example, and score them against the gold
/// topics beside the TF-IDF + LSA + k-means baseline.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// End stdout with one JSON line: the mean over the two languages of each score.
    #[arg(long)]
    json: bool,
}

/// `train`'s defaults for these texts: the library's, as for any corpus.
fn config(seed: u64, texts: &[&str]) -> ModelConfig {
    ModelConfig::for_texts(demo::DEMO_K, seed, None, texts)
}

pub fn run(a: DemoArgs) -> Result<()> {
    let start = Instant::now();
    let mut out = std::io::stdout().lock();
    writeln!(out, "textrnn demo: a bidirectional GRU trained without labels on 432 short texts (6 topics; English and Chinese, each clustered on its own), k = {}\n", demo::DEMO_K)?;
    let (mut sum, mut n) = ([0.0; 4], 0);
    for (lang, corpus) in demo::corpus_by_language() {
        let texts = corpus.texts();
        let fitted = Model::fit(
            &texts,
            &config(a.seed, &texts),
            Threads::Many(rayon::current_num_threads()),
            &mut |_| {},
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        let majority = output::majority_labels(&corpus, &fitted.labels, demo::DEMO_K);
        writeln!(out, "[{lang}] {} texts", texts.len())?;
        for c in &fitted.model.manifest.clusters {
            let maj = majority
                .as_ref()
                .map(|m| m[c.id].clone())
                .unwrap_or_default();
            writeln!(
                out,
                "cluster {}  {:>3} texts  [{maj}]  \"{}\"  top terms: {}",
                c.id,
                c.size,
                c.name,
                c.top_terms
                    .iter()
                    .take(6)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ")
            )?;
            if let Some(e) = c.examples.first() {
                writeln!(out, "           e.g. {e}")?;
            }
        }
        let ours = output::score(&corpus, &fitted.labels).expect("the demo corpus has labels");
        let mut bcfg = BaselineConfig::new(demo::DEMO_K, a.seed);
        bcfg.lsa = Some(100);
        let base = baseline::run(&texts, &bcfg)?;
        let base = output::score(&corpus, &base.labels).expect("labels");
        let line = |name: &str, s: &Scores| {
            format!(
                "{name:<26} ACC {:5.1}  NMI {:5.1}  ARI {:5.1}",
                100.0 * s.acc,
                100.0 * s.nmi,
                100.0 * s.ari
            )
        };
        writeln!(out, "{}", line("textrnn (RNN, no labels)", &ours))?;
        writeln!(out, "{}\n", line("TF-IDF + LSA + k-means", &base))?;
        for (i, v) in [ours.acc, ours.nmi, ours.ari, ours.purity]
            .iter()
            .enumerate()
        {
            sum[i] += v;
        }
        n += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    writeln!(out, "labels were used only to score; {seconds:.1} s")?;
    if a.json {
        let mean = |i: usize| sum[i] / n as f64;
        let s = Scores {
            acc: mean(0),
            nmi: mean(1),
            ari: mean(2),
            purity: mean(3),
        };
        output::print_json_summary(
            &mut out,
            Some(&s),
            demo::corpus().docs.len(),
            demo::DEMO_K,
            seconds,
        )?;
    }
    out.flush()?;
    Ok(())
}

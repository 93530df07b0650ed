//! `textrnn merge`, `split` and `update`: changing a trained model's clusters.
//! The model is rewritten atomically (or written to --out), with the edit
//! in its history (`edits` in model.json).

use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use textrnn::model::update::{NewClusters, UpdateConfig};
use textrnn::model::{ClusterInfo, Model};
use textrnn::nn::gemm::Threads;

use crate::cli::InputArgs;

/// Join clusters into one (the first given keeps its id), or merge along the
/// cluster tree (`describe --tree`) down to --to K clusters.
///
/// The other clusters keep their ids and names. A text's probability of the joined
/// cluster is the sum of its probabilities of the clusters joined.
///
/// Examples:
///   textrnn merge --model so.model 3 7 --name "version control"
///   textrnn merge --model so.model --to 8 --out so8.model
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct MergeArgs {
    /// Model directory.
    #[arg(long, value_name = "MODEL_DIR")]
    model: String,
    /// Cluster ids to join (two or more).
    #[arg(
        value_name = "ID",
        required_unless_present = "to",
        conflicts_with = "to"
    )]
    ids: Vec<usize>,
    /// Name of the joined cluster [default: from its top terms].
    #[arg(long, conflicts_with = "to")]
    name: Option<String>,
    /// Merge along the tree until K clusters are left.
    #[arg(long, value_name = "K")]
    to: Option<usize>,
    /// Write the edited model here instead of replacing MODEL_DIR.
    #[arg(long, value_name = "MODEL_DIR")]
    out: Option<String>,
}

/// Split a cluster into parts: its texts among INPUT are clustered again (as
/// training clusters) and a classifier learns the parts, which get new ids and
/// names from their top terms.
///
/// Example:
///   textrnn split --model so.model 5 --into 3 --input so.jsonl
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct SplitArgs {
    /// Model directory.
    #[arg(long, value_name = "MODEL_DIR")]
    model: String,
    /// The cluster to split.
    #[arg(value_name = "ID")]
    id: usize,
    /// Number of parts.
    #[arg(long, default_value_t = 2, value_name = "N")]
    into: usize,
    /// The texts to split it by: the training corpus, or one like it (.txt, .jsonl, .csv, .tsv; - for stdin).
    #[arg(long, value_name = "CORPUS")]
    input: String,
    /// JSON key or CSV/TSV column holding the text [default: the model's, else text].
    #[arg(long, value_name = "FIELD")]
    text_field: Option<String>,
    /// Write the edited model here instead of replacing MODEL_DIR.
    #[arg(long, value_name = "MODEL_DIR")]
    out: Option<String>,
}

fn load(dir: &str, out: &Option<String>) -> Result<(Model, String)> {
    let out = out.clone().unwrap_or_else(|| dir.to_string());
    Model::check_destination(Path::new(&out)).context("cannot write the model there")?;
    let model = Model::load(Path::new(dir)).context("cannot load the model")?;
    Ok((model, out))
}

fn save(model: &mut Model, out: &str) -> Result<()> {
    model
        .save(Path::new(out))
        .context("cannot save the model")?;
    eprintln!(
        "saved {out}: {} clusters (history: textrnn describe --model {out} --json, \"edits\")",
        model.manifest.clusters.len()
    );
    Ok(())
}

fn line(c: &ClusterInfo) -> String {
    format!(
        "cluster {} \"{}\": {} texts; top terms: {}",
        c.id,
        c.name,
        c.size,
        c.top_terms.join(", ")
    )
}

pub fn merge(a: MergeArgs) -> Result<()> {
    let (mut model, out) = load(&a.model, &a.out)?;
    if let Some(k) = a.to {
        let groups = model.merge_to(k).context("cannot merge")?;
        if groups.is_empty() {
            println!("the model already has {k} clusters; nothing merged");
        }
        for g in &groups {
            let p = model.position_of(g[0])?;
            let ids: Vec<String> = g.iter().map(|id| id.to_string()).collect();
            println!(
                "merged {} into {}",
                ids.join(" + "),
                line(&model.manifest.clusters[p])
            );
        }
    } else {
        let id = model
            .merge(&a.ids, a.name.as_deref())
            .context("cannot merge")?;
        let p = model.position_of(id)?;
        println!("merged into {}", line(&model.manifest.clusters[p]));
        println!("(top terms are joined from the clusters'; `textrnn describe --model M --input CORPUS --save` recounts them)");
    }
    save(&mut model, &out)
}

pub fn split(a: SplitArgs) -> Result<()> {
    let (mut model, out) = load(&a.model, &a.out)?;
    let corpus = InputArgs::for_path(&a.input, a.text_field.clone()).read_for(&model)?;
    let texts = corpus.texts();
    let threads = Threads::Many(rayon::current_num_threads());
    let parts = model
        .split(a.id, a.into, &texts, &corpus.source, threads)
        .context("cannot split")?;
    println!("split cluster {} into {} parts:", a.id, parts.len());
    for id in &parts {
        let p = model.position_of(*id)?;
        println!("  {}", line(&model.manifest.clusters[p]));
    }
    save(&mut model, &out)
}

/// Update a model with new unlabeled texts without renumbering its clusters.
///
/// The model labels the new texts; texts it cannot vouch for may form new clusters
/// (next ids); the classifiers are fitted again on the new texts with each cluster's
/// representative texts, and the scores calibrated again. With --epochs the encoder
/// first goes on training on the new texts. The vocabulary stays as trained.
///
/// Example:
///   textrnn update --model tickets.model new_tickets.csv --out tickets2.model
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct UpdateArgs {
    /// Model directory.
    #[arg(long, value_name = "MODEL_DIR")]
    model: String,
    #[command(flatten)]
    input: InputArgs,
    /// Write the updated model here instead of replacing MODEL_DIR.
    #[arg(long, value_name = "MODEL_DIR")]
    out: Option<String>,
    /// New clusters from texts that fit none: auto, 0 (none) or a number of groups to try.
    #[arg(long, default_value = "auto", value_parser = parse_new_clusters)]
    new_clusters: NewClusters,
    /// Epochs of further encoder training on the new texts (0: the encoder stays).
    #[arg(long, default_value_t = 0)]
    epochs: usize,
}

fn parse_new_clusters(s: &str) -> Result<NewClusters, String> {
    match s {
        "auto" => Ok(NewClusters::Auto),
        n => n
            .parse()
            .map(NewClusters::Exactly)
            .map_err(|_| format!("{n:?}: give auto, 0 or a number of new clusters")),
    }
}

pub fn update(a: UpdateArgs) -> Result<()> {
    let (mut model, out) = load(&a.model, &a.out)?;
    let corpus = a.input.read_for(&model)?;
    let texts = corpus.texts();
    let threads = Threads::Many(rayon::current_num_threads());
    let cfg = UpdateConfig {
        epochs: a.epochs,
        new_clusters: a.new_clusters,
    };
    let bar = super::progress::spinner(format!("update with {} texts", texts.len()));
    let (_, log) = model
        .update(&texts, &corpus.source, &cfg, threads, &mut |_| {})
        .context("cannot update")?;
    bar.finish_and_clear();
    println!(
        "updated with {} texts of {}: {:.1}% of them changed cluster from the model's first answer; {} it could not vouch for",
        log.texts,
        log.source,
        100.0 * log.moved,
        log.candidates
    );
    if log.new_clusters.is_empty() {
        println!("no new cluster");
    }
    for id in &log.new_clusters {
        let p = model.position_of(*id)?;
        println!("new {}", line(&model.manifest.clusters[p]));
    }
    save(&mut model, &out)
}

//! `textrnn describe` and `textrnn rename`: what each cluster is about, and naming it.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use textrnn::describe::{parse_stop_words, DescribeConfig};
use textrnn::model::{ClusterInfo, Model};

use crate::cli::InputArgs;

/// Which words describe and name the clusters (train, and describe --input).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Cluster descriptions")]
pub struct TermArgs {
    /// Words (or phrases) that never describe a cluster, one per line (`#` comments).
    #[arg(long, value_name = "FILE")]
    pub stop_words: Option<String>,
    /// Let the built-in English and Chinese stop words and markup words describe clusters.
    #[arg(long)]
    pub no_default_stop_words: bool,
    /// A term must occur in at least N of a cluster's texts [default: 2, or 1% of them].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub min_term_freq: Option<u64>,
    /// Term lengths in words: 1, 2, or a range such as 1-2 [default: 1].
    #[arg(long, value_name = "N[-M]", value_parser = parse_ngrams)]
    pub term_ngrams: Option<(usize, usize)>,
}

fn parse_ngrams(s: &str) -> Result<(usize, usize), String> {
    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
    let n = |v: &str| match v.trim().parse::<usize>() {
        Ok(n @ 1..=4) => Ok(n),
        _ => Err(format!("{v:?} is not a term length from 1 to 4")),
    };
    let (lo, hi) = (n(lo)?, n(hi)?);
    if lo > hi {
        return Err(format!("{s:?}: the shortest length comes first (1-2)"));
    }
    Ok((lo, hi))
}

impl TermArgs {
    /// Whether any flag was given.
    pub fn any(&self) -> bool {
        self.stop_words.is_some()
            || self.no_default_stop_words
            || self.min_term_freq.is_some()
            || self.term_ngrams.is_some()
    }

    /// Put the flags given into `cfg` (reading the stop-word file).
    pub fn apply(&self, cfg: &mut DescribeConfig) -> Result<()> {
        if let Some(path) = &self.stop_words {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the stop-word file {path}"))?;
            cfg.stop_words = parse_stop_words(&text);
            if cfg.stop_words.is_empty() {
                eprintln!("warning: {path} lists no stop words");
            }
        }
        if self.no_default_stop_words {
            cfg.default_stop_words = false;
        }
        if let Some(n) = self.min_term_freq {
            cfg.min_term_freq = Some(n as usize);
        }
        if let Some(n) = self.term_ngrams {
            cfg.ngrams = n;
        }
        Ok(())
    }
}

/// Print each cluster's id, name, size, top terms (class-based TF-IDF) and most representative texts.
///
/// With --input, the clusters are described anew from that corpus as the model
/// assigns it, with the term flags below in place of the model's; --save keeps the
/// result (and the flags) in the model.
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct DescribeArgs {
    /// Model directory.
    #[arg(long, value_name = "MODEL_DIR")]
    model: String,
    /// Print the clusters as one JSON document instead.
    #[arg(long)]
    json: bool,
    /// Describe the clusters anew from this corpus (.txt, .jsonl, .csv, .tsv; - for stdin).
    #[arg(long, value_name = "CORPUS")]
    input: Option<String>,
    /// JSON key or CSV/TSV column holding the text of --input [default: the model's, else text].
    #[arg(long, value_name = "FIELD", requires = "input")]
    text_field: Option<String>,
    /// Save the new descriptions (and term settings) in the model; names the user gave are kept.
    #[arg(long, requires = "input")]
    save: bool,
    /// Show how the clusters group: a tree (Ward's linkage on the centroids) and the themes above them.
    #[arg(long)]
    tree: bool,
    /// With --tree: cut it into N themes [default: where its joins grow most, 2-10].
    #[arg(long, value_name = "N", requires = "tree", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    themes: Option<u64>,
    /// Print a seed-word model's seed words as a --seeds file: each class's
    /// given words, then those the corpus added with `train --seed-expansion`
    /// (edit it, then `train --seeds FILE`).
    #[arg(long, conflicts_with_all = ["tree", "json"])]
    seed_words: bool,
    #[command(flatten)]
    terms: TermArgs,
}

pub fn describe(a: DescribeArgs) -> Result<()> {
    if textrnn::translate::store::is_translator(Path::new(&a.model)) {
        return super::translate::describe(&a.model, a.json);
    }
    let mut model = Model::load(Path::new(&a.model)).context("cannot load the model")?;
    if a.terms.any() && a.input.is_none() {
        anyhow::bail!(
            "--stop-words, --no-default-stop-words, --min-term-freq and --term-ngrams describe \
             the clusters anew from texts: give the corpus with --input"
        );
    }
    if let Some(path) = &a.input {
        redescribe(&mut model, &a, path)?;
    }
    let m = &model.manifest;
    let mut out = std::io::stdout().lock();
    if a.seed_words {
        let set = model.seed_words().ok_or_else(|| {
            anyhow::anyhow!(
                "{}: not a seed-word model (trained without --seeds)",
                a.model
            )
        })?;
        write!(out, "{}", set.to_json())?;
        return Ok(());
    }
    if a.tree {
        return tree(&model, a.themes.map(|n| n as usize), a.json, &mut out);
    }
    if a.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"k": m.clusters.len(), "clusters": m.clusters, "edits": m.edits, "seed_words": seed_words_json(&model)})
            )?
        )?;
        return Ok(());
    }
    let total: usize = m.clusters.iter().map(|c| c.size).sum();
    for c in &m.clusters {
        writeln!(
            out,
            "cluster {} \"{}\": {} texts ({:.1}%)",
            c.id,
            c.name,
            c.size,
            100.0 * c.size as f64 / total.max(1) as f64
        )?;
        writeln!(out, "  top terms: {}", c.top_terms.join(", "))?;
        for e in &c.examples {
            let short: String = e.chars().take(120).collect();
            writeln!(
                out,
                "  - {short}{}",
                if short.len() < e.len() { "..." } else { "" }
            )?;
        }
        writeln!(out)?;
    }
    write_seed_words(&model, &mut out)
}

/// A seed-word model's given and added seed words per class (null without seeds).
fn seed_words_json(model: &Model) -> serde_json::Value {
    let Some(seeds) = &model.manifest.config.seeds else {
        return serde_json::Value::Null;
    };
    let added = model.added_seed_words();
    (seeds.classes.iter().enumerate())
        .map(|(i, c)| {
            serde_json::json!({"class": c.name, "given": c.seeds, "added": added.get(i).cloned().unwrap_or_default()})
        })
        .collect()
}

/// The seed words after the clusters: how many were given per class, and
/// the words seed expansion added.
fn write_seed_words(model: &Model, out: &mut impl Write) -> Result<()> {
    let Some(seeds) = &model.manifest.config.seeds else {
        return Ok(());
    };
    let added = model.added_seed_words();
    writeln!(
        out,
        "seed words (describe --seed-words prints them as a --seeds file to edit):"
    )?;
    for (i, c) in seeds.classes.iter().enumerate() {
        let a = added.get(i).map(Vec::as_slice).unwrap_or_default();
        writeln!(
            out,
            "  {}: {} given; {} added from the corpus{}{}",
            c.name,
            c.seeds.len(),
            a.len(),
            if a.is_empty() { "" } else { ": " },
            a.join(", ")
        )?;
    }
    Ok(())
}

/// Describe `model`'s clusters anew from the corpus at `path` with the term flags of `a`; save when asked.
fn redescribe(model: &mut Model, a: &DescribeArgs, path: &str) -> Result<()> {
    a.terms.apply(&mut model.manifest.config.describe)?;
    let input = InputArgs::for_path(path, a.text_field.clone());
    let corpus = input.read_for(model)?;
    let refs = corpus.texts();
    let threads = textrnn::nn::gemm::Threads::Many(rayon::current_num_threads());
    model.manifest.clusters = model.describe_texts(&refs, threads);
    if a.save {
        model
            .save(Path::new(&a.model))
            .context("cannot save the model")?;
        eprintln!("saved the new descriptions in {}", a.model);
    }
    Ok(())
}

/// `describe --tree`: the dendrogram over the clusters, then the themes.
fn tree(model: &Model, themes: Option<usize>, json: bool, out: &mut impl Write) -> Result<()> {
    use textrnn::model::clusters::group_terms;
    use textrnn::model::tree;
    let m = &model.manifest;
    let k = m.clusters.len();
    let sizes: Vec<usize> = m.clusters.iter().map(|c| c.size).collect();
    let joins = tree::ward(&model.centroids, model.dim(), &sizes);
    let n = themes.unwrap_or_else(|| tree::themes(&joins, k)).min(k);
    let groups = tree::cut(&joins, k, n);
    // A group's top terms (joined from its clusters') and the name they make.
    let terms_of = |members: &[usize]| -> Vec<String> {
        let cs: Vec<&ClusterInfo> = members.iter().map(|&c| &m.clusters[c]).collect();
        group_terms(&cs, 10).into_iter().map(|(t, _)| t).collect()
    };
    let name_of = |members: &[usize]| textrnn::describe::suggest_name(0, &terms_of(members));
    // Every node: its clusters (positions) and name; clusters first, then joins.
    let members = tree::members(&joins, k);
    let names: Vec<String> = (m.clusters.iter().map(|c| c.name.clone()))
        .chain(members[k..].iter().map(|g| name_of(g)))
        .collect();
    let ids = |g: &[usize]| g.iter().map(|&c| m.clusters[c].id).collect::<Vec<_>>();
    let size = |g: &[usize]| g.iter().map(|&c| m.clusters[c].size).sum::<usize>();
    if json {
        let doc = serde_json::json!({
            "clusters": m.clusters.iter().map(|c| serde_json::json!({"id": c.id, "name": c.name, "size": c.size})).collect::<Vec<_>>(),
            "joins": joins.iter().enumerate().map(|(i, j)| serde_json::json!({
                "node": k + i, "children": [j.nodes.0, j.nodes.1], "height": j.height,
                "size": j.size, "clusters": ids(&members[k + i]), "name": names[k + i],
            })).collect::<Vec<_>>(),
            "themes": groups.iter().map(|g| serde_json::json!({
                "name": name_of(g), "top_terms": terms_of(g), "clusters": ids(g), "size": size(g),
            })).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    writeln!(out, "How the {k} clusters group (Ward's linkage on their centroids; the number is how far apart the two sides are):")?;
    if k > 0 {
        let tree = Tree {
            model,
            joins: &joins,
            names: &names,
        };
        tree.write(out, members.len() - 1, "", "")?;
    }
    writeln!(out)?;
    writeln!(out, "{n} themes:")?;
    for (i, g) in groups.iter().enumerate() {
        let list: Vec<String> = ids(g).iter().map(|id| id.to_string()).collect();
        writeln!(
            out,
            "  theme {} \"{}\": {} texts in clusters {}",
            i + 1,
            name_of(g),
            size(g),
            list.join(", ")
        )?;
    }
    Ok(())
}

/// The tree as `describe --tree` prints it.
struct Tree<'a> {
    model: &'a Model,
    joins: &'a [textrnn::model::tree::Join],
    /// Each node's name: the clusters', then each join's.
    names: &'a [String],
}

impl Tree<'_> {
    /// One node (`first` before its line, `rest` before its children's).
    fn write(&self, out: &mut impl Write, node: usize, first: &str, rest: &str) -> Result<()> {
        let k = self.model.manifest.clusters.len();
        let name = &self.names[node];
        if node < k {
            let c = &self.model.manifest.clusters[node];
            writeln!(out, "{first}cluster {} \"{name}\" ({} texts)", c.id, c.size)?;
            return Ok(());
        }
        let j = &self.joins[node - k];
        writeln!(out, "{first}{:.2} \"{name}\" ({} texts)", j.height, j.size)?;
        self.write(out, j.nodes.0, &format!("{rest}├─ "), &format!("{rest}│  "))?;
        self.write(out, j.nodes.1, &format!("{rest}└─ "), &format!("{rest}   "))
    }
}

/// Rename clusters: `textrnn rename --model M ID NAME`, or many at once with
/// `--names FILE` (lines `ID<TAB>NAME`, or a JSON object {"ID": "NAME"}).
/// predict, describe and serve then use the new names.
#[derive(Args, Debug)]
pub struct RenameArgs {
    /// Model directory.
    #[arg(long, value_name = "MODEL_DIR")]
    model: String,
    /// Cluster id.
    id: Option<usize>,
    /// New name.
    name: Option<String>,
    /// File of names (TSV lines `ID<TAB>NAME` or a JSON object).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["id", "name"])]
    names: Option<String>,
}

pub fn rename(a: RenameArgs) -> Result<()> {
    let names: Vec<(usize, String)> = match (&a.names, a.id, &a.name) {
        (Some(path), _, _) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
            if text.trim_start().starts_with('{') {
                let map: std::collections::BTreeMap<String, String> =
                    serde_json::from_str(&text)
                        .with_context(|| format!("{path}: not a JSON object of id -> name"))?;
                map.into_iter()
                    .map(|(k, v)| {
                        Ok((
                            k.trim()
                                .parse()
                                .with_context(|| format!("{path}: {k:?} is not a cluster id"))?,
                            v,
                        ))
                    })
                    .collect::<Result<_>>()?
            } else {
                text.lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                    .map(|(i, l)| {
                        let (id, name) = l
                            .split_once('\t')
                            .with_context(|| format!("{path}:{}: expected ID<TAB>NAME", i + 1))?;
                        Ok((
                            id.trim().parse().with_context(|| {
                                format!("{path}:{}: {id:?} is not a cluster id", i + 1)
                            })?,
                            name.to_string(),
                        ))
                    })
                    .collect::<Result<_>>()?
            }
        }
        (None, Some(id), Some(name)) => vec![(id, name.clone())],
        _ => anyhow::bail!("give ID and NAME, or --names FILE"),
    };
    let m = Model::rename(Path::new(&a.model), &names).context("cannot rename")?;
    for (id, _) in &names {
        if let Some(c) = m.clusters.iter().find(|c| c.id == *id) {
            println!("cluster {id} is now \"{}\"", c.name);
        }
    }
    Ok(())
}

//! `textrnn describe` and `textrnn rename`: what each cluster is about, and naming it.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use textrnn::model::Model;

/// Print each cluster's id, name, size, top terms (class-based TF-IDF) and most representative texts.
#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// Model directory.
    #[arg(long, value_name = "MODEL_DIR")]
    model: String,
    /// Print the clusters as one JSON document instead.
    #[arg(long)]
    json: bool,
}

pub fn describe(a: DescribeArgs) -> Result<()> {
    let model = Model::load(Path::new(&a.model)).context("cannot load the model")?;
    let m = &model.manifest;
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"k": m.config.k, "clusters": m.clusters})
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
    Ok(())
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
        println!("cluster {id} is now \"{}\"", m.clusters[*id].name);
    }
    Ok(())
}

//! `textrnn report`: one self-contained HTML page about a model (and a corpus).

use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use textrnn::corpus::{self, ReadOptions};
use textrnn::model::Model;
use textrnn::nn::gemm::Threads;
use textrnn::report;

use super::FormatArg;

/// Write an HTML report of a model: clusters (size, top-term bar chart, representative
/// texts), how they group (a dendrogram and themes), a 2-D map of the documents coloured
/// by cluster beside a map of the clusters, training curves, with --label-field the
/// scores and a confusion heat map, and with --time-field the clusters over time. The
/// file needs no network to open.
///
/// Without --input the map shows the clusters' representative texts.
///
/// Example:
///   textrnn report --model so.model --input ../shared/data/stackoverflow/data.jsonl --label-field label --out so.html
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ReportArgs {
    /// Model directory written by `textrnn train`.
    #[arg(long, value_name = "MODEL_DIR")]
    model: String,
    /// Corpus to classify and map (.txt, .jsonl, .csv, .tsv, or - for stdin).
    #[arg(long, value_name = "CORPUS")]
    input: Option<String>,
    /// Force the input format.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// JSON key or CSV/TSV column holding the text [default: the model's, else text].
    #[arg(long)]
    text_field: Option<String>,
    /// JSON key or column holding a gold label: adds scores and a confusion heat map.
    #[arg(long, value_name = "FIELD")]
    label_field: Option<String>,
    /// JSON key or column holding each text's time (ISO 8601 date, year, or Unix
    /// seconds): adds the cluster sizes over time.
    #[arg(long, value_name = "FIELD", requires = "input")]
    time_field: Option<String>,
    /// Most documents drawn on the map (a seeded sample beyond that).
    #[arg(long, default_value_t = 3000)]
    max_points: usize,
    /// HTML file to write (atomically).
    #[arg(long, value_name = "FILE")]
    out: String,
}

pub fn run(a: ReportArgs) -> Result<()> {
    anyhow::ensure!(
        a.label_field.is_none() || a.input.is_some(),
        "--label-field needs --input"
    );
    let model = Model::load(Path::new(&a.model)).context("cannot load the model")?;
    let threads = Threads::Many(rayon::current_num_threads());
    let docs = match &a.input {
        Some(input) => {
            let opts = ReadOptions {
                format: super::format_for(a.format, input, &model),
                text_field: super::text_field_for(&a.text_field, &model),
                label_field: a.label_field.clone(),
                skip_bad_lines: false,
                // The time value is read as ids are: any scalar, as a string.
                id_field: a.time_field.clone(),
                no_header: false,
            };
            let c = corpus::read_corpus(input, &opts)?;
            let texts = c.texts();
            let labels = match &a.label_field {
                Some(_) => Some(c.labels().context("some texts have no label")?),
                None => None,
            };
            let times: Vec<Option<String>> = c.docs.iter().map(|d| d.id.clone()).collect();
            let times = a.time_field.as_deref().map(|f| (f, times.as_slice()));
            let bar = super::progress::spinner(format!("classify and map {} texts", texts.len()));
            let docs = report::documents(
                &model,
                &c.source,
                &texts,
                labels.as_deref(),
                times,
                a.max_points,
                threads,
            );
            bar.finish_and_clear();
            Some(docs)
        }
        None => {
            let examples: Vec<&str> = model
                .manifest
                .clusters
                .iter()
                .flat_map(|c| c.examples.iter().map(String::as_str))
                .collect();
            Some(report::documents(
                &model,
                "the clusters' representative texts",
                &examples,
                None,
                None,
                a.max_points,
                threads,
            ))
        }
    };
    let html = report::render(&model, docs.as_ref());
    textrnn::io::write_atomic(&a.out, html.as_bytes())
        .with_context(|| format!("cannot write {}", a.out))?;
    eprintln!("report written to {} ({} KB)", a.out, html.len() / 1024);
    Ok(())
}

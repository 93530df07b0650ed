//! `textrnn predict`: classify texts with a trained model, streaming.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use textrnn::corpus::{open_detected, source_name, DocReader, ReadOptions};
use textrnn::model::Model;
use textrnn::nn::gemm::Threads;

use super::FormatArg;

/// Classify each text of INPUT (default stdin) with a trained model: one JSON line per
/// text, in input order: {"cluster": id, "name": "...", "score": probability,
/// "low_confidence": bool}. low_confidence is true for a text with no word the
/// model knows (its score is then 1/k) or one farther from its cluster than all
/// but 1% of the training texts. --top N adds "top": the N most probable clusters
/// [{"cluster", "name", "score"}, ...]; --all-probabilities adds "probabilities":
/// every cluster's, by id; --id-field F adds "id": the record's F.
///
/// Example:
///   textrnn predict --model so.model new_questions.txt
///   textrnn predict --model so.model new_questions.txt --top 3
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct PredictArgs {
    /// Model directory written by `textrnn train`.
    #[arg(long, value_name = "MODEL_DIR")]
    model: String,
    /// Input file, or - for stdin.
    #[arg(default_value = "-")]
    input: String,
    /// Force the input format.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// JSON key or CSV/TSV column holding the text [default: the model's, else text].
    #[arg(long)]
    text_field: Option<String>,
    /// Write {"cluster": null, "error": "..."} for unreadable records instead of stopping.
    #[arg(long)]
    skip_bad_lines: bool,
    /// JSON key or CSV/TSV column holding an id, given back in each output line ("id").
    #[arg(long, value_name = "FIELD")]
    id_field: Option<String>,
    /// CSV/TSV without a header row: name columns by number from 1 (--text-field 2).
    #[arg(long)]
    no_header: bool,
    /// Output format: JSON lines, or CSV with a header (id if --id-field, cluster, name, score,
    /// low_confidence; error with --skip-bad-lines).
    #[arg(long, value_enum, default_value_t = OutputFormat::Jsonl)]
    output_format: OutputFormat,
    /// Also give the N most probable clusters with their probabilities ("top").
    #[arg(long, value_name = "N")]
    top: Option<usize>,
    /// Also give every cluster's probability, by cluster id ("probabilities").
    #[arg(long)]
    all_probabilities: bool,
}

/// How `predict` writes its results.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// One CSV row of `fields`, quoted where needed (the csv crate's rules).
fn write_csv_row(out: &mut impl Write, fields: &[&str]) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(256)
        .from_writer(out);
    w.write_record(fields)?;
    w.flush()?;
    Ok(())
}

/// The CSV row of one result line (its JSON object).
fn write_csv_line(
    out: &mut impl Write,
    v: &serde_json::Value,
    with_id: bool,
    with_error: bool,
) -> Result<()> {
    let text = |x: &serde_json::Value| match x {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut row: Vec<String> = Vec::new();
    if with_id {
        row.push(text(&v["id"]));
    }
    for f in ["cluster", "name", "score", "low_confidence"] {
        row.push(text(&v[f]));
    }
    if with_error {
        row.push(text(&v["error"]));
    }
    let refs: Vec<&str> = row.iter().map(String::as_str).collect();
    write_csv_row(out, &refs)
}

/// Texts per chunk: memory stays bounded whatever the input size.
const CHUNK: usize = 1024;

pub fn run(a: PredictArgs) -> Result<()> {
    anyhow::ensure!(a.top != Some(0), "--top must be at least 1");
    anyhow::ensure!(
        a.output_format == OutputFormat::Jsonl || (a.top.is_none() && !a.all_probabilities),
        "--top and --all-probabilities give lists, which need --output-format jsonl"
    );
    let model = Model::load(Path::new(&a.model)).context("cannot load the model")?;
    let k = model.manifest.clusters.len();
    let opts = ReadOptions {
        format: super::format_for(a.format, &a.input, &model),
        text_field: super::text_field_for(&a.text_field, &model),
        label_field: None,
        skip_bad_lines: a.skip_bad_lines,
        id_field: a.id_field.clone(),
        no_header: a.no_header,
    };
    let (input, format, notes) = open_detected(&a.input, &opts, a.text_field.is_some())?;
    for n in &notes {
        eprintln!("{n}");
    }
    let reader = DocReader::new(input, &source_name(&a.input), format, &opts)?;
    let threads = Threads::Many(rayon::current_num_threads());
    let mut out = BufWriter::new(std::io::stdout().lock());
    let csv_out = a.output_format == OutputFormat::Csv;
    if csv_out {
        let mut header = vec!["cluster", "name", "score", "low_confidence"];
        if a.id_field.is_some() {
            header.insert(0, "id");
        }
        if a.skip_bad_lines {
            header.push("error");
        }
        write_csv_row(&mut out, &header)?;
    }
    // (text, id) of each record, or its error.
    type Record = Result<(String, Option<String>), String>;
    let mut chunk: Vec<Record> = Vec::with_capacity(CHUNK);
    let bar = super::progress::texts("predict");
    let flush = |chunk: &mut Vec<Record>, out: &mut BufWriter<_>| -> Result<()> {
        let texts: Vec<&str> = chunk
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|(t, _)| t.as_str()))
            .collect();
        let (p, probs) = model.classify_with_probabilities(&texts, threads);
        let mut i = 0;
        for r in chunk.iter() {
            let line = match r {
                Ok((_, id)) => {
                    let row = &probs[i * k..(i + 1) * k];
                    let mut v = model.result_json(
                        p.labels[i],
                        p.scores[i],
                        p.low_confidence[i],
                        row,
                        a.top,
                        a.all_probabilities,
                    );
                    if let Some(id) = id {
                        v["id"] = id.clone().into();
                    }
                    i += 1;
                    v
                }
                Err(e) => json!({"cluster": null, "error": e}),
            };
            if csv_out {
                write_csv_line(out, &line, a.id_field.is_some(), a.skip_bad_lines)?;
            } else {
                writeln!(out, "{line}")?;
            }
        }
        bar.inc(chunk.len() as u64);
        chunk.clear();
        Ok(())
    };
    for item in reader {
        match item {
            Ok(doc) => chunk.push(Ok((doc.text, doc.id))),
            Err(e) if a.skip_bad_lines && e.is_line_error() => chunk.push(Err(e.to_string())),
            Err(e) => return Err(e.into()),
        }
        if chunk.len() == CHUNK {
            flush(&mut chunk, &mut out)?;
        }
    }
    flush(&mut chunk, &mut out)?;
    out.flush()?;
    bar.finish_and_clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_with_commas_quotes_or_newlines_are_quoted() {
        let mut out = Vec::new();
        super::write_csv_row(&mut out, &["a", "b,c", "say \"hi\"", "x\ny", ""]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\",\n"
        );
    }
}

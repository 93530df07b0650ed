//! Flags shared by the verbs, and dispatch. One file per verb.

mod baseline;
mod bench;
mod demo;
mod describe;
mod edit;
mod eval;
mod output;
mod predict;
pub mod progress;
mod report;
mod serve;
mod tokenize;
mod train;
pub mod translate;

pub use train::checkpoint_path;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use textrnn::corpus::{self, Corpus, CorpusError, Format, ReadOptions};
use textrnn::text::{ChineseMode, TextPipeline};

/// Unsupervised text classification with recurrent neural networks.
///
/// textrnn reads unlabeled Chinese and English text, finds the classes in it,
/// says what each is about and classifies new text. Labels, when given, only
/// score the result.
#[derive(Parser, Debug)]
#[command(name = "textrnn", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Worker threads (default: all cores). Results are identical for a fixed count.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    /// No progress bars (they are also off when stderr is not a terminal).
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    /// Log what happens to stderr (-v: stages and epochs, -vv: more); replaces the bars.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train an RNN encoder without labels, cluster the corpus, save the model.
    Train(Box<train::TrainArgs>),
    /// Classify texts with a trained model (JSON lines, streaming).
    Predict(predict::PredictArgs),
    /// Serve a model over HTTP: classify and embed, with dynamic batching.
    Serve(serve::ServeArgs),
    /// Describe a model's clusters: size, top terms, representative texts, name.
    Describe(describe::DescribeArgs),
    /// Write a self-contained HTML report: clusters, a map, training curves, scores.
    Report(report::ReportArgs),
    /// Rename a model's clusters.
    Rename(describe::RenameArgs),
    /// Join clusters of a model (or merge along its cluster tree down to K).
    Merge(edit::MergeArgs),
    /// Split a cluster of a model into parts, re-clustering its texts.
    Split(edit::SplitArgs),
    /// Update a model with new texts without renumbering its clusters.
    Update(edit::UpdateArgs),
    /// Score a model on labeled text, beside the TF-IDF baseline.
    Eval(eval::EvalArgs),
    /// Cluster a corpus with TF-IDF (+ LSA) + k-means and score it when labels exist.
    Baseline(baseline::BaselineArgs),
    /// Measure RNN training and inference speed on the PyTorch reference benchmark's model.
    Bench(bench::BenchArgs),
    /// Show how the text pipeline tokenizes each text (or count tokens).
    Tokenize(tokenize::TokenizeArgs),
    /// Run the main job on the embedded demo corpus (432 texts, English and Chinese, 6 topics).
    Demo(demo::DemoArgs),
    /// Train a Chinese <-> English translator on sentence pairs (attention encoder-decoder).
    TranslateTrain(translate::TrainArgs),
    /// Translate text with a translation model (one line per line, streaming).
    Translate(translate::TranslateArgs),
    /// Score a translation model with BLEU and chrF on test pairs.
    TranslateEval(translate::EvalArgs),
}

/// Where the texts come from and which fields to read.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Input file: .txt (one text per line), .jsonl, .csv or .tsv; `-` reads stdin.
    #[arg(value_name = "INPUT")]
    pub input: String,
    /// Force the input format instead of guessing it from the extension.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// JSON key or CSV/TSV column holding the text [default: the model's, else text].
    #[arg(long, value_name = "FIELD")]
    pub text_field: Option<String>,
    /// JSON key or column holding a gold label, used only to score the result.
    #[arg(long, value_name = "FIELD")]
    pub label_field: Option<String>,
    /// Skip records that cannot be read (bad UTF-8, bad JSON, missing field, ragged row) and count them.
    #[arg(long)]
    pub skip_bad_lines: bool,
    /// JSON key or CSV/TSV column holding an id, given back in each line of --out-assignments ("id").
    #[arg(long, value_name = "FIELD")]
    pub id_field: Option<String>,
    /// CSV/TSV without a header row: name columns by number from 1 (--text-field 2).
    #[arg(long)]
    pub no_header: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    Txt,
    Jsonl,
    Csv,
    Tsv,
}

/// How Chinese text is cut.
#[derive(ValueEnum, Clone, Copy, Debug, Default)]
pub enum ChineseArg {
    /// jieba words.
    #[default]
    Words,
    /// single characters.
    Chars,
}

impl ChineseArg {
    pub fn pipeline(self) -> TextPipeline {
        let mut p = TextPipeline::default();
        p.segmenter.chinese = match self {
            ChineseArg::Words => ChineseMode::Words { hmm: true },
            ChineseArg::Chars => ChineseMode::Chars,
        };
        p
    }
}

/// The text field when neither the flag nor the model names one.
pub fn default_text_field() -> String {
    textrnn::corpus::ReadOptions::default().text_field
}

/// The text field to read: `--text-field`, else the one the model was
/// trained on, else the default.
pub fn text_field_for(flag: &Option<String>, model: &textrnn::model::Model) -> String {
    flag.clone()
        .or_else(|| model.manifest.text_field.clone())
        .unwrap_or_else(default_text_field)
}

/// The format to force: `--format`, else the one the model's training texts
/// were forced to, for an input whose name does not say its format.
pub fn format_for(
    flag: Option<FormatArg>,
    input: &str,
    model: &textrnn::model::Model,
) -> Option<textrnn::corpus::Format> {
    flag.map(format_of).or_else(|| {
        textrnn::corpus::Format::from_path(input)
            .is_none()
            .then_some(model.manifest.input_format)
            .flatten()
    })
}

/// The library's format for a flag value.
pub fn format_of(f: FormatArg) -> Format {
    match f {
        FormatArg::Txt => Format::Txt,
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Csv => Format::Csv,
        FormatArg::Tsv => Format::Tsv,
    }
}

impl InputArgs {
    /// The input `path` read by its extension (or the model's format),
    /// with `text_field` when given.
    pub fn for_path(path: &str, text_field: Option<String>) -> InputArgs {
        InputArgs {
            input: path.to_string(),
            format: None,
            text_field,
            label_field: None,
            skip_bad_lines: false,
            id_field: None,
            no_header: false,
        }
    }

    fn options(&self) -> ReadOptions {
        self.options_with(None)
    }

    /// The reading options, with `model_field` as the text field when
    /// `--text-field` is not given.
    fn options_with(&self, model_field: Option<&str>) -> ReadOptions {
        ReadOptions {
            format: self.format.map(format_of),
            text_field: (self.text_field.as_deref().or(model_field))
                .map_or_else(default_text_field, str::to_string),
            label_field: self.label_field.clone(),
            skip_bad_lines: self.skip_bad_lines,
            id_field: self.id_field.clone(),
            no_header: self.no_header,
        }
    }

    /// Read the whole corpus, warning on stderr about skipped records.
    pub fn read(&self) -> Result<Corpus> {
        self.read_with(self.options())
    }

    /// [`InputArgs::read`] for `model`: its text field when `--text-field`
    /// is not given, its forced format when neither `--format` nor the
    /// input's name gives one.
    pub fn read_for(&self, model: &textrnn::model::Model) -> Result<Corpus> {
        let mut opts = self.options_with(model.manifest.text_field.as_deref());
        opts.format = format_for(self.format, &self.input, model);
        self.read_with(opts)
    }

    fn read_with(&self, opts: ReadOptions) -> Result<Corpus> {
        let named = self.text_field.is_some();
        let (input, format, notes) = corpus::open_detected(&self.input, &opts, named)?;
        for n in &notes {
            eprintln!("{n}");
        }
        let source = corpus::source_name(&self.input);
        let size = std::fs::metadata(&self.input).map(|m| m.len()).ok();
        let c = match size.filter(|_| self.input != "-") {
            Some(len) => {
                let bar = progress::bytes(len, "read");
                let input = progress::Counted::new(input, bar.clone());
                let c = corpus::read_corpus_from(input, &source, format, &opts);
                bar.finish_and_clear();
                c?
            }
            None => corpus::read_corpus_from(input, &source, format, &opts)?,
        };
        tracing::info!(texts = c.docs.len(), source = %c.source, "read the corpus");
        if !c.skipped.is_empty() {
            eprintln!(
                "warning: skipped {} bad record(s) in {}",
                c.skipped.len(),
                c.source
            );
            for s in c.skipped.iter().take(3) {
                eprintln!("  line {}: {}", s.line, s.problem);
            }
            if c.skipped.len() > 3 {
                eprintln!("  ...");
            }
        }
        Ok(c)
    }
}

pub fn run(cli: Cli) -> Result<()> {
    progress::init(cli.quiet, cli.verbose);
    if let Some(n) = cli.threads {
        anyhow::ensure!(n >= 1, "--threads must be at least 1");
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("cannot start the thread pool")?;
    }
    match cli.command {
        Command::Train(a) => train::run(*a),
        Command::Predict(a) => predict::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Report(a) => report::run(a),
        Command::Describe(a) => describe::describe(a),
        Command::Rename(a) => describe::rename(a),
        Command::Merge(a) => edit::merge(a),
        Command::Split(a) => edit::split(a),
        Command::Update(a) => edit::update(a),
        Command::Eval(a) => eval::run(a),
        Command::Baseline(a) => baseline::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Tokenize(a) => tokenize::run(a),
        Command::TranslateTrain(a) => translate::train(a),
        Command::Translate(a) => translate::translate(a),
        Command::TranslateEval(a) => translate::eval(a),
    }
}

/// True when the error is a closed stdout pipe.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A suggestion to print after the error, when one helps.
pub fn hint(e: &anyhow::Error) -> Option<&'static str> {
    e.chain()
        .find_map(|c| match c.downcast_ref::<CorpusError>() {
            // A missing field is usually missing from every record: the
            // fix is the field's name, which the message lists, not skipping.
            Some(CorpusError::Line { problem, .. }) if problem.starts_with("no ") => None,
            Some(ce) if ce.is_line_error() => {
                Some("fix the record, or pass --skip-bad-lines to skip bad records")
            }
            _ => None,
        })
}

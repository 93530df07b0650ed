//! `textrnn translate-train`, `translate` and `translate-eval`: training a
//! translator on sentence pairs, translating text with it (streaming), and
//! scoring it with BLEU and chrF.

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;
use textrnn::corpus::{self, ReadOptions};
use textrnn::nn::gemm::Threads;
use textrnn::nn::rnn::Cell;
use textrnn::translate::bleu::{corpus_bleu, BleuTokenizer};
use textrnn::translate::chrf::corpus_chrf;
use textrnn::translate::decode::DecodeOptions;
use textrnn::translate::tokenize::Lang;
use textrnn::translate::train::{self, TranslateCheckpoint, TranslateConfig};
use textrnn::translate::translator::Translator;

use super::{progress, FormatArg};

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum CellArg {
    Gru,
    Lstm,
}

/// Train a translator on sentence pairs (supervised by the pairs): a bidirectional RNN
/// encoder and an attention RNN decoder. PAIRS is TSV, CSV or JSONL with a source and
/// a target field (named by --src-field / --tgt-field, default the language codes, as
/// in a file whose header is `en<TAB>zh`). Validation BLEU is computed after every
/// epoch when --valid is given; the best epoch's weights are kept.
///
/// Example:
///   textrnn translate-train train.tsv --src zh --tgt en --valid dev.tsv --minutes 20 --out zh-en.model
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TrainArgs {
    /// Training pairs: .tsv, .csv or .jsonl.
    #[arg(value_name = "PAIRS")]
    pairs: String,
    /// Source language: zh or en.
    #[arg(long, default_value = "zh")]
    src: String,
    /// Target language: zh or en.
    #[arg(long, default_value = "en")]
    tgt: String,
    /// Field (column or JSON key) of the source sentence [default: the --src code].
    #[arg(long, value_name = "FIELD")]
    src_field: Option<String>,
    /// Field of the target sentence [default: the --tgt code].
    #[arg(long, value_name = "FIELD")]
    tgt_field: Option<String>,
    /// Force the input format.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Model directory to write.
    #[arg(long, value_name = "MODEL_DIR")]
    out: String,
    /// Validation pairs (same format and fields), scored by BLEU after each epoch.
    #[arg(long, value_name = "PAIRS")]
    valid: Option<String>,
    /// Stop after this many minutes of training (validation included).
    #[arg(long)]
    minutes: Option<f64>,
    /// Stop after this many epochs [default: 10, or none with --minutes].
    #[arg(long)]
    epochs: Option<usize>,
    /// Recurrent cell of the encoder and the decoder.
    #[arg(long, value_enum, default_value_t = CellArg::Gru)]
    cell: CellArg,
    /// Encoder hidden size per direction (the decoder's is twice it).
    #[arg(long, default_value_t = TranslateConfig::default().hidden)]
    hidden: usize,
    /// Embedding size.
    #[arg(long, default_value_t = TranslateConfig::default().embed)]
    embed: usize,
    /// Encoder layers.
    #[arg(long, default_value_t = TranslateConfig::default().layers)]
    layers: usize,
    /// Dropout.
    #[arg(long, default_value_t = TranslateConfig::default().dropout)]
    dropout: f64,
    /// Pairs per batch.
    #[arg(long, default_value_t = TranslateConfig::default().batch_size)]
    batch_size: usize,
    /// Peak learning rate (AdamW).
    #[arg(long, default_value_t = TranslateConfig::default().lr)]
    lr: f64,
    /// Halve the learning rate after N epochs in a row without a better validation BLEU.
    #[arg(long, default_value_t = TranslateConfig::default().patience, value_name = "N")]
    lr_patience: usize,
    /// Tokens seen fewer times in the training pairs become unknown.
    #[arg(long, default_value_t = TranslateConfig::default().min_count)]
    min_count: u64,
    /// BPE subwords: merges learned per language (0: English words and Chinese characters).
    #[arg(long, default_value_t = TranslateConfig::default().subwords, value_name = "MERGES")]
    subwords: usize,
    /// Seed of initialization, shuffling and dropout.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write a training checkpoint every N steps (0: only at epoch ends) to
    /// MODEL_DIR.checkpoint; it is removed once the model is saved.
    #[arg(long, default_value_t = 200, value_name = "N")]
    checkpoint_every: u64,
    /// Continue an interrupted run from MODEL_DIR.checkpoint (same data, flags and
    /// seed; with --epochs the same model as an uninterrupted run).
    #[arg(long)]
    resume: bool,
}

fn lang(code: &str, flag: &str) -> Result<Lang> {
    Lang::parse(code).with_context(|| format!("{flag} {code:?}: the languages are zh and en"))
}

/// Read pairs (source, target) from a file with two named fields.
fn read_pairs(
    path: &str,
    src: &str,
    tgt: &str,
    format: Option<FormatArg>,
) -> Result<Vec<(String, String)>> {
    let opts = ReadOptions {
        format: format.map(super::format_of),
        text_field: src.to_string(),
        label_field: Some(tgt.to_string()),
        ..ReadOptions::default()
    };
    let c = corpus::read_corpus(path, &opts)?;
    let mut out = Vec::with_capacity(c.docs.len());
    for d in c.docs {
        let Some(t) = d.label else {
            bail!("{}: line {}: no target field {tgt:?}", c.source, d.line);
        };
        out.push((d.text, t));
    }
    if out.is_empty() {
        bail!("{}: no sentence pairs", c.source);
    }
    Ok(out)
}

fn threads() -> Threads {
    Threads::Many(rayon::current_num_threads())
}

pub fn train(a: TrainArgs) -> Result<()> {
    let (src, tgt) = (lang(&a.src, "--src")?, lang(&a.tgt, "--tgt")?);
    if src == tgt {
        bail!("--src and --tgt are both {}", src.code());
    }
    let sf = a.src_field.clone().unwrap_or_else(|| src.code().into());
    let tf = a.tgt_field.clone().unwrap_or_else(|| tgt.code().into());
    let pairs = read_pairs(&a.pairs, &sf, &tf, a.format)?;
    let valid = match &a.valid {
        Some(p) => read_pairs(p, &sf, &tf, a.format)?,
        None => Vec::new(),
    };
    let cfg = TranslateConfig {
        src,
        tgt,
        embed: a.embed,
        hidden: a.hidden,
        dec_hidden: 2 * a.hidden,
        layers: a.layers.max(1),
        cell: match a.cell {
            CellArg::Gru => Cell::Gru,
            CellArg::Lstm => Cell::Lstm,
        },
        dropout: a.dropout,
        min_count: a.min_count,
        subwords: a.subwords,
        batch_size: a.batch_size.max(1),
        lr: a.lr,
        patience: a.lr_patience.max(1),
        epochs: a
            .epochs
            .or(if a.minutes.is_some() { None } else { Some(10) }),
        minutes: a.minutes,
        seed: a.seed,
        ..TranslateConfig::default()
    };
    eprintln!(
        "{} -> {}: {} training pairs, {} validation pairs",
        src.code(),
        tgt.code(),
        pairs.len(),
        valid.len()
    );
    let out = Path::new(&a.out);
    let ckpt = TranslateCheckpoint {
        path: super::checkpoint_path(out),
        every: a.checkpoint_every,
        resume: a.resume,
    };
    if a.resume && !ckpt.path.exists() {
        bail!("--resume: no checkpoint at {}", ckpt.path.display());
    }
    if !a.resume && ckpt.path.exists() {
        eprintln!(
            "note: {} is from an interrupted run; it will be replaced (pass --resume to continue it)",
            ckpt.path.display()
        );
    }
    let bar = progress::steps();
    let mut tr = train::train(
        &pairs,
        &valid,
        &cfg,
        rayon::current_num_threads(),
        Some(&ckpt),
        &mut |p| match &p.epoch_done {
            None => {
                bar.set_length(p.batch.1 as u64);
                bar.set_position(p.batch.0 as u64);
                bar.set_message(format!(
                    "epoch {} loss {:.3} {:.0} tok/s ETA {}",
                    p.epoch,
                    p.loss,
                    p.tokens_per_s,
                    progress::duration(p.eta)
                ));
            }
            Some(e) => {
                let bleu = e
                    .valid_bleu
                    .map_or(String::new(), |b| format!(" valid BLEU {b:.2}"));
                bar.suspend(|| {
                    eprintln!(
                        "epoch {} ({} batches) loss {:.3}{bleu} lr {:.1e} {:.0} tok/s [{}]",
                        e.epoch,
                        e.batches,
                        e.train_loss,
                        e.lr,
                        e.tokens_per_s,
                        progress::duration(p.elapsed)
                    )
                });
            }
        },
    )?;
    bar.finish_and_clear();
    tr.save(out)?;
    std::fs::remove_file(&ckpt.path).ok();
    let best = tr
        .epochs
        .iter()
        .filter_map(|e| e.valid_bleu.map(|b| (b, e.epoch)))
        .fold(None, |m: Option<(f64, usize)>, x| match m {
            Some(b) if b.0 >= x.0 => Some(b),
            _ => Some(x),
        });
    match best {
        Some((b, e)) => eprintln!("saved {} (best validation BLEU {b:.2} at epoch {e})", a.out),
        None => eprintln!("saved {}", a.out),
    }
    Ok(())
}

/// Decoding flags shared by `translate` and `translate-eval`.
#[derive(Args, Debug, Clone)]
pub struct DecodeArgs {
    /// Beam size (1: greedy).
    #[arg(long, default_value_t = DecodeOptions::default().beam)]
    beam: usize,
    /// Length penalty alpha: hypotheses are ranked by log P / length^alpha.
    #[arg(long, default_value_t = DecodeOptions::default().alpha)]
    length_penalty: f64,
    /// At most A * source length + B target tokens: A.
    #[arg(long, default_value_t = DecodeOptions::default().max_len_a)]
    max_len_a: f64,
    /// At most A * source length + B target tokens: B.
    #[arg(long, default_value_t = DecodeOptions::default().max_len_b)]
    max_len_b: usize,
}

impl DecodeArgs {
    fn options(&self, n_best: usize) -> DecodeOptions {
        DecodeOptions {
            beam: self.beam.max(1),
            alpha: self.length_penalty,
            max_len_a: self.max_len_a,
            max_len_b: self.max_len_b,
            n_best: n_best.max(1),
        }
    }
}

/// Translate each line of INPUT (default stdin) with a translation model: one line out
/// per line in, in order, streaming. --json writes {"translation", "score", "n_best"}
/// per line (score: length-normalized log-probability).
///
/// Example:
///   echo 我喜欢你的家庭。 | textrnn translate --model zh-en.model
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TranslateArgs {
    /// Model directory written by `textrnn translate-train`.
    #[arg(long, value_name = "MODEL_DIR")]
    model: String,
    /// Input file (one sentence per line), or - for stdin.
    #[arg(default_value = "-")]
    input: String,
    #[command(flatten)]
    decode: DecodeArgs,
    /// Also give the N best translations (with --json).
    #[arg(long, value_name = "N", default_value_t = 1)]
    n_best: usize,
    /// JSON lines instead of plain text.
    #[arg(long)]
    json: bool,
}

pub fn translate(a: TranslateArgs) -> Result<()> {
    let tr = Translator::load(Path::new(&a.model))?;
    let opts = a.decode.options(a.n_best);
    let input = corpus::open_input(&a.input)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    // Lines are translated in chunks (sorted by length inside a chunk) and
    // written in input order.
    const CHUNK: usize = 512;
    let mut lines = input.lines();
    let mut line_no = 0usize;
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        for l in lines.by_ref() {
            line_no += 1;
            let l =
                l.with_context(|| format!("{}: line {line_no}", corpus::source_name(&a.input)))?;
            chunk.push(l);
            if chunk.len() == CHUNK {
                break;
            }
        }
        if chunk.is_empty() {
            break;
        }
        let texts: Vec<&str> = chunk.iter().map(|s| s.trim_end_matches('\r')).collect();
        for hyps in tr.translate(&texts, &opts, threads()) {
            if a.json {
                let best = &hyps[0];
                let mut v = json!({"translation": best.text, "score": best.score});
                if a.n_best > 1 {
                    v["n_best"] = hyps
                        .iter()
                        .map(|h| json!({"translation": h.text, "score": h.score}))
                        .collect();
                }
                writeln!(out, "{v}")?;
            } else {
                writeln!(out, "{}", hyps[0].text)?;
            }
        }
        out.flush()?;
    }
    Ok(())
}

/// Score a translation model on test pairs: BLEU (sacreBLEU conventions: 13a for English
/// output, zh for Chinese) and chrF, greedy and with the beam, and decoding speed.
///
/// Example:
///   textrnn translate-eval --model zh-en.model test.tsv
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct EvalArgs {
    /// Model directory written by `textrnn translate-train`.
    #[arg(long, value_name = "MODEL_DIR")]
    model: String,
    /// Test pairs (.tsv, .csv or .jsonl) with the model's source and target fields.
    #[arg(value_name = "PAIRS")]
    test: String,
    /// Field of the source sentence [default: the model's source language code].
    #[arg(long, value_name = "FIELD")]
    src_field: Option<String>,
    /// Field of the reference translation [default: the model's target language code].
    #[arg(long, value_name = "FIELD")]
    tgt_field: Option<String>,
    /// Force the input format.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    #[command(flatten)]
    decode: DecodeArgs,
    /// Write the beam translations here, one per line.
    #[arg(long, value_name = "FILE")]
    out: Option<String>,
}

pub fn eval(a: EvalArgs) -> Result<()> {
    let tr = Translator::load(Path::new(&a.model))?;
    let (src, tgt) = (tr.config.src, tr.config.tgt);
    let sf = a.src_field.clone().unwrap_or_else(|| src.code().into());
    let tf = a.tgt_field.clone().unwrap_or_else(|| tgt.code().into());
    let pairs = read_pairs(&a.test, &sf, &tf, a.format)?;
    let texts: Vec<&str> = pairs.iter().map(|(s, _)| s.as_str()).collect();
    let refs: Vec<Vec<String>> = pairs.iter().map(|(_, t)| vec![t.clone()]).collect();
    let tok = BleuTokenizer::for_language(tgt.code());
    let mut rows = Vec::new();
    let mut beam_out = Vec::new();
    let beam = a.decode.beam.max(1);
    for b in if beam == 1 { vec![1] } else { vec![1, beam] } {
        let opts = DecodeOptions {
            beam: b,
            ..a.decode.options(1)
        };
        let t0 = Instant::now();
        let hyps: Vec<String> = tr
            .translate(&texts, &opts, threads())
            .into_iter()
            .map(|mut h| h.swap_remove(0).text)
            .collect();
        let secs = t0.elapsed().as_secs_f64();
        let bleu = corpus_bleu(&hyps, &refs, tok);
        let chrf = corpus_chrf(&hyps, &refs);
        rows.push(json!({
            "beam": b,
            "bleu": (bleu.score * 100.0).round() / 100.0,
            "chrf": (chrf * 100.0).round() / 100.0,
            "sentences_per_s": (texts.len() as f64 / secs * 10.0).round() / 10.0,
        }));
        println!(
            "{} -> {}  beam {b}: BLEU {:.2} ({}, BP {:.3})  chrF {:.2}  {:.0} sentences/s",
            src.code(),
            tgt.code(),
            bleu.score,
            tok.name(),
            bleu.bp,
            chrf,
            texts.len() as f64 / secs
        );
        beam_out = hyps;
    }
    if let Some(path) = &a.out {
        let mut f = textrnn::io::AtomicFile::create(path)?;
        for h in &beam_out {
            writeln!(f, "{h}")?;
        }
        f.commit()?;
    }
    println!(
        "RESULT {}",
        json!({"sentences": texts.len(), "results": rows})
    );
    Ok(())
}

/// `describe` of a translation model: what it translates, its shape and
/// settings, and its training record.
pub fn describe(dir: &str, as_json: bool) -> Result<()> {
    let tr = Translator::load(Path::new(dir)).context("cannot load the model")?;
    let (c, m) = (&tr.config, &tr.model.config);
    let params = {
        let mut n = 0;
        let mut model = tr.model.clone();
        textrnn::nn::Module::visit(&mut model, &mut |p: &mut textrnn::nn::Param<f32>| {
            n += p.len()
        });
        n
    };
    if as_json {
        let v = json!({
            "task": "translate",
            "source": c.src.code(),
            "target": c.tgt.code(),
            "model": m,
            "parameters": params,
            "vocab_size": {"source": tr.src_vocab.len(), "target": tr.tgt_vocab.len()},
            "settings": c,
            "epochs": tr.epochs,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "translation model {} -> {} ({dir})",
        c.src.code(),
        c.tgt.code()
    );
    let cell = match m.cell {
        Cell::Gru => "GRU",
        Cell::Lstm => "LSTM",
    };
    println!(
        "  encoder: {} {cell}, {} layer(s), {} per direction; decoder: {cell} {} with attention; embeddings {}",
        if m.bidirectional { "bidirectional" } else { "unidirectional" },
        m.layers,
        m.hidden,
        m.dec_hidden,
        m.embed
    );
    let units = |u: &textrnn::translate::tokenize::Units| match &u.bpe {
        Some(b) => format!("BPE, {} merges", b.merges.len()),
        None if u.lang == textrnn::translate::tokenize::Lang::Zh => "characters".into(),
        None => "words".into(),
    };
    println!(
        "  {:.1} M parameters; vocabularies: {} source ({}), {} target ({}) units seen {} times or more",
        params as f64 / 1e6,
        tr.src_vocab.len(),
        units(&tr.src_units),
        tr.tgt_vocab.len(),
        units(&tr.tgt_units),
        c.min_count
    );
    println!(
        "  trained: batch {}, lr {}, dropout {}, label smoothing {}, seed {}",
        c.batch_size, c.lr, c.dropout, c.label_smoothing, c.seed
    );
    for e in &tr.epochs {
        let bleu = e
            .valid_bleu
            .map_or(String::new(), |b| format!("  valid BLEU {b:.2}"));
        println!(
            "  epoch {:>3}  {} batches  loss {:.3}{bleu}  lr {:.1e}",
            e.epoch, e.batches, e.train_loss, e.lr
        );
    }
    Ok(())
}

//! `textrnn bench`: the RNN engine on the PyTorch reference benchmark's model.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;
use textrnn::nn::bench::{random_batches, rnn_flops_per_token, BenchModel};
use textrnn::nn::rnn::Cell;

/// Train and run the reference model (Embedding 20000x128 -> RNN(H) -> mean -> Linear(H, 64),
/// loss mean(out^2), Adam 1e-3, float32) and print `RESULT {json}` with the fields of
/// ../shared/bench/pytorch_rnn_bench.py, for a side-by-side ratio.
///
/// Example: textrnn bench --cell lstm --hidden 256 --batch 64 --seq 32 --threads 1
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct BenchArgs {
    /// Recurrent cell.
    #[arg(long, value_enum, default_value_t = CellArg::Lstm)]
    cell: CellArg,
    /// Hidden size H.
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    /// Batch size B.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Sequence length T (the maximum with --lengths).
    #[arg(long, default_value_t = 32)]
    seq: usize,
    /// File of sequence lengths, one integer per line (e.g. from `textrnn tokenize CORPUS --lengths`);
    /// each row draws its length from it, capped at --seq.
    #[arg(long, value_name = "FILE")]
    lengths: Option<String>,
    /// Timed steps (each phase stops early after --max-sec).
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 3)]
    warm: usize,
    /// Time limit per phase in seconds.
    #[arg(long, default_value_t = 25.0)]
    max_sec: f64,
    /// Inference without folding the input projection into per-token
    /// tables (by default they are built, inside the timed inference phase,
    /// when they fit in 96 MiB; the packed weights are kept either way).
    #[arg(long)]
    no_fold: bool,
    /// Instead of the model: the machine's reference FLOP rate, the best
    /// of 5 single-thread N x N x N f32 products on the gemm crate and on
    /// textrnn's packed kernel (e.g. --sgemm 2048); prints
    /// `RESULT {"sgemm_n", "gemm_gflops", "packed_gflops"}`. Compare with
    /// `train_gflops` of a one-thread run.
    #[arg(long, value_name = "N")]
    sgemm: Option<usize>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum CellArg {
    Lstm,
    Gru,
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kb / 1024.0).round())
}

pub fn run(a: BenchArgs) -> Result<()> {
    if let Some(n) = a.sgemm {
        anyhow::ensure!((1..=8192).contains(&n), "--sgemm must be 1..=8192");
        let (gemm, packed) = textrnn::nn::bench::sgemm_gflops(n, 5);
        let result = json!({
            "impl": "textrnn",
            "sgemm_n": n,
            "threads": 1,
            "gemm_gflops": (gemm * 10.0).round() / 10.0,
            "packed_gflops": packed.map(|r| (r * 10.0).round() / 10.0),
        });
        println!("RESULT {result}");
        return Ok(());
    }
    anyhow::ensure!(
        a.hidden >= 1 && a.batch >= 1 && a.seq >= 1,
        "--hidden, --batch and --seq must be at least 1"
    );
    let lengths = match &a.lengths {
        None => None,
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
            let mut v = Vec::new();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                v.push(
                    line.trim()
                        .parse::<usize>()
                        .with_context(|| format!("{path}:{}: not a length: {line:?}", i + 1))?,
                );
            }
            anyhow::ensure!(!v.is_empty(), "{path}: no lengths");
            Some(v)
        }
    };
    let cell = match a.cell {
        CellArg::Lstm => Cell::Lstm,
        CellArg::Gru => Cell::Gru,
    };
    let threads = rayon::current_num_threads();
    let batches = random_batches(4, a.batch, a.seq, lengths.as_deref(), 0);
    let tokens: Vec<usize> = batches.iter().map(|b| b.lengths.iter().sum()).collect();
    let mut model = BenchModel::new(cell, a.hidden, 0, threads);
    let mut loss0 = 0.0;
    for i in 0..a.warm {
        loss0 = model.train_step(&batches[i % 4], 1e-3)?;
    }
    let (mut n, mut tok, mut loss) = (0, 0, 0.0);
    let t0 = Instant::now();
    while n < a.steps {
        loss = model.train_step(&batches[n % 4], 1e-3)?;
        tok += tokens[n % 4];
        n += 1;
        if t0.elapsed().as_secs_f64() > a.max_sec {
            break;
        }
    }
    let train_s = t0.elapsed().as_secs_f64();
    for i in 0..a.warm {
        model.infer(&batches[i % 4]);
    }
    let (mut ni, mut itok) = (0, 0);
    let t0 = Instant::now();
    // The tables are built inside the timed phase: their cost counts.
    let folded = model.prepare(!a.no_fold);
    while ni < a.steps {
        std::hint::black_box(model.infer(&batches[ni % 4]));
        itok += tokens[ni % 4];
        ni += 1;
        if t0.elapsed().as_secs_f64() > a.max_sec {
            break;
        }
    }
    let infer_s = t0.elapsed().as_secs_f64();
    let result = json!({
        "impl": "textrnn",
        "cell": format!("{cell:?}").to_lowercase(),
        "H": a.hidden, "B": a.batch, "T": a.seq,
        "threads": threads,
        "lengths": a.lengths,
        "train_steps": n,
        "train_tok_s": (tok as f64 / train_s).round(),
        // Forward + backward of the recurrent layer, 3 x 2·G·H·(E+H) per token.
        "train_gflops": (3.0 * rnn_flops_per_token(cell, a.hidden) * tok as f64 / train_s / 1e8).round() / 10.0,
        "infer_steps": ni,
        "infer_tok_s": (itok as f64 / infer_s).round(),
        "folded": folded,
        "peak_rss_mb": peak_rss_mb(),
        "loss0": loss0,
        "loss": loss,
    });
    println!("RESULT {result}");
    Ok(())
}

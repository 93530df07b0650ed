//! Batched beam search (greedy is a beam of one) over a trained
//! [`Seq2Seq`].
//!
//! Every source sentence keeps `beam` live hypotheses. At each step each
//! live hypothesis is extended by every target token; of the best `2·beam`
//! extensions, those among the first `beam` that end in `<eos>` (or reach
//! the length limit) are finished, scored by their log-probability divided
//! by `length^alpha` (length counts the `<eos>`), and the best `beam` that
//! do not end in `<eos>` stay live. A sentence is done once it has `beam`
//! finished hypotheses; the best `n_best` of them are returned. With
//! `beam = 1` this is greedy decoding. Special tokens other than `<eos>`
//! (`<unk>` included) are never produced, so no raw `<unk>` reaches the
//! output. Ties are broken by token id, so decoding is deterministic.

use crate::nn::encoder::EncoderCache;
use crate::nn::gemm::Threads;
use crate::nn::Real;
use crate::vocab::{Special, SPECIALS};

use super::model::{Prepared, Seq2Seq};

/// How to decode.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeOptions {
    /// Hypotheses kept per sentence (1 = greedy).
    pub beam: usize,
    /// Length normalization exponent: score = log P / length^alpha.
    pub alpha: f64,
    /// At most `max_len_a · source length + max_len_b` target tokens.
    pub max_len_a: f64,
    /// See `max_len_a`.
    pub max_len_b: usize,
    /// Finished hypotheses returned per sentence, best first.
    pub n_best: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            beam: 5,
            alpha: 0.6,
            max_len_a: 2.0,
            max_len_b: 10,
            n_best: 1,
        }
    }
}

/// One finished translation.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypothesis {
    /// Target ids without `<bos>` and `<eos>`.
    pub ids: Vec<u32>,
    /// Log-probability of the ids and the final `<eos>`.
    pub logprob: f64,
    /// `logprob / length^alpha`, what hypotheses are ranked by.
    pub score: f64,
}

/// Per live hypothesis: its tokens and running log-probability.
#[derive(Clone, Debug)]
struct Live {
    ids: Vec<u32>,
    logprob: f64,
}

/// Translate `sources` (source ids, each non-empty or given one `<unk>`)
/// with `prep`, the model's [`Seq2Seq::prepare`]d weights (packed once by
/// the caller for all its batches); returns each sentence's best
/// hypotheses, in input order.
pub fn translate<T: Real>(
    model: &Seq2Seq<T>,
    prep: &Prepared,
    sources: &[&[u32]],
    opts: &DecodeOptions,
    threads: Threads,
) -> Vec<Vec<Hypothesis>> {
    if sources.is_empty() {
        return Vec::new();
    }
    let k = opts.beam.max(1);
    let h = model.config.dec_hidden;
    let v = model.config.tgt_vocab;
    let seqs: Vec<Vec<u32>> = sources.iter().map(|s| s.to_vec()).collect();
    let docs: Vec<usize> = (0..seqs.len()).collect();
    let max_src = seqs.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let src = crate::batch::Batch::new(&seqs, &docs, max_src);
    let enc = model.encode(
        &src,
        None,
        &mut EncoderCache::default(),
        Some(prep),
        threads,
    );
    let b = src.b;
    let limit: Vec<usize> = src
        .lengths
        .iter()
        .map(|&l| ((opts.max_len_a * l as f64) as usize + opts.max_len_b).max(1))
        .collect();
    // One row per live hypothesis, grouped by sentence (source row) in
    // order: finished sentences stop costing anything, and the first step
    // runs one row per sentence, not `beam`.
    let mut rows: Vec<(usize, usize)> = (0..b).map(|sr| (sr, 0)).collect();
    let mut state: Vec<T> = enc.h0.clone();
    let lstm = model.config.cell == crate::nn::rnn::Cell::Lstm;
    let mut cell: Vec<T> = if lstm {
        vec![T::zero(); b * h]
    } else {
        Vec::new()
    };
    let mut live: Vec<Vec<Live>> = (0..b)
        .map(|_| {
            vec![Live {
                ids: Vec::new(),
                logprob: 0.0,
            }]
        })
        .collect();
    let mut finished: Vec<Vec<Hypothesis>> = vec![Vec::new(); b];
    let mut t = 0;
    while !rows.is_empty() {
        let prev: Vec<u32> = rows
            .iter()
            .map(|&(sr, j)| {
                live[sr][j]
                    .ids
                    .last()
                    .copied()
                    .unwrap_or(Special::Bos as u32)
            })
            .collect();
        let span_of: Vec<usize> = rows.iter().map(|&(sr, _)| sr).collect();
        let logp = model.step(
            &enc,
            &prev,
            &mut state,
            &mut cell,
            &span_of,
            Some(prep),
            threads,
        );
        // Each row's best 2k tokens, rows in parallel.
        let tops: Vec<Vec<(f64, u32)>> = {
            use rayon::prelude::*;
            logp.par_chunks(v.max(1))
                .map(|row| top_tokens(row, 2 * k))
                .collect()
        };
        let (mut next_rows, mut parents) = (
            Vec::with_capacity(rows.len()),
            Vec::with_capacity(rows.len()),
        );
        let mut r0 = 0;
        while r0 < rows.len() {
            let sr = rows[r0].0;
            let n = live[sr].len();
            let at_limit = t + 1 >= limit[sr];
            let next = extend(
                &live[sr],
                &tops[r0..r0 + n],
                &mut finished[sr],
                (k, t, at_limit),
                opts.alpha,
            );
            parents.extend(next.iter().map(|&(_, j)| r0 + j));
            next_rows.extend((0..next.len()).map(|j| (sr, j)));
            live[sr] = next.into_iter().map(|(l, _)| l).collect();
            r0 += n;
        }
        // Each row continues from its parent's decoder state.
        let gather = |x: &[T]| -> Vec<T> {
            parents
                .iter()
                .flat_map(|&p| x[p * h..(p + 1) * h].iter().copied())
                .collect()
        };
        state = gather(&state);
        if lstm {
            cell = gather(&cell);
        }
        rows = next_rows;
        t += 1;
    }
    let mut out = vec![Vec::new(); b];
    for (sr, mut f) in finished.into_iter().enumerate() {
        f.sort_by(|a, c| c.score.total_cmp(&a.score).then(a.ids.cmp(&c.ids)));
        f.truncate(opts.n_best.max(1));
        out[enc.pair_of_row[sr]] = f;
    }
    out
}

/// One beam step of one sentence: the best `2k` extensions of its live
/// hypotheses (each row's best tokens `tops`, one row per live hypothesis),
/// those among the first `k` that end in `<eos>` (or reach the length
/// limit) added to `finished`, and the best `k` that do not end returned
/// with the index of the hypothesis they extend; none once the sentence
/// has `k` finished hypotheses or is at its limit.
fn extend(
    live: &[Live],
    tops: &[Vec<(f64, u32)>],
    finished: &mut Vec<Hypothesis>,
    (k, t, at_limit): (usize, usize, bool),
    alpha: f64,
) -> Vec<(Live, usize)> {
    let eos = Special::Eos as u32;
    let mut cand: Vec<(f64, usize, u32)> = Vec::with_capacity(live.len() * 2 * k);
    for (j, l) in live.iter().enumerate() {
        cand.extend(tops[j].iter().map(|&(lp, tok)| (l.logprob + lp, j, tok)));
    }
    cand.sort_by(|a, c| c.0.total_cmp(&a.0).then(a.1.cmp(&c.1)).then(a.2.cmp(&c.2)));
    cand.truncate(2 * k);
    let mut next = Vec::with_capacity(k);
    for (rank, &(lp, j, tok)) in cand.iter().enumerate() {
        let ends = tok == eos;
        if rank < k && (ends || at_limit) && finished.len() < k {
            let mut ids = live[j].ids.clone();
            if !ends {
                ids.push(tok);
            }
            finished.push(Hypothesis {
                ids,
                logprob: lp,
                score: lp / ((t + 1) as f64).powf(alpha),
            });
        }
        if !ends && next.len() < k {
            let mut ids = live[j].ids.clone();
            ids.push(tok);
            next.push((Live { ids, logprob: lp }, j));
        }
    }
    if finished.len() >= k || at_limit {
        next.clear();
    }
    next
}

/// The `n` most probable tokens of a row of log-probabilities (no special
/// token but `<eos>`), best first; ties to the lower id.
fn top_tokens<T: Real>(row: &[T], n: usize) -> Vec<(f64, u32)> {
    let mut best: Vec<(f64, u32)> = Vec::with_capacity(n + 1);
    for (tok, &lp) in row.iter().enumerate() {
        if tok < SPECIALS.len() && tok != Special::Eos as usize {
            continue;
        }
        let lp = lp.to_f64().unwrap_or(f64::NEG_INFINITY);
        if best.len() == n && lp <= best[n - 1].0 {
            continue;
        }
        let at = best.partition_point(|&(b, _)| b >= lp);
        best.insert(at, (lp, tok as u32));
        best.truncate(n);
    }
    best
}

//! The language-model objective, the classic unsupervised RNN objective
//! (`--objective lm`), as an alternative to the contrastive one.
//!
//! Each direction of the encoder's top layer predicts the neighbouring
//! token: the forward state at step t (which has read tokens 0..=t) the
//! token t + 1, the backward state (which has read t..) the token t - 1, as
//! in ELMo's bidirectional language model. One output layer (`lm.weight (V,
//! H)`, `lm.bias`), shared by both directions, is trained with the encoder
//! by sampled softmax ([`sampled_softmax`], [`LM_NEGATIVES`] negatives per
//! batch) and dropped afterwards; the pooled states are the representation,
//! as with the contrastive objective. Texts are read as they are (no
//! augmented views); dropout applies.
//!
//! With more than one bidirectional layer, the upper layers' forward states
//! read the lower backward states, which have seen the tokens to predict:
//! such encoders need `bidirectional: false` for this objective
//! (`textrnn train` refuses the combination).

use crate::batch::Batch;
use crate::nn::encoder::{Encoder, EncoderCache};
use crate::nn::gemm::Threads;
use crate::nn::loss::sampled_softmax;
use crate::nn::Real;
use crate::rng::Rng;

/// Negatives drawn per batch for the sampled softmax.
pub const LM_NEGATIVES: usize = 64;

/// Attach a fresh output layer to `enc` as its objective's parameters
/// (`lm.weight (V, H)`, uniform in ±1/√H, and `lm.bias (V)`, zeros; shared
/// by both directions), trained with the encoder until
/// [`Encoder::detach_objective`].
pub fn attach<T: Real>(enc: &mut Encoder<T>, rng: &mut Rng) {
    let (v, h) = (enc.config.vocab, enc.config.hidden);
    enc.objective = vec![
        crate::nn::Param::uniform("lm.weight", &[v, h], 1.0 / (h as f64).sqrt(), rng),
        crate::nn::Param::zeros("lm.bias", &[v]),
    ];
}

/// The mean sampled-softmax loss of predicting each token's neighbours in
/// `batch` (0 when no text has two tokens). `dropout`: draw dropout from
/// `rng` (training); `backward`: accumulate the gradients of the encoder and
/// its output layer (attached with [`attach`]).
pub fn lm_loss<T: Real>(
    enc: &mut Encoder<T>,
    batch: &Batch,
    rng: &mut Rng,
    dropout: bool,
    backward: bool,
    threads: Threads,
) -> T {
    let h = enc.config.hidden;
    let dirs = if enc.config.bidirectional { 2 } else { 1 };
    let d = h * dirs;
    let mut cache = EncoderCache::default();
    enc.forward_states(batch, dropout.then_some(&mut *rng), &mut cache, threads);
    let top = cache.states();
    let states = top.len();
    let packed = cache.packed.as_ref().expect("set by forward_states");
    let ids = cache.ids();
    // Rows of states that predict a token, their targets and where they came from.
    let mut hidden = Vec::new();
    let mut targets = Vec::new();
    let mut from = Vec::new();
    for i in 0..packed.b() {
        let len = packed.lengths[i];
        for t in 0..len {
            let row = packed.row(t, i);
            if t + 1 < len {
                hidden.extend_from_slice(&top[row * d..row * d + h]);
                targets.push(ids[packed.row(t + 1, i)] as usize);
                from.push(row * d);
            }
            if dirs == 2 && t >= 1 {
                hidden.extend_from_slice(&top[row * d + h..row * d + 2 * h]);
                targets.push(ids[packed.row(t - 1, i)] as usize);
                from.push(row * d + h);
            }
        }
    }
    if targets.is_empty() {
        return T::zero();
    }
    let [w, b] = &enc.objective[..] else {
        panic!("lm::attach before the LM objective");
    };
    let out = sampled_softmax(&hidden, h, &w.value, &b.value, &targets, LM_NEGATIVES, rng);
    if backward {
        let mut dtop = vec![T::zero(); states];
        for (r, &at) in from.iter().enumerate() {
            dtop[at..at + h]
                .iter_mut()
                .zip(&out.dhidden[r * h..(r + 1) * h])
                .for_each(|(a, &g)| *a += g);
        }
        let lm = &mut enc.objective;
        for (j, dw, db) in &out.dweight {
            lm[0].grad[j * h..(j + 1) * h]
                .iter_mut()
                .zip(dw)
                .for_each(|(a, &g)| *a += g);
            lm[1].grad[*j] += *db;
        }
        enc.backward_states(&mut cache, &dtop, threads);
    }
    out.loss
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::encoder::EncoderConfig;
    use crate::nn::pool::Pooling;
    use crate::nn::rnn::Cell;
    use crate::nn::{Module, Param};

    /// Every parameter's gradient (encoder and output layer) against
    /// central finite differences of the loss, in f64, for LSTM and GRU, one
    /// and two directions; the negatives are the same in every evaluation
    /// (the same seed).
    #[test]
    fn lm_gradients_match_finite_differences() {
        let seqs = vec![vec![4u32, 5, 6, 7], vec![8, 4, 9], vec![5, 6], vec![7]];
        let batch = Batch::new(&seqs, &[0, 1, 2, 3], 10);
        for cell in [Cell::Lstm, Cell::Gru] {
            for bidirectional in [false, true] {
                let cfg = EncoderConfig {
                    vocab: 12,
                    embed: 3,
                    hidden: 4,
                    layers: 1,
                    bidirectional,
                    cell,
                    pooling: Pooling::Mean,
                    dropout: 0.0,
                };
                let mut rng = Rng::new(3);
                let mut enc = Encoder::<f64>::new(cfg, &mut rng);
                attach(&mut enc, &mut rng);
                let loss = |e: &mut Encoder<f64>| {
                    lm_loss(e, &batch, &mut Rng::new(11), false, false, Threads::One)
                };
                enc.zero_grad();
                let base = lm_loss(
                    &mut enc,
                    &batch,
                    &mut Rng::new(11),
                    false,
                    true,
                    Threads::One,
                );
                assert!(base > 0.0 && base.is_finite());
                let mut grads: Vec<Vec<f64>> = Vec::new();
                enc.visit(&mut |p: &mut Param<f64>| grads.push(p.grad.clone()));
                let mut checked = 0;
                for (pi, g) in grads.iter().enumerate() {
                    // A few entries of each parameter, spread over it.
                    let step = (g.len() / 5).max(1);
                    for x in (0..g.len()).step_by(step) {
                        let bump = |e: &mut Encoder<f64>, by: f64| {
                            let mut k = 0;
                            e.visit(&mut |p: &mut Param<f64>| {
                                if k == pi {
                                    p.value[x] += by;
                                }
                                k += 1;
                            });
                        };
                        bump(&mut enc, 1e-6);
                        let up = loss(&mut enc);
                        bump(&mut enc, -2e-6);
                        let down = loss(&mut enc);
                        bump(&mut enc, 1e-6);
                        let want = (up - down) / 2e-6;
                        assert!(
                            (g[x] - want).abs() < 1e-6 * (1.0 + want.abs()),
                            "{cell:?} bi {bidirectional}: param {pi}[{x}] {} vs {want}",
                            g[x]
                        );
                        checked += 1;
                    }
                }
                assert!(checked > 20);
            }
        }
    }

    /// A text of one token predicts nothing.
    #[test]
    fn single_tokens_give_no_loss() {
        let seqs = vec![vec![4u32], vec![5]];
        let batch = Batch::new(&seqs, &[0, 1], 10);
        let cfg = EncoderConfig {
            vocab: 8,
            embed: 2,
            hidden: 2,
            layers: 1,
            bidirectional: true,
            cell: Cell::Gru,
            pooling: Pooling::Mean,
            dropout: 0.0,
        };
        let mut rng = Rng::new(1);
        let mut enc = Encoder::<f32>::new(cfg, &mut rng);
        attach(&mut enc, &mut rng);
        assert_eq!(
            lm_loss(&mut enc, &batch, &mut rng, false, true, Threads::One),
            0.0
        );
    }
}

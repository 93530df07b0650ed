//! Data augmentation on token-id sequences, for contrastive learning: two
//! random views of one text should encode close together.
//!
//! Each view applies, in order: span deletion (drop one contiguous span),
//! token dropout (drop tokens independently), local swaps (exchange
//! neighbours) and masking (replace tokens by `<mask>`). A view is never
//! empty: if everything was dropped, the original's first token remains.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;
use crate::vocab::Special;

/// Augmentation strengths, each a probability or a fraction in [0, 1].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AugmentConfig {
    /// Probability of dropping each token.
    pub token_dropout: f64,
    /// Probability of deleting one span (of up to `span_fraction` of the length).
    pub span_delete: f64,
    /// Longest deleted span as a fraction of the length.
    pub span_fraction: f64,
    /// Probability of swapping each token with its right neighbour.
    pub swap: f64,
    /// Probability of replacing each token by `<mask>`.
    pub mask: f64,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        AugmentConfig {
            token_dropout: 0.1,
            span_delete: 0.5,
            span_fraction: 0.2,
            swap: 0.05,
            mask: 0.1,
        }
    }
}

/// One random view of `ids`.
pub fn augment(ids: &[u32], cfg: &AugmentConfig, rng: &mut Rng) -> Vec<u32> {
    let n = ids.len();
    if n == 0 {
        return vec![Special::Unk as u32];
    }
    let mut keep: Vec<u32> = ids.to_vec();
    if n >= 4 && rng.uniform() < cfg.span_delete {
        let max = ((n as f64 * cfg.span_fraction).floor() as usize).max(1);
        let len = 1 + rng.below(max);
        let start = rng.below(n - len + 1);
        keep.drain(start..start + len);
    }
    keep.retain(|_| rng.uniform() >= cfg.token_dropout);
    let mut i = 0;
    while i + 1 < keep.len() {
        if rng.uniform() < cfg.swap {
            keep.swap(i, i + 1);
            i += 2;
        } else {
            i += 1;
        }
    }
    for t in keep.iter_mut() {
        if rng.uniform() < cfg.mask {
            *t = Special::Mask as u32;
        }
    }
    if keep.is_empty() {
        keep.push(ids[0]);
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_seeded_never_empty_and_differ() {
        let ids: Vec<u32> = (10..30).collect();
        let cfg = AugmentConfig::default();
        let a = augment(&ids, &cfg, &mut Rng::new(1));
        assert_eq!(a, augment(&ids, &cfg, &mut Rng::new(1)));
        assert_ne!(a, augment(&ids, &cfg, &mut Rng::new(2)));
        assert!(a.len() <= ids.len() && !a.is_empty());
        let all = AugmentConfig {
            token_dropout: 1.0,
            ..cfg.clone()
        };
        assert_eq!(augment(&[7, 8], &all, &mut Rng::new(3)), vec![7]);
        let none = AugmentConfig {
            token_dropout: 0.0,
            span_delete: 0.0,
            span_fraction: 0.0,
            swap: 0.0,
            mask: 0.0,
        };
        assert_eq!(augment(&ids, &none, &mut Rng::new(4)), ids);
    }
}

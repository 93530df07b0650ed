//! Stage 3: the vocabulary, token strings to ids and back.
//!
//! Built from token counts over a corpus with a minimum count and a maximum
//! size; ids are assigned by descending count, ties broken by the token
//! string, so the same corpus always gives the same ids. The first ids are
//! reserved for [`Special`] tokens that the encoder and the objectives need.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Reserved tokens, always at the ids given by their discriminants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Special {
    /// Padding; the embedding of this id is fixed at zero.
    Pad = 0,
    /// Any token not in the vocabulary.
    Unk = 1,
    /// The masking token for denoising objectives.
    Mask = 2,
    /// Start of sequence for language-model objectives.
    Bos = 3,
    /// End of sequence.
    Eos = 4,
}

/// The special tokens' strings, in id order.
pub const SPECIALS: [&str; 5] = ["<pad>", "<unk>", "<mask>", "<bos>", "<eos>"];

/// How to build a vocabulary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VocabConfig {
    /// Tokens seen fewer times are mapped to `<unk>`. Default 2.
    pub min_count: u64,
    /// At most this many ids, specials included. Default 50,000.
    pub max_size: usize,
}

impl Default for VocabConfig {
    fn default() -> Self {
        VocabConfig {
            min_count: 2,
            max_size: 50_000,
        }
    }
}

/// A built vocabulary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vocab {
    /// Token string of each id.
    pub tokens: Vec<String>,
    /// Corpus count of each id (0 for specials).
    pub counts: Vec<u64>,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

impl Vocab {
    /// Count tokens from `docs` and keep those that pass `cfg`.
    pub fn build<'a, I, D>(docs: I, cfg: &VocabConfig) -> Vocab
    where
        I: IntoIterator<Item = D>,
        D: IntoIterator<Item = &'a str>,
    {
        let mut counts: HashMap<&'a str, u64> = HashMap::new();
        for doc in docs {
            for t in doc {
                *counts.entry(t).or_insert(0) += 1;
            }
        }
        let mut items: Vec<(&str, u64)> = counts
            .into_iter()
            .filter(|&(t, c)| c >= cfg.min_count && !SPECIALS.contains(&t))
            .collect();
        items.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        items.truncate(cfg.max_size.saturating_sub(SPECIALS.len()));
        let mut tokens: Vec<String> = SPECIALS.iter().map(|s| s.to_string()).collect();
        let mut cnt = vec![0; SPECIALS.len()];
        for (t, c) in items {
            tokens.push(t.to_string());
            cnt.push(c);
        }
        Vocab::from_parts(tokens, cnt)
    }

    fn from_parts(tokens: Vec<String>, counts: Vec<u64>) -> Vocab {
        let index = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Vocab {
            tokens,
            counts,
            index,
        }
    }

    /// Number of ids, specials included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True when only the specials are present.
    pub fn is_empty(&self) -> bool {
        self.tokens.len() <= SPECIALS.len()
    }

    /// The id of `token`, or `<unk>`.
    pub fn id(&self, token: &str) -> u32 {
        self.index
            .get(token)
            .copied()
            .unwrap_or(Special::Unk as u32)
    }

    /// The id of `token` if it is in the vocabulary.
    pub fn get(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied()
    }

    /// Ids of a token sequence.
    pub fn encode<S: AsRef<str>>(&self, tokens: &[S]) -> Vec<u32> {
        tokens.iter().map(|t| self.id(t.as_ref())).collect()
    }

    /// The token of `id` (`<unk>` for ids out of range).
    pub fn token(&self, id: u32) -> &str {
        self.tokens
            .get(id as usize)
            .map_or(SPECIALS[Special::Unk as usize], String::as_str)
    }

    /// Serialize as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("vocab serializes")
    }

    /// Load from JSON written by [`to_json`](Self::to_json); checks the specials and lengths.
    pub fn from_json(s: &str) -> Result<Vocab, String> {
        #[derive(Deserialize)]
        struct Raw {
            tokens: Vec<String>,
            counts: Vec<u64>,
        }
        let raw: Raw =
            serde_json::from_str(s).map_err(|e| format!("vocabulary is not valid JSON: {e}"))?;
        if raw.tokens.len() != raw.counts.len() {
            return Err("vocabulary tokens and counts differ in length".into());
        }
        if raw.tokens.len() < SPECIALS.len() || raw.tokens[..SPECIALS.len()] != SPECIALS {
            return Err("vocabulary does not start with the special tokens".into());
        }
        let v = Vocab::from_parts(raw.tokens, raw.counts);
        if v.index.len() != v.tokens.len() {
            return Err("vocabulary has duplicate tokens".into());
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_orders_by_count_then_token_and_respects_limits() {
        let docs = [
            vec!["b", "a", "a", "c"],
            vec!["a", "b", "d", "c"],
            vec!["e"],
        ];
        let v = Vocab::build(
            docs.iter().map(|d| d.iter().copied()),
            &VocabConfig {
                min_count: 2,
                max_size: 100,
            },
        );
        assert_eq!(&v.tokens[5..], &["a", "b", "c"]);
        assert_eq!(v.id("a"), 5);
        assert_eq!(v.id("zzz"), Special::Unk as u32);
        assert_eq!(v.encode(&["c", "e"]), vec![7, 1]);
        let small = Vocab::build(
            docs.iter().map(|d| d.iter().copied()),
            &VocabConfig {
                min_count: 1,
                max_size: 7,
            },
        );
        assert_eq!(small.len(), 7);
        assert_eq!(&small.tokens[5..], &["a", "b"]);
    }

    #[test]
    fn save_and_load_round_trip_and_reject_corrupt() {
        let v = Vocab::build(
            [vec!["x", "y", "x"]].iter().map(|d| d.iter().copied()),
            &VocabConfig {
                min_count: 1,
                max_size: 10,
            },
        );
        let back = Vocab::from_json(&v.to_json()).unwrap();
        assert_eq!(back, v);
        assert_eq!(back.id("y"), v.id("y"));
        assert!(Vocab::from_json("{\"tokens\":[\"a\"],\"counts\":[1]}").is_err());
        assert!(Vocab::from_json("not json").is_err());
    }
}

//! Byte-pair-encoding subwords (Sennrich et al.), learned from the training
//! side of a language: every word starts as its characters, and the most
//! frequent adjacent pair of symbols is merged, a given number of times.
//! A rare word is then written as a few frequent pieces instead of
//! `<unk>`. Pieces that do not end a word carry `@@` (subword-nmt's
//! convention), so joining the output back into words is unambiguous.
//!
//! The words are the language's pre-tokens ([`super::tokenize::Lang`]):
//! English words and punctuation; for Chinese, jieba's words (BPE then
//! splits the rare ones into characters or frequent parts).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Marks a piece that continues into the next one.
pub const CONTINUES: &str = "@@";

/// Learned merges, in the order they were learned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bpe {
    /// Symbol pairs, first merged first.
    pub merges: Vec<(String, String)>,
    #[serde(skip)]
    ranks: HashMap<(String, String), usize>,
}

impl Bpe {
    /// Merges from a list (as saved).
    pub fn from_merges(merges: Vec<(String, String)>) -> Bpe {
        let ranks = merges
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, m)| (m, i))
            .collect();
        Bpe { merges, ranks }
    }

    /// Learn up to `n` merges from word counts; a pair seen fewer than
    /// `min_count` times is never merged. Ties go to the pair that sorts
    /// first, so the result depends only on the counts.
    pub fn learn(counts: &HashMap<String, u64>, n: usize, min_count: u64) -> Bpe {
        // Words as symbol lists; the last symbol of a word is marked so that
        // word-final and word-inner pieces stay apart (as in subword-nmt).
        let mut words: Vec<(Vec<String>, u64)> =
            counts.iter().map(|(w, &c)| (symbols(w), c)).collect();
        words.sort();
        let mut pairs: HashMap<(String, String), i64> = HashMap::new();
        let mut where_: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, (w, c)) in words.iter().enumerate() {
            for p in w.windows(2) {
                let key = (p[0].clone(), p[1].clone());
                *pairs.entry(key.clone()).or_default() += *c as i64;
                where_.entry(key).or_default().push(i);
            }
        }
        let mut merges = Vec::with_capacity(n);
        while merges.len() < n {
            // The most frequent pair (ties: the smallest pair).
            let best = pairs
                .iter()
                .filter(|&(_, &c)| c > 0)
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(k, &c)| (k.clone(), c));
            let Some((pair, count)) = best else { break };
            if (count as u64) < min_count.max(1) {
                break;
            }
            let joined = format!("{}{}", pair.0, pair.1);
            let mut touched: Vec<usize> = where_.remove(&pair).unwrap_or_default();
            touched.sort_unstable();
            touched.dedup();
            for i in touched {
                let (w, c) = &mut words[i];
                let c = *c as i64;
                if !w.windows(2).any(|p| p[0] == pair.0 && p[1] == pair.1) {
                    continue;
                }
                for p in w.windows(2) {
                    *pairs.entry((p[0].clone(), p[1].clone())).or_default() -= c;
                }
                let mut out = Vec::with_capacity(w.len());
                let mut k = 0;
                while k < w.len() {
                    if k + 1 < w.len() && w[k] == pair.0 && w[k + 1] == pair.1 {
                        out.push(joined.clone());
                        k += 2;
                    } else {
                        out.push(std::mem::take(&mut w[k]));
                        k += 1;
                    }
                }
                *w = out;
                for p in w.windows(2) {
                    let key = (p[0].clone(), p[1].clone());
                    *pairs.entry(key.clone()).or_default() += c;
                    where_.entry(key).or_default().push(i);
                }
            }
            pairs.remove(&pair);
            merges.push(pair);
        }
        Bpe::from_merges(merges)
    }

    /// The pieces of one word, `@@` on every piece but the last.
    pub fn segment(&self, word: &str) -> Vec<String> {
        let mut w = symbols(word);
        loop {
            // The pair merged earliest in learning goes first.
            let best = w
                .windows(2)
                .enumerate()
                .filter_map(|(i, p)| {
                    self.ranks
                        .get(&(p[0].clone(), p[1].clone()))
                        .map(|&r| (r, i))
                })
                .min();
            let Some((_, i)) = best else { break };
            let (a, b) = (w[i].clone(), w[i + 1].clone());
            let mut out = Vec::with_capacity(w.len());
            let mut k = 0;
            while k < w.len() {
                if k + 1 < w.len() && w[k] == a && w[k + 1] == b {
                    out.push(format!("{a}{b}"));
                    k += 2;
                } else {
                    out.push(std::mem::take(&mut w[k]));
                    k += 1;
                }
            }
            w = out;
        }
        let last = w.len().saturating_sub(1);
        w.into_iter()
            .enumerate()
            .map(|(i, s)| match s.strip_suffix(END) {
                Some(stem) if i == last => stem.to_string(),
                _ => format!("{s}{CONTINUES}"),
            })
            .collect()
    }

    /// Rebuild the merge index after deserializing.
    pub fn reindex(&mut self) {
        *self = Bpe::from_merges(std::mem::take(&mut self.merges));
    }
}

/// Internal marker of a word's last symbol while learning and segmenting.
const END: &str = "</w>";

/// A word's characters, the last one marked.
fn symbols(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i + 1 == chars.len() {
                format!("{c}{END}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Words from pieces: a piece ending in `@@` is glued to the next one.
pub fn join_pieces<S: AsRef<str>>(pieces: &[S]) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    for p in pieces {
        let p = p.as_ref();
        match p.strip_suffix(CONTINUES) {
            Some(stem) => cur.push_str(stem),
            None => {
                cur.push_str(p);
                words.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Word counts of sentences already split into words.
pub fn word_counts<'a>(sentences: impl Iterator<Item = &'a [String]>) -> HashMap<String, u64> {
    let mut c: BTreeMap<&str, u64> = BTreeMap::new();
    for s in sentences {
        for w in s {
            *c.entry(w).or_default() += 1;
        }
    }
    c.into_iter().map(|(w, n)| (w.to_string(), n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_frequent_pieces_and_splits_rare_words() {
        let mut counts = HashMap::new();
        for (w, c) in [
            ("lower", 5),
            ("lowest", 4),
            ("newer", 6),
            ("wider", 3),
            ("new", 2),
        ] {
            counts.insert(w.to_string(), c);
        }
        let bpe = Bpe::learn(&counts, 10, 2);
        assert!(!bpe.merges.is_empty());
        // The frequent words become one piece; an unseen word is split but
        // joins back to itself.
        assert_eq!(bpe.segment("newer"), ["newer"]);
        let p = bpe.segment("lowerest");
        assert!(
            p.len() > 1 && p[..p.len() - 1].iter().all(|s| s.ends_with("@@")),
            "{p:?}"
        );
        assert_eq!(join_pieces(&p), ["lowerest"]);
        // Same counts, same merges.
        assert_eq!(Bpe::learn(&counts, 10, 2), bpe);
        let mut back: Bpe = serde_json::from_str(&serde_json::to_string(&bpe).unwrap()).unwrap();
        back.reindex();
        assert_eq!(back.segment("lowerest"), p);
    }

    #[test]
    fn chinese_words_split_into_known_parts() {
        let mut counts = HashMap::new();
        for (w, c) in [("喜欢", 9), ("欢迎", 7), ("喜", 3), ("我们", 8)] {
            counts.insert(w.to_string(), c);
        }
        let bpe = Bpe::learn(&counts, 5, 2);
        assert_eq!(bpe.segment("喜欢"), ["喜欢"]);
        assert_eq!(join_pieces(&bpe.segment("喜欢我们")), ["喜欢我们"]);
    }
}

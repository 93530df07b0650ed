//! Seed expansion without labels: words the corpus uses like a class's seed
//! words join that class's seeds, so more texts get a first pseudo-label
//! and the user sees (and can edit) what the corpus added.
//!
//! "Uses like" is measured with the corpus's own word vectors
//! ([`crate::features::WordVectors`]: PPMI of two words in one text,
//! reduced by SVD). Each class is the mean direction of its seed words'
//! vectors. A word joins class `c` when it is at least as close to `c` as
//! the class's typical (median) seed word is, and at least as much closer
//! to `c` than to any other class as the typical seed word is: the seeds
//! themselves set both bars, so no threshold is fitted to a corpus. Vectors
//! of document co-occurrence also hold topic ("film", "cast" beside
//! "poignant"), so the word's texts must agree as well: among its texts
//! that the seeds label, the share labeled `c` is at least halfway from
//! `c`'s share of all seed-labeled texts to 1. At most as many words join
//! a class as it has seed words in the corpus (the expansion at most
//! doubles a class), the most separated first.
//!
//! Words that cannot describe (stop words, markup, numbers, single Chinese
//! characters), terms marked as negated or as a text's lead, rarer words
//! than `min_df` texts, and words that hold a seed word of any class
//! (好吃 in 很好吃) are never added: the matcher finds those already.

use std::collections::HashMap;

use super::seeds::SeedSet;
use crate::describe::{describes, DescribeConfig};
use crate::features::WordVectors;
use crate::text::TextPipeline;

/// Texts a word must occur in to join a class.
pub const MIN_DF: usize = 5;

/// The words that join each class's seeds, in order of separation.
/// `words`: each text's terms (those the vectors were fitted on);
/// `labels`: each text's seed pseudo-label.
pub fn expand(
    seeds: &SeedSet,
    wv: &WordVectors,
    words: &[Vec<String>],
    labels: &[Option<usize>],
    pipeline: &TextPipeline,
) -> Vec<Vec<String>> {
    let k = seeds.classes.len();
    let df = crate::features::document_frequency(words);
    let (by_class, shares) = labeled_counts(words, labels, k);
    let dim = wv.dim;
    let mut added = vec![Vec::new(); k];
    if dim == 0 {
        return added;
    }
    // Each class's single-token seeds that have a vector.
    let seed_words: Vec<Vec<String>> = (seeds.classes.iter())
        .map(|c| {
            let mut w: Vec<String> = (c.seeds.iter())
                .filter_map(|s| match pipeline.tokens(s).as_slice() {
                    [one] if wv.get(one).is_some() => Some(one.clone()),
                    _ => None,
                })
                .collect();
            w.sort();
            w.dedup();
            w
        })
        .collect();
    let sums: Vec<Vec<f32>> = (seed_words.iter())
        .map(|ws| {
            let mut m = vec![0f32; dim];
            for w in ws {
                let v = wv.get(w).expect("kept words have vectors");
                m.iter_mut().zip(v).for_each(|(a, &b)| *a += b);
            }
            m
        })
        .collect();
    let centroids: Vec<Vec<f32>> = sums.iter().map(|m| unit(m.clone())).collect();
    // Similarity to each class, and the margin of class c over the others.
    let sims = |v: &[f32]| -> Vec<f32> {
        (centroids.iter())
            .map(|c| c.iter().zip(v).map(|(a, b)| a * b).sum())
            .collect()
    };
    let margin = |s: &[f32], c: usize| -> f32 {
        let other = (0..k)
            .filter(|&o| o != c && !seed_words[o].is_empty())
            .map(|o| s[o])
            .fold(f32::NEG_INFINITY, f32::max);
        s[c] - other
    };
    let bars: Vec<Option<(f32, f32)>> = (0..k)
        .map(|c| {
            if seed_words[c].len() < 2 {
                return None;
            }
            // Each seed against the rest of its class (left out of its
            // own class's direction, which it would pull toward itself).
            let (mut sim, mut mar): (Vec<f32>, Vec<f32>) = (seed_words[c].iter())
                .map(|w| {
                    let v = wv.get(w).expect("kept words have vectors");
                    let rest = unit(sums[c].iter().zip(v).map(|(a, b)| a - b).collect());
                    let mut s = sims(v);
                    s[c] = rest.iter().zip(v).map(|(a, b)| a * b).sum();
                    (s[c], margin(&s, c))
                })
                .unzip();
            Some((median(&mut sim), median(&mut mar)))
        })
        .collect();
    let all_seeds: Vec<String> = (seeds.classes.iter())
        .flat_map(|c| c.seeds.iter().map(|s| pipeline.tokens(s).concat()))
        .filter(|s| !s.is_empty())
        .collect();
    let han_seeds: Vec<&String> = (all_seeds.iter())
        .filter(|s| s.chars().all(crate::text::segment::is_han))
        .collect();
    let describe = DescribeConfig::default();
    let mut candidates: Vec<Vec<(f32, &str)>> = vec![Vec::new(); k];
    for t in &wv.terms {
        if df.get(t.as_str()).copied().unwrap_or(0) < MIN_DF
            || t.starts_with(crate::features::tfidf::NEGATED)
            || t.starts_with('^')
            || !describes(t, &describe, true)
            || all_seeds.iter().any(|s| s == t)
            || han_seeds.iter().any(|s| t.contains(s.as_str()))
        {
            continue;
        }
        let s = sims(wv.get(t).expect("a term of the vectors"));
        let Some(c) = (0..k)
            .filter(|&c| bars[c].is_some())
            .max_by(|&a, &b| s[a].total_cmp(&s[b]))
        else {
            continue;
        };
        let (sim_bar, margin_bar) = bars[c].expect("filtered");
        let m = margin(&s, c);
        let agrees = by_class.get(t.as_str()).is_some_and(|n| {
            let all: usize = n.iter().sum();
            all > 0 && n[c] as f64 / all as f64 >= 0.5 * (1.0 + shares[c])
        });
        if s[c] >= sim_bar && m >= margin_bar && agrees {
            candidates[c].push((m, t));
        }
    }
    for (c, mut cands) in candidates.into_iter().enumerate() {
        cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        added[c] = (cands.into_iter())
            .take(seed_words[c].len())
            .map(|(_, t)| t.to_string())
            .collect();
    }
    added
}

/// Per term, its seed-labeled texts by class; and each class's share of
/// all seed-labeled texts.
fn labeled_counts<'a>(
    words: &'a [Vec<String>],
    labels: &[Option<usize>],
    k: usize,
) -> (HashMap<&'a str, Vec<usize>>, Vec<f64>) {
    let mut by_class: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut totals = vec![0usize; k];
    for (doc, label) in words.iter().zip(labels) {
        let Some(c) = *label else { continue };
        totals[c] += 1;
        let mut seen: Vec<&str> = doc.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for t in seen {
            by_class.entry(t).or_insert_with(|| vec![0; k])[c] += 1;
        }
    }
    let all = totals.iter().sum::<usize>().max(1) as f64;
    (by_class, totals.iter().map(|&n| n as f64 / all).collect())
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The lower median.
fn median(v: &mut [f32]) -> f32 {
    v.sort_by(f32::total_cmp);
    v[(v.len() - 1) / 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::seeds::SeedClass;

    /// Two kinds of review: a word that only ever comes with one class's
    /// seeds joins that class; words of both kinds join neither.
    #[test]
    fn words_used_like_one_class_join_it_and_shared_words_do_not() {
        let pos = ["good", "great", "superb", "lovely"];
        let neg = ["bad", "awful", "dreadful", "dull"];
        // Seeds a user gives are not all as clear: "fine" and "slow" come
        // with either kind, leaning one way.
        let shared = ["movie", "plot", "actors"];
        let mut rng = crate::rng::Rng::new(3);
        let mut words = Vec::new();
        for i in 0..1000 {
            let side = if i % 2 == 0 { &pos } else { &neg };
            let mut d: Vec<String> = (0..3)
                .map(|_| side[rng.below(side.len())].to_string())
                .collect();
            d.push(shared[rng.below(shared.len())].to_string());
            if rng.below(4) == 0 {
                let lean = (i % 2 == 0) == (rng.below(3) > 0);
                d.push(if lean { "fine" } else { "slow" }.to_string());
            }
            words.push(d);
        }
        let seeds = SeedSet {
            classes: vec![
                SeedClass {
                    name: "positive".into(),
                    seeds: vec!["good".into(), "great".into(), "fine".into()],
                },
                SeedClass {
                    name: "negative".into(),
                    seeds: vec!["bad".into(), "awful".into(), "slow".into()],
                },
            ],
        };
        let has = |d: &Vec<String>, s: &[&str]| d.iter().any(|w| s.contains(&w.as_str()));
        let labels: Vec<Option<usize>> = (words.iter())
            .map(
                |d| match (has(d, &["good", "great"]), has(d, &["bad", "awful"])) {
                    (true, false) => Some(0),
                    (false, true) => Some(1),
                    _ => None,
                },
            )
            .collect();
        let (wv, _) = WordVectors::fit(&words, 4, 1, 0);
        let added = expand(&seeds, &wv, &words, &labels, &TextPipeline::default());
        assert!(added[0].contains(&"superb".to_string()), "{added:?}");
        assert!(added[1].contains(&"dreadful".to_string()), "{added:?}");
        for w in shared.iter().chain(["good", "bad"].iter()) {
            assert!(!added.concat().contains(&w.to_string()), "{w}: {added:?}");
        }
        // No more words than the class has seeds in the corpus.
        assert!(added.iter().all(|a| a.len() <= 3), "{added:?}");
    }
}

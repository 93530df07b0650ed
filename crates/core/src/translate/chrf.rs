//! Corpus chrF as sacreBLEU computes it by default: character n-grams of
//! orders 1-6 with whitespace removed, beta = 2, statistics summed over the
//! corpus, precision and recall averaged over the orders both sides have.
//! Written from sacreBLEU 2.x's documented behaviour; tests hold values it
//! printed for a committed fixture.

use std::collections::HashMap;

/// Highest character n-gram order.
const ORDER: usize = 6;
/// Recall weighs beta^2 = 4 times precision.
const BETA: f64 = 2.0;

/// Corpus chrF (0-100) of `hyps` against `refs` (one list of references
/// per hypothesis; each segment uses the reference it scores best with).
pub fn corpus_chrf(hyps: &[String], refs: &[Vec<String>]) -> f64 {
    assert_eq!(hyps.len(), refs.len(), "one reference list per hypothesis");
    let mut stats = [0usize; 3 * ORDER];
    for (h, rs) in hyps.iter().zip(refs) {
        let hc = chars(h);
        let hg = char_ngrams(&hc);
        let mut best: Option<([usize; 3 * ORDER], f64)> = None;
        for r in rs {
            let rc = chars(r);
            let rg = char_ngrams(&rc);
            let mut s = [0usize; 3 * ORDER];
            for n in 0..ORDER {
                let (hyp, reff, hit) = match_counts(&hg[n], &rg[n]);
                s[3 * n..3 * n + 3].copy_from_slice(&[hyp, reff, hit]);
            }
            let f = f_score(&s);
            if best.as_ref().is_none_or(|b| f > b.1) {
                best = Some((s, f));
            }
        }
        if let Some((s, _)) = best {
            stats.iter_mut().zip(s).for_each(|(a, b)| *a += b);
        }
    }
    f_score(&stats)
}

/// The characters of `s`, whitespace removed.
fn chars(s: &str) -> Vec<char> {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Counts of the character n-grams of orders 1..=6.
fn char_ngrams(chars: &[char]) -> Vec<HashMap<&[char], usize>> {
    (1..=ORDER)
        .map(|n| {
            let mut m = HashMap::new();
            for g in chars.windows(n) {
                *m.entry(g).or_default() += 1;
            }
            m
        })
        .collect()
}

/// Hypothesis n-grams (0 when the reference has none of this order),
/// reference n-grams, and matches.
fn match_counts(h: &HashMap<&[char], usize>, r: &HashMap<&[char], usize>) -> (usize, usize, usize) {
    let hyp: usize = h.values().sum();
    let hit = h
        .iter()
        .map(|(g, &c)| c.min(r.get(g).copied().unwrap_or(0)))
        .sum();
    let reff = r.values().sum();
    (if r.is_empty() { 0 } else { hyp }, reff, hit)
}

/// F-beta of precision and recall averaged over the orders where both the
/// hypothesis and the reference have n-grams.
fn f_score(stats: &[usize; 3 * ORDER]) -> f64 {
    let (mut p, mut r, mut orders) = (0.0, 0.0, 0);
    for n in 0..ORDER {
        let (hyp, reff, hit) = (stats[3 * n], stats[3 * n + 1], stats[3 * n + 2]);
        if hyp > 0 && reff > 0 {
            p += hit as f64 / hyp as f64;
            r += hit as f64 / reff as f64;
            orders += 1;
        }
    }
    if orders == 0 {
        return 0.0;
    }
    let (p, r) = (p / orders as f64, r / orders as f64);
    let b2 = BETA * BETA;
    if p + r > 0.0 {
        100.0 * (1.0 + b2) * p * r / (b2 * p + r)
    } else {
        0.0
    }
}

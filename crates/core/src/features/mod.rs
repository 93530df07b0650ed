//! Non-neural document features: TF-IDF vectors and their LSA projection.
//!
//! These feed the baseline (`baseline` module) and, later, serve as the
//! corpus-statistics half of the representation that the RNN adds to.

pub mod sparse;
pub mod stopwords;
pub mod svd;
pub mod tfidf;
pub mod wordvec;

pub use sparse::Csr;
pub use svd::{truncated_svd, truncated_svd_full};
pub use tfidf::{Punctuation, Tfidf, TfidfConfig};
pub use wordvec::WordVectors;

use std::collections::HashMap;

use rayon::prelude::*;

/// How many of `docs` each term occurs in.
pub fn document_frequency(docs: &[Vec<String>]) -> HashMap<&str, usize> {
    let mut df: HashMap<&str, usize> = HashMap::new();
    for d in docs {
        let mut seen: Vec<&str> = d.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for t in seen {
            *df.entry(t).or_insert(0) += 1;
        }
    }
    df
}

/// The terms whose document frequency is in `lo..=hi`, sorted (so ids are
/// deterministic).
pub fn terms_by_df<'a>(df: &HashMap<&'a str, usize>, lo: usize, hi: usize) -> Vec<&'a str> {
    let mut terms: Vec<&str> = df
        .iter()
        .filter(|&(_, &c)| (lo..=hi).contains(&c))
        .map(|(&t, _)| t)
        .collect();
    terms.sort_unstable();
    terms
}

/// Each of `docs` as the sorted, deduplicated ids of its terms in `index`
/// (terms not in it are dropped).
pub fn term_id_sets(docs: &[Vec<String>], index: &HashMap<&str, u32>) -> Vec<Vec<u32>> {
    docs.par_iter()
        .map(|d| {
            let mut ids: Vec<u32> = d
                .iter()
                .filter_map(|t| index.get(t.as_str()).copied())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        })
        .collect()
}

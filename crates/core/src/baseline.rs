//! The TF-IDF + k-means baseline that every RNN result is compared with.
//!
//! TF-IDF (sublinear tf, min_df, stop words, jieba words for Chinese) ->
//! L2-normalized rows -> optionally LSA (truncated SVD to `lsa` dims, rows
//! re-normalized) -> k-means. Mirrors the scikit-learn pipeline in
//! `../shared/docs/BASELINES.md` so our numbers can be compared with it.

use serde::{Deserialize, Serialize};

use crate::cluster::{KMeans, KMeansConfig, KMeansError, Metric, Points};
use crate::features::{truncated_svd, Csr, Tfidf, TfidfConfig};
use crate::text::TextPipeline;

/// Baseline settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineConfig {
    /// Number of clusters.
    pub k: usize,
    /// Project onto this many LSA dimensions before clustering (`None`: cluster the TF-IDF rows).
    pub lsa: Option<usize>,
    /// k-means restarts.
    pub n_init: usize,
    /// Seed for LSA and k-means.
    pub seed: u64,
    /// TF-IDF settings.
    pub tfidf: TfidfConfig,
    /// Text pipeline.
    pub pipeline: TextPipeline,
    /// How many top terms to keep per cluster.
    pub top_terms: usize,
}

impl BaselineConfig {
    /// Defaults (TF-IDF only, 10 restarts, 10 top terms) for `k` clusters.
    pub fn new(k: usize, seed: u64) -> Self {
        BaselineConfig {
            k,
            lsa: None,
            n_init: 10,
            seed,
            tfidf: TfidfConfig::default(),
            pipeline: TextPipeline::default(),
            top_terms: 10,
        }
    }
}

/// One cluster's summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummary {
    /// Cluster id.
    pub id: usize,
    /// Number of texts.
    pub size: usize,
    /// Terms with the highest mean TF-IDF weight in the cluster, with that weight.
    pub top_terms: Vec<(String, f32)>,
}

/// The baseline's output.
#[derive(Clone, Debug)]
pub struct BaselineResult {
    /// Cluster of each input text.
    pub labels: Vec<usize>,
    /// Per-cluster summaries, by id.
    pub clusters: Vec<ClusterSummary>,
    /// Size of the TF-IDF vocabulary.
    pub n_terms: usize,
    /// k-means inertia of the winning restart.
    pub inertia: f64,
}

/// Errors from the baseline.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// No usable terms.
    #[error("no term occurs in at least {min_df} texts, so there is nothing to cluster; use a larger corpus or a lower min_df")]
    NoTerms {
        /// The threshold.
        min_df: usize,
    },
    /// k-means refused.
    #[error(transparent)]
    KMeans(#[from] KMeansError),
}

/// Cluster `texts` with the baseline.
pub fn run(texts: &[&str], cfg: &BaselineConfig) -> Result<BaselineResult, BaselineError> {
    if cfg.k == 0 {
        return Err(KMeansError::ZeroK.into());
    }
    if texts.len() < cfg.k {
        return Err(KMeansError::TooFewPoints {
            k: cfg.k,
            n: texts.len(),
        }
        .into());
    }
    let (tfidf, x) = Tfidf::fit_transform(texts, &cfg.pipeline, &cfg.tfidf);
    if tfidf.terms.is_empty() {
        return Err(BaselineError::NoTerms {
            min_df: cfg.tfidf.min_df,
        });
    }
    let km_cfg = KMeansConfig {
        n_init: cfg.n_init,
        metric: Metric::Euclidean,
        ..KMeansConfig::new(cfg.k, cfg.seed)
    };
    let km = match cfg.lsa {
        None => KMeans::fit(Points::Sparse(&x), &km_cfg)?,
        Some(dims) => {
            let (mut z, _) = truncated_svd(&x, dims, 5, cfg.seed);
            for row in z.chunks_mut(dims.max(1)) {
                let n = row.iter().map(|v| v * v).sum::<f32>().sqrt();
                if n > 0.0 {
                    row.iter_mut().for_each(|v| *v /= n);
                }
            }
            KMeans::fit(Points::Dense { x: &z, d: dims }, &km_cfg)?
        }
    };
    let clusters = summarize(&x, &tfidf.terms, &km.labels, cfg.k, cfg.top_terms);
    Ok(BaselineResult {
        labels: km.labels,
        clusters,
        n_terms: tfidf.terms.len(),
        inertia: km.inertia,
    })
}

/// Sizes and top terms (highest mean TF-IDF weight) of each cluster.
pub fn summarize(
    x: &Csr,
    terms: &[String],
    labels: &[usize],
    k: usize,
    top: usize,
) -> Vec<ClusterSummary> {
    let mut sums = vec![vec![0f64; terms.len()]; k];
    let mut sizes = vec![0usize; k];
    for (i, &l) in labels.iter().enumerate() {
        sizes[l] += 1;
        let (cols, vals) = x.row(i);
        for (&c, &v) in cols.iter().zip(vals) {
            sums[l][c as usize] += v as f64;
        }
    }
    (0..k)
        .map(|j| {
            let mut idx: Vec<usize> = (0..terms.len()).filter(|&t| sums[j][t] > 0.0).collect();
            idx.sort_by(|&a, &b| sums[j][b].total_cmp(&sums[j][a]).then(a.cmp(&b)));
            let top_terms = idx
                .iter()
                .take(top)
                .map(|&t| {
                    (
                        terms[t].clone(),
                        (sums[j][t] / sizes[j].max(1) as f64) as f32,
                    )
                })
                .collect();
            ClusterSummary {
                id: j,
                size: sizes[j],
                top_terms,
            }
        })
        .collect()
}

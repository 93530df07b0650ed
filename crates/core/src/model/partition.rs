//! The partition of the training texts before the assignment rule is
//! fitted: k-means, and with the k-NN graph step, k-means on the
//! representation joined with the graph's spectral coordinates, kept only
//! where its guards pass (balance, and for a trusted weight, agreement with
//! plain k-means). Why each guard's threshold is what it is: `docs/quality.md`.

use super::config::ModelConfig;
use crate::cluster::graph::{self, GraphLog};
use crate::cluster::{KMeans, KMeansConfig, KMeansError, Points};
use crate::nn::gemm::Threads;
use crate::rows::class_means;

/// Clusters of the training texts before the assignment rule is fitted.
pub(crate) struct Partition {
    /// Mean of each cluster `(K, dim)`.
    pub centroids: Vec<f32>,
    /// Cluster of each text.
    pub labels: Vec<usize>,
    /// With the graph step: what it did.
    pub log: Option<GraphLog>,
}

/// A partition of `z (N, dim)` and its centroids `(K, dim)`: k-means' own,
/// or with the graph step, the clusters that k-means finds on `z` joined with
/// the spectral coordinates of its k-NN graph and their means in `z`, unless
/// those clusters are far less balanced than plain k-means' (see
/// [`graph::GraphConfig::max_balance_drop`]). A trusted weight whose
/// partition fails that or redraws k-means' cells rather than refining them
/// ([`graph::GraphConfig::min_kmeans_match`]) is retried at the base weight
/// first.
/// The caller turns the partition into the
/// rule that prediction uses (the cluster classifier or the nearest
/// centroid), so a training text and the same text predicted later get the
/// same cluster.
pub(crate) fn cluster_partition(
    z: &[f32],
    dim: usize,
    k: usize,
    cfg: &ModelConfig,
    threads: Threads,
) -> Result<Partition, KMeansError> {
    let km_cfg = KMeansConfig {
        n_init: cfg.n_init,
        ..KMeansConfig::new(k, cfg.train.seed)
    };
    let plain = KMeans::fit(Points::Dense { x: z, d: dim }, &km_cfg)?;
    if !cfg.graph.enabled() {
        return Ok(Partition {
            centroids: plain.centroids,
            labels: plain.labels,
            log: None,
        });
    }
    let t0 = std::time::Instant::now();
    let g = graph::Graph::build(z, dim, cfg.graph.neighbors, threads);
    let agreement = g.agreement(&plain.labels, k);
    let u = g.spectral(k, cfg.graph.tol, cfg.train.seed, threads);
    drop(g);
    let kmeans_balance = graph::balance(&plain.labels, k);
    // The weight the agreement earns, then (if that was the trusted weight
    // and its partition fails a guard) the base weight.
    let first = cfg.graph.weight_for(agreement);
    let mut weights = vec![first];
    if first != cfg.graph.weight {
        weights.push(cfg.graph.weight);
    }
    let mut log: Option<GraphLog> = None;
    for weight in weights {
        let fused = graph::fuse(z, dim, &u, k, weight);
        let km = KMeans::fit(
            Points::Dense {
                x: &fused,
                d: dim + k,
            },
            &km_cfg,
        )?;
        let graph_balance = graph::balance(&km.labels, k);
        let kmeans_match = graph::matched_agreement(&plain.labels, &km.labels);
        // Only a trusted weight must match k-means: the base weight's
        // partition may move further (trec's best runs match 0.62-0.74).
        let trusted = weight != cfg.graph.weight;
        let used = graph_balance >= kmeans_balance - cfg.graph.max_balance_drop
            && (!trusted || kmeans_match >= cfg.graph.min_kmeans_match);
        let entry = GraphLog {
            kmeans_balance,
            graph_balance,
            used,
            agreement: Some(agreement),
            weight: Some(weight),
            kmeans_match: Some(kmeans_match),
            dropped_trusted_match: log.as_ref().and_then(|l| l.kmeans_match),
            seconds: t0.elapsed().as_secs_f64(),
        };
        tracing::info!(
            seconds = entry.seconds,
            agreement,
            weight,
            kmeans_balance,
            graph_balance,
            kmeans_match,
            used,
            "graph step"
        );
        if used {
            return Ok(Partition {
                centroids: class_means(z, dim, &km.labels, k),
                labels: km.labels,
                log: Some(entry),
            });
        }
        log = Some(entry);
    }
    Ok(Partition {
        centroids: plain.centroids,
        labels: plain.labels,
        log,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_trusted_weight_that_does_not_match_k_means_falls_back_to_the_base_weight() {
        use crate::nn::gemm::Threads;
        // Three tight groups of unit rows: k-means and the graph agree.
        let mut rng = crate::rng::Rng::new(3);
        let d = 6;
        let mut z = Vec::new();
        for i in 0..90 {
            let mut row: Vec<f32> = (0..d).map(|_| 0.1 * rng.normal() as f32).collect();
            row[i % 3] += 1.0;
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            z.extend(row.iter().map(|x| x / norm));
        }
        let mut cfg = crate::model::ModelConfig::new(3, 0);
        cfg.graph.neighbors = 8;
        cfg.graph.trust = Some(crate::cluster::graph::Trust {
            agreement: 0.0,
            weight: 0.75,
        });
        let kept = super::cluster_partition(&z, d, 3, &cfg, Threads::One).unwrap();
        let log = kept.log.unwrap();
        assert!(log.used);
        assert_eq!(log.weight, Some(0.75));
        assert_eq!(log.kmeans_match, Some(1.0));
        assert_eq!(log.dropped_trusted_match, None);
        // A share no partition reaches: the trusted weight's partition is
        // dropped and the base weight's kept (it is not held to the share).
        cfg.graph.min_kmeans_match = 1.5;
        let fallback = super::cluster_partition(&z, d, 3, &cfg, Threads::One).unwrap();
        let log = fallback.log.unwrap();
        assert!(log.used);
        assert_eq!(log.weight, Some(cfg.graph.weight));
        assert_eq!(log.dropped_trusted_match, Some(1.0));
        let l = &fallback.labels;
        assert!(l[0] != l[1] && l[1] != l[2] && l[0] != l[2]);
        assert!((0..90).all(|i| l[i] == l[i % 3]));
    }
}

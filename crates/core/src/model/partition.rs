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

/// The partition of `z (N, dim)`: of every text ([`cluster_partition`])
/// up to `cfg.cluster_sample` texts; above it, of a random sample of that
/// many ([`sampled_partition`]), carried to the others. The k-NN graph is
/// the one step whose cost grows as N squared (every text's similarity to
/// every other), so on a sample the whole partition costs O(N).
pub(crate) fn partition(
    z: &[f32],
    dim: usize,
    k: usize,
    cfg: &ModelConfig,
    threads: Threads,
) -> Result<Partition, KMeansError> {
    let n = z.len() / dim.max(1);
    if cfg.cluster_sample == 0 || n <= cfg.cluster_sample {
        return cluster_partition(z, dim, k, cfg, threads);
    }
    sampled_partition(z, dim, k, cfg, threads)
}

/// The partition of a random sample of `cfg.cluster_sample` texts
/// ([`cluster_partition`]), carried to every other text by a classifier
/// trained on it (the cluster classifier's settings; the nearest centroid
/// when it is off); sampled texts keep their clusters. Centroids are the
/// means of all texts.
pub(crate) fn sampled_partition(
    z: &[f32],
    dim: usize,
    k: usize,
    cfg: &ModelConfig,
    threads: Threads,
) -> Result<Partition, KMeansError> {
    let n = z.len() / dim.max(1);
    let mut rows: Vec<usize> = (0..n).collect();
    crate::rng::Rng::derive(cfg.train.seed, SAMPLE_STREAM).shuffle(&mut rows);
    rows.truncate(cfg.cluster_sample);
    rows.sort_unstable();
    let zs: Vec<f32> = (rows.iter())
        .flat_map(|&r| z[r * dim..(r + 1) * dim].iter().copied())
        .collect();
    let part = cluster_partition(&zs, dim, k, cfg, threads)?;
    let mut labels = if cfg.cluster_head.enabled() {
        let (head, _, _) =
            crate::cluster::head::fit(&zs, dim, &part.labels, k, &cfg.cluster_head, threads);
        let mut logits = Vec::new();
        let mut labels = Vec::with_capacity(n);
        for chunk in z.chunks(dim * CARRY_ROWS) {
            head.forward(chunk, chunk.len() / dim, &mut logits, threads);
            labels.extend(crate::rows::argmax_rows(&logits, k).0);
        }
        labels
    } else {
        super::assign::assign(z, dim, &part.centroids).0
    };
    for (&r, &l) in rows.iter().zip(&part.labels) {
        labels[r] = l;
    }
    Ok(Partition {
        centroids: class_means(z, dim, &labels, k),
        labels,
        log: part.log,
    })
}

/// The random stream of the sample ([`crate::rng::Rng::derive`]).
const SAMPLE_STREAM: u64 = 0x5A4D_504C;

/// Texts per block when carrying a sample's partition to all texts.
const CARRY_ROWS: usize = 4096;

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
    use crate::nn::gemm::Threads;

    /// Unit rows in three groups (row i in group i % 3), noise `sd`.
    fn groups(n: usize, d: usize, sd: f32) -> Vec<f32> {
        let mut rng = crate::rng::Rng::new(3);
        let mut z = Vec::new();
        for i in 0..n {
            let mut row: Vec<f32> = (0..d).map(|_| sd * rng.normal() as f32).collect();
            row[i % 3] += 1.0;
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            z.extend(row.iter().map(|x| x / norm));
        }
        z
    }

    /// Above `cluster_sample` texts the partition of a sample is carried to
    /// the rest: the same groups as on all texts, by the classifier and by
    /// the nearest centroid; at or below it, the partition of all texts.
    #[test]
    fn a_sample_partition_carries_to_every_text() {
        let (n, d) = (600, 6);
        let z = groups(n, d, 0.1);
        let mut cfg = crate::model::ModelConfig::new(3, 0);
        cfg.graph.neighbors = 8;
        cfg.cluster_sample = 120;
        let all = super::cluster_partition(&z, d, 3, &cfg, Threads::One).unwrap();
        for head in [true, false] {
            if !head {
                cfg.cluster_head.c = 0.0;
            }
            assert_eq!(cfg.cluster_head.enabled(), head);
            let p = super::partition(&z, d, 3, &cfg, Threads::One).unwrap();
            assert_eq!(p.labels.len(), n);
            assert!(p.log.is_some(), "the graph step ran on the sample");
            let same = crate::eval::metrics::Scores::compute(&all.labels, &p.labels);
            assert_eq!(same.acc, 1.0, "head {head}");
            assert_eq!(p.centroids.len(), 3 * d);
        }
        cfg.cluster_sample = n;
        let p = super::partition(&z, d, 3, &cfg, Threads::One).unwrap();
        assert_eq!(p.labels, all.labels);
    }

    #[test]
    fn a_trusted_weight_that_does_not_match_k_means_falls_back_to_the_base_weight() {
        // Three tight groups of unit rows: k-means and the graph agree.
        let d = 6;
        let z = groups(90, d, 0.1);
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

//! Paths that are off by default because they measured worse or no better
//! than the shipped pipeline (docs/quality.md): self-training rounds on
//! the clusters' confident texts (`--self-train`), neighbour rounds
//! (`--neighbor-rounds`, [`crate::learn::neighbors`]), the DEC refinement
//! (`--dec`) and the consensus choice of the LSA share (`--weights auto`).
//! They stay available for experiments; the main path calls in here only
//! when one is switched on.

use super::assign::assign;
use super::config::FeatureWeights;
use super::fit::{Logs, Space};
use super::partition::{partition, Partition};
use super::FitError;
use crate::cluster::graph;
use crate::cluster::{KMeans, KMeansConfig, KMeansError, Points};
use crate::learn::TrainConfig;
use crate::nn::encoder::Encoder;
use crate::rows::{class_means, concat_blocks};

/// Nearest neighbours in the joined representation from which a neighbour
/// round draws each text's positive view: fewer than the smallest class of
/// banking77 (75 texts), the many-class corpus the rounds were measured on.
/// The exact neighbours cost N squared whatever `--cluster-sample` says
/// (the re-clustering respects it).
const NEIGHBOR_POSITIVES: usize = 10;

/// Self-training rounds, neighbour rounds, then the DEC refinement, each as configured:
/// returns the representation under the refined encoder and the partition
/// in it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn refine(
    space: &Space,
    encoder: &mut Encoder<f32>,
    mut z: Vec<f32>,
    mut part: Partition,
    k: usize,
    w: FeatureWeights,
    train_cfg: &TrainConfig,
    logs: &mut Logs,
) -> Result<(Vec<f32>, Partition), FitError> {
    let (cfg, dim, threads) = (space.cfg, space.dim, space.threads);
    for _ in 0..cfg.self_train_rounds {
        let (labels, scores) = assign(&z, dim, &part.centroids);
        let pseudo = crate::rows::confident(&labels, &scores, k, cfg.self_train_fraction);
        crate::learn::self_train::fine_tune(
            encoder, space.seqs, &pseudo, k, 1, train_cfg, threads,
        )?;
        z = space.join(&space.encode(encoder), w);
        part = partition(&z, dim, k, cfg, threads)?;
    }
    for round in 0..cfg.neighbor_rounds {
        let partners: Vec<Vec<u32>> = graph::knn(&z, dim, NEIGHBOR_POSITIVES, threads)
            .into_iter()
            .map(|row| row.into_iter().map(|(j, _)| j).collect())
            .collect();
        crate::learn::neighbors::fine_tune(
            encoder,
            space.seqs,
            &partners,
            1,
            train_cfg,
            round as u64,
            threads,
        )?;
        z = space.join(&space.encode(encoder), w);
        part = partition(&z, dim, k, cfg, threads)?;
    }
    if cfg.dec.enabled() {
        let scales = crate::rows::block_scales(&[
            (cfg.wordvec_dims, w.sif),
            (space.d, w.rnn),
            (cfg.lsa_dims, w.lsa),
        ]);
        let block = crate::learn::dec::RnnBlock {
            start: cfg.wordvec_dims,
            width: space.d,
            scale: scales[1],
        };
        // In the space the partition was found in (with a kept graph
        // partition, z joined with the spectral coordinates, which stay
        // fixed like the SIF and LSA blocks), so that the first soft
        // assignments agree with the partition.
        let weight = part.log.as_ref().filter(|l| l.used).and_then(|l| l.weight);
        let (rows, width) = match weight {
            Some(weight) => {
                let u = graph::spectral_embedding(&z, dim, k, &cfg.graph, cfg.train.seed, threads);
                (graph::fuse(&z, dim, &u, k, weight), dim + k)
            }
            None => (z.clone(), dim),
        };
        let centres = class_means(&rows, width, &part.labels, k);
        let (labels, log) = crate::learn::dec::refine(
            encoder,
            space.seqs,
            &rows,
            width,
            block,
            &part.labels,
            centres,
            &cfg.dec,
            train_cfg,
            threads,
        )?;
        // The assigner learns the refined clusters in the representation
        // that `predict` computes with this encoder.
        z = space.join(&space.encode(encoder), w);
        part.centroids = class_means(&z, dim, &labels, k);
        part.labels = labels;
        logs.dec = Some(log);
    }
    Ok((z, part))
}

/// LSA shares tried by `weights_auto` (SIF and RNN at their configured shares).
const LSA_SHARES: [f32; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];

/// Choose the LSA share by consensus: cluster each block alone, then each
/// candidate weighting, and keep the candidate whose partition agrees best
/// (mean NMI) with the single-block partitions. Off by default: it picks
/// poor shares on sst2 and trec (docs/quality.md).
pub(crate) fn choose_weights(
    space: &Space,
    r: &[f32],
    base: FeatureWeights,
    k: usize,
) -> Result<(FeatureWeights, Vec<(FeatureWeights, f64)>), KMeansError> {
    let blocks: [&[f32]; 3] = [space.sif, r, space.lsa];
    let dims = [space.cfg.wordvec_dims, space.d, space.cfg.lsa_dims];
    let seed = space.cfg.train.seed;
    let n = blocks
        .iter()
        .zip(dims)
        .find(|(_, d)| *d > 0)
        .map(|(b, d)| b.len() / d)
        .unwrap_or(0);
    let km = |x: &[f32], d: usize| {
        KMeans::fit(
            Points::Dense { x, d },
            &KMeansConfig {
                n_init: 3,
                ..KMeansConfig::new(k, seed)
            },
        )
        .map(|m| m.labels)
    };
    // A block that cannot be clustered alone (e.g. fewer distinct rows than
    // k, as with one-word texts) gives no evidence; it is left out.
    let singles: Vec<Vec<usize>> = blocks
        .iter()
        .zip(dims)
        .filter(|(_, d)| *d > 0)
        .filter_map(|(b, d)| km(b, d).ok())
        .collect();
    let width: usize = dims.iter().sum();
    let mut evidence = Vec::new();
    for &lsa in &LSA_SHARES {
        let w = FeatureWeights { lsa, ..base };
        let z = concat_blocks(
            &[
                (blocks[0], dims[0], w.sif),
                (blocks[1], dims[1], w.rnn),
                (blocks[2], dims[2], w.lsa),
            ],
            n,
        );
        let p = km(&z, width)?;
        let score = singles
            .iter()
            .map(|s| crate::eval::Scores::compute(s, &p).nmi)
            .sum::<f64>()
            / singles.len().max(1) as f64;
        evidence.push((w, score));
    }
    let best = evidence
        .iter()
        .fold(evidence[0], |b, &e| if e.1 > b.1 { e } else { b });
    Ok((best.0, evidence))
}

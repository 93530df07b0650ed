//! Editing a trained model's clusters: merging some into one, splitting
//! one into parts, and merging along the tree down to K clusters.
//!
//! The model's classifiers stay as trained; an edit is a step applied to
//! their probabilities, recorded in `model.json` (`edits`, the history a
//! user reads) and replayed by every prediction, so `predict`, `describe`,
//! `serve` and the report agree:
//!
//! - merge: the merged clusters' probabilities add up in the first one
//!   given (exactly the probability that the text is in any of them);
//! - split: the cluster's probability is shared among its parts by a
//!   classifier trained on the parts (saved as `split.I.*` in
//!   `weights.safetensors`): `p(part j) = p(cluster) * p(j | cluster)`.
//!
//! Other clusters keep their ids and names; parts get new ids (above every
//! id the model has used), a merge keeps the first id and retires the
//! others. Positions in [`super::Manifest::clusters`] (the order predictions
//! index) are the replay's order: a merge removes the retired clusters, a
//! split removes the cluster and appends its parts.

use serde::{Deserialize, Serialize};

use super::clusters::{describe_with, group_terms, EXAMPLES, TOP_TERMS};
use super::{Assigner, ClusterInfo, Model};
use crate::cluster::head;
use crate::nn::gemm::Threads;

/// One edit of a model's clusters, as the history in `model.json` keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Edit {
    /// Clusters joined into the first of them.
    Merge {
        /// The clusters joined, the kept one first.
        clusters: Vec<usize>,
        /// Their sizes at the time (the centroid is their weighted mean).
        sizes: Vec<usize>,
    },
    /// A cluster cut into parts by a classifier trained on its texts.
    Split {
        /// The cluster split (its id is retired).
        cluster: usize,
        /// The parts' new ids.
        into: Vec<usize>,
        /// How many of the given texts the cluster held.
        texts: usize,
        /// Where the texts came from.
        source: String,
    },
}

/// Why an edit was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EditError {
    /// No cluster has this id.
    #[error("no cluster {id} (the clusters are {known})")]
    NoCluster {
        /// The id asked for.
        id: usize,
        /// The ids there are.
        known: String,
    },
    /// A merge needs two different clusters or more.
    #[error("give at least two different clusters to merge")]
    TooFew,
    /// Seed-word classes come from the seeds.
    #[error(
        "a seed-word model's classes are its seed classes: edit the seed words and train again"
    )]
    Seeded,
    /// The split cluster holds too few of the given texts.
    #[error("cluster {id} holds {n} of the given texts: splitting it into {parts} needs at least {need}; give the corpus it was trained on")]
    TooFewTexts {
        /// The cluster.
        id: usize,
        /// Its texts among those given.
        n: usize,
        /// Parts asked for.
        parts: usize,
        /// Texts needed.
        need: usize,
    },
    /// Splitting into fewer than two parts, or merging to fewer than one cluster.
    #[error("{0}")]
    Count(String),
    /// The parts could not be made (identical texts).
    #[error("cannot split: {0}")]
    Cluster(#[from] crate::cluster::KMeansError),
}

impl Model {
    /// The id of the cluster at `position` in the model's cluster list
    /// (the index predictions give): the same number until clusters are
    /// merged or split.
    pub fn cluster_id(&self, position: usize) -> usize {
        self.manifest.clusters[position].id
    }

    /// The position of cluster `id` in the model's cluster list.
    pub fn position_of(&self, id: usize) -> Result<usize, EditError> {
        self.manifest
            .clusters
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(|| EditError::NoCluster {
                id,
                known: known_ids(&self.manifest.clusters),
            })
    }

    fn editable(&self) -> Result<(), EditError> {
        match self.assigner {
            Assigner::Seeded { .. } => Err(EditError::Seeded),
            _ => Ok(()),
        }
    }

    /// Join clusters `ids` into the first of them, named `name` or by
    /// their joint top terms; returns its id. The centroid is the
    /// size-weighted mean, the top terms are [`group_terms`] (describe the
    /// model anew from its corpus for exact ones), the examples alternate
    /// between the clusters, biggest first.
    pub fn merge(&mut self, ids: &[usize], name: Option<&str>) -> Result<usize, EditError> {
        self.editable()?;
        let mut unique: Vec<usize> = Vec::new();
        for &id in ids {
            self.position_of(id)?;
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        if unique.len() < 2 {
            return Err(EditError::TooFew);
        }
        let pos: Vec<usize> = unique
            .iter()
            .map(|&id| self.position_of(id).unwrap())
            .collect();
        let members: Vec<&ClusterInfo> = pos.iter().map(|&p| &self.manifest.clusters[p]).collect();
        let sizes: Vec<usize> = members.iter().map(|c| c.size).collect();
        let terms = group_terms(&members, TOP_TERMS);
        let top_terms: Vec<String> = terms.iter().map(|(t, _)| t.clone()).collect();
        let mut by_size = members.clone();
        by_size.sort_by_key(|c| std::cmp::Reverse(c.size));
        let examples: Vec<String> = (0..EXAMPLES)
            .flat_map(|r| {
                by_size
                    .iter()
                    .filter_map(move |c| c.examples.get(r).cloned())
            })
            .take(EXAMPLES)
            .collect();
        let joined = ClusterInfo {
            id: unique[0],
            name: name.map_or_else(
                || crate::describe::suggest_name(unique[0], &top_terms),
                |n| n.trim().to_string(),
            ),
            size: sizes.iter().sum(),
            top_terms,
            examples,
            top_scores: terms.iter().map(|&(_, w)| w).collect(),
            renamed: name.is_some(),
        };
        // The centroid: size-weighted mean of the members'.
        let d = self.dim();
        let total = joined.size.max(1) as f32;
        let mut mean = vec![0f32; d];
        for (&p, &s) in pos.iter().zip(&sizes) {
            let w = if joined.size == 0 {
                1.0 / pos.len() as f32
            } else {
                s as f32 / total
            };
            for (m, &v) in mean.iter_mut().zip(&self.centroids[p * d..(p + 1) * d]) {
                *m += w * v;
            }
        }
        self.remember_base();
        self.centroids[pos[0] * d..(pos[0] + 1) * d].copy_from_slice(&mean);
        self.manifest.clusters[pos[0]] = joined;
        let mut gone: Vec<usize> = pos[1..].to_vec();
        gone.sort_unstable_by(|a, b| b.cmp(a));
        for p in gone {
            self.manifest.clusters.remove(p);
            self.centroids.drain(p * d..(p + 1) * d);
        }
        self.manifest.edits.push(Edit::Merge {
            clusters: unique.clone(),
            sizes,
        });
        self.manifest.version = super::FORMAT_VERSION;
        Ok(unique[0])
    }

    /// Merge along the tree ([`super::tree`]) until `k` clusters are left;
    /// returns the merges made (each group's ids, the kept one first).
    pub fn merge_to(&mut self, k: usize) -> Result<Vec<Vec<usize>>, EditError> {
        self.editable()?;
        let now = self.manifest.clusters.len();
        if k == 0 || k > now {
            return Err(EditError::Count(format!(
                "--to {k}: give a number of clusters from 1 to the {now} the model has"
            )));
        }
        let sizes: Vec<usize> = self.manifest.clusters.iter().map(|c| c.size).collect();
        let joins = super::tree::ward(&self.centroids, self.dim(), &sizes);
        let groups: Vec<Vec<usize>> = super::tree::cut(&joins, now, k)
            .into_iter()
            .filter(|g| g.len() > 1)
            .map(|g| g.iter().map(|&p| self.cluster_id(p)).collect())
            .collect();
        for g in &groups {
            self.merge(g, None)?;
        }
        Ok(groups)
    }

    /// Cut cluster `id` into `parts` by the model's own clustering of its
    /// texts among `texts` (the training corpus, or one like it; `source`
    /// names it in the history), and a classifier over the representation
    /// that learns the parts; returns the parts' ids. The parts are
    /// described from their texts; their sizes share the cluster's size as its
    /// texts among `texts` share out.
    pub fn split(
        &mut self,
        id: usize,
        parts: usize,
        texts: &[&str],
        source: &str,
        threads: Threads,
    ) -> Result<Vec<usize>, EditError> {
        self.editable()?;
        let p = self.position_of(id)?;
        if parts < 2 {
            return Err(EditError::Count(format!(
                "--into {parts}: split into 2 parts or more"
            )));
        }
        let (z, (labels, _)) = self.represent_and_predict(texts, threads);
        let d = self.dim();
        let mine: Vec<usize> = (0..texts.len()).filter(|&i| labels[i] == p).collect();
        let need = 2 * parts;
        if mine.len() < need {
            return Err(EditError::TooFewTexts {
                id,
                n: mine.len(),
                parts,
                need,
            });
        }
        let sub: Vec<f32> = mine
            .iter()
            .flat_map(|&i| z[i * d..(i + 1) * d].iter().copied())
            .collect();
        let cfg = self.manifest.config.clone();
        let partition = super::partition::partition(&sub, d, parts, &cfg, threads)?;
        let head_cfg = if cfg.cluster_head.enabled() {
            cfg.cluster_head
        } else {
            head::HeadConfig::shipped()
        };
        let (linear, _, (part_labels, scores)) =
            head::fit(&sub, d, &partition.labels, parts, &head_cfg, threads);
        // Descriptions of the parts, from their texts.
        let sub_texts: Vec<&str> = mine.iter().map(|&i| texts[i]).collect();
        let terms = super::clusters::terms_of_texts(self, &sub_texts);
        let mut infos = describe_with(
            &sub_texts,
            &terms,
            &part_labels,
            &scores,
            parts,
            cfg.describe.min_term_freq,
            &[],
        );
        // Sizes: the cluster's size shared as its texts among those given
        // are (so the sizes still add up to the training texts).
        let counts: Vec<usize> = infos.iter().map(|c| c.size).collect();
        for (c, s) in infos
            .iter_mut()
            .zip(share(self.manifest.clusters[p].size, &counts))
        {
            c.size = s;
        }
        let next = self.next_id();
        let into: Vec<usize> = (next..next + parts).collect();
        for (c, &new) in infos.iter_mut().zip(&into) {
            if c.name == format!("cluster-{}", c.id) {
                c.name = format!("cluster-{new}");
            }
            c.id = new;
        }
        // Centroids of the parts as their classifier assigns them.
        let centroids = crate::rows::class_means(&sub, d, &part_labels, parts);
        self.remember_base();
        self.manifest.clusters.remove(p);
        self.centroids.drain(p * d..(p + 1) * d);
        self.manifest.clusters.extend(infos);
        self.centroids.extend(centroids);
        self.splits.push(linear);
        self.manifest.edits.push(Edit::Split {
            cluster: id,
            into: into.clone(),
            texts: mine.len(),
            source: source.to_string(),
        });
        self.manifest.version = super::FORMAT_VERSION;
        Ok(into)
    }

    /// One above every cluster id the model has used (retired ones too).
    pub(crate) fn next_id(&self) -> usize {
        let cfg_k = self.manifest.config.k;
        let used = self.manifest.edits.iter().flat_map(|e| match e {
            Edit::Merge { clusters, .. } => clusters.clone(),
            Edit::Split { cluster, into, .. } => {
                let mut v = into.clone();
                v.push(*cluster);
                v
            }
        });
        used.chain(self.manifest.clusters.iter().map(|c| c.id))
            .map(|id| id + 1)
            .max()
            .unwrap_or(0)
            .max(cfg_k)
    }

    /// Keep the trained centroids (which the nearest-centroid rule reads)
    /// before the first edit changes the current ones.
    fn remember_base(&mut self) {
        if self.base_centroids.is_none() {
            self.base_centroids = Some(self.centroids.clone());
        }
    }

    /// The trained centroids `(k, D)`: what the nearest-centroid rule reads.
    pub(crate) fn trained_centroids(&self) -> &[f32] {
        self.base_centroids.as_deref().unwrap_or(&self.centroids)
    }

    /// The trained classifiers' probabilities `(N, k)` turned into the
    /// edited clusters' `(N, K)` by replaying the edits (`z`: the texts'
    /// representations, which a split's classifier reads).
    pub(crate) fn apply_edits(
        &self,
        probs: Vec<f32>,
        k: usize,
        z: &[f32],
        threads: Threads,
    ) -> (Vec<f32>, usize) {
        if self.manifest.edits.is_empty() {
            return (probs, k);
        }
        let n = probs.len() / k.max(1);
        let mut ids: Vec<usize> = (0..k).collect();
        let (mut p, mut k) = (probs, k);
        let mut splits = self.splits.iter();
        for edit in &self.manifest.edits {
            let pos = |ids: &[usize], id: usize| ids.iter().position(|&x| x == id).unwrap();
            match edit {
                Edit::Merge { clusters, .. } => {
                    let slots: Vec<usize> = clusters.iter().map(|&c| pos(&ids, c)).collect();
                    let keep: Vec<usize> = (0..k).filter(|s| !slots[1..].contains(s)).collect();
                    let mut q = Vec::with_capacity(n * keep.len());
                    for row in p.chunks(k) {
                        for &s in &keep {
                            q.push(if s == slots[0] {
                                slots.iter().map(|&m| row[m]).sum()
                            } else {
                                row[s]
                            });
                        }
                    }
                    ids = keep.iter().map(|&s| ids[s]).collect();
                    (p, k) = (q, ids.len());
                }
                Edit::Split { cluster, into, .. } => {
                    let head = splits
                        .next()
                        .expect("one classifier per split (checked at load)");
                    let s = pos(&ids, *cluster);
                    let parts = into.len();
                    let mut sub = Vec::new();
                    head.forward(z, n, &mut sub, threads);
                    crate::rows::softmax_rows(&mut sub, parts);
                    let mut q = Vec::with_capacity(n * (k - 1 + parts));
                    for (row, part) in p.chunks(k).zip(sub.chunks(parts)) {
                        q.extend(
                            row.iter()
                                .enumerate()
                                .filter(|&(j, _)| j != s)
                                .map(|(_, &v)| v),
                        );
                        q.extend(part.iter().map(|&v| v * row[s]));
                    }
                    ids.remove(s);
                    ids.extend(into);
                    (p, k) = (q, ids.len());
                }
            }
        }
        (p, k)
    }
}

/// `total` shared in proportion to `counts`, rounded so that the shares
/// add up to `total` (largest remainders first, then the lower index).
fn share(total: usize, counts: &[usize]) -> Vec<usize> {
    let n: usize = counts.iter().sum::<usize>().max(1);
    let exact: Vec<f64> = counts
        .iter()
        .map(|&c| total as f64 * c as f64 / n as f64)
        .collect();
    let mut out: Vec<usize> = exact.iter().map(|&e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    let missing = total.saturating_sub(out.iter().sum());
    for &i in order.iter().take(missing) {
        out[i] += 1;
    }
    out
}

/// The ids a replay of `edits` over `k` trained clusters leaves, in order,
/// or what is wrong with the history (checked when a model loads).
pub(crate) fn replay_ids(k: usize, edits: &[Edit]) -> Result<Vec<usize>, String> {
    let mut ids: Vec<usize> = (0..k).collect();
    for (i, e) in edits.iter().enumerate() {
        let missing = |id: &usize| format!("edit {i}: no cluster {id} to edit");
        match e {
            Edit::Merge { clusters, sizes } => {
                if clusters.len() < 2 || sizes.len() != clusters.len() {
                    return Err(format!("edit {i}: a merge of fewer than two clusters"));
                }
                for c in clusters {
                    ids.iter().position(|x| x == c).ok_or_else(|| missing(c))?;
                }
                ids.retain(|x| !clusters[1..].contains(x));
            }
            Edit::Split { cluster, into, .. } => {
                let s = ids
                    .iter()
                    .position(|x| x == cluster)
                    .ok_or_else(|| missing(cluster))?;
                if into.len() < 2 || into.iter().any(|x| ids.contains(x)) {
                    return Err(format!(
                        "edit {i}: a split's parts must be two or more new ids"
                    ));
                }
                ids.remove(s);
                ids.extend(into);
            }
        }
    }
    Ok(ids)
}

fn known_ids(clusters: &[ClusterInfo]) -> String {
    let ids: Vec<String> = clusters.iter().map(|c| c.id.to_string()).collect();
    ids.join(", ")
}

/// A split's classifier as saved: `(parts, D)` under `split.I.`.
pub(crate) fn split_prefix(i: usize) -> String {
    format!("split.{i}.")
}

/// The parts of each split, in order.
pub(crate) fn split_parts(edits: &[Edit]) -> Vec<usize> {
    edits
        .iter()
        .filter_map(|e| match e {
            Edit::Split { into, .. } => Some(into.len()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_replay_checks_the_history() {
        assert_eq!(share(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(share(7, &[0, 5]), vec![0, 7]);
        assert_eq!(share(0, &[0, 0]), vec![0, 0]);
        let merge = |c: Vec<usize>| Edit::Merge {
            sizes: vec![1; c.len()],
            clusters: c,
        };
        let split = |cluster, into: Vec<usize>| Edit::Split {
            cluster,
            into,
            texts: 10,
            source: "x".into(),
        };
        assert_eq!(replay_ids(4, &[]).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(replay_ids(4, &[merge(vec![2, 0])]).unwrap(), vec![1, 2, 3]);
        assert_eq!(
            replay_ids(4, &[merge(vec![2, 0]), split(1, vec![4, 5])]).unwrap(),
            vec![2, 3, 4, 5]
        );
        assert!(replay_ids(4, &[merge(vec![2, 0]), merge(vec![0, 1])]).is_err());
        assert!(replay_ids(4, &[split(1, vec![2, 5])]).is_err());
        assert!(replay_ids(4, &[merge(vec![1])]).is_err());
    }
}

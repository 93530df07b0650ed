//! Per-cluster precision and recall against gold labels: which gold class
//! each cluster stands for, and how well. A cluster stands for the gold
//! class of the same name when there is one (seed-word classes named like
//! the corpus's labels: emotion's joy, sadness, ...), else for its majority
//! class. Precision: the share of the cluster's texts in that class;
//! recall: the share of that class's texts in the cluster.

use serde::Serialize;

/// How one cluster does against the gold class it stands for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterScore {
    /// The cluster's position in the model's list.
    pub cluster: usize,
    /// The gold class it stands for.
    pub class: String,
    /// Whether that class was matched by name (else by majority).
    pub by_name: bool,
    /// Share of the cluster's texts in the class.
    pub precision: f64,
    /// Share of the class's texts in the cluster.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
    /// Texts in the cluster.
    pub size: usize,
}

/// Each of `k` clusters' score; `truth[i]` indexes `classes`, `pred[i]` is
/// a cluster position, `names[c]` the cluster's name.
pub fn per_cluster(
    truth: &[usize],
    pred: &[usize],
    classes: &[String],
    names: &[String],
) -> Vec<ClusterScore> {
    let k = names.len();
    let mut table = vec![vec![0usize; classes.len()]; k];
    let mut class_size = vec![0usize; classes.len()];
    for (&t, &p) in truth.iter().zip(pred) {
        table[p][t] += 1;
        class_size[t] += 1;
    }
    (0..k)
        .map(|c| {
            let named = classes
                .iter()
                .position(|g| g.trim().eq_ignore_ascii_case(names[c].trim()));
            let majority = (0..classes.len())
                .max_by_key(|&g| (table[c][g], std::cmp::Reverse(g)))
                .unwrap_or(0);
            let g = named.unwrap_or(majority);
            let size: usize = table[c].iter().sum();
            let hit = table[c].get(g).copied().unwrap_or(0) as f64;
            let precision = hit / size.max(1) as f64;
            let recall = hit / class_size.get(g).copied().unwrap_or(0).max(1) as f64;
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ClusterScore {
                cluster: c,
                class: classes.get(g).cloned().unwrap_or_default(),
                by_name: named.is_some(),
                precision,
                recall,
                f1,
                size,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_stand_for_their_named_or_majority_class() {
        let classes = vec!["joy".to_string(), "anger".to_string()];
        // Cluster 0 "Joy": 3 joy, 1 anger; cluster 1 "c1": 1 joy, 2 anger.
        let truth = [0, 0, 0, 1, 0, 1, 1];
        let pred = [0, 0, 0, 0, 1, 1, 1];
        let s = per_cluster(&truth, &pred, &classes, &["Joy".into(), "c1".into()]);
        assert_eq!((s[0].class.as_str(), s[0].by_name), ("joy", true));
        assert!((s[0].precision - 0.75).abs() < 1e-12 && (s[0].recall - 0.75).abs() < 1e-12);
        assert_eq!((s[1].class.as_str(), s[1].by_name), ("anger", false));
        assert!((s[1].precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((s[1].recall - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(s[1].size, 3);
        // A named cluster keeps its class even when another dominates it.
        let s = per_cluster(&[1, 1, 0], &[0, 0, 0], &classes, &["joy".into()]);
        assert_eq!(s[0].class, "joy");
        assert!((s[0].precision - 1.0 / 3.0).abs() < 1e-12);
    }
}

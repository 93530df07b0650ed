//! How the clusters group: a hierarchy built by Ward's agglomerative
//! linkage on the cluster centroids in the representation space, weighted
//! by cluster size. Ward's cost of joining two groups, `n_a n_b / (n_a +
//! n_b) * |c_a - c_b|^2`, is exactly how much the k-means objective (the
//! within-cluster sum of squares) grows when they become one, so walking up
//! the tree merges what k-means would regret least, and `textrnn merge
//! --to K` follows it.

use serde::{Deserialize, Serialize};

/// One join of the hierarchy: nodes `0..K` are the clusters (in the
/// model's order), node `K + i` is the group that join `i` makes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Join {
    /// The two nodes joined.
    pub nodes: (usize, usize),
    /// Ward's cost of the join (square root: a distance, growing up the tree).
    pub height: f64,
    /// Training texts in the group.
    pub size: usize,
}

/// The `K - 1` joins of Ward's linkage over `k` centroids `(K, D)` with
/// their sizes, cheapest first. Ties go to the lower node ids, so the tree
/// is the same on every run. `O(K^3)`: a model has at most a few hundred
/// clusters.
pub fn ward(centroids: &[f32], d: usize, sizes: &[usize]) -> Vec<Join> {
    let k = sizes.len();
    // Live groups: node id, centroid, size.
    let mut live: Vec<(usize, Vec<f64>, f64)> = (0..k)
        .map(|c| {
            let row = centroids[c * d..(c + 1) * d]
                .iter()
                .map(|&v| v as f64)
                .collect();
            (c, row, sizes[c].max(1) as f64)
        })
        .collect();
    let cost = |a: &(usize, Vec<f64>, f64), b: &(usize, Vec<f64>, f64)| {
        let dist: f64 = a.1.iter().zip(&b.1).map(|(x, y)| (x - y) * (x - y)).sum();
        a.2 * b.2 / (a.2 + b.2) * dist
    };
    let mut joins = Vec::with_capacity(k.saturating_sub(1));
    while live.len() > 1 {
        let mut best = (f64::INFINITY, 0, 1);
        for i in 0..live.len() {
            for j in i + 1..live.len() {
                let c = cost(&live[i], &live[j]);
                if c < best.0 {
                    best = (c, i, j);
                }
            }
        }
        let (c, i, j) = best;
        let b = live.remove(j);
        let a = live.remove(i);
        let n = a.2 + b.2;
        let mean =
            a.1.iter()
                .zip(&b.1)
                .map(|(x, y)| (a.2 * x + b.2 * y) / n)
                .collect();
        let (lo, hi) = (a.0.min(b.0), a.0.max(b.0));
        joins.push(Join {
            nodes: (lo, hi),
            height: c.max(0.0).sqrt(),
            size: n as usize,
        });
        live.push((k + joins.len() - 1, mean, n));
    }
    joins
}

/// The clusters (by position, ascending) under every node: `0..K` the
/// clusters themselves, then each join's group.
pub fn members(joins: &[Join], k: usize) -> Vec<Vec<usize>> {
    let mut members: Vec<Vec<usize>> = (0..k).map(|c| vec![c]).collect();
    for j in joins {
        let mut g = members[j.nodes.0].clone();
        g.extend(&members[j.nodes.1]);
        g.sort_unstable();
        members.push(g);
    }
    members
}

/// The clusters (by position) under each of the `groups` groups left when
/// the tree is cut there (`1 <= groups <= K`), each group's list ascending,
/// groups in order of their first cluster.
pub fn cut(joins: &[Join], k: usize, groups: usize) -> Vec<Vec<usize>> {
    let mut members: Vec<Vec<usize>> = (0..k).map(|c| vec![c]).collect();
    let mut alive: Vec<bool> = vec![true; k];
    for join in joins.iter().take(k.saturating_sub(groups.max(1))) {
        let (a, b) = join.nodes;
        let mut m = std::mem::take(&mut members[a]);
        m.extend(std::mem::take(&mut members[b]));
        m.sort_unstable();
        alive[a] = false;
        alive[b] = false;
        members.push(m);
        alive.push(true);
    }
    let mut out: Vec<Vec<usize>> = members
        .into_iter()
        .zip(alive)
        .filter_map(|(m, a)| a.then_some(m))
        .collect();
    out.sort_by_key(|m| m[0]);
    out
}

/// Where to cut the tree for a handful of themes: the number of groups,
/// between 2 and `max(2, min(10, K / 2))`, just below the join whose height
/// grows most over the one before it (the largest relative jump: the
/// groups below it are much tighter than what it joins). `K` when `K < 4`.
pub fn themes(joins: &[Join], k: usize) -> usize {
    if k < 4 {
        return k;
    }
    let most = 10.min(k / 2).max(2);
    // Cutting to g groups undoes the last g - 1 joins: the jump is between
    // join k - g (the highest kept) and join k - g - 1 (below it).
    (2..=most)
        .max_by(|&a, &b| {
            let jump = |g: usize| joins[k - g].height / joins[k - g - 1].height.max(1e-12);
            jump(a).total_cmp(&jump(b)).then(b.cmp(&a))
        })
        .unwrap_or(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ward_joins_the_nearest_and_matches_the_kmeans_cost() {
        // Four clusters on a line: 0 and 1 close, 2 and 3 close, far apart.
        let c = [0.0f32, 1.0, 10.0, 12.0];
        let joins = ward(&c, 1, &[1, 1, 1, 1]);
        assert_eq!(joins.len(), 3);
        assert_eq!(joins[0].nodes, (0, 1));
        assert!((joins[0].height - 0.5f64.sqrt()).abs() < 1e-9);
        assert_eq!(joins[1].nodes, (2, 3));
        assert!((joins[1].height - 2f64.sqrt()).abs() < 1e-9);
        // The last join: groups at 0.5 and 11, two texts each: 2*2/4 * 10.5^2.
        assert_eq!(joins[2].nodes, (4, 5));
        assert!((joins[2].height - 10.5).abs() < 1e-9);
        assert_eq!(joins[2].size, 4);
        assert_eq!(cut(&joins, 4, 2), vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(members(&joins, 4)[6], vec![0, 1, 2, 3]);
        assert_eq!(cut(&joins, 4, 4), vec![vec![0], vec![1], vec![2], vec![3]]);
        assert_eq!(cut(&joins, 4, 1), vec![vec![0, 1, 2, 3]]);
        assert_eq!(themes(&joins, 4), 2);
        // Three tight pairs far apart: three themes.
        let c = [0.0f32, 0.1, 5.0, 5.1, 10.0, 10.1];
        let joins = ward(&c, 1, &[1; 6]);
        assert_eq!(themes(&joins, 6), 3);
        assert_eq!(cut(&joins, 6, 3), vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
        // Sizes weigh the cost: two big clusters close together stay apart
        // longer than a small one a little farther away.
        assert_eq!(ward(&[0.0f32, 2.0, 3.6], 1, &[1, 1, 1])[0].nodes, (1, 2));
        assert_eq!(
            ward(&[0.0f32, 2.0, 3.6], 1, &[1, 100, 100])[0].nodes,
            (0, 1)
        );
    }
}

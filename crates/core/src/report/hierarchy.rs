//! The report's view of how the clusters relate: the tree of clusters
//! (Ward's linkage on their centroids, [`crate::model::tree`]) drawn as a
//! dendrogram with the themes it is cut into, and a map of the clusters
//! (their centroids' first two principal components, each a circle whose
//! area is its size).

use std::fmt::Write;

use super::svg::{self, color, esc};
use crate::model::clusters::group_terms;
use crate::model::{tree, ClusterInfo, Model};

/// Leaves of the tree in the order a walk from the root meets them, so
/// that no lines cross.
fn leaf_order(joins: &[tree::Join], k: usize) -> Vec<usize> {
    if k == 0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(k);
    let mut stack = vec![k + joins.len() - 1];
    while let Some(node) = stack.pop() {
        if node < k {
            out.push(node);
        } else {
            let (a, b) = joins[node - k].nodes;
            stack.push(b);
            stack.push(a);
        }
    }
    out
}

/// "#ID name" of the cluster at `position`.
fn label(c: &ClusterInfo) -> String {
    format!("#{} {}", c.id, c.name)
}

/// The "Hierarchy" section: dendrogram, the cut into themes, each theme's
/// clusters and joint top terms.
pub fn section(h: &mut String, model: &Model) {
    let m = &model.manifest;
    let k = m.clusters.len();
    h.push_str(r#"<section id="hierarchy"><h2>How the clusters group</h2>"#);
    if k < 2 {
        h.push_str(r#"<p class="note">One cluster: nothing to group.</p></section>"#);
        return;
    }
    let sizes: Vec<usize> = m.clusters.iter().map(|c| c.size).collect();
    let joins = tree::ward(&model.centroids, model.dim(), &sizes);
    let themes = tree::themes(&joins, k);
    let groups = tree::cut(&joins, k, themes);
    // The cut: halfway between the highest join kept and the lowest undone.
    let cut = (themes > 1 && themes < k)
        .then(|| (joins[k - themes - 1].height + joins[k - themes].height) / 2.0);
    let _ = write!(
        h,
        r#"<p class="note">Ward's linkage on the cluster centroids: the horizontal position of a join is how far apart its two sides are (the square root of how much the k-means objective grows when they become one). The dashed line cuts the tree into {themes} themes (where the joins grow most); <code>textrnn merge --model M --to {themes}</code> merges along it, <code>textrnn describe --model M --tree</code> prints it.</p>"#
    );
    let leaves: Vec<(String, &str)> = (m.clusters.iter().enumerate())
        .map(|(p, c)| (label(c), color(p)))
        .collect();
    let edges: Vec<(usize, usize, f64)> = joins
        .iter()
        .map(|j| (j.nodes.0, j.nodes.1, j.height))
        .collect();
    h.push_str(&svg::dendrogram(
        "dendrogram",
        &leaves,
        &leaf_order(&joins, k),
        &edges,
        cut,
    ));
    h.push_str(r#"<table id="themes"><tr><th class="l">theme</th><th>texts</th><th class="l">clusters</th></tr>"#);
    for g in &groups {
        let members: Vec<&ClusterInfo> = g.iter().map(|&p| &m.clusters[p]).collect();
        let terms: Vec<String> = group_terms(&members, 10)
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        let names: Vec<String> = members.iter().map(|c| esc(&label(c))).collect();
        let _ = write!(
            h,
            r#"<tr><td class="l">{name}</td><td>{size}</td><td class="l">{list}</td></tr>"#,
            name = esc(&crate::describe::suggest_name(0, &terms)),
            size = members.iter().map(|c| c.size).sum::<usize>(),
            list = names.join(", "),
        );
    }
    h.push_str("</table></section>");
}

/// The map of clusters: their centroids' first two principal components,
/// circles sized by cluster size (to stand beside the map of documents).
pub fn cluster_map(model: &Model) -> String {
    let m = &model.manifest;
    let xy = if m.clusters.len() >= 2 {
        super::pca_2d(&model.centroids, model.dim())
    } else {
        vec![(0.0, 0.0); m.clusters.len()]
    };
    let items: Vec<(f32, f32, usize, String, &str)> = (m.clusters.iter().enumerate())
        .zip(&xy)
        .map(|((p, c), &(x, y))| (x, y, c.size, label(c), color(p)))
        .collect();
    svg::bubbles("cluster-map", &items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_are_ordered_by_the_tree() {
        // ((0, 2), (1, 3)): a walk meets 0, 2, 1, 3.
        let j = |a, b| tree::Join {
            nodes: (a, b),
            height: 1.0,
            size: 2,
        };
        assert_eq!(
            leaf_order(&[j(0, 2), j(1, 3), j(4, 5)], 4),
            vec![0, 2, 1, 3]
        );
        assert_eq!(leaf_order(&[], 1), vec![0]);
    }
}

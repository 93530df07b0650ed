//! Stage 12: the report a person opens. One self-contained HTML file (inline
//! CSS and SVG, no script, no network): per cluster its name, size, top terms
//! as a bar chart and representative texts; how the clusters group
//! ([`hierarchy`]: a dendrogram, the themes, a map of the clusters); a 2-D
//! map of the documents (PCA of their representations) coloured by cluster;
//! the training curves (loss and learning rate per step, losses per epoch);
//! when gold labels are given, the scores and a confusion heat map; and
//! with a time field, the clusters over time ([`timeline`]).
//!
//! [`documents`] computes what depends on a corpus; [`render`] writes the page.

pub mod hierarchy;
pub mod svg;
pub mod timeline;

use std::fmt::Write;

use crate::eval::metrics::{contingency, encode_labels};
use crate::eval::Scores;
use crate::model::Model;
use crate::nn::gemm::Threads;
use crate::rng::Rng;
use crate::rows::dot;
use svg::{color, esc, truncate};

/// What the report shows about a set of documents.
pub struct Documents {
    /// Where they came from (shown in the page).
    pub source: String,
    /// How many texts were classified.
    pub n: usize,
    /// Map points: PCA coordinates and cluster, for a sample of the texts.
    pub map: Vec<(f32, f32, usize)>,
    /// Tooltip text of each map point.
    pub tips: Vec<String>,
    /// Texts per cluster among the `n`.
    pub sizes: Vec<usize>,
    /// Scores against gold labels, when given.
    pub labeled: Option<Labeled>,
    /// With a time field: its name and the clusters over time (`None` when
    /// no value could be read as a time).
    pub timeline: Option<(String, Option<timeline::Timeline>)>,
}

/// Scores of the model's clusters against gold labels.
pub struct Labeled {
    /// ACC, NMI, ARI, purity.
    pub scores: Scores,
    /// Class names, in order of first appearance.
    pub classes: Vec<String>,
    /// Counts `(classes, clusters)`.
    pub confusion: Vec<Vec<u64>>,
}

/// Classify `texts`, score them against `labels` when given, and project at
/// most `max_points` of them (a seeded sample) onto their first two principal
/// components; with `times` (the time field's name and each text's value),
/// count the clusters over time.
pub fn documents(
    model: &Model,
    source: &str,
    texts: &[&str],
    labels: Option<&[&str]>,
    times: Option<(&str, &[Option<String>])>,
    max_points: usize,
    threads: Threads,
) -> Documents {
    let d = model.dim();
    let k = model.manifest.clusters.len();
    // The model's own classes (cluster classifiers, centroids, or seed-word classifier).
    let (z, (pred, _)) = model.represent_and_predict(texts, threads);
    let mut sizes = vec![0usize; k];
    pred.iter().for_each(|&c| sizes[c] += 1);
    let mut idx: Vec<usize> = (0..texts.len()).collect();
    if idx.len() > max_points {
        Rng::new(0x4E9037).shuffle(&mut idx);
        idx.truncate(max_points);
        idx.sort_unstable();
    }
    let sample: Vec<f32> = idx
        .iter()
        .flat_map(|&i| z[i * d..(i + 1) * d].iter().copied())
        .collect();
    let xy = pca_2d(&sample, d);
    let map = idx
        .iter()
        .zip(&xy)
        .map(|(&i, &(x, y))| (x, y, pred[i]))
        .collect();
    let tips = idx
        .iter()
        .map(|&i| format!("#{} {}", model.cluster_id(pred[i]), truncate(texts[i], 140)))
        .collect();
    let labeled = labels.map(|labels| {
        let (truth, classes) = encode_labels(labels);
        let scores = Scores::compute(&truth, &pred);
        // contingency is (clusters, classes) over the clusters that occur; pad to k.
        let by_cluster = contingency(&truth, &pred);
        let confusion = (0..classes.len())
            .map(|c| {
                (0..k)
                    .map(|j| by_cluster.get(j).map_or(0, |row| row[c]))
                    .collect()
            })
            .collect();
        Labeled {
            scores,
            classes,
            confusion,
        }
    });
    let timeline =
        times.map(|(field, values)| (field.to_string(), timeline::timeline(values, &pred, k)));
    Documents {
        source: source.to_string(),
        n: texts.len(),
        map,
        tips,
        sizes,
        labeled,
        timeline,
    }
}

/// The first two principal components of the rows of `x (N, D)`, by power
/// iteration with deflation (seeded, so the map is the same every time).
pub fn pca_2d(x: &[f32], d: usize) -> Vec<(f32, f32)> {
    let n = x.len().checked_div(d).unwrap_or(0);
    if n == 0 {
        return Vec::new();
    }
    let mut mean = vec![0f64; d];
    for row in x.chunks(d) {
        row.iter().zip(&mut mean).for_each(|(&v, m)| *m += v as f64);
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let c: Vec<f64> = x
        .chunks(d)
        .flat_map(|r| r.iter().zip(&mean).map(|(&v, m)| v as f64 - m))
        .collect();
    let mut rng = Rng::new(0x9CA);
    let mut comps: Vec<Vec<f64>> = Vec::new();
    for _ in 0..2 {
        let mut v: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        for _ in 0..100 {
            // w = C^T (C v), minus the components found so far.
            let cv: Vec<f64> = c.chunks(d).map(|r| dot(r, &v)).collect();
            let mut w = vec![0f64; d];
            for (r, &s) in c.chunks(d).zip(&cv) {
                r.iter().zip(&mut w).for_each(|(&a, b)| *b += a * s);
            }
            for p in &comps {
                let s = dot(&w, p);
                w.iter_mut().zip(p).for_each(|(a, &b)| *a -= s * b);
            }
            let norm = dot(&w, &w).sqrt();
            if norm < 1e-300 {
                break;
            }
            w.iter_mut().for_each(|a| *a /= norm);
            let delta: f64 = w.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
            v = w;
            if delta < 1e-9 {
                break;
            }
        }
        comps.push(v);
    }
    c.chunks(d)
        .map(|r| (dot(r, &comps[0]) as f32, dot(r, &comps[1]) as f32))
        .collect()
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:0;color:#222;background:#fff}
header{background:#243447;color:#fff;padding:18px 28px}
header h1{margin:0 0 6px;font-size:22px}
header p{margin:2px 0;color:#cfd8e3}
nav{padding:8px 28px;background:#eef2f6;border-bottom:1px solid #dde3ea}
nav a{margin-right:16px;color:#243447}
main{padding:8px 28px 40px;max-width:1200px}
section{margin-top:22px}
h2{border-bottom:2px solid #243447;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ddd;padding:4px 10px;text-align:right}
th{background:#f3f5f8}
td.l,th.l{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:16px}
.maps{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.cluster{border:1px solid #dde3ea;border-radius:6px;padding:10px 14px;width:540px}
.cluster h3{margin:4px 0 8px;font-size:16px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.cluster ol{margin:6px 0 0;padding-left:20px;color:#333}
.cluster li{margin:3px 0}
.legend span{display:inline-block;margin:2px 12px 2px 0}
.note{color:#666}
"#;

/// The whole page.
pub fn render(model: &Model, docs: Option<&Documents>) -> String {
    let m = &model.manifest;
    let c = &m.config;
    let e = &model.encoder.config;
    let k = m.clusters.len();
    let trained_on: usize = m.clusters.iter().map(|c| c.size).sum();
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>textrnn report: {k} clusters</title><style>{STYLE}</style></head><body>"#
    );
    let _ = write!(
        h,
        r#"<header><h1>textrnn report</h1><p>{k} clusters of {trained_on} training texts &middot; {cell} encoder, {dirs}{layers} layer(s), hidden {hidden}, {pool} pooling, embedding {embed}, vocabulary {vocab}</p><p>representation: SIF word vectors {wd} dims (weight {ws:.2}), RNN {rd} dims (weight {wr:.2}), LSA {ld} dims (weight {wl:.2}) &middot; seed {seed} &middot; textrnn {ver}</p></header>"#,
        cell = format!("{:?}", e.cell).to_uppercase(),
        dirs = if e.bidirectional {
            "bidirectional, "
        } else {
            ""
        },
        layers = e.layers,
        hidden = e.hidden,
        pool = format!("{:?}", e.pooling).to_lowercase(),
        embed = e.embed,
        vocab = model.vocab.len(),
        wd = c.wordvec_dims,
        ws = c.weights.sif,
        rd = e.output_dim(),
        wr = c.weights.rnn,
        ld = c.lsa_dims,
        wl = c.weights.lsa,
        seed = c.train.seed,
        ver = env!("CARGO_PKG_VERSION"),
    );
    h.push_str(r##"<nav><a href="#clusters">Clusters</a><a href="#hierarchy">Hierarchy</a><a href="#map-section">Map</a>"##);
    let time = docs.and_then(|d| d.timeline.as_ref());
    if time.is_some() {
        h.push_str(r##"<a href="#time">Over time</a>"##);
    }
    h.push_str(r##"<a href="#curves">Training</a>"##);
    if docs.is_some_and(|d| d.labeled.is_some()) {
        h.push_str(r##"<a href="#scores">Scores</a>"##);
    }
    h.push_str("</nav><main>");

    if let Some(lab) = docs.and_then(|d| d.labeled.as_ref().map(|l| (d, l))) {
        scores_section(&mut h, model, lab.0, lab.1);
    }
    clusters_section(&mut h, model, docs);
    hierarchy::section(&mut h, model);
    map_section(&mut h, model, docs);
    match time {
        Some((field, Some(t))) => timeline::section(&mut h, model, t, field),
        Some((field, None)) => {
            let _ = write!(
                h,
                r#"<section id="time"><h2>Clusters over time</h2><p class="note">No value of the <code>{}</code> field could be read as a time (ISO 8601 dates such as 2024-03-05, years, or Unix seconds).</p></section>"#,
                esc(field)
            );
        }
        None => {}
    }
    curves_section(&mut h, model);
    h.push_str("</main></body></html>\n");
    h
}

/// "#ID name" of the cluster at `position` in the model's list.
fn cluster_label(model: &Model, position: usize) -> String {
    let c = &model.manifest.clusters[position];
    format!("#{} {}", c.id, c.name)
}

fn scores_section(h: &mut String, model: &Model, docs: &Documents, lab: &Labeled) {
    let s = &lab.scores;
    let _ = write!(
        h,
        r#"<section id="scores"><h2>Scores against gold labels</h2><p class="note">{n} texts of {src}, {c} classes, {k} clusters. Labels only score; they never trained the model.</p><table><tr><th>ACC</th><th>NMI</th><th>ARI</th><th>purity</th></tr><tr><td id="acc">{acc:.1}%</td><td id="nmi">{nmi:.1}%</td><td id="ari">{ari:.1}%</td><td>{pur:.1}%</td></tr></table><h3>Confusion (rows: gold classes; columns: clusters, ordered by their majority class; shade: share of the row)</h3>"#,
        n = docs.n,
        src = esc(&docs.source),
        c = lab.classes.len(),
        k = model.manifest.clusters.len(),
        acc = 100.0 * s.acc,
        nmi = 100.0 * s.nmi,
        ari = 100.0 * s.ari,
        pur = 100.0 * s.purity,
    );
    // Columns ordered by majority class, then size, so a good clustering shows a diagonal.
    let k = model.manifest.clusters.len();
    let mut cols: Vec<usize> = (0..k).collect();
    let majority = |j: usize| {
        (0..lab.classes.len())
            .max_by_key(|&c| (lab.confusion[c][j], std::cmp::Reverse(c)))
            .unwrap_or(0)
    };
    let size = |j: usize| lab.confusion.iter().map(|r| r[j]).sum::<u64>();
    cols.sort_by_key(|&j| (majority(j), std::cmp::Reverse(size(j)), j));
    let counts: Vec<Vec<u64>> = lab
        .confusion
        .iter()
        .map(|r| cols.iter().map(|&j| r[j]).collect())
        .collect();
    let names: Vec<String> = cols.iter().map(|&j| cluster_label(model, j)).collect();
    h.push_str(&svg::heatmap("confusion", &counts, &lab.classes, &names));
    h.push_str("</section>");
}

fn clusters_section(h: &mut String, model: &Model, docs: Option<&Documents>) {
    let m = &model.manifest;
    let total: usize = m.clusters.iter().map(|c| c.size).sum::<usize>().max(1);
    let _ = write!(
        h,
        r#"<section id="clusters"><h2>Clusters</h2><p class="note">Sizes on the training texts{}. Top terms by class-based TF-IDF; examples are the texts the model assigns most confidently.</p><table id="sizes"><tr><th class="l">cluster</th><th>training texts</th><th>share</th>{}</tr>"#,
        if docs.is_some() {
            " and on the input"
        } else {
            ""
        },
        if docs.is_some() {
            "<th>input texts</th>"
        } else {
            ""
        }
    );
    for (pos, c) in m.clusters.iter().enumerate() {
        let _ = write!(
            h,
            r#"<tr><td class="l"><span class="swatch" style="background:{col}"></span>{label}</td><td>{size}</td><td>{share:.1}%</td>{extra}</tr>"#,
            col = color(pos),
            label = esc(&cluster_label(model, pos)),
            size = c.size,
            share = 100.0 * c.size as f64 / total as f64,
            extra = docs.map_or(String::new(), |d| format!(
                "<td>{}</td>",
                d.sizes.get(pos).copied().unwrap_or(0)
            )),
        );
    }
    h.push_str(r#"</table><div class="grid">"#);
    for (pos, c) in m.clusters.iter().enumerate() {
        let items: Vec<(String, f64)> = c
            .top_terms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                // Models saved before the scores were kept show ranks instead.
                let v = c
                    .top_scores
                    .get(i)
                    .map_or((c.top_terms.len() - i) as f64, |&s| s as f64);
                (t.clone(), v)
            })
            .collect();
        let _ = write!(
            h,
            r#"<div class="cluster" id="cluster-{id}"><h3><span class="swatch" style="background:{col}"></span>#{id} {name} <span class="note">({size} texts)</span></h3>{bars}<ol>"#,
            id = c.id,
            col = color(pos),
            name = esc(&c.name),
            size = c.size,
            bars = svg::bars(&format!("terms-{}", c.id), &items, color(pos)),
        );
        for ex in &c.examples {
            let _ = write!(h, "<li>{}</li>", esc(&truncate(ex, 300)));
        }
        h.push_str("</ol></div>");
    }
    h.push_str("</div></section>");
}

fn map_section(h: &mut String, model: &Model, docs: Option<&Documents>) {
    h.push_str(r#"<section id="map-section"><h2>Map of the documents and of the clusters</h2>"#);
    match docs {
        Some(d) => {
            let _ = write!(
                h,
                r#"<p class="note">Left: {shown} of {n} texts of {src}: the first two principal components of the representation each text is clustered by, coloured by cluster. Hover a point for its text. Right: the clusters' centroids on their own first two principal components, each circle's area its size.</p>"#,
                shown = d.map.len(),
                n = d.n,
                src = esc(&d.source)
            );
            h.push_str(r#"<div class="maps">"#);
            h.push_str(&svg::scatter("map", &d.map, &d.tips));
            h.push_str(&hierarchy::cluster_map(model));
            h.push_str("</div>");
        }
        None => {
            h.push_str(r#"<p class="note">No documents given. The clusters' centroids on their first two principal components, each circle's area its size:</p>"#);
            h.push_str(&hierarchy::cluster_map(model));
        }
    }
    h.push_str(r#"<div class="legend">"#);
    for pos in 0..model.manifest.clusters.len() {
        let _ = write!(
            h,
            r#"<span><span class="swatch" style="background:{}"></span>{}</span>"#,
            color(pos),
            esc(&cluster_label(model, pos))
        );
    }
    h.push_str("</div></section>");
}

fn curves_section(h: &mut String, model: &Model) {
    let m = &model.manifest;
    h.push_str(r#"<section id="curves"><h2>Training</h2>"#);
    if m.training_steps.is_empty() {
        h.push_str(
            r#"<p class="note">This model has no per-step log (trained by an older textrnn).</p>"#,
        );
    } else {
        let _ = write!(
            h,
            r#"<p class="note">Contrastive (InfoNCE) training of the encoder: {} steps, batch {}, temperature {}.</p><div class="grid">"#,
            m.training_steps.len(),
            m.config.train.batch_size,
            m.config.train.temperature
        );
        let loss: Vec<(f64, f64)> = m
            .training_steps
            .iter()
            .map(|s| (s.step as f64, s.loss))
            .collect();
        let lr: Vec<(f64, f64)> = m
            .training_steps
            .iter()
            .map(|s| (s.step as f64, s.lr))
            .collect();
        h.push_str(&svg::lines(
            "loss-curve",
            "training loss per step",
            "step",
            &[("loss", "#1f77b4", loss)],
        ));
        h.push_str(&svg::lines(
            "lr-curve",
            "learning rate per step",
            "step",
            &[("learning rate", "#d62728", lr)],
        ));
        h.push_str("</div>");
    }
    if !m.training.is_empty() {
        h.push_str(r#"<table id="epochs"><tr><th>epoch</th><th>mean training loss</th><th>validation loss</th><th>learning rate</th></tr>"#);
        for e in &m.training {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.2e}</td></tr>",
                e.epoch, e.train_loss, e.val_loss, e.lr
            );
        }
        h.push_str("</table>");
    }
    if let (Some(w), Some(seeds)) = (&m.weak, &m.config.seeds) {
        let then = match w.cluster_agreement {
            Some(a) if !m.config.seed_classifier() => format!(
                "The seed labels agree with the clusters for {:.1}% of those texts: the clusters are kept and the seed classes name them.",
                100.0 * a
            ),
            Some(a) => format!(
                "The seed labels agree with the clusters for only {:.1}% of those texts, so naive Bayes EM and {} rounds of RNN self-training decide the classes.",
                100.0 * a,
                w.rounds.len()
            ),
            None => format!(
                "Then naive Bayes EM and {} rounds of RNN self-training.",
                w.rounds.len()
            ),
        };
        let _ = write!(
            h,
            r#"<h3>Seed words</h3><p class="note">{} texts matched a seed word, {} got a seed pseudo-label, {} matches were negated. {}</p><table id="seeds"><tr><th class="l">class</th><th class="l">seed words</th><th>seed-labeled texts</th></tr>"#,
            w.matched,
            w.seed_labeled,
            w.negated,
            esc(&then)
        );
        for (c, n) in seeds.classes.iter().zip(&w.seed_counts) {
            let _ = write!(
                h,
                r#"<tr><td class="l">{}</td><td class="l">{}</td><td>{n}</td></tr>"#,
                esc(&c.name),
                esc(&c.seeds.join(", "))
            );
        }
        h.push_str("</table>");
    }
    if let Some(c) = &m.k_choice {
        let _ = write!(
            h,
            r#"<h3>Choice of k (view agreement beyond a shuffled null, averaged with neighbouring k; the smallest k within one standard error of the best)</h3><p>{} texts; range {}-{}; best {}; runner-up {}, margin {:+.3} ({}){}</p><table id="k-selection"><tr><th>k</th><th>agreement</th><th>null</th><th>score</th><th>std. error</th></tr>"#,
            c.sample,
            c.range.0,
            c.range.1,
            c.best,
            c.runner_up.map_or("none".into(), |r| r.to_string()),
            c.margin,
            if c.clear { "clear" } else { "weak" },
            if c.at_edge {
                "; at the edge of the range"
            } else {
                ""
            }
        );
        for s in &c.scores {
            let chosen = if s.k == m.config.k { " (chosen)" } else { "" };
            let _ = write!(
                h,
                "<tr><td>{}{chosen}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr>",
                s.k, s.agreement, s.null, s.score, s.std_error
            );
        }
        h.push_str("</table>");
    }
    if !m.weight_selection.is_empty() {
        h.push_str(r#"<h3>Choice of feature weights (consensus NMI, higher is better)</h3><table id="weight-selection"><tr><th>SIF</th><th>RNN</th><th>LSA</th><th>consensus</th></tr>"#);
        for (w, s) in &m.weight_selection {
            let _ = write!(
                h,
                "<tr><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{s:.4}</td></tr>",
                w.sif, w.rnn, w.lsa
            );
        }
        h.push_str("</table>");
    }
    if !m.selection.is_empty() {
        h.push_str(r#"<h3>Choice of encoder (held-out silhouette)</h3><table id="selection"><tr><th class="l">cell</th><th>hidden</th><th>silhouette</th></tr>"#);
        for s in &m.selection {
            let _ = write!(
                h,
                r#"<tr><td class="l">{:?}{}</td><td>{}</td><td>{:.4}</td></tr>"#,
                s.cell,
                if s.chosen { " (chosen)" } else { "" },
                s.hidden,
                s.heldout_silhouette
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pca_finds_the_direction_of_largest_variance() {
        // Points along (1, 1, 0) with small noise in z: the first component is the diagonal.
        let mut x = Vec::new();
        for i in 0..50 {
            let t = i as f32 - 25.0;
            x.extend_from_slice(&[t, t, (i % 3) as f32 * 0.01]);
        }
        let p = pca_2d(&x, 3);
        assert_eq!(p.len(), 50);
        // The projection on the first component spans sqrt(2) * 49.
        let (lo, hi) = p
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), q| (a.min(q.0), b.max(q.0)));
        assert!(((hi - lo) - 49.0 * 2f32.sqrt()).abs() < 1e-2, "{lo} {hi}");
        assert!(p.iter().all(|q| q.1.abs() < 0.05));
        assert!(pca_2d(&[], 3).is_empty());
    }
}

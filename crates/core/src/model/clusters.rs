//! The clusters as a model saves them ([`ClusterInfo`]): describing them
//! from texts, at training and again when a user asks for other terms
//! (`textrnn describe --input`), with the terms [`crate::describe`] allows.

use rayon::prelude::*;

use super::{ClusterInfo, Model, ModelConfig};
use crate::describe::{class_tfidf, representatives, suggest_name, text_terms};
use crate::features::Tfidf;
use crate::text::ChineseMode;

/// How many top terms a cluster keeps.
pub const TOP_TERMS: usize = 10;
/// How many representative texts a cluster keeps.
pub const EXAMPLES: usize = 5;

/// Each text's describing terms, from its pipeline tokens and its feature
/// terms (whose lead terms, `^what`, are kept).
pub(crate) fn describing_terms(
    cfg: &ModelConfig,
    tokens: &[Vec<String>],
    features: &[Vec<String>],
) -> Vec<Vec<String>> {
    let han_words = !matches!(cfg.pipeline.segmenter.chinese, ChineseMode::Chars);
    tokens
        .par_iter()
        .zip(features)
        .map(|(t, f)| {
            let lead: Vec<String> = f
                .iter()
                .take_while(|w| w.starts_with('^'))
                .cloned()
                .collect();
            text_terms(t, &lead, &cfg.describe, han_words)
        })
        .collect()
}

/// Size, top terms, representative texts and a suggested name of each of
/// `k` clusters of `texts` (`labels`, with `scores` ranking the examples),
/// from their describing `terms`. `names[c]`, where given, is kept instead
/// of the suggestion (seed classes, names a user gave).
pub(crate) fn describe_with(
    texts: &[&str],
    terms: &[Vec<String>],
    labels: &[usize],
    scores: &[f32],
    k: usize,
    min_term_freq: Option<usize>,
    names: &[Option<String>],
) -> Vec<ClusterInfo> {
    let tops = class_tfidf(terms, labels, k, TOP_TERMS, min_term_freq);
    let reps = representatives(labels, scores, k, EXAMPLES);
    let mut sizes = vec![0usize; k];
    labels.iter().for_each(|&l| sizes[l] += 1);
    (0..k)
        .map(|id| {
            let top_terms: Vec<String> = tops[id].iter().map(|(t, _)| t.clone()).collect();
            ClusterInfo {
                id,
                name: (names.get(id).cloned().flatten())
                    .unwrap_or_else(|| suggest_name(id, &top_terms)),
                size: sizes[id],
                top_terms,
                examples: reps[id].iter().map(|&i| texts[i].to_string()).collect(),
                top_scores: tops[id].iter().map(|&(_, w)| w).collect(),
                renamed: false,
            }
        })
        .collect()
}

/// Top terms of a group of clusters from their own: each term's c-TF-IDF
/// weight averaged over the clusters by size, a term a cluster does not
/// list counting 0 there. This is the group's c-TF-IDF where its clusters'
/// texts are equally long (the weight is a term's share of a cluster's
/// words times a factor that the group does not change), up to the terms
/// each list left out. Older models without weights rank by position.
pub fn group_terms(members: &[&ClusterInfo], top: usize) -> Vec<(String, f32)> {
    let total: f64 = members.iter().map(|c| c.size.max(1) as f64).sum();
    let mut weight: Vec<(String, f64)> = Vec::new();
    for c in members {
        let share = c.size.max(1) as f64 / total;
        for (r, t) in c.top_terms.iter().enumerate() {
            let w = c
                .top_scores
                .get(r)
                .map_or(1.0 / (r + 1) as f64, |&w| w as f64);
            match weight.iter_mut().find(|(u, _)| u == t) {
                Some((_, sum)) => *sum += share * w,
                None => weight.push((t.clone(), share * w)),
            }
        }
    }
    weight.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    weight
        .into_iter()
        .take(top)
        .map(|(t, w)| (t, w as f32))
        .collect()
}

/// Each text's describing terms under `model`'s settings (tokenizing it).
pub(crate) fn terms_of_texts(model: &Model, texts: &[&str]) -> Vec<Vec<String>> {
    let cfg = &model.manifest.config;
    let (tokens, features): (Vec<Vec<String>>, Vec<Vec<String>>) = texts
        .par_iter()
        .map(|t| {
            let tokens = cfg.pipeline.tokenize(t);
            let strings = tokens.iter().map(|tk| tk.text.clone()).collect();
            (strings, Tfidf::terms_of(&model.tfidf.config, tokens))
        })
        .unzip();
    describing_terms(cfg, &tokens, &features)
}

impl Model {
    /// A seed-word model's seed words as `--seeds` reads them: each class's
    /// given words, then those seed expansion added
    /// ([`crate::learn::expand`]); train with the file, edited, and
    /// expansion off to use exactly those.
    pub fn seed_words(&self) -> Option<crate::learn::seeds::SeedSet> {
        let mut set = self.manifest.config.seeds.clone()?;
        for (c, a) in set.classes.iter_mut().zip(self.added_seed_words()) {
            c.seeds.extend(a);
        }
        Some(set)
    }

    /// Per seed class, the words seed expansion added (none without it).
    pub fn added_seed_words(&self) -> Vec<Vec<String>> {
        (self.manifest.weak.as_ref())
            .and_then(|w| w.expansion.as_ref())
            .map(|e| e.added.clone())
            .unwrap_or_default()
    }

    /// The model's clusters described anew from `texts` (the training
    /// corpus, or any corpus like it) as the model assigns them, with the
    /// model's [`crate::describe::DescribeConfig`] (change it first to
    /// describe with other terms): sizes, top terms and examples are those
    /// of `texts`; names are suggested again, except those a user gave
    /// ([`ClusterInfo::renamed`]) and seed classes'.
    pub fn describe_texts(
        &self,
        texts: &[&str],
        threads: crate::nn::gemm::Threads,
    ) -> Vec<ClusterInfo> {
        let cfg = &self.manifest.config;
        let (labels, scores) = self.predict(texts, threads);
        let terms = terms_of_texts(self, texts);
        let k = self.manifest.clusters.len();
        let names: Vec<Option<String>> = (self.manifest.clusters.iter())
            .map(|c| (c.renamed || cfg.seeds.is_some()).then(|| c.name.clone()))
            .collect();
        let mut out = describe_with(
            texts,
            &terms,
            &labels,
            &scores,
            k,
            cfg.describe.min_term_freq,
            &names,
        );
        for (c, old) in out.iter_mut().zip(&self.manifest.clusters) {
            c.id = old.id;
            c.renamed = old.renamed;
        }
        out
    }
}

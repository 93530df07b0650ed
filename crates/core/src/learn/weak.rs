//! Weak supervision from seed words: from the few texts that contain a seed
//! word to a classifier for every text, without a labeled text.
//!
//! 1. [`super::seeds`] gives first pseudo-labels (with negation handling).
//! 2. A multinomial naive Bayes over the texts' terms is fitted to them and
//!    refined by EM over the whole corpus (Nigam et al. 2000): words that
//!    co-occur with the seeds ("gripping", "mess", "配送快") become evidence
//!    too. Unlabeled texts count with weight `em_unlabeled_weight`.
//! 3. The RNN encoder and a linear head are trained on the most confident
//!    texts per class (cross-entropy); then the RNN's and the naive Bayes'
//!    probabilities are averaged, the confident set is chosen again from
//!    the average, and training continues, for `rounds` rounds. The RNN sees
//!    word order and negation scope, which bag-of-words cannot.
//! 4. A softmax classifier over the corpus features that do not come from
//!    the RNN (SIF word vectors, LSA) is trained on the RNN's confident
//!    labels and self-trained ([`feature_head`]); the final classifier, which
//!    predict and serve use, multiplies its probabilities with the RNN's
//!    ([`combine`]). Models saved before step 4 existed use the RNN alone.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::classifier::{classify, train_classifier};
use super::config::{Progress, Stage, TrainConfig};
use super::contrastive::prepare_for;
use super::seeds::{pseudo_label, Matcher};
use crate::nn::encoder::Encoder;
use crate::nn::gemm::Threads;
use crate::nn::linear::Linear;
use crate::nn::optim::NonFinite;
use crate::rng::Rng;

/// Settings of the weak supervision. Unknown fields are refused, as in the
/// model config that holds it (a setting this build does not know would
/// change how the model classifies).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeakConfig {
    /// Self-training rounds of the RNN classifier.
    pub rounds: usize,
    /// Epochs per round.
    pub epochs_per_round: usize,
    /// Learning rate of the classifier training.
    pub lr: f64,
    /// Fraction of each class's texts (by confidence) used as targets.
    pub confident_fraction: f64,
    /// Naive Bayes EM iterations over the whole corpus.
    pub em_iterations: usize,
    /// Weight of texts without a seed match in the EM's M-step.
    pub em_unlabeled_weight: f64,
    /// Additive smoothing of the naive Bayes term probabilities.
    pub nb_alpha: f64,
    /// Re-estimate the class prior in each EM iteration (from the posteriors
    /// of all texts) instead of keeping it uniform (seed words are not equally
    /// frequent, so the seed labels' class shares are not a prior).
    #[serde(default)]
    pub em_prior: bool,
    /// Rounds of the feature classifier (step 4, [`feature_head`]) after the
    /// RNN's: a softmax classifier over the corpus features that do not come
    /// from the RNN (SIF word vectors, LSA), trained on the RNN's confident
    /// labels and then on its own. 0: the RNN classifier alone (models saved
    /// before it existed).
    #[serde(default)]
    pub feature_rounds: usize,
    /// How much the RNN classifier's log-probabilities count in the final
    /// classifier beside the feature classifier's logits (0: the feature
    /// classifier alone). Unused when `feature_rounds` is 0.
    #[serde(default)]
    pub rnn_share: f64,
    /// With [`super::seeds::SeedRole::Auto`]: the share of seed-labeled
    /// texts whose cluster (under the best one-to-one matching of clusters
    /// to seed classes) is their seed class, from which the clusters are
    /// kept and the seeds only name them.
    /// (Not written at its default, nor `expand` when off: builds before
    /// them still read the model.)
    #[serde(
        default = "WeakConfig::default_name_agreement",
        skip_serializing_if = "WeakConfig::is_default_name_agreement"
    )]
    pub name_agreement: f64,
    /// Add the words the corpus uses like each class's seed words before
    /// matching ([`super::expand`]). Off by default: over seeds 0-4 it
    /// measured sst2 +0.2, waimai_10k -0.6, emotion -0.4 ACC with the seed
    /// classifier (docs/train.md#seed-expansion); naive Bayes EM already
    /// spreads the seed labels to co-occurring words.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expand: bool,
}

impl WeakConfig {
    fn default_name_agreement() -> f64 {
        WeakConfig::default().name_agreement
    }

    fn is_default_name_agreement(a: &f64) -> bool {
        *a == WeakConfig::default_name_agreement()
    }
}

impl Default for WeakConfig {
    fn default() -> Self {
        WeakConfig {
            rounds: 3,
            epochs_per_round: 1,
            lr: 1e-3,
            confident_fraction: 0.5,
            em_iterations: 3,
            em_unlabeled_weight: 0.1,
            nb_alpha: 0.1,
            em_prior: true,
            feature_rounds: 3,
            rnn_share: 0.5,
            name_agreement: 0.75,
            expand: false,
        }
    }
}

/// What the weak supervision did, saved in the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WeakLog {
    /// Texts with at least one seed match.
    pub matched: usize,
    /// Texts with a seed pseudo-label (a strict majority class).
    pub seed_labeled: usize,
    /// Matches that were negated.
    pub negated: usize,
    /// Seed pseudo-labels per class.
    pub seed_counts: Vec<usize>,
    /// Per round: texts used as targets, and the share of seed-labeled texts
    /// whose seed label the classifier keeps.
    pub rounds: Vec<(usize, f64)>,
    /// With the feature classifier: the share of texts whose final class is
    /// the RNN classifier's own.
    #[serde(default)]
    pub feature_agreement: Option<f64>,
    /// With the clusters tried first (seed role `auto` or `name`): the
    /// share of seed-labeled texts in the cluster matched to their class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_agreement: Option<f64>,
    /// With seed expansion: the words added to each class's seeds (in
    /// order of how clearly they belong), and the texts seed-labeled before
    /// they were added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expansion: Option<ExpansionLog>,
}

/// What seed expansion added ([`super::expand`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExpansionLog {
    /// Per class, the words added.
    pub added: Vec<Vec<String>>,
    /// Texts with a seed pseudo-label from the user's seeds alone.
    pub labeled_before: usize,
}

/// Seed pseudo-labels of tokenized texts, and the counts for the log.
pub fn seed_labels(tokens: &[Vec<String>], m: &Matcher) -> (Vec<Option<usize>>, WeakLog) {
    let mut log = WeakLog {
        seed_counts: vec![0; m.k()],
        ..WeakLog::default()
    };
    let labels = tokens
        .iter()
        .map(|t| {
            let found = m.matches(t);
            if found.counts.iter().any(|&c| c > 0.0) || found.negated > 0 {
                log.matched += 1;
            }
            log.negated += found.negated;
            let l = pseudo_label(&found);
            if let Some(c) = l {
                log.seed_labeled += 1;
                log.seed_counts[c] += 1;
            }
            l
        })
        .collect();
    (labels, log)
}

/// Naive Bayes over term presence, fitted to `labels` and refined by EM;
/// returns the class posteriors `(N, K)` with a uniform prior.
pub fn naive_bayes_em(
    words: &[Vec<String>],
    labels: &[Option<usize>],
    k: usize,
    cfg: &WeakConfig,
) -> Vec<f32> {
    // Terms in at least two texts; each text as its set of term ids.
    use crate::features::{document_frequency, term_id_sets, terms_by_df};
    let terms = terms_by_df(&document_frequency(words), 2, usize::MAX);
    let index: HashMap<&str, u32> = terms
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, i as u32))
        .collect();
    let docs = term_id_sets(words, &index);
    let m = terms.len();
    let n = words.len();
    // Start from the seed labels alone.
    let mut weights = vec![0f64; n * k];
    for (i, l) in labels.iter().enumerate() {
        if let Some(c) = l {
            weights[i * k + c] = 1.0;
        }
    }
    let mut post = vec![0f32; n * k];
    let mut log_prior = vec![0f64; k];
    for it in 0..=cfg.em_iterations {
        // M-step: term log-probabilities per class.
        let mut counts = vec![0f64; k * m];
        let mut totals = vec![0f64; k];
        for (i, d) in docs.iter().enumerate() {
            for c in 0..k {
                let w = weights[i * k + c];
                if w > 0.0 {
                    for &t in d {
                        counts[c * m + t as usize] += w;
                    }
                    totals[c] += w * d.len() as f64;
                }
            }
        }
        let logp: Vec<f64> = (0..k * m)
            .map(|ct| {
                let c = ct / m;
                ((counts[ct] + cfg.nb_alpha) / (totals[c] + cfg.nb_alpha * m as f64)).ln()
            })
            .collect();
        // E-step: posteriors of every text.
        for (i, d) in docs.iter().enumerate() {
            let mut s: Vec<f64> = (0..k)
                .map(|c| log_prior[c] + d.iter().map(|&t| logp[c * m + t as usize]).sum::<f64>())
                .collect();
            let mx = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut z = 0.0;
            for v in s.iter_mut() {
                *v = (*v - mx).exp();
                z += *v;
            }
            for c in 0..k {
                post[i * k + c] = (s[c] / z) as f32;
            }
        }
        if it == cfg.em_iterations {
            break;
        }
        if cfg.em_prior {
            for (c, lp) in log_prior.iter_mut().enumerate() {
                let mass: f64 = (0..n).map(|i| post[i * k + c] as f64).sum();
                *lp = (mass / n as f64).max(1e-6).ln();
            }
        }
        // Next weights: seed-labeled texts keep their label; others count softly.
        for i in 0..n {
            if labels[i].is_none() {
                for c in 0..k {
                    weights[i * k + c] = cfg.em_unlabeled_weight * post[i * k + c] as f64;
                }
            }
        }
    }
    post
}

/// Per class, the `fraction` of the texts assigned to it (argmax of `probs`)
/// with the highest probability become its targets; others get `None`
/// ([`crate::rows::confident`]).
pub fn confident_targets(probs: &[f32], k: usize, fraction: f64) -> Vec<Option<usize>> {
    let (labels, best) = crate::rows::argmax_rows(probs, k);
    crate::rows::confident(&labels, &best, k, fraction)
}

/// Steps 2-3: from seed labels to a trained RNN classifier. Returns the head
/// and the final class probabilities `(N, K)` of the training texts.
#[allow(clippy::too_many_arguments)]
pub fn self_train(
    enc: &mut Encoder<f32>,
    seqs: &[Vec<u32>],
    words: &[Vec<String>],
    seed: &[Option<usize>],
    k: usize,
    train: &TrainConfig,
    cfg: &WeakConfig,
    log: &mut WeakLog,
    threads: Threads,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Linear<f32>, Vec<f32>), NonFinite> {
    let nb = naive_bayes_em(words, seed, k, cfg);
    let mut rng = Rng::derive(train.seed, 0x5EED);
    let mut head = Linear::<f32>::new("head.", enc.config.output_dim(), k, &mut rng);
    let mut probs = nb.clone();
    for round in 0..cfg.rounds {
        progress(Progress {
            stage: Stage::SeedRound,
            epoch: round + 1,
            step: round as u64,
            total_steps: cfg.rounds as u64,
            loss: f64::NAN,
            lr: cfg.lr,
        });
        let targets = confident_targets(&probs, k, cfg.confident_fraction);
        train_classifier(
            enc,
            &mut head,
            seqs,
            &targets,
            cfg.epochs_per_round,
            cfg.lr,
            train,
            round as u64,
            threads,
        )?;
        let tables = prepare_for(enc, seqs, train.max_len, threads);
        let rnn = classify(enc, &head, seqs, train.max_len, tables.as_ref(), threads);
        let kept = agreement(&rnn, seed, k);
        log.rounds
            .push((targets.iter().filter(|t| t.is_some()).count(), kept));
        tracing::info!(
            round,
            targets = log.rounds[round].0,
            seed_agreement = kept,
            "weak supervision round"
        );
        probs = rnn.iter().zip(&nb).map(|(a, b)| 0.5 * (a + b)).collect();
        if round + 1 == cfg.rounds {
            probs = rnn;
        }
    }
    if cfg.rounds == 0 {
        let tables = prepare_for(enc, seqs, train.max_len, threads);
        probs = classify(enc, &head, seqs, train.max_len, tables.as_ref(), threads);
    }
    Ok((head, probs))
}

/// Step 4: a softmax classifier over `z (N, d)`, the corpus features that do
/// not come from the RNN, trained on the most confident `confident_fraction`
/// of each class under `probs` (the RNN's), then `feature_rounds - 1` times
/// more on the confident share of its own predictions. Returns the layer and
/// its logits `(N, K)` over `z`.
///
/// Why: the RNN classifier fits its seed-derived targets closely (it keeps
/// ~90% of the seed labels, whose precision is 80-84%), and its errors follow
/// the seeds'. A classifier over the SIF and LSA features, which encode how
/// the whole corpus uses each word, draws a smoother boundary from the same
/// labels and corrects part of them
/// (docs/defaults.md#seed-feature-classifier).
pub fn feature_head(
    z: &[f32],
    d: usize,
    probs: &[f32],
    k: usize,
    cfg: &WeakConfig,
    head_cfg: &crate::cluster::head::HeadConfig,
    threads: Threads,
) -> (Linear<f32>, Vec<f32>) {
    let n = probs.len() / k.max(1);
    assert_eq!(z.len(), n * d, "z is (N, d)");
    let mut probs = probs.to_vec();
    let mut out = None;
    for _ in 0..cfg.feature_rounds.max(1) {
        let targets = confident_targets(&probs, k, cfg.confident_fraction);
        let (rows, labels): (Vec<usize>, Vec<usize>) = targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|c| (i, c)))
            .unzip();
        let sub: Vec<f32> = rows
            .iter()
            .flat_map(|&i| z[i * d..(i + 1) * d].iter().copied())
            .collect();
        let (head, _, _) = crate::cluster::head::fit(&sub, d, &labels, k, head_cfg, threads);
        let mut logits = Vec::new();
        head.forward(z, n, &mut logits, threads);
        probs.clone_from(&logits);
        crate::rows::softmax_rows(&mut probs, k);
        out = Some((head, logits));
    }
    out.expect("at least one round")
}

/// The final class probabilities `(N, K)`: softmax of the feature
/// classifier's logits plus `rnn_share` times the RNN classifier's
/// log-probabilities (a product of the two, the RNN's flattened).
pub fn combine(rnn_probs: &[f32], feature_logits: &[f32], k: usize, rnn_share: f64) -> Vec<f32> {
    assert_eq!(rnn_probs.len(), feature_logits.len(), "both (N, K)");
    let share = rnn_share as f32;
    let mut p: Vec<f32> = feature_logits
        .iter()
        .zip(rnn_probs)
        .map(|(&l, &r)| l + share * r.max(1e-30).ln())
        .collect();
    crate::rows::softmax_rows(&mut p, k);
    p
}

/// Share of the seed-labeled texts whose argmax under `probs` is their seed label.
fn agreement(probs: &[f32], seed: &[Option<usize>], k: usize) -> f64 {
    let (labels, _) = crate::rows::argmax_rows(probs, k);
    let (same, total) = seed
        .iter()
        .zip(&labels)
        .filter_map(|(s, &l)| s.map(|c| c == l))
        .fold((0usize, 0usize), |(s, t), ok| (s + usize::from(ok), t + 1));
    same as f64 / total.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn naive_bayes_em_spreads_seed_labels_to_cooccurring_words() {
        // Seeds label only the first text of each class; "gripping" and
        // "mess" then carry the classes to texts without a seed.
        let words: Vec<Vec<String>> = [
            "great gripping story",
            "gripping story and cast",
            "gripping cast",
            "awful mess of a plot",
            "a mess of a plot",
            "mess plot",
        ]
        .iter()
        .map(|s| w(s))
        .collect();
        let seed = [Some(0), None, None, Some(1), None, None];
        let post = naive_bayes_em(&words, &seed, 2, &WeakConfig::default());
        for i in 0..6 {
            let want = usize::from(i >= 3);
            assert!(
                post[i * 2 + want] > 0.5,
                "text {i}: {:?}",
                &post[i * 2..i * 2 + 2]
            );
        }
    }

    #[test]
    fn confident_targets_keep_the_top_share_of_each_class() {
        let probs = [0.9, 0.1, 0.6, 0.4, 0.2, 0.8, 0.45, 0.55];
        let t = confident_targets(&probs, 2, 0.5);
        assert_eq!(t, vec![Some(0), None, Some(1), None]);
        assert_eq!(
            confident_targets(&probs, 2, 1.0),
            vec![Some(0), Some(0), Some(1), Some(1)]
        );
    }

    #[test]
    fn combine_multiplies_the_rnn_flattened_by_its_share() {
        // Text 0: the RNN is sure of class 0, the features lean to class 1.
        let rnn = [0.9, 0.1];
        let logits = [0.0, 1.5];
        let p = |share| combine(&rnn, &logits, 2, share);
        let alone = p(0.0);
        assert!(
            (alone[1] - 1.0 / (1.0 + (-1.5f32).exp())).abs() < 1e-6,
            "{alone:?}"
        );
        // ln 9 = 2.197 against 1.5: at share 0.5 the features win, at 1 the RNN does.
        assert!(p(0.5)[1] > 0.5 && p(1.0)[0] > 0.5);
        assert!((p(1.0).iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn feature_head_corrects_the_unsure_labels_it_is_given() {
        // Two well separated groups on the first axis; the labels handed in
        // are wrong for every fifth text, but with low confidence, so the
        // confident half of each class holds none of them.
        let mut rng = Rng::new(3);
        let n = 200;
        let mut z = Vec::new();
        let mut probs = Vec::new();
        for i in 0..n {
            let c = i % 2;
            z.push(if c == 0 { 1.0 } else { -1.0 } + 0.3 * rng.normal() as f32);
            z.push(rng.normal() as f32);
            let (label, p) = if i % 5 == 0 { (1 - c, 0.55) } else { (c, 0.9) };
            let mut row = [1.0 - p, 1.0 - p];
            row[label] = p;
            probs.extend(row);
        }
        let cfg = WeakConfig::default();
        let head_cfg = crate::cluster::head::HeadConfig::shipped();
        let (head, logits) = feature_head(&z, 2, &probs, 2, &cfg, &head_cfg, Threads::One);
        assert_eq!((head.input_dim(), head.output_dim()), (2, 2));
        let (labels, _) = crate::rows::argmax_rows(&logits, 2);
        let right = labels
            .iter()
            .enumerate()
            .filter(|&(i, &l)| l == i % 2)
            .count();
        assert!(right >= 195, "{right} of {n}");
    }
}

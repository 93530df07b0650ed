//! Training, as a sequence of named stages:
//!
//! analyze (tokenize once, three views) -> seed words (when given) ->
//! vocabulary -> features (TF-IDF, corpus word vectors) -> encoder
//! (contrastive training) -> represent (`[SIF ; RNN ; LSA]`) -> partition
//! (k-means with the graph step) or seed classes -> assigner (the cluster
//! classifier that `predict` uses too) -> describe (names, top terms,
//! examples).
//!
//! Each stage is one function; [`Model::fit`] calls them in order. Labels
//! never enter.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::assign::{assign, Assigner};
use super::config::{FeatureWeights, ModelConfig};
use super::partition::{partition, Partition};
use super::represent::{lsa_block, rnn_block, Blocks};
use super::tokens::{lexical_terms, rnn_tokens};
use super::{experimental, ClusterInfo, FitError, Fitted, Manifest, Model};
use crate::cluster::calibrate;
use crate::cluster::graph::GraphLog;
use crate::cluster::head::{self, HeadConfig, HeadLog};
use crate::cluster::KMeansError;
use crate::features::{truncated_svd_full, Csr, Tfidf, TfidfConfig, WordVectors};
use crate::learn::seeds::SeedRole;
use crate::learn::weak::WeakLog;
use crate::learn::{train_contrastive, Progress, Stage, TrainConfig};
use crate::nn::encoder::Encoder;
use crate::nn::gemm::Threads;
use crate::rows::{argmax_rows, class_means};
use crate::vocab::Vocab;

type Docs = Vec<Vec<String>>;

/// The training texts, tokenized once into the three views the stages read.
struct Analyzed {
    /// The pipeline's token strings (seed matching).
    tokens: Docs,
    /// What the RNN reads ([`rnn_tokens`]).
    rnn: Docs,
    /// TF-IDF terms (SIF, LSA, the lexical classifier, descriptions).
    words: Docs,
    /// The TF-IDF settings resolved for this corpus.
    tfidf: TfidfConfig,
}

/// Seed words' pseudo-labels: the number of classes, each text's label,
/// and what matching found.
type SeedLabels = (usize, Vec<Option<usize>>, WeakLog);

/// The bag-of-words features of the training texts.
struct Features {
    tfidf: Tfidf,
    /// TF-IDF rows of the training texts.
    x: Csr,
    wordvec: WordVectors,
    /// The SIF block of the training texts.
    sif: Vec<f32>,
}

/// The fixed blocks of the training texts' representation and what makes
/// the rest: the RNN block is recomputed whenever the encoder changes.
pub(crate) struct Space<'a> {
    pub cfg: &'a ModelConfig,
    pub seqs: &'a [Vec<u32>],
    pub sif: &'a [f32],
    pub lsa: &'a [f32],
    /// The RNN block's width.
    pub d: usize,
    /// The representation's width.
    pub dim: usize,
    pub n: usize,
    pub max_len: usize,
    pub threads: Threads,
}

impl Space<'_> {
    /// The RNN block of the training texts under `enc`.
    pub fn encode(&self, enc: &Encoder<f32>) -> Vec<f32> {
        let prepared = crate::learn::prepare_for(enc, self.seqs, self.max_len, self.threads);
        rnn_block(
            enc,
            self.seqs,
            self.max_len,
            prepared.as_ref(),
            self.threads,
        )
    }

    /// The representation `(N, dim)` with RNN block `r` and shares `w`.
    pub fn join(&self, r: &[f32], w: FeatureWeights) -> Vec<f32> {
        let blocks = Blocks {
            sif: self.sif,
            rnn: r,
            lsa: self.lsa,
        };
        blocks.join(self.cfg, self.d, w, self.n)
    }

    /// The representation's column blocks [SIF, RNN, LSA]: width, and
    /// whether the shares `w` keep it.
    pub fn widths(&self, w: FeatureWeights) -> [(usize, bool); 3] {
        self.cfg.block_widths(self.d, w)
    }
}

/// What the partition-and-assign stages hand to describe and the manifest.
#[derive(Default)]
pub(crate) struct Logs {
    pub k_choice: Option<crate::cluster::select::KChoice>,
    pub weight_selection: Vec<(FeatureWeights, f64)>,
    pub graph: Option<GraphLog>,
    pub cluster_head: Option<HeadLog>,
    pub lexical_head: Option<HeadLog>,
    pub weak: Option<WeakLog>,
    pub dec: Option<crate::learn::dec::DecLog>,
    pub calibration: Option<crate::cluster::calibrate::Calibration>,
}

/// The outcome of the classes stages.
struct Classes {
    k: usize,
    weights: FeatureWeights,
    centroids: Vec<f32>,
    labels: Vec<usize>,
    scores: Vec<f32>,
    assigner: Assigner,
    /// Cluster names the classes stages decide (seed classes), by cluster.
    names: Vec<Option<String>>,
    /// What the seed words decided, when given.
    seed_role: SeedRole,
}

impl Classes {
    /// Reorder the clusters: cluster `j` becomes the old cluster `order[j]`.
    fn reorder(&mut self, order: &[usize], dim: usize) {
        let mut new_id = vec![0; order.len()];
        for (j, &o) in order.iter().enumerate() {
            new_id[o] = j;
        }
        self.labels.iter_mut().for_each(|l| *l = new_id[*l]);
        let c = &self.centroids;
        self.centroids = (order.iter())
            .flat_map(|&o| c[o * dim..(o + 1) * dim].iter().copied())
            .collect();
        match &mut self.assigner {
            Assigner::Classifier { linear, lexical } => {
                linear.reorder_outputs(order);
                if let Some((_, lex)) = lexical {
                    let mut l = lex.linear.clone();
                    l.reorder_outputs(order);
                    *lex = head::Lexical::new(l);
                }
            }
            Assigner::Seeded { rnn, features } => {
                rnn.reorder_outputs(order);
                if let Some(f) = features {
                    f.reorder_outputs(order);
                }
            }
            Assigner::NearestCentroid => {}
        }
    }
}

/// Fail before any training when `texts` cannot make `k` clusters: fewer
/// texts than `k` (at least 2), or, without seed words, fewer distinct texts
/// than `k` (identical texts get identical representations).
pub fn check_clusterable(texts: &[&str], k: usize, seeded: bool) -> Result<(), KMeansError> {
    if texts.len() < k.max(2) {
        return Err(KMeansError::TooFewPoints {
            k: k.max(2),
            n: texts.len(),
        });
    }
    let distinct = texts.iter().collect::<std::collections::HashSet<_>>().len();
    if !seeded && distinct < k {
        return Err(KMeansError::TooFewDistinct { k, distinct });
    }
    Ok(())
}

impl Model {
    /// Train on `texts` (labels never enter).
    pub fn fit(
        texts: &[&str],
        cfg: &ModelConfig,
        threads: Threads,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Fitted, FitError> {
        let t0 = std::time::Instant::now();
        let mark = |stage: Stage, progress: &mut dyn FnMut(Progress)| {
            tracing::info!(
                stage = stage.name(),
                elapsed_s = t0.elapsed().as_secs_f64(),
                "training stage"
            );
            progress(Progress::start(stage));
        };
        mark(Stage::Tokenize, progress);
        let an = analyze(texts, cfg);
        // Seed words are matched before any training, so a seed set that
        // matches nothing fails at once.
        let seeded = seed_labels(cfg, &an.tokens)?;
        mark(Stage::Features, progress);
        let (vocab, seqs) = vocabulary(cfg, &an.rnn)?;
        let feats = features(cfg, &an);
        let seeded = seeded.map(|s| expand_seeds(cfg, &an, &feats.wordvec, s));
        let mut train_cfg = cfg.train.clone();
        train_cfg.encoder.vocab = vocab.len();
        let init = embedding_init(cfg, &an, &feats.wordvec, &vocab, &train_cfg);
        mark(Stage::Train, progress);
        let trained = train_contrastive(&seqs, &train_cfg, init.as_deref(), threads, progress)?;
        let (mut encoder, log, steps) = trained;
        mark(Stage::Represent, progress);
        let (lsa_rows, lsa) = lsa_stage(cfg, &feats, texts.len());
        let d = encoder.config.output_dim();
        let space = Space {
            cfg,
            seqs: &seqs,
            sif: &feats.sif,
            lsa: &lsa_rows,
            d,
            dim: cfg.wordvec_dims + d + cfg.lsa_dims,
            n: texts.len(),
            max_len: train_cfg.max_len,
            threads,
        };
        mark(Stage::Cluster, progress);
        let mut logs = Logs::default();
        let classes = match seeded {
            Some(seeded) => seeded_classes(
                &space,
                &mut encoder,
                &an,
                seeded,
                &train_cfg,
                &mut logs,
                progress,
            )?,
            None => clusters(&space, &mut encoder, &an, &train_cfg, &mut logs)?,
        };
        mark(Stage::Describe, progress);
        let clusters = describe(texts, &an, &classes, cfg);
        let manifest = Manifest {
            format: "textrnn-model".into(),
            version: super::UNEDITED_FORMAT_VERSION,
            config: ModelConfig {
                train: train_cfg,
                k: classes.k,
                weights: classes.weights,
                seed_role: classes.seed_role,
                ..cfg.clone()
            },
            profile: None,
            text_field: None,
            input_format: None,
            training: log,
            training_steps: steps,
            clusters,
            k_selection: (logs.k_choice.iter())
                .flat_map(|c| c.scores.iter().map(|s| (s.k, s.score)))
                .collect(),
            k_choice: logs.k_choice,
            selection: Vec::new(),
            weight_selection: logs.weight_selection,
            graph: logs.graph,
            cluster_head: logs.cluster_head,
            lexical_head: logs.lexical_head,
            weak: logs.weak,
            dec: logs.dec,
            calibration: logs.calibration,
            edits: Vec::new(),
            updates: Vec::new(),
            files: BTreeMap::new(),
        };
        let mut model = Model {
            manifest,
            vocab,
            encoder,
            tfidf: feats.tfidf,
            lsa,
            wordvec: feats.wordvec,
            centroids: classes.centroids,
            assigner: classes.assigner,
            base_centroids: None,
            splits: Vec::new(),
            prepared: std::sync::OnceLock::new(),
        };
        // The same floor `predict` gives a text the model cannot read, and
        // the share of known terms below which a text is unusual.
        let known: Vec<(u32, f32)> = an.words.iter().map(|w| model.known_terms(w)).collect();
        let usual = vec![false; known.len()];
        let pred = model.flag(classes.labels, classes.scores, &known, &usual);
        if let Some(cal) = model.manifest.calibration.as_mut() {
            let shares: Vec<f32> = known.iter().map(|&(_, s)| s).collect();
            cal.min_known_share = calibrate::quantile(&shares, calibrate::FAR_QUANTILE);
        }
        Ok(Fitted {
            model,
            labels: pred.labels,
            scores: pred.scores,
        })
    }
}

/// Stage: tokenize every text once (in parallel) into the three views.
fn analyze(texts: &[&str], cfg: &ModelConfig) -> Analyzed {
    let tfidf = Tfidf::resolve_config(&cfg.tfidf, texts);
    let (tokens, (rnn, words)): (Docs, (Docs, Docs)) = texts
        .par_iter()
        .map(|t| {
            let tokens = cfg.pipeline.tokenize(t);
            let strings = tokens.iter().map(|tk| tk.text.clone()).collect();
            let rnn = rnn_tokens(&tokens, cfg.rnn_han_chars);
            (strings, (rnn, Tfidf::terms_of(&tfidf, tokens)))
        })
        .unzip();
    Analyzed {
        tokens,
        rnn,
        words,
        tfidf,
    }
}

/// Stage: the seed words' pseudo-labels, when seed words are given.
fn seed_labels(cfg: &ModelConfig, tokens: &Docs) -> Result<Option<SeedLabels>, FitError> {
    let Some(seeds) = &cfg.seeds else {
        return Ok(None);
    };
    let matcher = crate::learn::seeds::Matcher::new(seeds, &cfg.pipeline);
    let (seed, wlog) = crate::learn::weak::seed_labels(tokens, &matcher);
    if wlog.seed_labeled == 0 {
        return Err(FitError::NoSeedMatch);
    }
    tracing::info!(
        matched = wlog.matched,
        labeled = wlog.seed_labeled,
        negated = wlog.negated,
        "seed words"
    );
    Ok(Some((seeds.classes.len(), seed, wlog)))
}

/// Stage: with seed expansion on, the words the corpus uses like each
/// class's seeds join them ([`crate::learn::expand`]), and the texts are
/// matched again.
fn expand_seeds(
    cfg: &ModelConfig,
    an: &Analyzed,
    wordvec: &WordVectors,
    labels: SeedLabels,
) -> SeedLabels {
    let Some(seeds) = cfg.seeds.as_ref().filter(|_| cfg.weak.expand) else {
        return labels;
    };
    let (k, before, _) = labels;
    let added = crate::learn::expand::expand(seeds, wordvec, &an.words, &before, &cfg.pipeline);
    let mut grown = seeds.clone();
    for (c, a) in grown.classes.iter_mut().zip(&added) {
        c.seeds.extend(a.iter().cloned());
    }
    let matcher = crate::learn::seeds::Matcher::new(&grown, &cfg.pipeline);
    let (seed, mut wlog) = crate::learn::weak::seed_labels(&an.tokens, &matcher);
    let labeled_before = before.iter().flatten().count();
    tracing::info!(
        added = added.iter().map(Vec::len).sum::<usize>(),
        labeled_before,
        labeled = wlog.seed_labeled,
        "seed expansion"
    );
    wlog.expansion = Some(crate::learn::weak::ExpansionLog {
        added,
        labeled_before,
    });
    (k, seed, wlog)
}

/// Stage: the RNN's vocabulary and each text's token ids.
fn vocabulary(cfg: &ModelConfig, rnn: &Docs) -> Result<(Vocab, Vec<Vec<u32>>), FitError> {
    let vocab = Vocab::build(rnn.iter().map(|d| d.iter().map(String::as_str)), &cfg.vocab);
    if vocab.is_empty() {
        return Err(if rnn.iter().all(|t| t.is_empty()) {
            FitError::NoTokens
        } else {
            FitError::RareTokens {
                min_count: cfg.vocab.min_count,
            }
        });
    }
    let seqs = rnn.iter().map(|d| vocab.encode(d)).collect();
    Ok((vocab, seqs))
}

/// Stage: TF-IDF and the corpus word vectors (with the SIF block).
fn features(cfg: &ModelConfig, an: &Analyzed) -> Features {
    let (tfidf, x) = Tfidf::fit_terms(&an.words, &cfg.pipeline, &an.tfidf);
    let (wordvec, sif) = if cfg.wordvec_dims > 0 {
        WordVectors::fit(
            &an.words,
            cfg.wordvec_dims,
            cfg.tfidf.min_df,
            cfg.train.seed,
        )
    } else {
        let (w, _) = WordVectors::fit(&[], 0, 1, 0);
        (w, Vec::new())
    };
    Features {
        tfidf,
        x,
        wordvec,
        sif,
    }
}

/// The RNN embedding's first rows: the corpus word vectors scaled to
/// N(0, 1)-like rows, when their size is the embedding's. When the RNN
/// reads Han words as characters, vectors of the same units: fitted the
/// same way over the characters of the SIF terms.
fn embedding_init(
    cfg: &ModelConfig,
    an: &Analyzed,
    wordvec: &WordVectors,
    vocab: &Vocab,
    train_cfg: &TrainConfig,
) -> Option<Vec<Option<Vec<f32>>>> {
    let e = train_cfg.encoder.embed;
    if cfg.wordvec_dims != e || cfg.wordvec_dims == 0 {
        return None;
    }
    let split = an
        .rnn
        .iter()
        .zip(&an.tokens)
        .any(|(r, t)| r.len() != t.len());
    let char_vectors = split.then(|| {
        let han =
            |w: &String| w.chars().nth(1).is_some() && w.chars().all(crate::text::segment::is_han);
        let chars: Docs = an
            .words
            .iter()
            .map(|d| {
                d.iter()
                    .flat_map(|w| {
                        if han(w) {
                            w.chars().map(String::from).collect()
                        } else {
                            vec![w.clone()]
                        }
                    })
                    .collect()
            })
            .collect();
        WordVectors::fit(&chars, cfg.wordvec_dims, cfg.tfidf.min_df, cfg.train.seed).0
    });
    let vectors = char_vectors.as_ref().unwrap_or(wordvec);
    let scale = (e as f32).sqrt();
    Some(
        (0..vocab.len())
            .map(|i| {
                vectors
                    .get(vocab.token(i as u32))
                    .map(|v| v.iter().map(|x| x * scale).collect::<Vec<f32>>())
            })
            .collect(),
    )
}

/// Stage: the LSA block of the training texts and the components that
/// make it. The training texts are projected exactly as new ones are
/// (x · V), not taken from the SVD's own U·S: the two differ by the
/// randomized SVD's residual, which put training texts and the same texts
/// predicted later in different clusters.
fn lsa_stage(cfg: &ModelConfig, feats: &Features, n: usize) -> (Vec<f32>, Vec<f32>) {
    if cfg.lsa_dims > 0 && !feats.tfidf.terms.is_empty() {
        let (_, _, comps) = truncated_svd_full(&feats.x, cfg.lsa_dims, 5, cfg.train.seed);
        (lsa_block(&feats.x, &comps, cfg.lsa_dims), comps)
    } else {
        (
            vec![0f32; n * cfg.lsa_dims],
            vec![0f32; feats.tfidf.terms.len() * cfg.lsa_dims],
        )
    }
}

/// Stages with seed words, by their role ([`SeedRole`]): cluster first
/// (roles `auto` and `name`) and keep the clusters, named by the seed
/// classes matched to them, when the seed labels agree with them enough;
/// else the seed classifier ([`seed_classes`]) from the encoder as it was.
fn seeded_classes(
    space: &Space,
    encoder: &mut Encoder<f32>,
    an: &Analyzed,
    (k, seed, mut wlog): SeedLabels,
    train_cfg: &TrainConfig,
    logs: &mut Logs,
    progress: &mut dyn FnMut(Progress),
) -> Result<Classes, FitError> {
    let cfg = space.cfg;
    if cfg.seed_role != SeedRole::Classify {
        let before = encoder.clone();
        let mut tried = Logs::default();
        // The clusters as a model that keeps them has them (the config
        // decides which classifiers assign clusters).
        let named = ModelConfig {
            seed_role: SeedRole::Name,
            ..cfg.clone()
        };
        let space = Space {
            cfg: &named,
            ..*space
        };
        // Agreement with the partition, before the classifiers that assign
        // the clusters are fitted (they keep 97-99% of it, and cost as much
        // as the seed classifier where the clusters are not kept).
        let parted = partitioned(&space, encoder, train_cfg, &mut tried)?;
        let (agreement, class_of) = seed_agreement(&seed, &parted.part.labels, k);
        tracing::info!(agreement, "seed labels against the clusters");
        wlog.cluster_agreement = Some(agreement);
        if cfg.seed_role == SeedRole::Name || agreement >= cfg.weak.name_agreement {
            let mut classes = assigned(&space, parted, an, &mut tried);
            // Cluster i becomes the one matched to seed class i, so ids
            // follow the seed file's order as a seed classifier's do.
            let order: Vec<usize> = (0..k)
                .map(|c| {
                    class_of
                        .iter()
                        .position(|&m| m == c)
                        .expect("a permutation")
                })
                .collect();
            classes.reorder(&order, space.dim);
            classes.names = (cfg.seeds.iter())
                .flat_map(|s| s.classes.iter().map(|c| Some(c.name.clone())))
                .collect();
            classes.seed_role = SeedRole::Name;
            *logs = Logs {
                weak: Some(wlog),
                ..tried
            };
            return Ok(classes);
        }
        *encoder = before;
    }
    seed_classes(
        space,
        encoder,
        &an.words,
        (k, seed, wlog),
        train_cfg,
        logs,
        progress,
    )
}

/// How well seed labels agree with clusters: the share of seed-labeled
/// texts whose cluster is matched to their class under the best one-to-one
/// matching of clusters to classes (Kuhn-Munkres), and each cluster's class.
fn seed_agreement(seed: &[Option<usize>], clusters: &[usize], k: usize) -> (f64, Vec<usize>) {
    let mut table = vec![vec![0u64; k]; k];
    for (s, &c) in seed.iter().zip(clusters) {
        if let Some(s) = *s {
            table[c][s] += 1;
        }
    }
    (
        crate::eval::metrics::acc(&table),
        crate::eval::metrics::matching(&table),
    )
}

/// Stages with seed words that decide the classes: the RNN classifier
/// self-trains from the seed labels, then (by default) the feature
/// classifier joins it.
fn seed_classes(
    space: &Space,
    encoder: &mut Encoder<f32>,
    words: &Docs,
    (k, seed, mut wlog): SeedLabels,
    train_cfg: &TrainConfig,
    logs: &mut Logs,
    progress: &mut dyn FnMut(Progress),
) -> Result<Classes, FitError> {
    let cfg = space.cfg;
    let (rnn, probs) = crate::learn::weak::self_train(
        encoder,
        space.seqs,
        words,
        &seed,
        k,
        train_cfg,
        &cfg.weak,
        &mut wlog,
        space.threads,
        progress,
    )?;
    let w = cfg.weights;
    let z = space.join(&space.encode(encoder), w);
    let (features, probs) = if cfg.seeded_feature_head() {
        let (fh, both) = feature_classifier(space, &z, &probs, k, &mut wlog);
        (Some(fh), both)
    } else {
        (None, probs)
    };
    let (labels, scores) = argmax_rows(&probs, k);
    logs.weak = Some(wlog);
    Ok(Classes {
        k,
        weights: w,
        centroids: class_means(&z, space.dim, &labels, k),
        labels,
        scores,
        assigner: Assigner::Seeded { rnn, features },
        names: (cfg.seeds.iter())
            .flat_map(|s| s.classes.iter().map(|c| Some(c.name.clone())))
            .collect(),
        seed_role: SeedRole::Classify,
    })
}

/// The seed-word model's feature classifier over `z` with the RNN block
/// zeroed (its weights on those columns stay 0, so at predict time the
/// full `z` gives the same logits), trained on the RNN classifier's
/// confident labels; returns it and the combined probabilities.
fn feature_classifier(
    space: &Space,
    z: &[f32],
    probs: &[f32],
    k: usize,
    wlog: &mut WeakLog,
) -> (crate::nn::linear::Linear<f32>, Vec<f32>) {
    let (cfg, dim) = (space.cfg, space.dim);
    let mut zf = z.to_vec();
    zf.chunks_mut(dim).for_each(|row| {
        row[cfg.wordvec_dims..cfg.wordvec_dims + space.d].fill(0.0);
    });
    // Class weights (N / (K N_c))^0.5, half the cluster classifier's
    // exponent: unweighted, the self-training rounds amplify a skew in the
    // RNN's labels; fully weighted, they pull unequal seed classes toward
    // equal sizes (docs/quality.md).
    let head_cfg = HeadConfig {
        balance: 0.5,
        ..cfg.cluster_head
    };
    let (fh, logits) =
        crate::learn::weak::feature_head(&zf, dim, probs, k, &cfg.weak, &head_cfg, space.threads);
    let both = crate::learn::weak::combine(probs, &logits, k, cfg.weak.rnn_share);
    let (alone, _) = argmax_rows(probs, k);
    let (now, _) = argmax_rows(&both, k);
    let same = alone.iter().zip(&now).filter(|(a, b)| a == b).count();
    wlog.feature_agreement = Some(same as f64 / space.n.max(1) as f64);
    (fh, both)
}

/// Stages without seed words: choose k (with `--k auto`), partition, then
/// fit the assigner on the partition.
fn clusters(
    space: &Space,
    encoder: &mut Encoder<f32>,
    an: &Analyzed,
    train_cfg: &TrainConfig,
    logs: &mut Logs,
) -> Result<Classes, FitError> {
    let parted = partitioned(space, encoder, train_cfg, logs)?;
    Ok(assigned(space, parted, an, logs))
}

/// The representation, partition, k and block shares the clustering found.
struct Parted {
    z: Vec<f32>,
    part: Partition,
    k: usize,
    w: FeatureWeights,
}

/// Choose k (with `--k auto`) and the shares (with `--weights auto`), and
/// partition the representation.
fn partitioned(
    space: &Space,
    encoder: &mut Encoder<f32>,
    train_cfg: &TrainConfig,
    logs: &mut Logs,
) -> Result<Parted, FitError> {
    let cfg = space.cfg;
    let r = space.encode(encoder);
    let mut w = cfg.weights;
    let mut z = space.join(&r, w);
    let k = match cfg.k_auto {
        Some((lo, hi)) => {
            let choice =
                crate::cluster::select::choose_k(&z, &space.widths(w), lo, hi, cfg.train.seed)?;
            tracing::info!(
                k = choice.k,
                runner_up = choice.runner_up,
                margin = choice.margin,
                clear = choice.clear,
                at_edge = choice.at_edge,
                "k chosen"
            );
            let k = choice.k;
            logs.k_choice = Some(choice);
            k
        }
        None => cfg.k,
    };
    if cfg.weights_auto && cfg.lsa_dims > 0 {
        let (chosen, evidence) = experimental::choose_weights(space, &r, w, k)?;
        w = chosen;
        logs.weight_selection = evidence;
        z = space.join(&r, w);
    }
    let mut part = partition(&z, space.dim, k, cfg, space.threads)?;
    if cfg.self_train_rounds > 0 || cfg.neighbor_rounds > 0 || cfg.dec.enabled() {
        (z, part) = experimental::refine(space, encoder, z, part, k, w, train_cfg, logs)?;
    }
    Ok(Parted { z, part, k, w })
}

/// The partition's classes: the assigner fitted on it.
fn assigned(space: &Space, parted: Parted, an: &Analyzed, logs: &mut Logs) -> Classes {
    let Parted { z, part, k, w } = parted;
    let (centroids, labels, scores, assigner) = fit_assigner(space, &z, part, k, w, an, logs);
    Classes {
        k,
        weights: w,
        centroids,
        labels,
        scores,
        assigner,
        names: Vec::new(),
        seed_role: space.cfg.seed_role,
    }
}

/// Stage: the rule that assigns texts, fitted on the partition: the
/// cluster classifier with its lexical partner (co-trained), or, with the
/// classifier off, the nearest centroid. Returns the centroids, each
/// training text's cluster and score as the rule gives them, and the rule.
fn fit_assigner(
    space: &Space,
    z: &[f32],
    part: Partition,
    k: usize,
    w: FeatureWeights,
    an: &Analyzed,
    logs: &mut Logs,
) -> (Vec<f32>, Vec<usize>, Vec<f32>, Assigner) {
    let (cfg, dim, threads) = (space.cfg, space.dim, space.threads);
    logs.graph = part.log.clone();
    if !cfg.cluster_head.enabled() {
        let (labels, scores) = assign(z, dim, &part.centroids);
        return (part.centroids, labels, scores, Assigner::NearestCentroid);
    }
    let (linear, hlog, lexical, (labels, _)) = if cfg.lexical_classifier() {
        let grams: Docs = an.words.par_iter().map(|d| lexical_terms(d)).collect();
        let (lt, lx) = Tfidf::fit_terms(&grams, &cfg.pipeline, &an.tfidf);
        // Held-out refits only where the graph is not trusted: there the
        // partition is close to k-means' cells, whose errors classifiers
        // that did not see a text correct; a trusted graph drew boundaries
        // no linear classifier over `z` holds, and refits on subsets wear
        // them away (docs/quality.md).
        let trusted = (logs.graph.as_ref())
            .and_then(|l| l.agreement)
            .is_some_and(|a| cfg.graph.trusts(a));
        let head_cfg = HeadConfig {
            holdout: if trusted {
                0.0
            } else {
                cfg.cluster_head.holdout
            },
            ..cfg.cluster_head
        };
        let (h, hlog, lex, llog, pred) = head::fit_pair(
            z,
            dim,
            &lx,
            &part.labels,
            k,
            &head_cfg,
            cfg.train.seed,
            threads,
        );
        tracing::info!(
            iterations = llog.iterations,
            agreement = llog.agreement,
            moved = ?llog.moved,
            "lexical classifier"
        );
        logs.lexical_head = Some(llog);
        (h, hlog, Some((lt, lex, lx)), pred)
    } else {
        let (h, hlog, pred) = head::fit(z, dim, &part.labels, k, &cfg.cluster_head, threads);
        (h, hlog, None, pred)
    };
    tracing::info!(
        iterations = hlog.iterations,
        agreement = hlog.agreement,
        "cluster classifier"
    );
    logs.cluster_head = Some(hlog);
    let centroids = class_means(z, dim, &labels, k);
    // Scores as probabilities: one temperature fitted to how often other
    // clusterings agree with each text's cluster (cluster::calibrate);
    // clusters do not change.
    let (cal, scores) = calibrate::calibrate(
        &linear,
        lexical.as_ref().map(|(_, l, x)| (l, x)),
        z,
        &space.widths(w),
        &labels,
        &centroids,
        cfg.train.seed,
        threads,
    );
    tracing::info!(
        temperature = cal.temperature,
        consensus = cal.consensus,
        mean_score_raw = cal.mean_score_raw,
        mean_score = cal.mean_score,
        "calibration"
    );
    logs.calibration = Some(cal);
    let lexical = lexical.map(|(t, l, _)| (t, l));
    (
        centroids,
        labels,
        scores,
        Assigner::Classifier { linear, lexical },
    )
}

/// Stage: each cluster's size, name, top terms and most representative texts.
fn describe(
    texts: &[&str],
    an: &Analyzed,
    classes: &Classes,
    cfg: &ModelConfig,
) -> Vec<ClusterInfo> {
    let terms = super::clusters::describing_terms(cfg, &an.tokens, &an.words);
    super::clusters::describe_with(
        texts,
        &terms,
        &classes.labels,
        &classes.scores,
        classes.k,
        cfg.describe.min_term_freq,
        &classes.names,
    )
}

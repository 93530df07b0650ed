//! Every setting that decides a model besides the corpus, and the one place
//! that decides their defaults: [`ModelConfig::new`] for the fixed ones and
//! [`ModelConfig::for_corpus`] for those that depend on the corpus (read
//! into a [`CorpusProfile`]). The CLI, the demo and library users all get
//! their defaults from here; why each default is what it is, with the
//! measurements, is in `docs/quality.md`.

use serde::{Deserialize, Serialize};

use crate::cluster::graph::GraphConfig;
use crate::cluster::head::HeadConfig;
use crate::describe::DescribeConfig;
use crate::features::TfidfConfig;
use crate::learn::TrainConfig;
use crate::text::TextPipeline;
use crate::vocab::VocabConfig;

/// The range of k that `k_auto` searches unless told otherwise (`--k-min`,
/// `--k-max`; the Python package's `k_min`, `k_max`).
pub const K_AUTO_RANGE: (usize, usize) = (2, 20);

/// Everything that decides a model besides the corpus. Unknown fields are
/// refused when a model loads: a setting this version does not know (from a
/// newer textrnn, or a damaged key) would otherwise be dropped silently and
/// the model would run differently from how it was trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Number of clusters (with `k_auto`, the chosen one once trained).
    pub k: usize,
    /// Choose k in this inclusive range by view agreement instead (`cluster::select`).
    #[serde(default)]
    pub k_auto: Option<(usize, usize)>,
    /// Text pipeline.
    pub pipeline: TextPipeline,
    /// Vocabulary limits.
    pub vocab: VocabConfig,
    /// Contrastive training of the encoder.
    pub train: TrainConfig,
    /// TF-IDF settings of the LSA half.
    pub tfidf: TfidfConfig,
    /// LSA dimensions (0: none).
    pub lsa_dims: usize,
    /// Corpus word-vector (PPMI + SVD) dimensions for the SIF block (0: none).
    /// When equal to the embedding size, they also initialize the RNN's embedding.
    pub wordvec_dims: usize,
    /// Shares of the squared distance: SIF word vectors, RNN, LSA (with
    /// `weights_auto`, the chosen ones once trained).
    pub weights: FeatureWeights,
    /// Choose the LSA share by consensus (see `model::experimental::choose_weights`).
    #[serde(default)]
    pub weights_auto: bool,
    /// k-means restarts.
    pub n_init: usize,
    /// Self-training rounds after the first clustering (0: none).
    #[serde(default)]
    pub self_train_rounds: usize,
    /// Fraction of each cluster's most confident texts used as pseudo-labels.
    #[serde(default = "default_confident")]
    pub self_train_fraction: f64,
    /// Neighbour rounds after the first partition: the encoder is
    /// fine-tuned with each text's nearest neighbours as positives
    /// ([`crate::learn::neighbors`]) and the texts re-clustered. Not
    /// written at 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub neighbor_rounds: usize,
    /// Seed words per class: weak supervision instead of clustering (k = classes).
    #[serde(default)]
    pub seeds: Option<crate::learn::seeds::SeedSet>,
    /// With seed words: whether they decide the classes or name the
    /// clusters (`auto` until trained, and not written; a seed-word model
    /// without it, saved before the choice existed, classifies).
    #[serde(
        default,
        skip_serializing_if = "crate::learn::seeds::SeedRole::is_auto"
    )]
    pub seed_role: crate::learn::seeds::SeedRole,
    /// Settings of the weak supervision from seed words.
    #[serde(default)]
    pub weak: crate::learn::weak::WeakConfig,
    /// The k-NN graph step before k-means (off in models saved before it existed).
    #[serde(default)]
    pub graph: GraphConfig,
    /// The softmax classifier that learns the clusters' boundaries, which
    /// `predict` uses (off in models saved before it existed: nearest centroid).
    #[serde(default)]
    pub cluster_head: HeadConfig,
    /// The RNN reads Chinese (Han) words as their single characters, while
    /// the SIF and LSA blocks and seed matching keep the pipeline's words
    /// (off in models saved before it existed; `textrnn train` turns it on
    /// when most texts are Chinese, their words are sparse
    /// ([`CorpusProfile::sparse_chinese`]) and no seed words are
    /// given). See
    /// [`super::rnn_tokens`].
    #[serde(default)]
    pub rnn_han_chars: bool,
    /// DEC refinement of the partition together with the encoder (see
    /// [`crate::learn::dec`]); off, and then not written, by default.
    #[serde(default, skip_serializing_if = "crate::learn::dec::DecConfig::is_off")]
    pub dec: crate::learn::dec::DecConfig,
    /// Which terms describe and name the clusters (models saved before it
    /// existed load with the defaults).
    #[serde(default)]
    pub describe: DescribeConfig,
    /// Above this many texts, the partition is found on a random sample of
    /// this many and carried to the others by a classifier
    /// ([`super::partition::partition`]); 0: always on all texts. The
    /// default, 50,000, is above every shared corpus, so their results are
    /// those of the whole corpus; what a sample costs by its size is in
    /// docs/train.md. Not written at the default (builds before it read the
    /// model; it decides training only).
    #[serde(
        default = "default_cluster_sample",
        skip_serializing_if = "is_default_cluster_sample"
    )]
    pub cluster_sample: usize,
}

impl ModelConfig {
    /// The shipped defaults (those of `textrnn train`): a bidirectional GRU,
    /// hidden 128, embedding 100 seeded by 100-dimensional corpus word vectors,
    /// 2 epochs of contrastive training, 100 LSA dimensions, block shares
    /// SIF 1, RNN 0.5, LSA 0.5 (the best fixed shares over eight corpora;
    /// `textrnn train` uses [`FeatureWeights::defaults`] for its corpus, see
    /// [`CorpusProfile::sparse_chinese`]).
    pub fn new(k: usize, seed: u64) -> ModelConfig {
        use crate::nn::encoder::EncoderConfig;
        ModelConfig {
            k,
            k_auto: None,
            pipeline: TextPipeline::default(),
            vocab: VocabConfig {
                min_count: 2,
                max_size: 50_000,
            },
            train: TrainConfig {
                encoder: EncoderConfig {
                    vocab: 0,
                    embed: 100,
                    hidden: 128,
                    layers: 1,
                    bidirectional: true,
                    cell: crate::nn::rnn::Cell::Gru,
                    pooling: crate::nn::pool::Pooling::Mean,
                    dropout: 0.1,
                },
                max_len: 64,
                batch_size: 128,
                epochs: 2,
                lr: 5e-4,
                weight_decay: 0.01,
                l1: 0.0,
                warmup_fraction: 0.05,
                clip: 5.0,
                temperature: 0.5,
                augment: crate::learn::AugmentConfig::default(),
                val_fraction: 0.05,
                patience: 2,
                seed,
                max_recoveries: 5,
                checkpoint: None,
                fault_nan_at: Vec::new(),
                objective: crate::learn::Objective::Contrastive,
                decay: crate::learn::Decay::Cosine,
            },
            tfidf: TfidfConfig::default(),
            lsa_dims: 100,
            wordvec_dims: 100,
            weights: FeatureWeights {
                sif: 1.0,
                rnn: 0.5,
                lsa: 0.5,
            },
            weights_auto: false,
            n_init: 10,
            self_train_rounds: 0,
            self_train_fraction: 0.5,
            neighbor_rounds: 0,
            seeds: None,
            seed_role: crate::learn::seeds::SeedRole::Auto,
            rnn_han_chars: false,
            weak: crate::learn::weak::WeakConfig::default(),
            graph: GraphConfig::shipped(),
            cluster_head: HeadConfig::shipped(),
            dec: crate::learn::dec::DecConfig::off(),
            describe: DescribeConfig::default(),
            cluster_sample: default_cluster_sample(),
        }
    }

    /// The representation's column blocks `[SIF, RNN, LSA]` for an RNN of
    /// output width `d`: width, and whether the shares `w` keep it.
    pub fn block_widths(&self, d: usize, w: FeatureWeights) -> [(usize, bool); 3] {
        [
            (self.wordvec_dims, w.sif > 0.0),
            (d, w.rnn > 0.0),
            (self.lsa_dims, w.lsa > 0.0),
        ]
    }

    /// Whether a model of this config has the lexical classifier: clusters
    /// (not seed words) assigned by the cluster classifier, with the lexical
    /// one switched on. Training and loading both ask this.
    pub fn lexical_classifier(&self) -> bool {
        !self.seed_classifier() && self.cluster_head.enabled() && self.cluster_head.lexical
    }

    /// Whether the seed classifier decides the classes: seed words given
    /// and not only naming the clusters ([`crate::learn::seeds::SeedRole`];
    /// `auto` in a saved model is one from before the choice existed).
    pub fn seed_classifier(&self) -> bool {
        self.seeds.is_some() && self.seed_role != crate::learn::seeds::SeedRole::Name
    }

    /// Whether a seed-word model has the feature classifier beside its RNN
    /// classifier (see [`crate::learn::weak::feature_head`]).
    pub fn seeded_feature_head(&self) -> bool {
        self.seed_classifier()
            && self.weak.feature_rounds > 0
            && self.cluster_head.enabled()
            && ((self.wordvec_dims > 0 && self.weights.sif > 0.0)
                || (self.lsa_dims > 0 && self.weights.lsa > 0.0))
    }
}

/// Descriptions leave out the built-in stop words and markup, keep terms
/// that two (or 1%) of a cluster's texts hold, and are single words: the
/// names read like a person's label on the shared corpora with these
/// (docs/quality.md#cluster-names); bigrams are offered (`--term-ngrams 1-2`).
impl Default for DescribeConfig {
    fn default() -> Self {
        DescribeConfig {
            default_stop_words: true,
            stop_words: Vec::new(),
            min_term_freq: None,
            ngrams: (1, 1),
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn default_confident() -> f64 {
    0.5
}

/// How much each representation block counts (scaled to sum to 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureWeights {
    /// SIF-weighted corpus word vectors.
    pub sif: f32,
    /// The RNN encoder.
    pub rnn: f32,
    /// TF-IDF LSA.
    pub lsa: f32,
}

impl FeatureWeights {
    /// The shipped shares: SIF 1, RNN 0.5, LSA 0.5, except LSA 0 for
    /// Chinese whose words are sparse (`sparse_chinese`: see
    /// [`CorpusProfile::sparse_chinese`]), where LSA over jieba words
    /// is the weakest block (docs/defaults.md#block-shares).
    pub fn defaults(sparse_chinese: bool) -> FeatureWeights {
        FeatureWeights {
            sif: 1.0,
            rnn: 0.5,
            lsa: if sparse_chinese { 0.0 } else { 0.5 },
        }
    }
}

/// What the corpus-adaptive defaults read of a corpus, measured once (and
/// saved in the model, so that a user sees why a default was chosen).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorpusProfile {
    /// More than half of the texts contain a Han character
    /// ([`crate::features::tfidf::mostly_chinese`]).
    pub mostly_chinese: bool,
    /// Mostly Chinese, and its words are sparse: `rare_word_share` above
    /// [`crate::features::tfidf::SPARSE_SHARE`].
    pub sparse_chinese: bool,
    /// For a mostly-Chinese corpus: the share of its word tokens whose word
    /// occurs fewer than 5 times ([`crate::features::tfidf::rare_word_share`]),
    /// which decides `sparse_chinese`.
    #[serde(default)]
    pub rare_word_share: Option<f64>,
    /// Effective number of distinct opening words
    /// ([`crate::features::tfidf::opening_words`]).
    pub openings: f64,
}

impl CorpusProfile {
    /// Measure `texts` as `pipeline` cuts them.
    pub fn measure(pipeline: &TextPipeline, texts: &[&str]) -> CorpusProfile {
        use crate::features::tfidf;
        let mostly_chinese = tfidf::mostly_chinese(texts);
        let rare_word_share = mostly_chinese.then(|| tfidf::rare_word_share(pipeline, texts));
        CorpusProfile {
            mostly_chinese,
            sparse_chinese: rare_word_share.is_some_and(|r| r > tfidf::SPARSE_SHARE),
            rare_word_share,
            openings: tfidf::opening_words(pipeline, texts),
        }
    }
}

impl ModelConfig {
    /// The defaults for a corpus: [`ModelConfig::new`]'s, with those that
    /// depend on the corpus decided from its profile (and the seed words,
    /// when given: then k is their number of classes):
    ///
    /// - negation scope 3 for mostly-Chinese corpora and two seed classes
    ///   (polarity), else 0 ([`TfidfConfig::negation_for`]);
    /// - lead terms 1 when the texts open with a small closed set of words
    ///   ([`TfidfConfig::lead_for`]);
    /// - for Chinese whose words are sparse: no LSA block
    ///   ([`FeatureWeights::defaults`]) and, when clustering, an RNN over
    ///   characters ([`super::rnn_tokens`]).
    pub fn for_corpus(
        k: usize,
        seed: u64,
        seeds: Option<crate::learn::seeds::SeedSet>,
        profile: &CorpusProfile,
    ) -> ModelConfig {
        let mut c = ModelConfig::new(k, seed);
        let seed_classes = seeds.as_ref().map(|s| s.classes.len());
        if let Some(n) = seed_classes {
            c.k = n;
        }
        c.tfidf.negation = TfidfConfig::negation_for(profile.mostly_chinese, seed_classes);
        c.tfidf.lead = TfidfConfig::lead_for(profile.openings);
        c.weights = FeatureWeights::defaults(profile.sparse_chinese);
        c.rnn_han_chars = seeds.is_none() && profile.sparse_chinese;
        c.seeds = seeds;
        c
    }

    /// [`ModelConfig::for_corpus`] with the corpus measured as the default
    /// pipeline cuts it.
    pub fn for_texts(
        k: usize,
        seed: u64,
        seeds: Option<crate::learn::seeds::SeedSet>,
        texts: &[&str],
    ) -> ModelConfig {
        let profile = CorpusProfile::measure(&TextPipeline::default(), texts);
        ModelConfig::for_corpus(k, seed, seeds, &profile)
    }
}

fn default_cluster_sample() -> usize {
    50_000
}

fn is_default_cluster_sample(n: &usize) -> bool {
    *n == default_cluster_sample()
}

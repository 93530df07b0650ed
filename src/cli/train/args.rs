//! `textrnn train`'s flags, grouped under the headings `--help` shows.
//! Defaults come from the library ([`ModelConfig::new`]); the ones that
//! depend on the corpus are `Option`s whose `None` means "as
//! [`ModelConfig::for_corpus`] decides". A test in `config.rs` fails if a
//! flag's default and the library's differ.

use clap::Args;
use textrnn::model::ModelConfig;
use textrnn::nn::pool::Pooling;

use crate::cli::bench::CellArg;
use crate::cli::{ChineseArg, InputArgs};

/// The library's fixed defaults, which the flags below show.
pub(super) fn lib() -> ModelConfig {
    ModelConfig::new(0, 0)
}

/// Train an RNN encoder on INPUT without labels, cluster the texts and save the model.
///
/// The encoder learns by contrast: two randomly perturbed views of each text (span
/// deletion, token dropout, local swaps, masking) must encode closer to each other
/// than to the other texts of the batch (InfoNCE). Texts are then represented by the
/// RNN vector beside corpus word vectors and an LSA vector, clustered (k-means with a
/// k-NN graph step), and a classifier learns the clusters. docs/train.md explains
/// every flag.
///
/// Example:
///   textrnn train ../shared/data/stackoverflow/data.jsonl --k 20 --out so.model --label-field label
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TrainArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Model directory to write (replaced atomically if it holds a model).
    #[arg(long, value_name = "MODEL_DIR")]
    pub out: String,
    /// Number of clusters, or `auto` to choose it by view agreement in --k-min..=--k-max.
    #[arg(long, short = 'k', value_parser = parse_k, required_unless_present = "seeds")]
    pub k: Option<KArg>,
    /// Seed words instead of clustering: a shipped set (sentiment-en, sentiment-zh,
    /// emotion-en, emotion-zh), a JSON file {"class": ["word", ...], ...}, a word-score
    /// lexicon (WORD<TAB>SCORE lines: positive / negative by --seed-threshold), or a folder
    /// of word lists named after their classes (joy.txt, anger.txt, ...). k = the classes.
    #[arg(long, value_name = "FILE|NAME")]
    pub seeds: Option<String>,
    /// Random seed.
    #[arg(long, default_value_t = lib().train.seed)]
    pub seed: u64,
    /// Write one {"cluster": id, "score": p} line per input record to FILE.
    #[arg(long, value_name = "FILE")]
    pub out_assignments: Option<String>,
    /// End stdout with one JSON line: {"acc","nmi","ari","purity","n","k","seconds"}.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub classes: ClassesArgs,
    #[command(flatten)]
    pub encoder: EncoderArgs,
    #[command(flatten)]
    pub optim: OptimArgs,
    #[command(flatten)]
    pub repr: ReprArgs,
    #[command(flatten)]
    pub graph: GraphArgs,
    #[command(flatten)]
    pub head: HeadArgs,
    #[command(flatten)]
    pub seed_words: SeedArgs,
    #[command(flatten)]
    pub terms: crate::cli::describe::TermArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub experimental: ExperimentalArgs,
}

/// Classes.
#[derive(Args, Debug)]
#[command(next_help_heading = "Classes")]
pub struct ClassesArgs {
    /// Smallest k tried by --k auto.
    #[arg(long, default_value_t = textrnn::model::K_AUTO_RANGE.0)]
    pub k_min: usize,
    /// Largest k tried by --k auto.
    #[arg(long, default_value_t = textrnn::model::K_AUTO_RANGE.1)]
    pub k_max: usize,
}

/// Encoder.
#[derive(Args, Debug)]
#[command(next_help_heading = "Encoder")]
pub struct EncoderArgs {
    /// Recurrent cell.
    #[arg(long, value_enum, default_value_t = CellArg::Gru)]
    pub cell: CellArg,
    /// Hidden size per direction.
    #[arg(long, default_value_t = lib().train.encoder.hidden)]
    pub hidden: usize,
    /// Embedding size (equal to --wordvec-dims, the embedding starts from the corpus word vectors).
    #[arg(long, default_value_t = lib().train.encoder.embed)]
    pub embed: usize,
    /// Stacked RNN layers.
    #[arg(long, default_value_t = lib().train.encoder.layers)]
    pub layers: usize,
    /// Train LSTM and GRU at --hidden and half of it on 90% of the texts, keep the one whose
    /// held-out 10% has the highest silhouette, and retrain it on everything (5 trainings).
    #[arg(long)]
    pub select: bool,
    /// Run one direction only (default: bidirectional).
    #[arg(long)]
    pub unidirectional: bool,
    /// Pooling of token states: mean, max, last, attention.
    #[arg(long, default_value = "mean", value_parser = parse_pooling)]
    pub pooling: Pooling,
    /// Dropout on embeddings and between layers.
    #[arg(long, default_value_t = lib().train.encoder.dropout)]
    pub dropout: f64,
    /// Longer texts are truncated to this many tokens.
    #[arg(long, default_value_t = lib().train.max_len)]
    pub max_len: usize,
    /// Minimum token count for the vocabulary.
    #[arg(long, default_value_t = lib().vocab.min_count)]
    pub min_count: u64,
    /// How Chinese is cut.
    #[arg(long, value_enum, default_value_t)]
    pub chinese: ChineseArg,
    /// How the RNN reads Chinese: single characters ("chars", the default
    /// when clustering a mostly-Chinese corpus whose words are sparse; the
    /// SIF and LSA blocks keep --chinese's cut) or as --chinese cuts it
    /// ("words", the default otherwise and with --seeds).
    #[arg(long, value_enum)]
    pub rnn_chinese: Option<ChineseArg>,
}

/// Optimisation.
#[derive(Args, Debug)]
#[command(next_help_heading = "Optimisation")]
pub struct OptimArgs {
    /// Training epochs (early stopping may end sooner).
    #[arg(long, default_value_t = lib().train.epochs)]
    pub epochs: usize,
    /// Texts per batch.
    #[arg(long, default_value_t = lib().train.batch_size)]
    pub batch: usize,
    /// Peak learning rate (AdamW, warm-up then cosine decay).
    #[arg(long, default_value_t = lib().train.lr)]
    pub lr: f64,
    /// AdamW weight decay (L2).
    #[arg(long, default_value_t = lib().train.weight_decay)]
    pub weight_decay: f64,
    /// InfoNCE temperature.
    #[arg(long, default_value_t = lib().train.temperature)]
    pub temperature: f64,
    /// Learning-rate decay after the warm-up: cosine (to 5% of --lr),
    /// linear (to 0) or constant (no warm-up either).
    #[arg(long, value_enum, default_value_t)]
    pub decay: DecayArg,
    /// Share of the training steps spent warming up (linear from 0).
    #[arg(long, default_value_t = lib().train.warmup_fraction)]
    pub warmup: f64,
    /// Clip the gradients' global norm to this (0: no clipping).
    #[arg(long, default_value_t = lib().train.clip)]
    pub clip: f64,
    /// L1 penalty on all encoder weights (besides --weight-decay's L2).
    #[arg(long, default_value_t = lib().train.l1)]
    pub l1: f64,
    /// Share of the texts held out to measure the validation loss.
    #[arg(long, default_value_t = lib().train.val_fraction)]
    pub val_fraction: f64,
    /// Early stopping: stop after this many epochs without a better
    /// validation loss (the best epoch's weights are kept).
    #[arg(long, default_value_t = lib().train.patience)]
    pub patience: usize,
}

/// Representation.
#[derive(Args, Debug)]
#[command(next_help_heading = "Representation")]
pub struct ReprArgs {
    /// LSA dimensions beside the RNN vector (0: none).
    #[arg(long, default_value_t = lib().lsa_dims)]
    pub lsa_dims: usize,
    /// Corpus word-vector dimensions (PPMI + SVD) for the SIF block (0: none).
    #[arg(long, default_value_t = lib().wordvec_dims)]
    pub wordvec_dims: usize,
    /// Share of the SIF word-vector block in squared distances.
    #[arg(long, default_value_t = lib().weights.sif)]
    pub sif_weight: f32,
    /// Share of the RNN block in squared distances.
    #[arg(long, default_value_t = lib().weights.rnn)]
    pub rnn_weight: f32,
    /// Share of the LSA block in squared distances (default 0.5, or 0 for a
    /// mostly-Chinese corpus whose words are sparse, where it measured as
    /// the weakest block).
    #[arg(long)]
    pub lsa_weight: Option<f32>,
    /// Negation scope of the bag-of-words features: after not / never / n't
    /// / 不 / 没有 the next N words of the clause count as negated terms
    /// ("¬好吃"); 0 turns it off. Default: 3 for a mostly-Chinese corpus
    /// and with two seed classes (polarity), 0 otherwise.
    #[arg(long, value_name = "N")]
    pub negation: Option<usize>,
    /// Lead terms: the text's first N words as features ("^how",
    /// "^how_many"), for corpora whose classes are how texts open (question
    /// types). Default: 1 when the texts open with 3 to 63 effective
    /// distinct words, 0 otherwise.
    #[arg(long, value_name = "N")]
    pub lead: Option<usize>,
}

/// Graph.
#[derive(Args, Debug)]
#[command(next_help_heading = "Graph")]
pub struct GraphArgs {
    /// Neighbours per text in the k-NN graph whose spectral coordinates join the
    /// representation before k-means (0: plain k-means).
    #[arg(long, default_value_t = lib().graph.neighbors, value_name = "N")]
    pub graph_neighbors: usize,
    /// Above N texts, find the clusters on a random sample of N and carry
    /// them to the rest with a classifier (the k-NN graph costs N squared);
    /// 0: always on all texts.
    #[arg(long, default_value_t = lib().cluster_sample, value_name = "N")]
    pub cluster_sample: usize,
    /// Length of the spectral coordinates beside the representation's unit rows.
    #[arg(long, default_value_t = lib().graph.weight)]
    pub graph_weight: f32,
    /// The weight instead when plain k-means' clusters agree with the graph
    /// at least --graph-trust (chance-corrected share of neighbour pairs in one
    /// cluster); equal to --graph-weight: always --graph-weight.
    #[arg(long, default_value_t = lib().graph.trust.map_or(0.0, |t| t.weight), value_name = "W")]
    pub graph_trusted_weight: f32,
    /// Agreement from which --graph-trusted-weight is used.
    #[arg(long, default_value_t = lib().graph.trust.map_or(0.0, |t| t.agreement), value_name = "A")]
    pub graph_trust: f64,
    /// Keep the partition of --graph-trusted-weight only if, its clusters
    /// matched one-to-one to plain k-means', it agrees with k-means on at
    /// least this share of the texts; else use --graph-weight (0: no check).
    #[arg(long, default_value_t = lib().graph.min_kmeans_match, value_name = "SHARE")]
    pub graph_min_match: f64,
    /// Keep the graph step's partition only if its size balance
    /// (normalized entropy of the cluster sizes) is at most this far below
    /// plain k-means' (1: no check).
    #[arg(long, default_value_t = lib().graph.max_balance_drop, value_name = "DROP")]
    pub graph_max_balance_drop: f64,
}

/// Classifier.
#[derive(Args, Debug)]
#[command(next_help_heading = "Classifier")]
pub struct HeadArgs {
    /// Inverse L2 strength of the softmax classifier that learns the clusters'
    /// boundaries and assigns texts, in training and in predict (0: nearest
    /// cluster mean instead).
    #[arg(long, default_value_t = lib().cluster_head.c, value_name = "C")]
    pub head_c: f64,
    /// No lexical classifier: the cluster classifier over the representation
    /// decides alone (by default a second one over the character n-grams of
    /// the texts' words multiplies its probabilities).
    #[arg(long)]
    pub no_lexical_head: bool,
    /// Co-training rounds of the two classifiers: each refits both on the
    /// labels their product gave.
    #[arg(long, default_value_t = lib().cluster_head.rounds, value_name = "N")]
    pub head_rounds: usize,
    /// Class weights (mean size / cluster size)^G in the classifiers' fits:
    /// 1 evens out the clusters' pull, 0 leaves every text weight 1.
    #[arg(long, default_value_t = lib().cluster_head.balance, value_name = "G")]
    pub head_balance: f64,
    /// Where the graph step does not trust the k-NN graph: the share of
    /// each cluster's texts left out of each co-training refit (drawn anew
    /// per round); 0: every round fits all texts. Must be below 1.
    #[arg(long, default_value_t = lib().cluster_head.holdout, value_name = "F")]
    pub head_holdout: f64,
    /// Refit rounds with --head-holdout, in place of --head-rounds.
    #[arg(long, default_value_t = lib().cluster_head.holdout_rounds, value_name = "N")]
    pub head_holdout_rounds: usize,
}

/// Seed words.
#[derive(Args, Debug)]
#[command(next_help_heading = "Seed words (with --seeds)")]
pub struct SeedArgs {
    /// With a word-score lexicon as --seeds: words scoring above T are positive seeds,
    /// below -T negative.
    #[arg(long, default_value_t = 0.0, value_name = "T")]
    pub seed_threshold: f64,
    /// What the seed words decide. "auto": cluster the corpus as without
    /// seeds, and keep the clusters, named by the seed classes they hold,
    /// when the seed labels agree with them (--seed-agreement); else
    /// "classify". "classify": a classifier trained from the seed words
    /// decides the classes. "name": keep the clusters whatever the agreement.
    #[arg(long, value_enum, default_value_t = SeedRoleArg::Auto)]
    pub seed_role: SeedRoleArg,
    /// With --seed-role auto: the share of seed-labeled texts in the cluster
    /// matched to their class from which the clusters are kept.
    #[arg(long, default_value_t = lib().weak.name_agreement, value_name = "A")]
    pub seed_agreement: f64,
    /// Add the words the corpus uses like each class's seed words (its word
    /// vectors and seed-labeled texts agree) before matching; `describe`
    /// lists them, `describe --seed-words` writes the set to edit.
    #[arg(long)]
    pub seed_expansion: bool,
    /// Self-training rounds of the RNN classifier.
    #[arg(long, default_value_t = lib().weak.rounds)]
    pub seed_rounds: usize,
    /// Epochs per round.
    #[arg(long, default_value_t = lib().weak.epochs_per_round)]
    pub seed_epochs: usize,
    /// Share of each class's most confident texts used as targets.
    #[arg(long, default_value_t = lib().weak.confident_fraction)]
    pub seed_fraction: f64,
    /// Learning rate of the classifier.
    #[arg(long, default_value_t = lib().weak.lr)]
    pub seed_lr: f64,
    /// Rounds of the feature classifier (over the SIF and LSA features,
    /// trained on the RNN classifier's confident labels, then on its own);
    /// 0: the RNN classifier alone.
    #[arg(long, default_value_t = lib().weak.feature_rounds)]
    pub seed_feature_rounds: usize,
    /// Weight of the RNN classifier's log-probabilities beside the feature
    /// classifier's logits in the final classifier (0: the feature classifier alone).
    #[arg(long, default_value_t = lib().weak.rnn_share)]
    pub seed_rnn_share: f64,
}

/// `--seed-role`: [`textrnn::learn::seeds::SeedRole`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SeedRoleArg {
    Auto,
    Classify,
    Name,
}

impl SeedRoleArg {
    pub fn role(self) -> textrnn::learn::seeds::SeedRole {
        use textrnn::learn::seeds::SeedRole;
        match self {
            SeedRoleArg::Auto => SeedRole::Auto,
            SeedRoleArg::Classify => SeedRole::Classify,
            SeedRoleArg::Name => SeedRole::Name,
        }
    }
}

/// Output.
#[derive(Args, Debug)]
#[command(next_help_heading = "Checkpoints")]
pub struct OutputArgs {
    /// Write a training checkpoint every N steps (0: never) to MODEL_DIR.checkpoint.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub checkpoint_every: u64,
    /// Continue an interrupted run from MODEL_DIR.checkpoint (same data, flags and seed
    /// give the same model as an uninterrupted run).
    #[arg(long)]
    pub resume: bool,
}

/// Experimental: off by default because they measured worse or no better
/// (docs/quality.md).
#[derive(Args, Debug)]
#[command(next_help_heading = "Experimental (measured no better; docs/quality.md)")]
pub struct ExperimentalArgs {
    /// What the RNN learns from: "contrastive" (two augmented views of each
    /// text, InfoNCE) or "lm" (each direction predicts the neighbouring
    /// token, sampled softmax; with one layer, or --unidirectional).
    #[arg(long, value_enum, default_value_t)]
    pub objective: ObjectiveArg,
    /// `manual`: the --sif-weight, --rnn-weight, --lsa-weight shares; `auto`:
    /// choose the LSA share among 0.25..4 by consensus with the single-block
    /// clusterings.
    #[arg(long, default_value = "manual", value_parser = ["auto", "manual"])]
    pub weights: String,
    /// Self-training rounds: the most confident texts of each cluster become
    /// pseudo-labels, the encoder is fine-tuned to predict them, and the texts are re-clustered.
    #[arg(long, default_value_t = lib().self_train_rounds, value_name = "ROUNDS")]
    pub self_train: usize,
    /// Neighbour rounds: the encoder is fine-tuned with each text's nearest
    /// neighbours as its positive views, and the texts are re-clustered.
    #[arg(long, default_value_t = lib().neighbor_rounds, value_name = "ROUNDS")]
    pub neighbor_rounds: usize,
    /// Fraction of each cluster used as pseudo-labels in self-training.
    #[arg(long, default_value_t = lib().self_train_fraction)]
    pub self_train_fraction: f64,
    /// DEC refinement: epochs in which the clusters' centres and the RNN
    /// encoder are trained together to sharpen the partition (KL of the
    /// soft assignments to their sharpened target; Xie et al. 2016). 0: off.
    #[arg(long, default_value_t = lib().dec.epochs, value_name = "EPOCHS")]
    pub dec: usize,
    /// Learning rate of the DEC refinement.
    #[arg(long, default_value_t = textrnn::learn::dec::DecConfig::default().lr)]
    pub dec_lr: f64,
}

/// `--objective`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum ObjectiveArg {
    /// Two augmented views, InfoNCE.
    #[default]
    Contrastive,
    /// Bidirectional language model.
    Lm,
}

/// `--decay`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum DecayArg {
    /// Cosine to 5% of the peak.
    #[default]
    Cosine,
    /// Linear to 0.
    Linear,
    /// The peak throughout.
    Constant,
}

impl From<DecayArg> for textrnn::learn::Decay {
    fn from(d: DecayArg) -> Self {
        match d {
            DecayArg::Cosine => textrnn::learn::Decay::Cosine,
            DecayArg::Linear => textrnn::learn::Decay::Linear,
            DecayArg::Constant => textrnn::learn::Decay::Constant,
        }
    }
}

impl From<ObjectiveArg> for textrnn::learn::Objective {
    fn from(o: ObjectiveArg) -> Self {
        match o {
            ObjectiveArg::Contrastive => textrnn::learn::Objective::Contrastive,
            ObjectiveArg::Lm => textrnn::learn::Objective::LanguageModel,
        }
    }
}

/// `--k`: a number, or `auto`.
#[derive(Clone, Copy, Debug)]
pub enum KArg {
    /// Choose k by view agreement.
    Auto,
    /// This many clusters.
    Fixed(usize),
}

impl KArg {
    pub fn fixed(self) -> Option<usize> {
        match self {
            KArg::Auto => None,
            KArg::Fixed(k) => Some(k),
        }
    }
}

fn parse_k(s: &str) -> Result<KArg, String> {
    if s == "auto" {
        return Ok(KArg::Auto);
    }
    s.parse::<usize>()
        .map(KArg::Fixed)
        .map_err(|_| format!("{s:?} is not a number of clusters or `auto`"))
}

fn parse_pooling(s: &str) -> Result<Pooling, String> {
    match s {
        "mean" => Ok(Pooling::Mean),
        "max" => Ok(Pooling::Max),
        "last" => Ok(Pooling::Last),
        "attention" => Ok(Pooling::Attention),
        _ => Err(format!(
            "unknown pooling {s:?} (mean, max, last, attention)"
        )),
    }
}

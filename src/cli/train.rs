//! `textrnn train`: the main job. Train an RNN encoder without labels, cluster, save the model.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use textrnn::cluster::KMeansError;
use textrnn::features::TfidfConfig;
use textrnn::learn::CheckpointConfig;
use textrnn::learn::seeds::{SeedSet, BUILTIN};
use textrnn::learn::{AugmentConfig, TrainConfig};
use textrnn::model::{FeatureWeights, Model, ModelConfig};
use textrnn::nn::encoder::EncoderConfig;
use textrnn::nn::gemm::Threads;
use textrnn::nn::pool::Pooling;
use textrnn::nn::rnn::Cell;
use textrnn::vocab::VocabConfig;

use super::bench::CellArg;
use super::{output, progress, ChineseArg, InputArgs};

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

/// Train an RNN encoder on INPUT without labels, cluster the texts and save the model.
///
/// The encoder learns by contrast: two randomly perturbed views of each text (span
/// deletion, token dropout, local swaps, masking) must encode closer to each other
/// than to the other texts of the batch (InfoNCE). Texts are then represented by the
/// RNN vector beside a TF-IDF LSA vector and clustered with k-means.
///
/// Example:
///   textrnn train ../shared/data/stackoverflow/data.jsonl --k 20 --out so.model --label-field label
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TrainArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Model directory to write (replaced atomically if it holds a model).
    #[arg(long, value_name = "MODEL_DIR")]
    out: String,
    /// Number of clusters, or `auto` to choose it by silhouette in --k-min..=--k-max.
    #[arg(long, short = 'k', value_parser = parse_k, required_unless_present = "seeds")]
    k: Option<KArg>,
    /// Seed words instead of clustering: a JSON file {"class": ["word", ...], ...} or a
    /// shipped set: sentiment-en, sentiment-zh, emotion-en, emotion-zh. k = the classes.
    #[arg(long, value_name = "FILE|NAME")]
    seeds: Option<String>,
    /// Write a training checkpoint every N steps (0: never) to MODEL_DIR.checkpoint.
    #[arg(long, default_value_t = 100, value_name = "N")]
    checkpoint_every: u64,
    /// Continue an interrupted run from MODEL_DIR.checkpoint (same data, flags and seed
    /// give the same model as an uninterrupted run).
    #[arg(long)]
    resume: bool,
    /// With --seeds: self-training rounds of the RNN classifier.
    #[arg(long, default_value_t = 3)]
    seed_rounds: usize,
    /// With --seeds: epochs per round.
    #[arg(long, default_value_t = 1)]
    seed_epochs: usize,
    /// With --seeds: share of each class's most confident texts used as targets.
    #[arg(long, default_value_t = 0.5)]
    seed_fraction: f64,
    /// With --seeds: learning rate of the classifier.
    #[arg(long, default_value_t = 1e-3)]
    seed_lr: f64,
    /// With --seeds: rounds of the feature classifier (over the SIF and LSA features,
    /// trained on the RNN classifier's confident labels, then on its own); 0: the RNN
    /// classifier alone.
    #[arg(long, default_value_t = 3)]
    seed_feature_rounds: usize,
    /// With --seeds: weight of the RNN classifier's log-probabilities beside the feature
    /// classifier's logits in the final classifier (0: the feature classifier alone).
    #[arg(long, default_value_t = 0.5)]
    seed_rnn_share: f64,
    /// Smallest k tried by --k auto.
    #[arg(long, default_value_t = 2)]
    k_min: usize,
    /// Largest k tried by --k auto.
    #[arg(long, default_value_t = 20)]
    k_max: usize,
    /// Recurrent cell.
    #[arg(long, value_enum, default_value_t = CellArg::Gru)]
    cell: CellArg,
    /// Hidden size per direction.
    #[arg(long, default_value_t = 128)]
    hidden: usize,
    /// Embedding size (equal to --wordvec-dims, the embedding starts from the corpus word vectors).
    #[arg(long, default_value_t = 100)]
    embed: usize,
    /// Stacked RNN layers.
    #[arg(long, default_value_t = 1)]
    layers: usize,
    /// Run one direction only (default: bidirectional).
    #[arg(long)]
    unidirectional: bool,
    /// Pooling of token states: mean, max, last, attention.
    #[arg(long, default_value = "mean", value_parser = parse_pooling)]
    pooling: Pooling,
    /// Dropout on embeddings and between layers.
    #[arg(long, default_value_t = 0.1)]
    dropout: f64,
    /// Training epochs (early stopping may end sooner).
    #[arg(long, default_value_t = 2)]
    epochs: usize,
    /// Texts per batch.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Peak learning rate (AdamW, warm-up then cosine decay).
    #[arg(long, default_value_t = 5e-4)]
    lr: f64,
    /// AdamW weight decay (L2).
    #[arg(long, default_value_t = 0.01)]
    weight_decay: f64,
    /// Longer texts are truncated to this many tokens.
    #[arg(long, default_value_t = 64)]
    max_len: usize,
    /// InfoNCE temperature.
    #[arg(long, default_value_t = 0.5)]
    temperature: f64,
    /// What the RNN learns from: "contrastive" (two augmented views of each
    /// text, InfoNCE) or "lm" (each direction predicts the neighbouring
    /// token, sampled softmax; with one layer, or --unidirectional).
    #[arg(long, value_enum, default_value_t)]
    objective: ObjectiveArg,
    /// Learning-rate decay after the warm-up: cosine (to 5% of --lr),
    /// linear (to 0) or constant (no warm-up either).
    #[arg(long, value_enum, default_value_t)]
    decay: DecayArg,
    /// Share of the training steps spent warming up (linear from 0).
    #[arg(long, default_value_t = 0.05)]
    warmup: f64,
    /// Clip the gradients' global norm to this (0: no clipping).
    #[arg(long, default_value_t = 5.0)]
    clip: f64,
    /// L1 penalty on all encoder weights (besides --weight-decay's L2).
    #[arg(long, default_value_t = 0.0)]
    l1: f64,
    /// Share of the texts held out to measure the validation loss.
    #[arg(long, default_value_t = 0.05)]
    val_fraction: f64,
    /// Early stopping: stop after this many epochs without a better
    /// validation loss (the best epoch's weights are kept).
    #[arg(long, default_value_t = 2)]
    patience: usize,
    /// LSA dimensions beside the RNN vector (0: RNN only).
    #[arg(long, default_value_t = 100)]
    lsa_dims: usize,
    /// Corpus word-vector dimensions (PPMI + SVD) for the SIF block (0: none).
    #[arg(long, default_value_t = 100)]
    wordvec_dims: usize,
    /// `manual`: use --sif-weight, --rnn-weight, --lsa-weight (defaults measured on eight
    /// corpora, see README); `auto`: choose the LSA share among 0.25..4 by consensus with the
    /// single-block clusterings (SIF and RNN at their weights).
    #[arg(long, default_value = "manual", value_parser = ["auto", "manual"])]
    weights: String,
    /// Share of the SIF word-vector block in squared distances.
    #[arg(long, default_value_t = 1.0)]
    sif_weight: f32,
    /// Share of the RNN block in squared distances.
    #[arg(long, default_value_t = 0.5)]
    rnn_weight: f32,
    /// Share of the LSA block in squared distances (with --weights manual; default 0.5, or
    /// 0 for a mostly-Chinese corpus whose words are sparse — more than 15% of
    /// its word tokens are words seen fewer than 5 times, as in news titles —
    /// where it measured as the weakest block).
    #[arg(long)]
    lsa_weight: Option<f32>,
    /// Train LSTM and GRU at --hidden and half of it on 90% of the texts, keep the one whose
    /// held-out 10% has the highest silhouette, and retrain it on everything (5 trainings).
    #[arg(long)]
    select: bool,
    /// Self-training rounds: the most confident texts of each cluster become
    /// pseudo-labels, the encoder is fine-tuned to predict them, and the texts are re-clustered.
    #[arg(long, default_value_t = 0, value_name = "ROUNDS")]
    self_train: usize,
    /// Fraction of each cluster used as pseudo-labels in self-training.
    #[arg(long, default_value_t = 0.5)]
    self_train_fraction: f64,
    /// DEC refinement: epochs in which the clusters' centres and the RNN
    /// encoder are trained together to sharpen the partition (KL of the
    /// soft assignments to their sharpened target; Xie et al. 2016). 0: off.
    #[arg(long, default_value_t = 0, value_name = "EPOCHS")]
    dec: usize,
    /// Learning rate of the DEC refinement.
    #[arg(long, default_value_t = 1e-4)]
    dec_lr: f64,
    /// Neighbours per text in the k-NN graph whose spectral coordinates join the
    /// representation before k-means (0: plain k-means).
    #[arg(long, default_value_t = 15, value_name = "N")]
    graph_neighbors: usize,
    /// Length of the spectral coordinates beside the representation's unit rows.
    #[arg(long, default_value_t = 0.5)]
    graph_weight: f32,
    /// The weight instead when plain k-means' clusters agree with the graph
    /// at least --graph-trust (chance-corrected share of neighbour pairs in one
    /// cluster); equal to --graph-weight: always --graph-weight.
    #[arg(long, default_value_t = 0.75, value_name = "W")]
    graph_trusted_weight: f32,
    /// Agreement from which --graph-trusted-weight is used.
    #[arg(long, default_value_t = 0.76, value_name = "A")]
    graph_trust: f64,
    /// Keep the partition of --graph-trusted-weight only if, its clusters
    /// matched one-to-one to plain k-means', it agrees with k-means on at
    /// least this share of the texts; else use --graph-weight (0: no check).
    #[arg(long, default_value_t = textrnn::cluster::graph::MIN_KMEANS_MATCH, value_name = "SHARE")]
    graph_min_match: f64,
    /// Inverse L2 strength of the softmax classifier that learns the clusters'
    /// boundaries and assigns texts, in training and in predict (0: nearest
    /// cluster mean instead).
    #[arg(long, default_value_t = 1.0, value_name = "C")]
    head_c: f64,
    /// No lexical classifier: the cluster classifier over the representation
    /// decides alone (by default a second one over the character n-grams of
    /// the texts' words, trained on the same clusters, multiplies its
    /// probabilities).
    #[arg(long)]
    no_lexical_head: bool,
    /// Co-training rounds of the two classifiers: each refits both on the
    /// labels their product gave.
    #[arg(long, default_value_t = 4, value_name = "N")]
    head_rounds: usize,
    /// Class weights (mean size / cluster size)^G in the classifiers' fits:
    /// 1 evens out the clusters' pull (the default; suits corpora whose
    /// classes are of similar size), 0 leaves every text weight 1 (better
    /// when some classes are far smaller than others).
    #[arg(long, default_value_t = 1.0, value_name = "G")]
    head_balance: f64,
    /// Where the graph step does not trust the k-NN graph: the share of
    /// each cluster's texts left out of each co-training refit (drawn anew
    /// per round), so the refit classifiers relabel texts they did not
    /// train on; a last fit on all texts gives the kept classifiers.
    /// 0: every round fits all texts. Must be below 1.
    #[arg(long, default_value_t = 0.5, value_name = "F")]
    head_holdout: f64,
    /// Refit rounds with --head-holdout, in place of --head-rounds.
    #[arg(long, default_value_t = 8, value_name = "N")]
    head_holdout_rounds: usize,
    /// Negation scope of the bag-of-words features (SIF, LSA, the lexical
    /// classifier, naive Bayes, descriptions): after not / never / n't / 不 /
    /// 没有 the next N words of the clause count as negated terms ("¬好吃");
    /// 0 turns it off. Default: 3 for a mostly-Chinese corpus (jieba cuts
    /// 不好吃 into 不 + 好吃) and with two seed classes (polarity), 0 otherwise
    /// (measured in the README).
    #[arg(long, value_name = "N")]
    negation: Option<usize>,
    /// Lead terms: the text's first N words (stop words included) as
    /// features of the bag-of-words blocks, "^how", "^how_many". For corpora
    /// whose classes are how texts open, such as question types (trec
    /// +3.9 ACC at 1); it costs topic corpora (stackoverflow -6.9). Default:
    /// 1 when the texts open with 3 to 20 effective distinct words (the exp
    /// of the first word's entropy: trec 4.4), 0 otherwise (stackoverflow
    /// about 230; emotion 1.6, where "i" opens 89% of the texts).
    #[arg(long, value_name = "N")]
    lead: Option<usize>,
    /// Minimum token count for the vocabulary.
    #[arg(long, default_value_t = 2)]
    min_count: u64,
    /// How Chinese is cut.
    #[arg(long, value_enum, default_value_t)]
    chinese: ChineseArg,
    /// How the RNN reads Chinese: single characters ("chars", the default
    /// when clustering a mostly-Chinese corpus whose words are sparse, as
    /// for --lsa-weight; the SIF and LSA blocks keep --chinese's cut) or as
    /// --chinese cuts it ("words", the default otherwise and with --seeds).
    #[arg(long, value_enum)]
    rnn_chinese: Option<ChineseArg>,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write one {"cluster": id, "score": p} line per input record to FILE.
    #[arg(long, value_name = "FILE")]
    out_assignments: Option<String>,
    /// End stdout with one JSON line: {"acc","nmi","ari","purity","n","k","seconds"}.
    #[arg(long)]
    json: bool,
}

/// `--k`: a number, or `auto`.
#[derive(Clone, Copy, Debug)]
pub enum KArg {
    /// Choose by silhouette.
    Auto,
    /// This many clusters.
    Fixed(usize),
}

impl KArg {
    fn fixed(self) -> Option<usize> {
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

/// MODEL_DIR.checkpoint, beside the model directory.
fn checkpoint_path(out: &Path) -> std::path::PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    out.with_file_name(format!("{name}.checkpoint"))
}

/// A shipped seed set by name, or a JSON file.
fn load_seeds(spec: &str) -> Result<SeedSet> {
    if let Some(s) = SeedSet::builtin(spec) {
        return Ok(s);
    }
    let text = std::fs::read_to_string(spec).with_context(|| {
        let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        format!(
            "--seeds {spec}: not a shipped seed set ({}) and not a readable file",
            names.join(", ")
        )
    })?;
    SeedSet::from_json(&text).map_err(|e| anyhow::anyhow!("{spec}: {e}"))
}

pub fn run(a: TrainArgs) -> Result<()> {
    let start = Instant::now();
    let seeds = a.seeds.as_deref().map(load_seeds).transpose()?;
    let k_arg = match (&seeds, a.k) {
        (Some(s), None) => KArg::Fixed(s.classes.len()),
        (Some(s), Some(KArg::Fixed(k))) if k == s.classes.len() => KArg::Fixed(k),
        (Some(s), Some(_)) => anyhow::bail!(
            "--k must match the {} classes of the seed words (or be left out)",
            s.classes.len()
        ),
        (None, Some(k)) => k,
        (None, None) => anyhow::bail!("give --k (or --seeds)"),
    };
    if let Some(k) = k_arg.fixed() {
        anyhow::ensure!(k >= 1, "--k must be at least 1");
    } else {
        anyhow::ensure!(
            a.k_min >= 2 && a.k_max >= a.k_min,
            "--k auto needs 2 <= --k-min <= --k-max"
        );
    }
    let k_wanted = k_arg.fixed().unwrap_or(a.k_min);
    anyhow::ensure!(
        a.hidden >= 1 && a.embed >= 1 && a.layers >= 1 && a.batch >= 2 && a.max_len >= 1,
        "--hidden, --embed, --layers, --max-len must be at least 1 and --batch at least 2"
    );
    anyhow::ensure!(
        (0.0..1.0).contains(&a.dropout),
        "--dropout must be in [0, 1)"
    );
    anyhow::ensure!(
        (0.0..1.0).contains(&a.head_holdout),
        "--head-holdout must be in [0, 1)"
    );
    // A setting that must be a finite number, zero or more.
    let amount = |x: f64| x >= 0.0 && x.is_finite();
    anyhow::ensure!(
        amount(a.sif_weight.into())
            && amount(a.rnn_weight.into())
            && amount(a.lsa_weight.unwrap_or(0.0).into())
            && amount(a.graph_weight.into())
            && amount(a.graph_trusted_weight.into())
            && amount(a.head_c)
            && amount(a.head_balance),
        "feature weights, --head-c and --head-balance must be finite and not negative"
    );
    anyhow::ensure!(
        a.temperature > 0.0 && a.lr > 0.0,
        "--temperature and --lr must be positive"
    );
    anyhow::ensure!(
        !matches!(a.objective, ObjectiveArg::Lm) || a.layers <= 1 || a.unidirectional,
        "--objective lm with --layers above 1 needs --unidirectional: an upper layer's forward states would read lower backward states that have seen the tokens to predict"
    );
    anyhow::ensure!(
        (0.0..1.0).contains(&a.warmup)
            && (0.0..1.0).contains(&a.val_fraction)
            && amount(a.clip)
            && amount(a.l1),
        "--warmup and --val-fraction must be in [0, 1), --clip and --l1 finite and not negative"
    );
    anyhow::ensure!(
        a.dec == 0 || a.seeds.is_none(),
        "--dec refines a clustering; with --seeds the classes come from the seed words"
    );
    anyhow::ensure!(
        a.dec_lr > 0.0 && a.dec_lr.is_finite(),
        "--dec-lr must be positive"
    );
    anyhow::ensure!(
        (0.0..=1.0).contains(&a.graph_min_match),
        "--graph-min-match is a share of the texts, in [0, 1]"
    );
    let corpus = a.input.read()?;
    let texts = corpus.texts();
    if texts.len() < k_wanted.max(2) {
        return Err(KMeansError::TooFewPoints {
            k: k_wanted.max(2),
            n: texts.len(),
        })
        .context(format!("cannot cluster {}", corpus.source));
    }
    // Identical texts get identical representations: fail now, not after training.
    let distinct = texts.iter().collect::<std::collections::HashSet<_>>().len();
    if seeds.is_none() && distinct < k_wanted {
        return Err(KMeansError::TooFewDistinct {
            k: k_wanted,
            distinct,
        })
        .context(format!("cannot cluster {}", corpus.source));
    }
    // Chinese whose words are sparse (news titles) or repeat (reviews)
    // decides two defaults below; English corpora skip the count.
    let sparse_zh = (a.lsa_weight.is_none() || (a.rnn_chinese.is_none() && seeds.is_none()))
        && textrnn::features::tfidf::sparse_chinese(&a.chinese.pipeline(), &texts);
    // How many distinct words the texts open with decides --lead's default.
    let openings = a
        .lead
        .is_none()
        .then(|| textrnn::features::tfidf::opening_words(&a.chinese.pipeline(), &texts));
    let encoder = EncoderConfig {
        vocab: 0,
        embed: a.embed,
        hidden: a.hidden,
        layers: a.layers,
        bidirectional: !a.unidirectional,
        cell: match a.cell {
            CellArg::Lstm => Cell::Lstm,
            CellArg::Gru => Cell::Gru,
        },
        pooling: a.pooling,
        dropout: a.dropout,
    };
    let cfg = ModelConfig {
        k: k_wanted,
        k_auto: k_arg.fixed().is_none().then_some((a.k_min, a.k_max)),
        pipeline: a.chinese.pipeline(),
        vocab: VocabConfig {
            min_count: a.min_count.max(1),
            max_size: 50_000,
        },
        train: TrainConfig {
            encoder,
            max_len: a.max_len,
            batch_size: a.batch,
            epochs: a.epochs,
            lr: a.lr,
            weight_decay: a.weight_decay,
            l1: a.l1,
            warmup_fraction: a.warmup,
            clip: a.clip,
            temperature: a.temperature,
            augment: AugmentConfig::default(),
            val_fraction: a.val_fraction,
            patience: a.patience,
            seed: a.seed,
            max_recoveries: 5,
            checkpoint: None,
            fault_nan_at: Vec::new(),
            objective: a.objective.into(),
            decay: a.decay.into(),
        },
        tfidf: TfidfConfig {
            negation: a.negation.unwrap_or_else(|| {
                TfidfConfig::negation_for(textrnn::features::tfidf::mostly_chinese(&texts), seeds.as_ref().map(|s| s.classes.len()))
            }),
            lead: a
                .lead
                .unwrap_or_else(|| TfidfConfig::lead_for(openings.unwrap_or(0.0))),
            ..TfidfConfig::default()
        },
        lsa_dims: a.lsa_dims,
        wordvec_dims: a.wordvec_dims,
        weights_auto: a.weights == "auto",
        weights: FeatureWeights {
            sif: a.sif_weight,
            rnn: a.rnn_weight,
            lsa: a
                .lsa_weight
                .unwrap_or_else(|| FeatureWeights::defaults(sparse_zh).lsa),
        },
        n_init: 10,
        self_train_rounds: a.self_train,
        self_train_fraction: a.self_train_fraction.clamp(0.01, 1.0),
        seeds,
        weak: textrnn::learn::weak::WeakConfig {
            rounds: a.seed_rounds,
            epochs_per_round: a.seed_epochs.max(1),
            confident_fraction: a.seed_fraction.clamp(0.01, 1.0),
            lr: a.seed_lr,
            feature_rounds: a.seed_feature_rounds,
            rnn_share: a.seed_rnn_share.max(0.0),
            ..textrnn::learn::weak::WeakConfig::default()
        },
        graph: textrnn::cluster::graph::GraphConfig {
            neighbors: a.graph_neighbors,
            weight: a.graph_weight,
            trust: Some(textrnn::cluster::graph::Trust {
                agreement: a.graph_trust,
                weight: a.graph_trusted_weight,
            }),
            min_kmeans_match: a.graph_min_match,
            ..textrnn::cluster::graph::GraphConfig::shipped()
        },
        cluster_head: textrnn::cluster::head::HeadConfig {
            c: a.head_c,
            lexical: !a.no_lexical_head,
            rounds: a.head_rounds,
            balance: a.head_balance,
            holdout: a.head_holdout,
            holdout_rounds: a.head_holdout_rounds,
            ..textrnn::cluster::head::HeadConfig::shipped()
        },
        dec: textrnn::learn::dec::DecConfig {
            epochs: a.dec,
            lr: a.dec_lr,
        },
        // Measured (README): characters help the clustering of Chinese news
        // titles, whose words are sparse (thucnews_titles +1.4 ACC), but cost
        // reviews, whose words repeat (waimai_10k words 86.5 against 85.8),
        // and the seed-word classifier, whose RNN decides alone (waimai_10k
        // 84.8 -> 81.7). Only for mostly-Chinese corpora: a few stray Han
        // tokens (searchsnippets has 16 texts of mis-decoded punctuation)
        // must not change an English corpus's RNN.
        rnn_han_chars: match a.rnn_chinese {
            Some(c) => matches!(c, ChineseArg::Chars),
            None => a.seeds.is_none() && sparse_zh,
        },
    };
    let ckpt_path = checkpoint_path(Path::new(&a.out));
    anyhow::ensure!(
        !(a.resume && a.select),
        "--resume does not work with --select (each candidate trains separately)"
    );
    let mut cfg = cfg;
    if a.checkpoint_every > 0 && !a.select {
        if ckpt_path.exists() && !a.resume {
            eprintln!(
                "note: {} is from an interrupted run; it will be replaced (pass --resume to continue it)",
                ckpt_path.display()
            );
        }
        cfg.train.checkpoint = Some(CheckpointConfig {
            path: ckpt_path.clone(),
            every: a.checkpoint_every,
            resume: a.resume,
        });
    } else if a.resume {
        anyhow::bail!("--resume needs checkpoints (--checkpoint-every above 0)");
    }
    if a.resume && !ckpt_path.exists() {
        eprintln!(
            "note: no checkpoint at {}; training from the start",
            ckpt_path.display()
        );
    }
    let mut bar = progress::Training::new();
    let threads = Threads::Many(rayon::current_num_threads());
    let grid = [
        (Cell::Lstm, a.hidden),
        (Cell::Gru, a.hidden),
        (Cell::Lstm, (a.hidden / 2).max(1)),
        (Cell::Gru, (a.hidden / 2).max(1)),
    ];
    let fit =
        |texts: &[&str], cfg: &ModelConfig, progress: &mut dyn FnMut(textrnn::learn::Progress)| {
            if a.select {
                Model::fit_select(texts, cfg, &grid, threads, progress)
            } else {
                Model::fit(texts, cfg, threads, progress)
            }
        };
    let mut fitted = match fit(&texts, &cfg, &mut |p| bar.update(p)) {
        Ok(f) => f,
        Err(e) => {
            // Keep a checkpoint only when it is the last good state of a diverged run.
            if !e.diverged() {
                let _ = std::fs::remove_file(&ckpt_path);
            }
            return Err(anyhow::anyhow!(e))
                .with_context(|| format!("cannot train on {}", corpus.source));
        }
    };
    bar.finish();
    fitted
        .model
        .save(Path::new(&a.out))
        .context("cannot save the model")?;
    // The model is safe: the checkpoint has done its job.
    let _ = std::fs::remove_file(&ckpt_path);
    let seconds = start.elapsed().as_secs_f64();
    if let Some(path) = &a.out_assignments {
        output::write_assignments_scored(path, &corpus, &fitted.labels, &fitted.scores)?;
    }
    let scores = output::score(&corpus, &fitted.labels);
    let k = fitted.model.manifest.config.k;
    let majority = output::majority_labels(&corpus, &fitted.labels, k);
    let mut out = std::io::stdout().lock();
    let m = &fitted.model.manifest;
    writeln!(
        out,
        "{} texts from {}, vocabulary {}, {:?} encoder, k = {}",
        texts.len(),
        corpus.source,
        fitted.model.vocab.len(),
        m.config.train.encoder.cell,
        k
    )?;
    if let Some(n) = openings.filter(|_| m.config.tfidf.lead > 0) {
        writeln!(
            out,
            "the texts open with {n:.1} effective distinct words (a closed set: {} to {}), so each text's first word is a feature (--lead 0 turns this off)",
            textrnn::features::tfidf::FEW_OPENINGS.0,
            textrnn::features::tfidf::FEW_OPENINGS.1
        )?;
    }
    if let (Some(w), Some(seeds)) = (&m.weak, &m.config.seeds) {
        let per_class: Vec<String> = seeds
            .classes
            .iter()
            .zip(&w.seed_counts)
            .map(|(c, n)| format!("{} {n}", c.name))
            .collect();
        writeln!(
            out,
            "seed words: {} of {} texts matched, {} pseudo-labeled ({}), {} negated matches",
            w.matched,
            texts.len(),
            w.seed_labeled,
            per_class.join(", "),
            w.negated
        )?;
        for (i, (n, agree)) in w.rounds.iter().enumerate() {
            writeln!(
                out,
                "self-training round {}: {n} target texts; keeps {:.1}% of the seed labels",
                i + 1,
                100.0 * agree
            )?;
        }
        if let Some(same) = w.feature_agreement {
            writeln!(
                out,
                "feature classifier (SIF + LSA) beside the RNN classifier: the final classes agree with the RNN's alone for {:.1}% of the texts",
                100.0 * same
            )?;
        }
    }
    for (w, score) in &m.weight_selection {
        let kept = (w.lsa - m.config.weights.lsa).abs() < 1e-6;
        writeln!(
            out,
            "weights sif {} rnn {} lsa {}: consensus {:.4}{}",
            w.sif,
            w.rnn,
            w.lsa,
            score,
            if kept { "  <- kept" } else { "" }
        )?;
    }
    if let Some(d) = &m.dec {
        let per_epoch: Vec<String> = d
            .epochs
            .iter()
            .map(|(kl, changed)| format!("KL {kl:.4}, {:.1}% changed", 100.0 * changed))
            .collect();
        writeln!(
            out,
            "DEC refinement: {}; {:.1}% of the texts left their cluster",
            per_epoch.join("; "),
            100.0 * d.moved
        )?;
    }
    if let Some(g) = &m.graph {
        writeln!(
            out,
            "graph step: k-means agrees {:.3} with the k-NN graph (chance-corrected), {}weight {}; cluster size balance {:.3} with the graph, {:.3} with k-means alone; the graph partition matches k-means on {}: {}",
            g.agreement.unwrap_or(f64::NAN),
            g.dropped_trusted_match.map_or(String::new(), |m| format!(
                "the trusted weight's partition was dropped (it matched k-means on {:.1}% of the texts), so ",
                100.0 * m
            )),
            g.weight.map_or("?".to_string(), |w| w.to_string()),
            g.graph_balance,
            g.kmeans_balance,
            g.kmeans_match
                .map_or("?".to_string(), |m| format!("{:.1}%", 100.0 * m)),
            if g.used {
                "graph partition kept"
            } else {
                "graph partition dropped (far less balanced)"
            }
        )?;
    }
    if let Some(h) = &m.cluster_head {
        writeln!(
            out,
            "cluster classifier: agrees with {:.1}% of the partition's labels ({} iterations)",
            100.0 * h.agreement,
            h.iterations
        )?;
    }
    if let Some(h) = &m.lexical_head {
        let moved: Vec<String> = h
            .moved
            .iter()
            .map(|v| format!("{:.1}%", 100.0 * v))
            .collect();
        writeln!(
            out,
            "lexical classifier (character n-grams of the words): agrees with {:.1}% of its final training labels ({} iterations); co-training moved {} of the texts per round{}",
            100.0 * h.agreement,
            h.iterations,
            moved.join(", "),
            match h.holdout {
                Some(f) => format!(
                    " (each refit left out {:.0}% of every cluster; the last fit all texts)",
                    100.0 * f
                ),
                None => String::new(),
            }
        )?;
    }
    for c in &m.selection {
        writeln!(
            out,
            "candidate {:?} H={}: held-out silhouette {:.4}{}",
            c.cell,
            c.hidden,
            c.heldout_silhouette,
            if c.chosen { "  <- kept" } else { "" }
        )?;
    }
    if !m.k_selection.is_empty() {
        let ev: Vec<String> = m
            .k_selection
            .iter()
            .map(|(k, s)| format!("{k}:{s:.3}"))
            .collect();
        writeln!(
            out,
            "k = {k} chosen by the highest mean silhouette (k:silhouette) {}",
            ev.join(" ")
        )?;
    }
    for e in &m.training {
        writeln!(
            out,
            "epoch {}: train loss {:.4}  validation loss {:.4}  ({:.1} s)",
            e.epoch, e.train_loss, e.val_loss, e.seconds
        )?;
    }
    for c in &m.clusters {
        let maj = majority
            .as_ref()
            .map(|v| format!("  [{}]", v[c.id]))
            .unwrap_or_default();
        writeln!(
            out,
            "cluster {:>2}  {:>6} texts{maj}  \"{}\"  {}",
            c.id,
            c.size,
            c.name,
            c.top_terms.join(" ")
        )?;
    }
    if let Some(s) = &scores {
        output::print_scores(&mut out, s)?;
    }
    writeln!(out, "model saved to {} ({seconds:.1} s)", a.out)?;
    if a.json {
        output::print_json_summary(&mut out, scores.as_ref(), texts.len(), k, seconds)?;
    }
    out.flush()?;
    Ok(())
}

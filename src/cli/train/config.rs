//! From `train`'s flags to the library's [`ModelConfig`]: the library
//! decides every default ([`ModelConfig::for_corpus`]); the flags only
//! replace what the user set. Checks of the flags' values live here too.

use textrnn::learn::seeds::SeedSet;
use textrnn::model::{CorpusProfile, ModelConfig};
use textrnn::nn::rnn::Cell;

use super::args::TrainArgs;
use crate::cli::bench::CellArg;
use crate::cli::ChineseArg;

/// Refuse values no run can use, before reading the corpus.
pub fn validate(a: &TrainArgs) -> anyhow::Result<()> {
    let (e, o, r, g, h, x) = (
        &a.encoder,
        &a.optim,
        &a.repr,
        &a.graph,
        &a.head,
        &a.experimental,
    );
    anyhow::ensure!(
        e.hidden >= 1 && e.embed >= 1 && e.layers >= 1 && o.batch >= 2 && e.max_len >= 1,
        "--hidden, --embed, --layers, --max-len must be at least 1 and --batch at least 2"
    );
    anyhow::ensure!(
        (0.0..1.0).contains(&e.dropout),
        "--dropout must be in [0, 1)"
    );
    anyhow::ensure!(
        (0.0..1.0).contains(&h.head_holdout),
        "--head-holdout must be in [0, 1)"
    );
    // A setting that must be a finite number, zero or more.
    let amount = |x: f64| x >= 0.0 && x.is_finite();
    anyhow::ensure!(
        amount(r.sif_weight.into())
            && amount(r.rnn_weight.into())
            && amount(r.lsa_weight.unwrap_or(0.0).into())
            && amount(g.graph_weight.into())
            && amount(g.graph_trusted_weight.into())
            && amount(h.head_c)
            && amount(h.head_balance),
        "feature weights, --head-c and --head-balance must be finite and not negative"
    );
    anyhow::ensure!(
        o.temperature > 0.0 && o.lr > 0.0,
        "--temperature and --lr must be positive"
    );
    anyhow::ensure!(
        !matches!(x.objective, super::args::ObjectiveArg::Lm) || e.layers <= 1 || e.unidirectional,
        "--objective lm with --layers above 1 needs --unidirectional: an upper layer's forward states would read lower backward states that have seen the tokens to predict"
    );
    anyhow::ensure!(
        (0.0..1.0).contains(&o.warmup)
            && (0.0..1.0).contains(&o.val_fraction)
            && amount(o.clip)
            && amount(o.l1),
        "--warmup and --val-fraction must be in [0, 1), --clip and --l1 finite and not negative"
    );
    anyhow::ensure!(
        x.dec == 0 || a.seeds.is_none(),
        "--dec refines a clustering; with --seeds the classes come from the seed words"
    );
    anyhow::ensure!(
        x.dec_lr > 0.0 && x.dec_lr.is_finite(),
        "--dec-lr must be positive"
    );
    anyhow::ensure!(
        g.cluster_sample == 0 || g.cluster_sample >= 100,
        "--cluster-sample must be 0 (all texts) or at least 100"
    );
    anyhow::ensure!(
        (0.0..=1.0).contains(&a.seed_words.seed_agreement),
        "--seed-agreement is a share of the seed-labeled texts, in [0, 1]"
    );
    anyhow::ensure!(
        (0.0..=1.0).contains(&g.graph_min_match),
        "--graph-min-match is a share of the texts, in [0, 1]"
    );
    anyhow::ensure!(
        (0.0..=1.0).contains(&g.graph_max_balance_drop),
        "--graph-max-balance-drop is a difference of balances, in [0, 1]"
    );
    anyhow::ensure!(
        !(a.output.resume && a.encoder.select),
        "--resume does not work with --select (each candidate trains separately)"
    );
    Ok(())
}

/// The model's settings: the library's defaults for this corpus, with
/// every flag's value in place of the default it shows.
pub fn build(
    a: &TrainArgs,
    k: usize,
    k_auto: bool,
    seeds: Option<SeedSet>,
    profile: &CorpusProfile,
) -> ModelConfig {
    let mut c = ModelConfig::for_corpus(k, a.seed, seeds, profile);
    let (e, o, r) = (&a.encoder, &a.optim, &a.repr);
    c.k = k;
    c.k_auto = k_auto.then_some((a.classes.k_min, a.classes.k_max));
    c.pipeline = e.chinese.pipeline();
    c.vocab.min_count = e.min_count.max(1);
    let enc = &mut c.train.encoder;
    enc.embed = e.embed;
    enc.hidden = e.hidden;
    enc.layers = e.layers;
    enc.bidirectional = !e.unidirectional;
    enc.cell = match e.cell {
        CellArg::Lstm => Cell::Lstm,
        CellArg::Gru => Cell::Gru,
    };
    enc.pooling = e.pooling;
    enc.dropout = e.dropout;
    let t = &mut c.train;
    t.max_len = e.max_len;
    t.batch_size = o.batch;
    t.epochs = o.epochs;
    t.lr = o.lr;
    t.weight_decay = o.weight_decay;
    t.l1 = o.l1;
    t.warmup_fraction = o.warmup;
    t.clip = o.clip;
    t.temperature = o.temperature;
    t.val_fraction = o.val_fraction;
    t.patience = o.patience;
    t.objective = a.experimental.objective.into();
    t.decay = o.decay.into();
    if let Some(n) = r.negation {
        c.tfidf.negation = n;
    }
    if let Some(n) = r.lead {
        c.tfidf.lead = n;
    }
    c.lsa_dims = r.lsa_dims;
    c.wordvec_dims = r.wordvec_dims;
    c.weights.sif = r.sif_weight;
    c.weights.rnn = r.rnn_weight;
    if let Some(w) = r.lsa_weight {
        c.weights.lsa = w;
    }
    if let Some(rc) = e.rnn_chinese {
        c.rnn_han_chars = matches!(rc, ChineseArg::Chars);
    }
    apply_heads(a, &mut c);
    c
}

/// The graph, classifier, seed-word and experimental flags.
fn apply_heads(a: &TrainArgs, c: &mut ModelConfig) {
    let (g, h, s, x) = (&a.graph, &a.head, &a.seed_words, &a.experimental);
    c.graph.neighbors = g.graph_neighbors;
    c.cluster_sample = g.cluster_sample;
    c.graph.weight = g.graph_weight;
    c.graph.trust = Some(textrnn::cluster::graph::Trust {
        agreement: g.graph_trust,
        weight: g.graph_trusted_weight,
    });
    c.graph.min_kmeans_match = g.graph_min_match;
    c.graph.max_balance_drop = g.graph_max_balance_drop;
    let ch = &mut c.cluster_head;
    ch.c = h.head_c;
    ch.lexical = !h.no_lexical_head;
    ch.rounds = h.head_rounds;
    ch.balance = h.head_balance;
    ch.holdout = h.head_holdout;
    ch.holdout_rounds = h.head_holdout_rounds;
    let w = &mut c.weak;
    w.rounds = s.seed_rounds;
    w.epochs_per_round = s.seed_epochs.max(1);
    w.confident_fraction = s.seed_fraction.clamp(0.01, 1.0);
    w.lr = s.seed_lr;
    w.feature_rounds = s.seed_feature_rounds;
    w.rnn_share = s.seed_rnn_share.max(0.0);
    w.name_agreement = s.seed_agreement;
    w.expand = s.seed_expansion;
    c.seed_role = s.seed_role.role();
    c.weights_auto = x.weights == "auto";
    c.self_train_rounds = x.self_train;
    c.neighbor_rounds = x.neighbor_rounds;
    c.self_train_fraction = x.self_train_fraction.clamp(0.01, 1.0);
    c.dec.epochs = x.dec;
    c.dec.lr = x.dec_lr;
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use textrnn::model::{CorpusProfile, ModelConfig};

    /// `textrnn train` parsed with no flag but the required ones.
    fn defaults() -> super::TrainArgs {
        #[derive(clap::Parser)]
        struct Wrap {
            #[command(flatten)]
            a: super::TrainArgs,
        }
        Wrap::parse_from(["train", "corpus.txt", "--k", "5", "--out", "m"]).a
    }

    /// Every flag's default is the library's, for each kind of corpus the
    /// corpus-adaptive defaults tell apart.
    #[test]
    fn cli_defaults_are_the_library_defaults() {
        let a = defaults();
        let profiles = [
            CorpusProfile {
                mostly_chinese: false,
                sparse_chinese: false,
                rare_word_share: None,
                openings: 200.0,
            },
            CorpusProfile {
                mostly_chinese: false,
                sparse_chinese: false,
                rare_word_share: None,
                openings: 4.4,
            },
            CorpusProfile {
                mostly_chinese: true,
                sparse_chinese: false,
                rare_word_share: None,
                openings: 300.0,
            },
            CorpusProfile {
                mostly_chinese: true,
                sparse_chinese: true,
                rare_word_share: Some(0.2),
                openings: 1000.0,
            },
        ];
        let seeds = [
            None,
            textrnn::learn::seeds::SeedSet::builtin("sentiment-en"),
        ];
        for p in &profiles {
            for s in &seeds {
                let k = s.as_ref().map_or(5, |s| s.classes.len());
                let cli = super::build(&a, k, false, s.clone(), p);
                let lib = ModelConfig::for_corpus(5, 0, s.clone(), p);
                assert_eq!(cli, lib, "profile {p:?}, seeds {}", s.is_some());
            }
        }
        assert_eq!(
            ModelConfig::for_corpus(5, 0, None, &profiles[3])
                .weights
                .lsa,
            0.0,
            "the test covers a profile whose defaults differ"
        );
    }
}

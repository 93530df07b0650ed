//! What `textrnn train` prints once the model is saved, in the order things
//! happened: the corpus and what its profile decided, seed words, the
//! encoder's epochs, how the clusters were drawn and scored, the choice of
//! k, the clusters, and the scores when the corpus has labels. Short by
//! default; `-v` adds each stage's numbers (graph balances, classifier
//! iterations, co-training moves, calibration thresholds).

use std::io::Write;

use anyhow::Result;
use textrnn::corpus::Corpus;
use textrnn::model::Fitted;

/// Print the run's summary to `out`.
pub fn print(
    out: &mut impl Write,
    fitted: &Fitted,
    corpus: &Corpus,
    openings: Option<f64>,
    majority: Option<&Vec<String>>,
) -> Result<()> {
    let m = &fitted.model.manifest;
    let k = m.config.k;
    let n = corpus.docs.len();
    writeln!(
        out,
        "{} texts from {}, vocabulary {}, {} encoder, k = {}",
        n,
        corpus.source,
        fitted.model.vocab.len(),
        format!("{:?}", m.config.train.encoder.cell).to_uppercase(),
        k
    )?;
    if let Some(openings) = openings.filter(|_| m.config.tfidf.lead > 0) {
        writeln!(
            out,
            "the texts open with {openings:.1} effective distinct words (a closed set: {} to {}), so each text's first word is a feature (--lead 0 turns this off)",
            textrnn::features::tfidf::FEW_OPENINGS.0,
            textrnn::features::tfidf::FEW_OPENINGS.1
        )?;
    }
    if let Some(share) = (m.profile)
        .filter(|p| p.sparse_chinese && m.config.rnn_han_chars)
        .and_then(|p| p.rare_word_share)
    {
        writeln!(
            out,
            "{:.0}% of the word tokens are words seen fewer than 5 times (sparse above {:.0}%), so the RNN reads characters and the LSA block weighs {} (--rnn-chinese words and --lsa-weight change this)",
            100.0 * share,
            100.0 * textrnn::features::tfidf::SPARSE_SHARE,
            m.config.weights.lsa
        )?;
    }
    let detailed = tracing::enabled!(tracing::Level::INFO);
    print_seed_words(out, m, n)?;
    print_epochs(out, &m.training, detailed)?;
    print_experimental(out, m)?;
    if detailed {
        print_partition(out, m)?;
    } else {
        print_partition_short(out, m)?;
    }
    print_selections(out, m)?;
    for c in &m.clusters {
        let maj = majority
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
    Ok(())
}

/// The encoder's training: first and last epoch's losses, or each epoch's.
fn print_epochs(
    out: &mut impl Write,
    epochs: &[textrnn::learn::EpochLog],
    detailed: bool,
) -> Result<()> {
    if detailed {
        for e in epochs {
            writeln!(
                out,
                "epoch {}: train loss {:.4}  validation loss {:.4}",
                e.epoch, e.train_loss, e.val_loss
            )?;
        }
    } else if let (Some(a), Some(b)) = (epochs.first(), epochs.last()) {
        // Too few texts to hold some out leave no validation loss.
        let validation = if a.val_loss.is_finite() && b.val_loss.is_finite() {
            format!(", validation loss {:.3} -> {:.3}", a.val_loss, b.val_loss)
        } else {
            " (too few texts to hold some out for validation)".to_string()
        };
        writeln!(
            out,
            "encoder: {} epoch{}, training loss {:.3} -> {:.3}{validation}",
            epochs.len(),
            if epochs.len() == 1 { "" } else { "s" },
            a.train_loss,
            b.train_loss,
        )?;
    }
    Ok(())
}

/// How the clusters were drawn and scored, in two or three plain lines
/// (`print_partition` has the numbers behind them).
fn print_partition_short(out: &mut impl Write, m: &textrnn::model::Manifest) -> Result<()> {
    if let Some(g) = &m.graph {
        if g.used {
            writeln!(
                out,
                "clusters: k-means on the texts' representation and their nearest-neighbour graph (graph weight {}, as k-means agrees {:.2} with the graph)",
                g.weight.map_or("?".to_string(), |w| w.to_string()),
                g.agreement.unwrap_or(f64::NAN)
            )?;
        } else {
            writeln!(
                out,
                "clusters: k-means on the texts' representation (the graph's clusters were far less even, so not used)"
            )?;
        }
    }
    match (&m.cluster_head, &m.lexical_head) {
        (Some(h), Some(l)) => writeln!(
            out,
            "classifiers trained on the clusters keep {:.1}% (representation) and {:.1}% (word pieces) of their texts; they assign new texts",
            100.0 * h.agreement,
            100.0 * l.agreement
        )?,
        (Some(h), None) => writeln!(
            out,
            "a classifier trained on the clusters keeps {:.1}% of their texts; it assigns new texts",
            100.0 * h.agreement
        )?,
        _ => {}
    }
    if let Some(c) = &m.calibration {
        writeln!(
            out,
            "scores: calibrated without labels, mean {:.1}% (texts no other clustering agrees on score low)",
            100.0 * c.mean_score
        )?;
    }
    Ok(())
}

/// What the seed words did.
fn print_seed_words(out: &mut impl Write, m: &textrnn::model::Manifest, n: usize) -> Result<()> {
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
            n,
            w.seed_labeled,
            per_class.join(", "),
            w.negated
        )?;
        if let Some(a) = w.cluster_agreement {
            let kept = m.config.seed_role == textrnn::learn::seeds::SeedRole::Name;
            writeln!(
                out,
                "seed labels agree with the clusters for {:.1}% of the seed-labeled texts: {}",
                100.0 * a,
                if kept {
                    "the clusters are kept and named by the seed classes"
                } else {
                    "too few, the seed classifier decides the classes"
                }
            )?;
        }
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
    Ok(())
}

/// What `--weights auto` and `--dec` did.
fn print_experimental(out: &mut impl Write, m: &textrnn::model::Manifest) -> Result<()> {
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
    Ok(())
}

/// What the graph step, the classifiers and calibration did.
fn print_partition(out: &mut impl Write, m: &textrnn::model::Manifest) -> Result<()> {
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
    if let Some(c) = &m.calibration {
        writeln!(
            out,
            "scores: calibrated to the partition's agreement with {} other clusterings of the texts (mean {:.1}%): temperature {:.2}, mean score {:.1}% (uncalibrated {:.1}%); low_confidence below similarity {:.3} to the centroid, below {:.0}% known words, or with none",
            c.views,
            100.0 * c.consensus,
            c.temperature,
            100.0 * c.mean_score,
            100.0 * c.mean_score_raw,
            c.min_similarity,
            100.0 * c.min_known_share
        )?;
    }
    Ok(())
}

/// What `--select` and `--k auto` chose, and how clearly.
fn print_selections(out: &mut impl Write, m: &textrnn::model::Manifest) -> Result<()> {
    let k = m.config.k;
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
    if let Some(c) = &m.k_choice {
        let ev: Vec<String> = c
            .scores
            .iter()
            .map(|s| format!("{}:{:.3}", s.k, s.score))
            .collect();
        writeln!(
            out,
            "k = {k} chosen by view agreement over {} texts (k:score, higher is better) {}",
            c.sample,
            ev.join(" ")
        )?;
        if c.best != k {
            writeln!(
                out,
                "  k = {} scores highest; k = {k} is the smallest k within one standard error of it",
                c.best
            )?;
        }
        if let Some(r) = c.runner_up {
            writeln!(
                out,
                "  runner-up k = {r}, margin {:+.3}: {}",
                c.margin,
                if c.clear {
                    "a clear choice"
                } else {
                    "a weak choice (within twice its standard error); --k with your own count is safer"
                }
            )?;
        }
        if c.at_edge {
            let (lo, hi) = c.range;
            let warning = if k == hi {
                format!("the largest k tried ({lo}-{hi}); the best k may be larger: raise --k-max")
            } else if lo > 2 {
                format!(
                    "the smallest k tried ({lo}-{hi}); the best k may be smaller: lower --k-min"
                )
            } else {
                "the smallest there is: the texts' groups are two, or too weak to count; look at the scores above before trusting it".to_string()
            };
            writeln!(
                out,
                "  warning: k = {k} is at the edge of the range searched: {warning}"
            )?;
        }
    }
    Ok(())
}

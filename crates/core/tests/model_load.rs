//! Loading models whose files are consistent with their checksums but not
//! what the loader expects: a clear error, never a panic. Each case here was
//! found by the `model_loader` fuzz target (fuzz/) and is kept as a
//! regression test.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use textrnn::model::{Assigner, Model, ModelConfig};
use textrnn::nn::gemm::Threads;

const FILES: [&str; 7] = [
    "model.json",
    "pipeline.json",
    "vocab.json",
    "tfidf.json",
    "wordvec.json",
    "weights.safetensors",
    "lexical.json",
];

/// Three clusters, one epoch, `width` for the embedding, hidden state and
/// word vectors, `lsa` LSA dimensions: a model that trains in milliseconds.
fn tiny_config(width: usize, lsa: usize) -> ModelConfig {
    let mut cfg = ModelConfig::new(3, 0);
    cfg.vocab.min_count = 1;
    cfg.train.encoder.embed = width;
    cfg.train.encoder.hidden = width;
    cfg.train.epochs = 1;
    cfg.wordvec_dims = width;
    cfg.lsa_dims = lsa;
    cfg
}

/// Saves `model` as `m` in a new temporary directory and loads it back; the
/// directory lives as long as the returned guard.
fn save_and_load(model: &mut Model) -> (Model, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    model.save(&m).unwrap();
    (Model::load(&m).unwrap(), dir)
}

fn small_model_files() -> HashMap<String, Vec<u8>> {
    let texts: Vec<&str> = (0..60)
        .map(|i| ["goal match team", "bank stock loan", "rain cloud wind"][i % 3])
        .collect();
    let cfg = tiny_config(4, 2);
    let mut fitted = Model::fit(&texts, &cfg, Threads::One, &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    fitted.model.save(&m).unwrap();
    FILES
        .iter()
        .map(|f| (f.to_string(), std::fs::read(m.join(f)).unwrap()))
        .collect()
}

/// Load a model from in-memory files.
fn load_files(files: &HashMap<String, Vec<u8>>) -> Result<Model, textrnn::model::ModelError> {
    let read = |n: &str| {
        files
            .get(n)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    Model::load_with(Path::new("m"), &read)
}

/// Replace `name` by `bytes`, fixing its checksum in model.json, and load.
fn load_with_replaced(
    files: &HashMap<String, Vec<u8>>,
    name: &str,
    bytes: &[u8],
) -> Result<Model, String> {
    let mut files = files.clone();
    files.insert(name.into(), bytes.to_vec());
    let mut manifest: serde_json::Value = serde_json::from_slice(&files["model.json"]).unwrap();
    let sha: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    manifest["files"][name] = serde_json::Value::String(sha);
    files.insert("model.json".into(), serde_json::to_vec(&manifest).unwrap());
    let read = |n: &str| {
        files
            .get(n)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    Model::load_with(Path::new("m"), &read).map_err(|e| e.to_string())
}

#[test]
fn the_intact_model_loads() {
    let files = small_model_files();
    let wv = files["wordvec.json"].clone();
    assert!(load_with_replaced(&files, "wordvec.json", &wv).is_ok());
}

#[test]
fn json_files_of_the_wrong_shape_are_errors() {
    let files = small_model_files();
    // Fuzz crash 409020db: wordvec.json holding the JSON string "" panicked.
    // (pipeline.json is for people: the loader takes the pipeline from model.json.)
    for name in ["wordvec.json", "vocab.json", "tfidf.json", "lexical.json"] {
        for bytes in [&b"\"\""[..], b"[]", b"3", b"null", b"{}", b"{\"terms\": 1}"] {
            let err = load_with_replaced(&files, name, bytes)
                .err()
                .unwrap_or_else(|| panic!("{name} = {:?} loaded", String::from_utf8_lossy(bytes)));
            assert!(err.contains(name), "{err}");
        }
    }
}

/// `n` texts of 2-5 words drawn from one of three topics (text i from
/// topic i mod 3); every `stray_every`-th text gets a word of topic
/// `i + shift` (mod 3) too.
fn topic_texts(n: usize, stray_every: usize, shift: usize) -> Vec<String> {
    let words = [
        ["goal", "match", "team", "league", "cup", "player"],
        ["bank", "stock", "loan", "market", "share", "trade"],
        ["rain", "cloud", "wind", "storm", "snow", "sun"],
    ];
    (0..n)
        .map(|i| {
            let topic = &words[i % 3];
            let len = 2 + (i * 7) % 4;
            let mut t: Vec<&str> = (0..len).map(|j| topic[(i * 5 + j * 3) % 6]).collect();
            if i % stray_every == 0 {
                t.push(words[(i + shift) % 3][i % 6]);
            }
            t.join(" ")
        })
        .collect()
}

/// A saved model, loaded again, represents and classifies its training texts
/// exactly as training did: every block of the representation bit for bit,
/// every cluster and score. (The SIF block once lost its normalize-first
/// flag on saving, so loaded models centred the raw sums and moved 2.5% of
/// searchsnippets' texts to another cluster; and the LSA block of the
/// training texts came from the randomized SVD's U·S rather than the x · V
/// projection that new texts get.)
#[test]
fn a_loaded_model_reproduces_training() {
    let texts = topic_texts(150, 10, 1);
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let cfg = tiny_config(6, 3);
    let mut fitted = Model::fit(&texts, &cfg, Threads::One, &mut |_| {}).unwrap();
    let trained_z = fitted.model.represent(&texts, Threads::One);
    let (loaded, dir) = save_and_load(&mut fitted.model);
    assert!(
        matches!(loaded.assigner, Assigner::Classifier { .. }),
        "the shipped config trains the cluster classifier"
    );
    let z = loaded.represent(&texts, Threads::One);
    let d = loaded.dim();
    for (i, (a, b)) in z.chunks(d).zip(trained_z.chunks(d)).enumerate() {
        assert!(a == b, "text {i}: loaded {a:?}, trained {b:?}");
    }
    let (labels, scores) = loaded.predict(&texts, Threads::One);
    assert_eq!(labels, fitted.labels);
    assert_eq!(scores, fitted.scores);
    assert_probabilities_agree(&loaded, &texts);
    // Texts one at a time (too few tokens to fold the encoder's input
    // projection) on a fresh load, then with the tables folded and kept (as
    // the server does): the same bits either way on the packed kernel.
    let fresh = Model::load(&dir.path().join("m")).unwrap();
    let one_by_one: Vec<f32> = texts[..20]
        .iter()
        .flat_map(|t| fresh.represent(&[*t], Threads::One))
        .collect();
    let folded = fresh.prepare_inference(Threads::One);
    assert_eq!(folded, textrnn::nn::kernel::available());
    let after: Vec<f32> = texts[..20]
        .iter()
        .flat_map(|t| fresh.represent(&[*t], Threads::One))
        .collect();
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
    assert!(close(&one_by_one, &trained_z[..20 * d]));
    assert!(close(&after, &trained_z[..20 * d]));
    if folded {
        assert!(one_by_one == trained_z[..20 * d], "unfolded != training");
        assert!(after == trained_z[..20 * d], "folded != training");
    }
}

/// A Chinese corpus with the RNN reading characters (the default for
/// mostly-Chinese corpora)
/// and SIF / LSA reading jieba words: the vocabulary holds single
/// characters, and a loaded model reproduces training's representation bit
/// for bit, because predict splits the words the same way.
#[test]
fn an_rnn_over_chinese_characters_reproduces_training() {
    let words = [
        ["足球", "比赛", "球队", "联赛", "进球", "球员"],
        ["银行", "股票", "贷款", "市场", "股份", "交易"],
        ["下雨", "云层", "大风", "暴雨", "下雪", "阳光"],
    ];
    let texts: Vec<String> = (0..120)
        .map(|i| {
            let topic = &words[i % 3];
            (0..2 + (i * 7) % 3)
                .map(|j| topic[(i * 5 + j * 3) % 6])
                .collect::<Vec<_>>()
                .join("")
        })
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut cfg = tiny_config(6, 0);
    cfg.rnn_han_chars = true;
    let mut fitted = Model::fit(&texts, &cfg, Threads::One, &mut |_| {}).unwrap();
    let vocab = &fitted.model.vocab;
    assert!(
        (0..vocab.len() as u32)
            .map(|i| vocab.token(i))
            .filter(|t| t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
            .all(|t| t.chars().count() == 1),
        "only single Han characters in the RNN's vocabulary"
    );
    let trained_z = fitted.model.represent(&texts, Threads::One);
    let (loaded, _dir) = save_and_load(&mut fitted.model);
    assert!(loaded.manifest.config.rnn_han_chars);
    assert!(loaded.represent(&texts, Threads::One) == trained_z);
    assert_eq!(loaded.predict(&texts, Threads::One).0, fitted.labels);
}

/// Negation marking (the default for Chinese) and lead terms: the features
/// see "¬好吃" after 不 and "^不" for a text that opens with it, both are in
/// the saved TF-IDF vocabulary, and a loaded model makes the same terms of
/// new texts (same representation, same clusters). A tfidf.json written
/// before these settings existed loads with both off.
#[test]
fn negated_and_lead_terms_are_features_and_survive_a_reload() {
    let good = ["好吃", "新鲜", "满意", "干净", "实惠"];
    let texts: Vec<String> = (0..120)
        .map(|i| {
            let w = good[(i * 3) % 5];
            let v = good[(i * 7 + 1) % 5];
            if i % 2 == 0 {
                format!("{w}{v}，送餐快")
            } else {
                format!("不{w}，{v}没有")
            }
        })
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    use textrnn::features::tfidf::mostly_chinese;
    use textrnn::features::TfidfConfig;
    assert_eq!(TfidfConfig::negation_for(mostly_chinese(&texts), None), 3);
    assert_eq!(
        TfidfConfig::negation_for(mostly_chinese(&["not good"]), None),
        0
    );
    assert_eq!(
        TfidfConfig::negation_for(mostly_chinese(&["not good"]), Some(2)),
        3
    );
    assert_eq!(
        TfidfConfig::negation_for(mostly_chinese(&["not good"]), Some(6)),
        0
    );
    let mut cfg = tiny_config(6, 0);
    cfg.tfidf.negation = 3;
    cfg.tfidf.lead = 1;
    let mut fitted = Model::fit(&texts, &cfg, Threads::One, &mut |_| {}).unwrap();
    let terms = &fitted.model.tfidf.terms;
    assert!(terms.iter().any(|t| t == "¬好吃") && terms.iter().any(|t| t == "好吃"));
    assert!(terms.iter().any(|t| t == "^不"));
    let trained_z = fitted.model.represent(&texts, Threads::One);
    let (loaded, _dir) = save_and_load(&mut fitted.model);
    assert_eq!(
        (loaded.tfidf.config.negation, loaded.tfidf.config.lead),
        (3, 1)
    );
    assert!(loaded.represent(&texts, Threads::One) == trained_z);
    assert_eq!(loaded.predict(&texts, Threads::One).0, fitted.labels);
    let mut json: serde_json::Value = serde_json::from_str(&fitted.model.tfidf.to_json()).unwrap();
    let config = json["config"].as_object_mut().unwrap();
    config.remove("negation");
    config.remove("lead");
    let old = textrnn::features::Tfidf::from_json(&json.to_string()).unwrap();
    assert_eq!((old.config.negation, old.config.lead), (0, 0));
}

/// A format-2 manifest (before the lexical classifier: no `lexical` in the
/// classifier's config) still loads, and the cluster classifier over the
/// representation decides alone.
#[test]
fn format_2_models_load_and_use_the_cluster_classifier_alone() {
    let files = small_model_files();
    let mut manifest: serde_json::Value = serde_json::from_slice(&files["model.json"]).unwrap();
    assert_eq!(manifest["config"]["cluster_head"]["lexical"], true);
    manifest["version"] = 2.into();
    let head = manifest["config"]["cluster_head"].as_object_mut().unwrap();
    head.remove("lexical");
    head.remove("rounds");
    let graph = manifest["config"]["graph"].as_object_mut().unwrap();
    assert!(graph.remove("max_balance_drop").is_some());
    manifest.as_object_mut().unwrap().remove("lexical_head");
    manifest.as_object_mut().unwrap().remove("calibration");
    let mut old = files.clone();
    old.insert("model.json".into(), serde_json::to_vec(&manifest).unwrap());
    let m = load_files(&old).unwrap();
    // The balance guard was a constant before it was a setting.
    assert_eq!(
        m.manifest.config.graph.max_balance_drop,
        textrnn::cluster::graph::MAX_BALANCE_DROP
    );
    let Assigner::Classifier {
        linear,
        lexical: None,
    } = &m.assigner
    else {
        panic!("a format-2 model has the cluster classifier alone");
    };
    let texts = ["goal match team", "bank stock loan", "rain cloud wind"];
    let z = m.represent(&texts, Threads::One);
    let alone = textrnn::cluster::head::predict(linear, &z, m.dim(), Threads::One);
    assert_eq!(m.predict(&texts, Threads::One), alone);
    assert!(load_files(&files)
        .unwrap()
        .assigner
        .lexical_tfidf()
        .is_some());
}

/// `Model::probabilities` is the distribution `predict` reads: rows sum to
/// 1, their argmax is the cluster and their largest entry the score.
fn assert_probabilities_agree(m: &Model, texts: &[&str]) {
    let (labels, scores) = m.predict(texts, Threads::One);
    let p = m.probabilities(texts, Threads::One);
    let k = p.len() / texts.len();
    assert_eq!(k, m.manifest.config.k);
    for (i, row) in p.chunks(k).enumerate() {
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "text {i}: sums to {sum}");
        let (best, &max) = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap();
        assert_eq!(best, labels[i], "text {i}");
        assert_eq!(max, scores[i], "text {i}");
    }
}

/// A format-1 manifest (before the cluster classifier: no `cluster_head` in
/// the config) still loads, and its texts go to the nearest centroid; a
/// manifest that asks for the classifier without its tensors is an error.
#[test]
fn format_1_models_load_and_use_the_nearest_centroid() {
    let files = small_model_files();
    let mut manifest: serde_json::Value = serde_json::from_slice(&files["model.json"]).unwrap();
    assert_eq!(manifest["version"], 4);
    manifest["version"] = 1.into();
    manifest["config"]
        .as_object_mut()
        .unwrap()
        .remove("cluster_head");
    manifest.as_object_mut().unwrap().remove("cluster_head");
    let mut old = files.clone();
    old.insert("model.json".into(), serde_json::to_vec(&manifest).unwrap());
    let m = load_files(&old).unwrap();
    assert!(matches!(m.assigner, Assigner::NearestCentroid));
    let texts = ["goal match team", "bank stock loan", "rain cloud wind"];
    let z = m.represent(&texts, Threads::One);
    let (labels, _) = m.predict(&texts, Threads::One);
    let (nearest, _) = textrnn::model::assign(&z, m.dim(), &m.centroids);
    assert_eq!(labels, nearest);
    assert_probabilities_agree(&m, &texts);

    // The classifier asked for but its tensors missing: a clear error.
    let weights = files["weights.safetensors"].clone();
    let tensors = safetensors::SafeTensors::deserialize(&weights).unwrap();
    let kept: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .tensors()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("clusters.head."))
        .collect();
    let stripped = safetensors::serialize(kept, None).unwrap();
    let err = load_with_replaced(&files, "weights.safetensors", &stripped)
        .err()
        .expect("a model without its classifier must not load");
    assert!(err.contains("clusters.head"), "{err}");
}

/// Short reviews: a third name a seed word, the rest only words that occur
/// with them.
fn reviews() -> Vec<String> {
    let (pos, neg) = (
        ["great", "lively", "warm", "charming"],
        ["awful", "flat", "tedious", "hollow"],
    );
    let subject = ["film", "story", "cast", "script", "ending"];
    (0..120)
        .map(|i| {
            let w = if i % 2 == 0 { pos } else { neg };
            let s = subject[(i / 2) % 5];
            match i % 3 {
                0 => format!("the {s} was {} and {}", w[0], w[1 + (i / 3) % 3]),
                _ => format!("a {} {s} , {} too", w[1 + i % 3], w[1 + (i / 5) % 3]),
            }
        })
        .collect()
}

/// A seed-word model with the feature classifier keeps it beside the RNN
/// classifier, and a reload predicts exactly what training assigned; one
/// without it (as format 3 saved it: no `feature_rounds` in the manifest)
/// loads and uses the RNN classifier alone; a weak-supervision setting this
/// build does not know is refused by name.
#[test]
fn a_seed_word_model_reproduces_training_with_both_classifiers() {
    let texts = reviews();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut cfg = tiny_config(6, 3);
    cfg.k = 2;
    cfg.seeds = Some(
        textrnn::learn::seeds::SeedSet::from_json(r#"{"pos": ["great"], "neg": ["awful"]}"#)
            .unwrap(),
    );
    cfg.weak.epochs_per_round = 5;
    cfg.seed_role = textrnn::learn::seeds::SeedRole::Classify;
    assert!(cfg.seeded_feature_head(), "on by default");
    let mut fitted = Model::fit(&texts, &cfg, Threads::One, &mut |_| {}).unwrap();
    assert!(matches!(
        fitted.model.assigner,
        Assigner::Seeded {
            features: Some(_),
            ..
        }
    ));
    let truth: Vec<usize> = (0..texts.len()).map(|i| i % 2).collect();
    let right = fitted
        .labels
        .iter()
        .zip(&truth)
        .filter(|(a, b)| a == b)
        .count();
    assert!(right >= 108, "{right} of 120 right: {:?}", fitted.labels);
    let (loaded, _dir) = save_and_load(&mut fitted.model);
    // The feature classifier never reads the RNN block.
    let Assigner::Seeded {
        features: Some(features),
        ..
    } = &loaded.assigner
    else {
        panic!("the loaded model keeps its feature classifier");
    };
    let (d, rnn) = (loaded.dim(), loaded.encoder.config.output_dim());
    for row in features.weight.value.chunks(d) {
        assert!(row[cfg.wordvec_dims..cfg.wordvec_dims + rnn]
            .iter()
            .all(|&w| w == 0.0));
        assert!(row.iter().any(|&w| w != 0.0));
    }
    let (labels, scores) = loaded.predict(&texts, Threads::One);
    assert_eq!(labels, fitted.labels);
    assert_eq!(scores, fitted.scores);
    assert_probabilities_agree(&loaded, &texts);
    let (_, both) = loaded.represent_and_predict(&texts, Threads::One);
    assert_eq!(both, (labels, scores));

    cfg.weak.feature_rounds = 0;
    let mut fitted = Model::fit(&texts, &cfg, Threads::One, &mut |_| {}).unwrap();
    assert!(matches!(
        fitted.model.assigner,
        Assigner::Seeded { features: None, .. }
    ));
    let dir = tempfile::tempdir().unwrap();
    fitted.model.save(&dir.path().join("m")).unwrap();
    let mut files: HashMap<String, Vec<u8>> = FILES
        .iter()
        .filter_map(|f| {
            Some((
                f.to_string(),
                std::fs::read(dir.path().join("m").join(f)).ok()?,
            ))
        })
        .collect();
    let mut manifest: serde_json::Value = serde_json::from_slice(&files["model.json"]).unwrap();
    let weak = manifest["config"]["weak"].as_object_mut().unwrap();
    assert!(weak.remove("feature_rounds").is_some() && weak.remove("rnn_share").is_some());
    // Before seed roles: no role written, and the seed classifier decides.
    assert_eq!(manifest["config"]["seed_role"], "classify");
    manifest["config"]
        .as_object_mut()
        .unwrap()
        .remove("seed_role");
    manifest["version"] = 3.into();
    let mut newer = manifest.clone();
    newer["config"]["weak"]["future_setting"] = 1.into();
    files.insert("model.json".into(), serde_json::to_vec(&newer).unwrap());
    let refused = load_files(&files)
        .err()
        .expect("an unknown setting is refused");
    assert!(refused.to_string().contains("future_setting"), "{refused}");
    files.insert("model.json".into(), serde_json::to_vec(&manifest).unwrap());
    let old = load_files(&files).unwrap();
    assert!(matches!(
        old.assigner,
        Assigner::Seeded { features: None, .. }
    ));
    assert_eq!(
        old.predict(&texts, Threads::One),
        (fitted.labels, fitted.scores)
    );

    // Seeds that only name the clusters: the cluster classifier assigns,
    // clusters in the seed classes' order, and a reload reproduces training.
    cfg.seed_role = textrnn::learn::seeds::SeedRole::Name;
    let mut fitted = Model::fit(&texts, &cfg, Threads::One, &mut |_| {}).unwrap();
    assert!(matches!(fitted.model.assigner, Assigner::Classifier { .. }));
    let names: Vec<&str> = (fitted.model.manifest.clusters.iter())
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["pos", "neg"]);
    let (loaded, _dir) = save_and_load(&mut fitted.model);
    assert_eq!(loaded.manifest.config.seed_role, cfg.seed_role);
    assert_eq!(
        loaded.predict(&texts, Threads::One),
        (fitted.labels, fitted.scores)
    );
}

/// With the DEC refinement the encoder changes after the clustering; the
/// cluster classifier learns the refined clusters in the representation of
/// the refined encoder, so a reloaded model still reproduces training. A
/// model without it does not write the setting (older builds load it).
#[test]
fn a_dec_refined_model_reproduces_training() {
    let texts = topic_texts(120, 9, 2);
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut cfg = tiny_config(6, 3);
    cfg.dec = textrnn::learn::dec::DecConfig {
        epochs: 2,
        lr: 1e-3,
    };
    let before = Model::fit(&texts, &tiny_config(6, 3), Threads::One, &mut |_| {}).unwrap();
    let mut fitted = Model::fit(&texts, &cfg, Threads::One, &mut |_| {}).unwrap();
    let log = fitted
        .model
        .manifest
        .dec
        .clone()
        .expect("the refinement ran");
    assert_eq!(log.epochs.len(), 2);
    assert!(log
        .epochs
        .iter()
        .all(|(kl, changed)| kl.is_finite() && *kl >= 0.0 && (0.0..=1.0).contains(changed)));
    // The encoder moved.
    assert!(
        fitted.model.encoder.embedding.weight.value != before.model.encoder.embedding.weight.value
    );
    let (loaded, _dir) = save_and_load(&mut fitted.model);
    assert_eq!(loaded.manifest.config.dec, cfg.dec);
    let (labels, scores) = loaded.predict(&texts, Threads::One);
    assert_eq!(labels, fitted.labels);
    assert_eq!(scores, fitted.scores);
    // Same seed, same threads: the same clusters.
    let again = Model::fit(&texts, &cfg, Threads::One, &mut |_| {}).unwrap();
    assert_eq!(again.labels, fitted.labels);
    // Off: not in the saved config.
    let mut plain = before;
    let dir = tempfile::tempdir().unwrap();
    plain.model.save(&dir.path().join("m")).unwrap();
    let json = std::fs::read_to_string(dir.path().join("m/model.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["config"].get("dec").is_none() && v.get("dec").is_none());
    // Nor are the settings added since at their defaults (seed roles and
    // expansion, the sampled partition, neighbour rounds): older builds
    // read the model.
    for key in ["seed_role", "cluster_sample", "neighbor_rounds"] {
        assert!(v["config"].get(key).is_none(), "{key}");
    }
    for key in ["name_agreement", "expand"] {
        assert!(v["config"]["weak"].get(key).is_none(), "{key}");
    }
}

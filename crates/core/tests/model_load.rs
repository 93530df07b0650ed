//! Loading models whose files are consistent with their checksums but not
//! what the loader expects: a clear error, never a panic. Each case here was
//! found by the `model_loader` fuzz target (fuzz/) and is kept as a
//! regression test.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use textrnn::model::{Model, ModelConfig};
use textrnn::nn::gemm::Threads;

const FILES: [&str; 6] = [
    "model.json",
    "pipeline.json",
    "vocab.json",
    "tfidf.json",
    "wordvec.json",
    "weights.safetensors",
];

fn small_model_files() -> HashMap<String, Vec<u8>> {
    let texts: Vec<&str> = (0..60)
        .map(|i| ["goal match team", "bank stock loan", "rain cloud wind"][i % 3])
        .collect();
    let mut cfg = ModelConfig::new(3, 0);
    cfg.vocab.min_count = 1;
    cfg.train.encoder.embed = 4;
    cfg.train.encoder.hidden = 4;
    cfg.train.epochs = 1;
    cfg.wordvec_dims = 4;
    cfg.lsa_dims = 2;
    let mut fitted = Model::fit(&texts, &cfg, Threads::One, &mut |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    fitted.model.save(&m).unwrap();
    FILES
        .iter()
        .map(|f| (f.to_string(), std::fs::read(m.join(f)).unwrap()))
        .collect()
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
    for name in ["wordvec.json", "vocab.json", "tfidf.json"] {
        for bytes in [&b"\"\""[..], b"[]", b"3", b"null", b"{}", b"{\"terms\": 1}"] {
            let err = load_with_replaced(&files, name, bytes)
                .err()
                .unwrap_or_else(|| panic!("{name} = {:?} loaded", String::from_utf8_lossy(bytes)));
            assert!(err.contains(name), "{err}");
        }
    }
}

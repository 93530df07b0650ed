//! A valid small model with one file replaced by fuzzed bytes. The manifest's
//! checksum is updated for the replaced file, so the bytes reach the parsers
//! behind the checksum check; `Model::load_with` must answer Ok or a clear
//! error, never panic.
#![no_main]

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
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

fn base() -> &'static HashMap<String, Vec<u8>> {
    static B: OnceLock<HashMap<String, Vec<u8>>> = OnceLock::new();
    B.get_or_init(|| {
        let texts: Vec<String> = (0..60)
            .map(|i| ["goal match team", "bank stock loan", "rain cloud wind"][i % 3].to_string())
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut cfg = ModelConfig::new(3, 0);
        cfg.vocab.min_count = 1;
        cfg.train.encoder.embed = 4;
        cfg.train.encoder.hidden = 4;
        cfg.train.epochs = 1;
        cfg.wordvec_dims = 4;
        cfg.lsa_dims = 2;
        let mut fitted = Model::fit(&refs, &cfg, Threads::One, &mut |_| {}).expect("fits");
        let dir = std::env::temp_dir().join(format!("textrnn-fuzz-{}", std::process::id()));
        fitted.model.save(&dir).expect("saves");
        let files = FILES
            .iter()
            .map(|f| (f.to_string(), std::fs::read(dir.join(f)).expect("reads")))
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        files
    })
}

fn hex_sha256(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let name = FILES[which as usize % FILES.len()];
    let mut files = base().clone();
    files.insert(name.to_string(), bytes.to_vec());
    if name != "model.json" {
        // Keep the checksum right so the parser sees the bytes.
        if let Ok(mut m) = serde_json::from_slice::<serde_json::Value>(&files["model.json"]) {
            m["files"][name] = serde_json::Value::String(hex_sha256(bytes));
            files.insert("model.json".into(), serde_json::to_vec(&m).unwrap());
        }
    }
    let read = |n: &str| {
        files
            .get(n)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    if let Ok(model) = Model::load_with(Path::new("fuzz"), &read) {
        // A model that loads must also predict.
        let _ = model.predict(&["goal match", "", "雨"], Threads::One);
    }
});

//! The translation model directory: `translator.json` (format, version,
//! settings, training record and each file's SHA-256), both vocabularies,
//! the BPE merges of each side that has subwords (`src_bpe.json`,
//! `tgt_bpe.json`), and the weights as safetensors with the PyTorch-style names of
//! [`super::model`]. Written atomically like a classification model (a
//! staging directory renamed into place); loading checks the format,
//! version, checksums, shapes and names, and names the file at fault.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::format::hex_sha256;
use crate::model::ModelError;
use crate::nn::weights;
use crate::rng::Rng;
use crate::vocab::Vocab;

use super::bpe::Bpe;
use super::model::{Seq2Seq, Seq2SeqConfig};
use super::tokenize::Units;
use super::train::{TranslateConfig, TranslateEpoch};
use super::translator::Translator;

/// The manifest's file name, which also marks a translation model.
pub const MANIFEST: &str = "translator.json";
/// What `format` says in every translation model.
pub const FORMAT: &str = "textrnn-translator";
/// The format version this build writes (and the newest it reads).
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    textrnn: String,
    config: TranslateConfig,
    model: Seq2SeqConfig,
    epochs: Vec<TranslateEpoch>,
    files: BTreeMap<String, String>,
}

fn invalid(path: &Path, problem: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        path: path.display().to_string(),
        problem: problem.into(),
    }
}

fn io_err(path: &Path, err: std::io::Error) -> ModelError {
    ModelError::Io {
        path: path.display().to_string(),
        err,
    }
}

/// Whether `dir` holds a translation model.
pub fn is_translator(dir: &Path) -> bool {
    dir.join(MANIFEST).is_file()
}

impl Translator {
    /// Write the model directory atomically. An existing `dir` must be a
    /// translation model (it is replaced) or empty.
    pub fn save(&mut self, dir: &Path) -> Result<(), ModelError> {
        if dir.exists() {
            let empty = fs::read_dir(dir)
                .map_err(|e| io_err(dir, e))?
                .next()
                .is_none();
            if !dir.is_dir() || !(empty || is_translator(dir)) {
                return Err(invalid(
                    dir,
                    "exists and is not a textrnn translation model; choose another --out",
                ));
            }
        }
        crate::io::replace_dir(dir, |tmp| self.write_files(tmp), io_err)
    }

    fn write_files(&mut self, dir: &Path) -> Result<(), ModelError> {
        let mut files: Vec<(&str, Vec<u8>)> = vec![
            ("src_vocab.json", self.src_vocab.to_json().into_bytes()),
            ("tgt_vocab.json", self.tgt_vocab.to_json().into_bytes()),
            (
                "weights.safetensors",
                weights::to_bytes(&mut self.model, None),
            ),
        ];
        for (name, units) in [
            ("src_bpe.json", &self.src_units),
            ("tgt_bpe.json", &self.tgt_units),
        ] {
            if let Some(b) = &units.bpe {
                files.push((name, serde_json::to_vec(b).expect("merges serialize")));
            }
        }
        let mut sums = BTreeMap::new();
        for (name, bytes) in &files {
            sums.insert(name.to_string(), hex_sha256(bytes));
            crate::io::write_atomic(dir.join(name), bytes)
                .map_err(|e| io_err(&dir.join(name), e))?;
        }
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            textrnn: env!("CARGO_PKG_VERSION").into(),
            config: self.config.clone(),
            model: self.model.config.clone(),
            epochs: self.epochs.clone(),
            files: sums,
        };
        let bytes = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
        crate::io::write_atomic(dir.join(MANIFEST), &bytes)
            .map_err(|e| io_err(&dir.join(MANIFEST), e))
    }

    /// Load a translation model directory, checking every file.
    pub fn load(dir: &Path) -> Result<Translator, ModelError> {
        let mpath = dir.join(MANIFEST);
        if !mpath.is_file() {
            let what = if dir.join("model.json").is_file() {
                "is a classification model, not a translation model (train one with `textrnn translate-train`)"
            } else {
                "is not a textrnn translation model (no translator.json)"
            };
            return Err(invalid(dir, what));
        }
        let text = fs::read(&mpath).map_err(|e| io_err(&mpath, e))?;
        let head: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| invalid(&mpath, format!("not valid JSON: {e}")))?;
        if head.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(invalid(&mpath, format!("format is not {FORMAT}")));
        }
        let version = head.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version == 0 || version > VERSION as u64 {
            return Err(invalid(
                &mpath,
                format!("format version {version}; this build reads 1 to {VERSION} (a newer textrnn wrote it?)"),
            ));
        }
        let m: Manifest =
            serde_json::from_value(head).map_err(|e| invalid(&mpath, e.to_string()))?;
        let read = |name: &str| -> Result<Vec<u8>, ModelError> {
            let p = dir.join(name);
            let bytes = fs::read(&p).map_err(|e| io_err(&p, e))?;
            let want = m
                .files
                .get(name)
                .ok_or_else(|| invalid(&mpath, format!("no checksum for {name}")))?;
            if &hex_sha256(&bytes) != want {
                return Err(invalid(
                    &p,
                    "checksum mismatch: the file is damaged or was changed",
                ));
            }
            Ok(bytes)
        };
        let vocab = |name: &str| -> Result<Vocab, ModelError> {
            let bytes = read(name)?;
            let s =
                String::from_utf8(bytes).map_err(|e| invalid(&dir.join(name), e.to_string()))?;
            Vocab::from_json(&s).map_err(|e| invalid(&dir.join(name), e))
        };
        let (sv, tv) = (vocab("src_vocab.json")?, vocab("tgt_vocab.json")?);
        let units = |name: &str, lang| -> Result<Units, ModelError> {
            let bpe = match m.files.contains_key(name) {
                false => None,
                true => {
                    let mut b: Bpe = serde_json::from_slice(&read(name)?)
                        .map_err(|e| invalid(&dir.join(name), e.to_string()))?;
                    b.reindex();
                    Some(b)
                }
            };
            Ok(Units { lang, bpe })
        };
        let su = units("src_bpe.json", m.config.src)?;
        let tu = units("tgt_bpe.json", m.config.tgt)?;
        if sv.len() != m.model.src_vocab || tv.len() != m.model.tgt_vocab {
            return Err(invalid(&mpath, "vocabulary sizes do not match the model's"));
        }
        let mut model = Seq2Seq::<f32>::new(m.model.clone(), &mut Rng::new(0));
        let wpath = dir.join("weights.safetensors");
        weights::load_bytes(&mut model, &read("weights.safetensors")?)
            .map_err(|e| invalid(&wpath, e.to_string()))?;
        let mut tr = Translator::new(m.config, (su, tu), (sv, tv), model);
        tr.epochs = m.epochs;
        Ok(tr)
    }
}

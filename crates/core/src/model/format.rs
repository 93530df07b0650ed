//! The model directory: written atomically (a temporary directory renamed
//! into place, so a failure never leaves half a model), every file
//! checksummed in `model.json`, and loaded with every older format version
//! this build knows (see [`FORMAT_VERSION`] and `docs/model-format.md`).

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use safetensors::tensor::SafeTensors;
use sha2::{Digest, Sha256};

use super::{Assigner, Manifest, Model, ModelError, FORMAT_VERSION};
use crate::cluster::head;
use crate::features::{Tfidf, WordVectors};
use crate::nn::encoder::Encoder;
use crate::nn::linear::Linear;
use crate::nn::weights;
use crate::vocab::Vocab;

impl Model {
    /// Fail now, before any training, where [`Model::save`] would fail for
    /// its destination: `dir` exists and is not a model directory (nor
    /// empty), or a directory cannot be created beside it (a missing parent
    /// is created, as saving would).
    pub fn check_destination(dir: &Path) -> Result<(), ModelError> {
        Model::not_another_directory(dir)?;
        let (_, _, tmp) = crate::io::staging_dir(dir);
        let made = fs::create_dir_all(&tmp).map_err(|err| ModelError::Io {
            path: dir.display().to_string(),
            err,
        });
        let _ = fs::remove_dir(&tmp);
        made
    }

    /// `dir` is absent, empty, or a model directory.
    fn not_another_directory(dir: &Path) -> Result<(), ModelError> {
        if !dir.exists() {
            return Ok(());
        }
        let io = |err| ModelError::Io {
            path: dir.display().to_string(),
            err,
        };
        if !dir.is_dir() {
            return Err(ModelError::Invalid {
                path: dir.display().to_string(),
                problem: "exists and is a file, not a model directory; choose another --out".into(),
            });
        }
        if !dir.join("model.json").exists() && fs::read_dir(dir).map_err(io)?.next().is_some() {
            return Err(ModelError::Invalid {
                path: dir.display().to_string(),
                problem: "exists and is not a textrnn model directory; choose another --out".into(),
            });
        }
        Ok(())
    }

    /// Write the model directory atomically (a temporary directory renamed into place).
    pub fn save(&mut self, dir: &Path) -> Result<(), ModelError> {
        Model::not_another_directory(dir)?;
        crate::io::replace_dir(
            dir,
            |tmp| self.write_files(tmp),
            |path, err| ModelError::Io {
                path: path.display().to_string(),
                err,
            },
        )
    }

    fn write_files(&mut self, dir: &Path) -> Result<(), ModelError> {
        let cfg = &self.manifest.config;
        let mut files: Vec<(&str, Vec<u8>)> = vec![
            ("pipeline.json", cfg.pipeline.to_json().into_bytes()),
            ("vocab.json", self.vocab.to_json().into_bytes()),
            ("tfidf.json", self.tfidf.to_json().into_bytes()),
            // Every field but the vectors (a tensor below): serializing the
            // struct itself, not a hand-made list of its fields, so a new field
            // cannot be left out again (the normalize-first flag once was).
            (
                "wordvec.json",
                serde_json::to_vec(&self.wordvec).expect("serializes"),
            ),
        ];
        if let Some(t) = self.assigner.lexical_tfidf() {
            files.push(("lexical.json", t.to_json().into_bytes()));
        }
        let dim = cfg.wordvec_dims + self.encoder.config.output_dim() + cfg.lsa_dims;
        let mut extra: Vec<(&str, Vec<usize>, &[f32])> = vec![
            (
                "wordvec.vectors",
                vec![self.wordvec.terms.len(), self.wordvec.dim],
                &self.wordvec.vectors,
            ),
            (
                "lsa.components",
                vec![self.tfidf.terms.len(), cfg.lsa_dims],
                &self.lsa,
            ),
            (
                "clusters.centroids",
                vec![self.manifest.clusters.len(), dim],
                &self.centroids,
            ),
        ];
        if let Some(base) = &self.base_centroids {
            extra.push(("base.centroids", vec![cfg.k, dim], base));
        }
        let split_names: Vec<(String, String)> = (0..self.splits.len())
            .map(|i| {
                let p = super::edit::split_prefix(i);
                (format!("{p}weight"), format!("{p}bias"))
            })
            .collect();
        for (h, (w, b)) in self.splits.iter().zip(&split_names) {
            extra.push((w, h.weight.shape.clone(), &h.weight.value));
            extra.push((b, h.bias.shape.clone(), &h.bias.value));
        }
        // Saved under the names older builds used: `head.*` the seed-word RNN
        // classifier, `clusters.head.*` the cluster (or feature) classifier,
        // `clusters.lexical.*` the lexical one.
        let (rnn, linear, lexical) = match &self.assigner {
            Assigner::NearestCentroid => (None, None, None),
            Assigner::Classifier { linear, lexical } => {
                (None, Some(linear), lexical.as_ref().map(|(_, l)| &l.linear))
            }
            Assigner::Seeded { rnn, features } => (Some(rnn), features.as_ref(), None),
        };
        for (names, h) in [
            (("head.weight", "head.bias"), rnn),
            (("clusters.head.weight", "clusters.head.bias"), linear),
            (
                ("clusters.lexical.weight", "clusters.lexical.bias"),
                lexical,
            ),
        ] {
            if let Some(h) = h {
                extra.push((names.0, h.weight.shape.clone(), &h.weight.value));
                extra.push((names.1, h.bias.shape.clone(), &h.bias.value));
            }
        }
        let mut tensors = weights::to_bytes_with(&mut self.encoder, &extra);
        files.push(("weights.safetensors", std::mem::take(&mut tensors)));
        self.manifest.files.clear();
        for (name, bytes) in &files {
            self.manifest
                .files
                .insert(name.to_string(), hex_sha256(bytes));
            crate::io::write_atomic(dir.join(name), bytes).map_err(|err| ModelError::Io {
                path: dir.join(name).display().to_string(),
                err,
            })?;
        }
        let manifest = serde_json::to_vec_pretty(&self.manifest).expect("manifest serializes");
        crate::io::write_atomic(dir.join("model.json"), &manifest).map_err(|err| ModelError::Io {
            path: dir.join("model.json").display().to_string(),
            err,
        })
    }

    /// Rename clusters in a saved model (`model.json` only; the checksummed
    /// files are untouched). Names must be non-empty; ids must exist.
    pub fn rename(dir: &Path, names: &[(usize, String)]) -> Result<Manifest, ModelError> {
        let path = dir.join("model.json");
        let bytes = fs::read(&path).map_err(|err| ModelError::Io {
            path: path.display().to_string(),
            err,
        })?;
        let bad = |problem: String| ModelError::Invalid {
            path: path.display().to_string(),
            problem,
        };
        let mut manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("not a valid model manifest: {e}")))?;
        for (id, name) in names {
            let known: Vec<String> = manifest.clusters.iter().map(|c| c.id.to_string()).collect();
            let c = (manifest.clusters.iter_mut().find(|c| c.id == *id)).ok_or_else(|| {
                bad(format!(
                    "no cluster {id} (the clusters are {})",
                    known.join(", ")
                ))
            })?;
            let name = name.trim();
            if name.is_empty() {
                return Err(bad(format!("the new name of cluster {id} is empty")));
            }
            c.name = name.to_string();
            c.renamed = true;
        }
        let out = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
        crate::io::write_atomic(&path, &out).map_err(|err| ModelError::Io {
            path: path.display().to_string(),
            err,
        })?;
        Ok(manifest)
    }

    /// Load and verify a model directory.
    pub fn load(dir: &Path) -> Result<Model, ModelError> {
        if crate::translate::store::is_translator(dir) && !dir.join("model.json").exists() {
            return Err(ModelError::Invalid {
                path: dir.display().to_string(),
                problem: "is a translation model: use `textrnn translate`, `translate-eval`, `serve` or `describe` with it".into(),
            });
        }
        Model::load_with(dir, &|name| fs::read(dir.join(name)))
    }

    /// Load and verify a model whose files `read` returns by name (`dir` only
    /// names them in errors). For loading from memory, and for fuzzing.
    pub fn load_with(
        dir: &Path,
        read_file: &dyn Fn(&str) -> std::io::Result<Vec<u8>>,
    ) -> Result<Model, ModelError> {
        let read = |name: &str| -> Result<Vec<u8>, ModelError> {
            read_file(name).map_err(|err| ModelError::Io {
                path: dir.join(name).display().to_string(),
                err,
            })
        };
        let bad = |name: &str, problem: String| invalid(dir, name, problem);
        let manifest = read_manifest(dir, &read)?;
        check_clusters(dir, &manifest)?;
        let contents = read_checked(dir, &read, &manifest)?;
        let cfg = &manifest.config;
        let vocab = Vocab::from_json(&String::from_utf8_lossy(&contents["vocab.json"]))
            .map_err(|e| bad("vocab.json", e))?;
        let tfidf = Tfidf::from_json(&String::from_utf8_lossy(&contents["tfidf.json"]))
            .map_err(|e| bad("tfidf.json", e))?;
        let mut enc_cfg = cfg.train.encoder.clone();
        enc_cfg.vocab = vocab.len();
        let mut encoder = Encoder::<f32>::new(enc_cfg, &mut crate::rng::Rng::new(0));
        let wbytes = &contents["weights.safetensors"];
        weights::load_bytes(&mut encoder, wbytes)
            .map_err(|e| bad("weights.safetensors", e.to_string()))?;
        let t = Tensors {
            dir,
            st: SafeTensors::deserialize(wbytes)
                .map_err(|e| bad("weights.safetensors", e.to_string()))?,
        };
        let lsa = t.get("lsa.components", tfidf.terms.len() * cfg.lsa_dims)?;
        let dim = cfg.wordvec_dims + encoder.config.output_dim() + cfg.lsa_dims;
        let centroids = t.get("clusters.centroids", manifest.clusters.len() * dim)?;
        let base_centroids = if manifest.edits.is_empty() {
            None
        } else {
            Some(t.get("base.centroids", cfg.k * dim)?)
        };
        let mut wordvec: WordVectors = serde_json::from_slice(&contents["wordvec.json"])
            .map_err(|_| bad("wordvec.json", "not valid word-vector metadata".into()))?;
        wordvec.vectors = t.get("wordvec.vectors", wordvec.terms.len() * wordvec.dim)?;
        if wordvec.weights.len() != wordvec.terms.len() || wordvec.mean.len() != wordvec.dim {
            return Err(bad("wordvec.json", "inconsistent sizes".into()));
        }
        wordvec.rebuild_index();
        let assigner = read_assigner(dir, &t, &contents, cfg, encoder.config.output_dim())?;
        let splits = super::edit::split_parts(&manifest.edits)
            .into_iter()
            .enumerate()
            .map(|(i, parts)| t.linear(&super::edit::split_prefix(i), dim, parts))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Model {
            manifest,
            vocab,
            encoder,
            tfidf,
            lsa,
            wordvec,
            centroids,
            assigner,
            base_centroids,
            splits,
            prepared: std::sync::OnceLock::new(),
        })
    }
}

/// `dir/name` is not what a model file must be.
fn invalid(dir: &Path, name: &str, problem: String) -> ModelError {
    ModelError::Invalid {
        path: dir.join(name).display().to_string(),
        problem,
    }
}

type Read<'a> = dyn Fn(&str) -> Result<Vec<u8>, ModelError> + 'a;

/// `model.json`, checked to be a model this build reads.
fn read_manifest(dir: &Path, read: &Read) -> Result<Manifest, ModelError> {
    let bad = |problem: String| invalid(dir, "model.json", problem);
    let manifest: Manifest = serde_json::from_slice(&read("model.json")?)
        .map_err(|e| bad(format!("not a valid model manifest: {e}")))?;
    if manifest.format != "textrnn-model" {
        return Err(bad("not a textrnn model".into()));
    }
    if manifest.version > FORMAT_VERSION {
        return Err(bad(format!("written by a newer textrnn (format {}; this build reads up to {FORMAT_VERSION}); upgrade textrnn", manifest.version)));
    }
    Ok(manifest)
}

/// The clusters listed are those training and the edits leave, and a
/// seed-word model has no edits.
fn check_clusters(dir: &Path, manifest: &Manifest) -> Result<(), ModelError> {
    let bad = |problem: String| invalid(dir, "model.json", problem);
    let cfg = &manifest.config;
    let ids = super::edit::replay_ids(cfg.k, &manifest.edits)
        .map_err(|e| bad(format!("the cluster edits do not replay: {e}")))?;
    if ids != manifest.clusters.iter().map(|c| c.id).collect::<Vec<_>>() {
        return Err(bad(
            "the clusters listed are not those the training and the edits leave".into(),
        ));
    }
    if !manifest.edits.is_empty() && cfg.seed_classifier() {
        return Err(bad("a seed-word model cannot have edits".into()));
    }
    Ok(())
}

/// Every other file the manifest's config needs, each checked against its checksum.
fn read_checked(
    dir: &Path,
    read: &Read,
    manifest: &Manifest,
) -> Result<HashMap<&'static str, Vec<u8>>, ModelError> {
    let mut names = vec![
        "pipeline.json",
        "vocab.json",
        "tfidf.json",
        "wordvec.json",
        "weights.safetensors",
    ];
    if manifest.config.lexical_classifier() {
        names.push("lexical.json");
    }
    let mut contents = HashMap::new();
    for name in names {
        let bytes = read(name)?;
        let want = (manifest.files.get(name))
            .ok_or_else(|| invalid(dir, "model.json", format!("no checksum for {name}")))?;
        if &hex_sha256(&bytes) != want {
            return Err(invalid(
                dir,
                name,
                "checksum mismatch: the file is corrupt or was edited; retrain or restore it"
                    .into(),
            ));
        }
        contents.insert(name, bytes);
    }
    Ok(contents)
}

/// The tensors of `weights.safetensors`, read by name and length.
struct Tensors<'a> {
    dir: &'a Path,
    st: SafeTensors<'a>,
}

impl Tensors<'_> {
    fn get(&self, name: &str, len: usize) -> Result<Vec<f32>, ModelError> {
        weights::read_f32(&self.st, name, len)
            .map_err(|e| invalid(self.dir, "weights.safetensors", e))
    }

    /// A linear layer `(k, d)` saved under `{prefix}weight` / `{prefix}bias`.
    fn linear(&self, prefix: &str, d: usize, k: usize) -> Result<Linear<f32>, ModelError> {
        let mut h = Linear::<f32>::new(prefix, d, k, &mut crate::rng::Rng::new(0));
        h.weight.value = self.get(&format!("{prefix}weight"), k * d)?;
        h.bias.value = self.get(&format!("{prefix}bias"), k)?;
        Ok(h)
    }
}

/// The rule that assigns texts, chosen from the config as training chose
/// it; older formats load with what they had (version 1: nearest
/// centroid; seed-word models before version 4: the RNN classifier alone).
/// `d`: the RNN's output width.
fn read_assigner(
    dir: &Path,
    t: &Tensors,
    contents: &HashMap<&'static str, Vec<u8>>,
    cfg: &super::ModelConfig,
    d: usize,
) -> Result<Assigner, ModelError> {
    let k = cfg.k;
    let dim = cfg.wordvec_dims + d + cfg.lsa_dims;
    Ok(match cfg.seeds.as_ref().filter(|_| cfg.seed_classifier()) {
        Some(seeds) => {
            if seeds.classes.len() != k {
                return Err(invalid(
                    dir,
                    "model.json",
                    format!("{} seed classes but k = {k}", seeds.classes.len()),
                ));
            }
            Assigner::Seeded {
                rnn: t.linear("head.", d, k)?,
                features: if cfg.seeded_feature_head() {
                    Some(t.linear("clusters.head.", dim, k)?)
                } else {
                    None
                },
            }
        }
        None if cfg.cluster_head.enabled() => Assigner::Classifier {
            linear: t.linear("clusters.head.", dim, k)?,
            lexical: if cfg.lexical_classifier() {
                let lt = Tfidf::from_json(&String::from_utf8_lossy(&contents["lexical.json"]))
                    .map_err(|e| invalid(dir, "lexical.json", e))?;
                let l = t.linear("clusters.lexical.", lt.terms.len(), k)?;
                Some((lt, head::Lexical::new(l)))
            } else {
                None
            },
        },
        None => Assigner::NearestCentroid,
    })
}

pub(crate) fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

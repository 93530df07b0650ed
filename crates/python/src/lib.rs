//! `textrnn._native`: the textrnn library for Python, as a thin layer.
//!
//! It owns only what crossing into Python needs: turning Python values into
//! the library's settings, releasing the GIL while the library works,
//! handing training progress to a Python callback, turning Ctrl-C into a
//! clean stop, and turning the library's errors into Python exceptions.
//! The scikit-learn-style class users see (`textrnn.TextRNN`) is Python, in
//! `python/textrnn/__init__.py`: input coercion (lists, numpy, pandas,
//! pyarrow), numpy arrays and tqdm bars are easier to get right there.
//!
//! Arrays cross as little-endian bytes (`numpy.frombuffer` reads them
//! without another copy); Arrow string columns cross as the addresses of
//! their buffers, read in place (`predict_utf8`).

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use serde_json::Value;
use textrnn::learn::seeds::SeedSet;
use textrnn::learn::Progress;
use textrnn::model::{CorpusProfile, Model, ModelConfig};
use textrnn::nn::gemm::Threads;
use textrnn::text::TextPipeline;

/// Python option name -> the path of the setting in `ModelConfig`'s JSON.
/// Names are the CLI flags' (`--graph-neighbors` is `graph_neighbors`).
const OPTIONS: &[(&str, &[&str])] = &[
    ("cell", &["train", "encoder", "cell"]),
    ("hidden", &["train", "encoder", "hidden"]),
    ("embed", &["train", "encoder", "embed"]),
    ("layers", &["train", "encoder", "layers"]),
    ("bidirectional", &["train", "encoder", "bidirectional"]),
    ("pooling", &["train", "encoder", "pooling"]),
    ("dropout", &["train", "encoder", "dropout"]),
    ("max_len", &["train", "max_len"]),
    ("batch", &["train", "batch_size"]),
    ("epochs", &["train", "epochs"]),
    ("lr", &["train", "lr"]),
    ("weight_decay", &["train", "weight_decay"]),
    ("temperature", &["train", "temperature"]),
    ("warmup", &["train", "warmup_fraction"]),
    ("clip", &["train", "clip"]),
    ("val_fraction", &["train", "val_fraction"]),
    ("patience", &["train", "patience"]),
    ("min_count", &["vocab", "min_count"]),
    ("lsa_dims", &["lsa_dims"]),
    ("wordvec_dims", &["wordvec_dims"]),
    ("sif_weight", &["weights", "sif"]),
    ("rnn_weight", &["weights", "rnn"]),
    ("lsa_weight", &["weights", "lsa"]),
    ("negation", &["tfidf", "negation"]),
    ("lead", &["tfidf", "lead"]),
    ("n_init", &["n_init"]),
    ("graph_neighbors", &["graph", "neighbors"]),
    ("cluster_sample", &["cluster_sample"]),
    ("graph_weight", &["graph", "weight"]),
    ("graph_min_match", &["graph", "min_kmeans_match"]),
    ("graph_max_balance_drop", &["graph", "max_balance_drop"]),
    ("head_c", &["cluster_head", "c"]),
    ("lexical_head", &["cluster_head", "lexical"]),
    ("head_rounds", &["cluster_head", "rounds"]),
    ("head_balance", &["cluster_head", "balance"]),
    ("head_holdout", &["cluster_head", "holdout"]),
    ("head_holdout_rounds", &["cluster_head", "holdout_rounds"]),
    ("seed_role", &["seed_role"]),
    ("seed_agreement", &["weak", "name_agreement"]),
    ("seed_expansion", &["weak", "expand"]),
];

/// The payload of the unwind that stops training on Ctrl-C.
struct Cancelled;

/// A trained model.
#[pyclass(module = "textrnn._native")]
struct NativeModel {
    model: Model,
}

/// A pool of `threads` workers (all cores when `None`).
fn pool(threads: Option<usize>) -> PyResult<(rayon::ThreadPool, usize)> {
    let n = threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    if n == 0 {
        return Err(PyValueError::new_err("threads must be at least 1"));
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start {n} threads: {e}")))?;
    Ok((p, n))
}

/// A Python value as JSON (bool, int, float, str, None).
fn json_of(key: &str, v: &Bound<'_, PyAny>) -> PyResult<Value> {
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.extract::<bool>() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = v.extract::<i64>() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = v.extract::<f64>() {
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{key} must be a finite number")));
    }
    if let Ok(s) = v.extract::<String>() {
        return Ok(Value::String(s));
    }
    Err(PyValueError::new_err(format!(
        "{key}: expected a number, a bool or a string, got {}",
        v.get_type().name()?
    )))
}

/// `cfg` with each option of `options` in place of its default.
fn apply_options(cfg: ModelConfig, options: &Bound<'_, PyDict>) -> PyResult<ModelConfig> {
    let mut json =
        serde_json::to_value(&cfg).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    for (key, value) in options.iter() {
        let key: String = key.extract()?;
        let Some((_, path)) = OPTIONS.iter().find(|(name, _)| *name == key) else {
            let names: Vec<&str> = OPTIONS.iter().map(|(n, _)| *n).collect();
            return Err(PyValueError::new_err(format!(
                "unknown option '{key}'; the options are: {}",
                names.join(", ")
            )));
        };
        // The parent object's key: a setting at its default may not be written.
        let no_setting = || PyRuntimeError::new_err(format!("no setting {}", path.join(".")));
        let (last, parents) = path.split_last().ok_or_else(no_setting)?;
        let mut slot = &mut json;
        for part in parents {
            slot = slot.get_mut(*part).ok_or_else(no_setting)?;
        }
        let parent = slot.as_object_mut().ok_or_else(no_setting)?;
        parent.insert(last.to_string(), json_of(&key, &value)?);
    }
    serde_json::from_value(json)
        .map_err(|e| PyValueError::new_err(format!("bad option value: {e}")))
}

/// Refuse values no run can use (the CLI's checks, by option name).
fn validate(c: &ModelConfig) -> PyResult<()> {
    let e = &c.train.encoder;
    let t = &c.train;
    let amount = |x: f64| x >= 0.0 && x.is_finite();
    let checks: [(bool, &str); 9] = [
        (
            e.hidden >= 1 && e.embed >= 1 && e.layers >= 1 && t.batch_size >= 2 && t.max_len >= 1,
            "hidden, embed, layers, max_len must be at least 1 and batch at least 2",
        ),
        ((0.0..1.0).contains(&e.dropout), "dropout must be in [0, 1)"),
        (
            (0.0..1.0).contains(&c.cluster_head.holdout),
            "head_holdout must be in [0, 1)",
        ),
        (
            amount(c.weights.sif.into())
                && amount(c.weights.rnn.into())
                && amount(c.weights.lsa.into())
                && amount(c.graph.weight.into())
                && amount(c.cluster_head.c)
                && amount(c.cluster_head.balance),
            "feature weights, graph_weight, head_c and head_balance must be finite and not negative",
        ),
        (
            t.temperature > 0.0 && t.lr > 0.0,
            "temperature and lr must be positive",
        ),
        (
            (0.0..1.0).contains(&t.warmup_fraction)
                && (0.0..1.0).contains(&t.val_fraction)
                && amount(t.clip),
            "warmup and val_fraction must be in [0, 1), clip finite and not negative",
        ),
        (
            (0.0..=1.0).contains(&c.graph.min_kmeans_match)
                && (0.0..=1.0).contains(&c.graph.max_balance_drop),
            "graph_min_match and graph_max_balance_drop must be in [0, 1]",
        ),
        (
            (0.0..=1.0).contains(&c.weak.name_agreement),
            "seed_agreement must be in [0, 1]",
        ),
        (
            c.cluster_sample == 0 || c.cluster_sample >= 100,
            "cluster_sample must be 0 (all texts) or at least 100",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, msg)) => Err(PyValueError::new_err(*msg)),
        None => Ok(()),
    }
}

/// A shipped seed set by name, one given as JSON text, or the path of a
/// user's (JSON, word-score lexicon, folder of word lists).
fn seed_set(spec: &str) -> PyResult<SeedSet> {
    if let Some(s) = SeedSet::builtin(spec) {
        return Ok(s);
    }
    if spec.trim_start().starts_with('{') {
        return SeedSet::from_json(spec).map_err(|e| PyValueError::new_err(format!("seeds: {e}")));
    }
    SeedSet::read(Path::new(spec), 0.0).map_err(|e| PyValueError::new_err(format!("seeds: {e}")))
}

/// Bytes of a slice of plain numbers, in this machine's byte order.
fn bytes_of<'py, T: Copy>(py: Python<'py>, v: &[T]) -> Bound<'py, PyBytes> {
    // SAFETY: T is a plain number type (f32, i64, u8): any byte is readable.
    let raw =
        unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) };
    PyBytes::new(py, raw)
}

/// The settings for `texts`: the library's corpus-adaptive defaults, then
/// the options.
fn settings(
    texts: &[&str],
    k: usize,
    k_auto: Option<(usize, usize)>,
    seed: u64,
    seeds: Option<&str>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<(ModelConfig, CorpusProfile)> {
    let seeds = seeds.map(seed_set).transpose()?;
    let k = match (&seeds, k_auto) {
        (Some(s), None) if k == 0 || k == s.classes.len() => s.classes.len(),
        (Some(s), _) => {
            return Err(PyValueError::new_err(format!(
                "k must match the {} classes of the seed words (or be left out)",
                s.classes.len()
            )))
        }
        (None, Some((lo, hi))) if lo < 2 || hi < lo => {
            return Err(PyValueError::new_err("k='auto' needs 2 <= k_min <= k_max"))
        }
        (None, Some((lo, _))) => lo,
        (None, None) if k == 0 => return Err(PyValueError::new_err("k must be at least 1")),
        (None, None) => k,
    };
    let seeded = seeds.is_some();
    let profile = CorpusProfile::measure(&TextPipeline::default(), texts);
    let mut cfg = ModelConfig::for_corpus(k, seed, seeds, &profile);
    cfg.k_auto = k_auto;
    if let Some(o) = options {
        cfg = apply_options(cfg, o)?;
    }
    validate(&cfg)?;
    textrnn::model::check_clusterable(texts, k, seeded)
        .map_err(|e| PyValueError::new_err(format!("cannot cluster the texts: {e}")))?;
    Ok((cfg, profile))
}

/// A panic's message.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// Train with the GIL released, passing progress to `progress` and
/// stopping at the next training step when Python has a pending signal
/// (Ctrl-C) or the callback raises.
fn fit_released(
    py: Python<'_>,
    texts: &[&str],
    cfg: &ModelConfig,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<textrnn::model::Fitted> {
    let (pool, n) = pool(threads)?;
    let cancel = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Progress>();
    let mut stop: Option<PyErr> = None;
    let (cancel, pool, stop_at) = (&cancel, &pool, &mut stop);
    let outcome = py.detach(move || {
        std::thread::scope(|s| {
            let worker = s.spawn(move || {
                pool.install(|| {
                    catch_unwind(AssertUnwindSafe(|| {
                        let mut cb = |p: Progress| {
                            if cancel.load(Ordering::Relaxed) {
                                resume_unwind(Box::new(Cancelled));
                            }
                            let _ = tx.send(p);
                        };
                        Model::fit(texts, cfg, Threads::Many(n), &mut cb)
                    }))
                })
            });
            loop {
                let event = rx.recv_timeout(Duration::from_millis(100));
                let finished = matches!(event, Err(mpsc::RecvTimeoutError::Disconnected));
                if stop_at.is_none() {
                    let mut events: Vec<Progress> = event.into_iter().collect();
                    events.extend(rx.try_iter());
                    let r = Python::attach(|py| -> PyResult<()> {
                        if let Some(cb) = &progress {
                            for p in &events {
                                cb.call1(
                                    py,
                                    (p.stage.name(), p.epoch, p.step, p.total_steps, p.loss),
                                )?;
                            }
                        }
                        py.check_signals()
                    });
                    if let Err(e) = r {
                        *stop_at = Some(e);
                        cancel.store(true, Ordering::Relaxed);
                    }
                }
                if finished {
                    break;
                }
            }
            worker.join()
        })
    });
    let outcome = match outcome {
        Ok(inner) => inner,
        Err(p) => Err(p),
    };
    match outcome {
        Ok(Ok(f)) => Ok(f),
        Ok(Err(e)) => Err(PyValueError::new_err(format!("cannot train: {e}"))),
        Err(p) if p.is::<Cancelled>() => {
            Err(stop.unwrap_or_else(|| PyKeyboardInterrupt::new_err("training interrupted")))
        }
        Err(p) => Err(PyRuntimeError::new_err(format!(
            "internal error while training (please report it): {}",
            panic_message(p.as_ref())
        ))),
    }
}

/// Run `f` on a pool of `threads` with the GIL released.
fn released<T: Send>(
    py: Python<'_>,
    threads: Option<usize>,
    f: impl FnOnce(Threads) -> T + Send,
) -> PyResult<T> {
    let (pool, n) = pool(threads)?;
    py.detach(|| pool.install(|| catch_unwind(AssertUnwindSafe(|| f(Threads::Many(n))))))
        .map_err(|p| {
            PyRuntimeError::new_err(format!(
                "internal error (please report it): {}",
                panic_message(p.as_ref())
            ))
        })
}

/// An Arrow `utf8` / `large_utf8` array as Python describes it: the
/// offsets buffer's address and size, the data buffer's address and size,
/// whether offsets are 64-bit (`large_utf8`), the array's offset and length.
type ArrowUtf8 = (usize, usize, usize, usize, bool, usize, usize);

/// The strings of an Arrow `utf8` (32-bit offsets) or `large_utf8` (64-bit)
/// array, read in place from its buffers' addresses.
///
/// # Safety
/// The addresses must be those of live buffers of at least the given sizes,
/// kept alive by the caller for the returned lifetime.
unsafe fn arrow_strs<'a>(column: ArrowUtf8) -> PyResult<Vec<&'a str>> {
    let (offsets_addr, offsets_size, data_addr, data_size, large, offset, length) = column;
    let width = if large { 8 } else { 4 };
    if offsets_addr == 0 || offsets_size < (offset + length + 1) * width {
        return Err(PyValueError::new_err(
            "the Arrow offsets buffer is too short",
        ));
    }
    let data: &[u8] = if data_size == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(data_addr as *const u8, data_size)
    };
    let at = |i: usize| -> usize {
        let p = offsets_addr as *const u8;
        if large {
            std::ptr::read_unaligned(p.add(i * 8).cast::<i64>()) as usize
        } else {
            std::ptr::read_unaligned(p.add(i * 4).cast::<i32>()) as usize
        }
    };
    (offset..offset + length)
        .map(|i| {
            let (a, b) = (at(i), at(i + 1));
            if a > b || b > data.len() {
                return Err(PyValueError::new_err(format!(
                    "row {}: Arrow offsets out of range",
                    i - offset
                )));
            }
            std::str::from_utf8(&data[a..b])
                .map_err(|e| PyValueError::new_err(format!("row {}: not UTF-8: {e}", i - offset)))
        })
        .collect()
}

#[pymethods]
impl NativeModel {
    /// Train on `texts`; returns the model, each text's cluster (int64
    /// bytes) and score (float32 bytes).
    #[staticmethod]
    #[pyo3(signature = (texts, k, k_auto, seed, threads, seeds, options, progress))]
    #[allow(clippy::too_many_arguments)]
    fn fit<'py>(
        py: Python<'py>,
        texts: Vec<String>,
        k: usize,
        k_auto: Option<(usize, usize)>,
        seed: u64,
        threads: Option<usize>,
        seeds: Option<String>,
        options: Option<Bound<'py, PyDict>>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<(NativeModel, Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let (cfg, profile) = settings(&refs, k, k_auto, seed, seeds.as_deref(), options.as_ref())?;
        let mut fitted = fit_released(py, &refs, &cfg, threads, progress)?;
        fitted.model.manifest.profile = Some(profile);
        let labels: Vec<i64> = fitted.labels.iter().map(|&l| l as i64).collect();
        Ok((
            NativeModel {
                model: fitted.model,
            },
            bytes_of(py, &labels),
            bytes_of(py, &fitted.scores),
        ))
    }

    /// Load a model directory written by `textrnn train` or `save`.
    #[staticmethod]
    fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<NativeModel> {
        let model = py.detach(|| Model::load(&path)).map_err(|e| {
            PyOSError::new_err(format!(
                "cannot load the model from {}: {e}",
                path.display()
            ))
        })?;
        Ok(NativeModel { model })
    }

    /// Write the model directory (atomically).
    fn save(&mut self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        let model = &mut self.model;
        py.detach(|| model.save(Path::new(&path))).map_err(|e| {
            PyOSError::new_err(format!("cannot save the model to {}: {e}", path.display()))
        })
    }

    /// Cluster (int64 bytes), score (float32 bytes) and low-confidence flag
    /// (uint8 bytes) of each text.
    #[pyo3(signature = (texts, threads=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        threads: Option<usize>,
    ) -> PyResult<(
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
    )> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        self.classify(py, &refs, threads)
    }

    /// `predict` of the strings of an Arrow utf8 / large_utf8 array, read
    /// in place from its buffers (see `arrow_strs`).
    #[pyo3(signature = (column, threads=None))]
    fn predict_utf8<'py>(
        &self,
        py: Python<'py>,
        column: ArrowUtf8,
        threads: Option<usize>,
    ) -> PyResult<(
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
    )> {
        // SAFETY: the Python caller holds the array for the whole call.
        let refs = unsafe { arrow_strs(column)? };
        self.classify(py, &refs, threads)
    }

    /// `represent` of the strings of an Arrow utf8 / large_utf8 array, read
    /// in place from its buffers (see `arrow_strs`).
    #[pyo3(signature = (column, threads=None))]
    fn represent_utf8<'py>(
        &self,
        py: Python<'py>,
        column: ArrowUtf8,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        // SAFETY: the Python caller holds the array for the whole call.
        let refs = unsafe { arrow_strs(column)? };
        let z = released(py, threads, |t| self.model.represent(&refs, t))?;
        Ok(bytes_of(py, &z))
    }

    /// Representations `(N, dim)` as float32 bytes.
    #[pyo3(signature = (texts, threads=None))]
    fn represent<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let z = released(py, threads, |t| self.model.represent(&refs, t))?;
        Ok(bytes_of(py, &z))
    }

    /// Probabilities `(N, k)` as float32 bytes.
    #[pyo3(signature = (texts, threads=None))]
    fn probabilities<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let p = released(py, threads, |t| self.model.probabilities(&refs, t))?;
        Ok(bytes_of(py, &p))
    }

    /// Representation width.
    #[getter]
    fn dim(&self) -> usize {
        self.model.dim()
    }

    /// Number of clusters.
    #[getter]
    fn k(&self) -> usize {
        self.model.manifest.clusters.len()
    }

    /// Whether the clusters come from seed words.
    #[getter]
    fn seeded(&self) -> bool {
        self.model.manifest.config.seeds.is_some()
    }

    /// Each cluster: id, name, size, top terms (and their scores), examples.
    fn clusters<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.model
            .manifest
            .clusters
            .iter()
            .map(|c| {
                let d = PyDict::new(py);
                d.set_item("id", c.id)?;
                d.set_item("name", &c.name)?;
                d.set_item("size", c.size)?;
                d.set_item("top_terms", &c.top_terms)?;
                d.set_item("top_scores", &c.top_scores)?;
                d.set_item("examples", &c.examples)?;
                Ok(d)
            })
            .collect()
    }

    /// Rename cluster `id` (saved by the next `save`).
    fn rename(&mut self, id: usize, name: String) -> PyResult<()> {
        let k = self.model.manifest.clusters.len();
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(PyValueError::new_err("a cluster name cannot be empty"));
        }
        match self.model.manifest.clusters.iter_mut().find(|c| c.id == id) {
            Some(c) => {
                c.name = name;
                c.renamed = true;
                Ok(())
            }
            None => Err(PyValueError::new_err(format!(
                "no cluster {id}: the model has {k} clusters ({})",
                self.model
                    .manifest
                    .clusters
                    .iter()
                    .map(|c| c.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Join clusters `ids` into the first (named `name`, or by its terms); returns its id.
    #[pyo3(signature = (ids, name=None))]
    fn merge(&mut self, ids: Vec<usize>, name: Option<String>) -> PyResult<usize> {
        self.model
            .merge(&ids, name.as_deref())
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// Merge along the cluster tree down to `k` clusters; returns the groups merged (ids).
    fn merge_to(&mut self, k: usize) -> PyResult<Vec<Vec<usize>>> {
        self.model
            .merge_to(k)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// Split cluster `id` into `parts` by re-clustering its texts among `texts`; returns the parts' ids.
    #[pyo3(signature = (id, parts, texts, threads=None))]
    fn split(
        &mut self,
        py: Python<'_>,
        id: usize,
        parts: usize,
        texts: Vec<String>,
        threads: Option<usize>,
    ) -> PyResult<Vec<usize>> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let model = &mut self.model;
        released(py, threads, |t| model.split(id, parts, &refs, "python", t))?
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// Update with new texts (`new_clusters`: None for auto, else a count);
    /// returns the update's log as JSON.
    #[pyo3(signature = (texts, epochs=0, new_clusters=None, threads=None))]
    fn update(
        &mut self,
        py: Python<'_>,
        texts: Vec<String>,
        epochs: usize,
        new_clusters: Option<usize>,
        threads: Option<usize>,
    ) -> PyResult<String> {
        use textrnn::model::update::{NewClusters, UpdateConfig};
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let cfg = UpdateConfig {
            epochs,
            new_clusters: new_clusters.map_or(NewClusters::Auto, NewClusters::Exactly),
        };
        let model = &mut self.model;
        let (_, log) = released(py, threads, |t| {
            model.update(&refs, "python", &cfg, t, &mut |_| {})
        })?
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
        serde_json::to_string(&log).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// A seed-word model's seed words as `--seeds` reads them (given, then
    /// added by seed expansion), as JSON; None without seed words.
    fn seed_words_json(&self) -> Option<String> {
        self.model.seed_words().map(|s| s.to_json())
    }

    /// The cluster tree: each join as (position a, position b, height, size),
    /// positions `0..k` the clusters in the model's order, `k + i` join `i`.
    fn tree(&self) -> Vec<(usize, usize, f64, usize)> {
        let sizes: Vec<usize> = self
            .model
            .manifest
            .clusters
            .iter()
            .map(|c| c.size)
            .collect();
        textrnn::model::tree::ward(&self.model.centroids, self.model.dim(), &sizes)
            .into_iter()
            .map(|j| (j.nodes.0, j.nodes.1, j.height, j.size))
            .collect()
    }

    /// `model.json` as text.
    fn manifest_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.model.manifest)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }
}

impl NativeModel {
    fn classify<'py>(
        &self,
        py: Python<'py>,
        texts: &[&str],
        threads: Option<usize>,
    ) -> PyResult<(
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
    )> {
        let p = released(py, threads, |t| self.model.classify(texts, t))?;
        let labels: Vec<i64> = p.labels.iter().map(|&l| l as i64).collect();
        let low: Vec<u8> = p.low_confidence.iter().map(|&b| b as u8).collect();
        Ok((
            bytes_of(py, &labels),
            bytes_of(py, &p.scores),
            bytes_of(py, &low),
        ))
    }
}

/// The option names `TextRNN(**options)` accepts.
#[pyfunction]
fn option_names() -> Vec<&'static str> {
    OPTIONS.iter().map(|(n, _)| *n).collect()
}

/// The shipped seed sets' names.
#[pyfunction]
fn builtin_seed_sets() -> Vec<&'static str> {
    textrnn::learn::seeds::BUILTIN
        .iter()
        .map(|(n, _)| *n)
        .collect()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeModel>()?;
    m.add_function(wrap_pyfunction!(option_names, m)?)?;
    m.add_function(wrap_pyfunction!(builtin_seed_sets, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("K_AUTO_RANGE", textrnn::model::K_AUTO_RANGE)?;
    Ok(())
}

//! `textrnn serve`: a trained model behind HTTP (the `textrnn-serve` crate).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use textrnn::model::Model;
use textrnn::translate::translator::Translator;
use textrnn_serve::{ServeConfig, Served};

/// Serve a trained model over HTTP until Ctrl-C or SIGTERM (in-flight requests finish).
///
///   POST /v1/classify  {"texts": ["...", ...]} -> {"results": [{"cluster", "name", "score"}, ...]}
///   POST /v1/embed     {"texts": [...]}        -> {"dim": D, "embeddings": [[...], ...]}
///   POST /v1/translate {"texts": [...], "beam": 5, "n_best": 1}
///                      -> {"results": [{"translation", "score"}, ...]}   (a translation model)
///   GET  /health, GET /v1/model, GET /openapi.json
///
/// Concurrent requests are batched together. Example:
///   textrnn serve --model so.model --addr 127.0.0.1:8080
///   curl -s localhost:8080/v1/classify -d '{"texts": ["how do I sort a list in python"]}'
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ServeArgs {
    /// Model directory written by `textrnn train` or `textrnn translate-train`.
    #[arg(long, value_name = "MODEL_DIR")]
    model: String,
    /// Address to listen on (port 0: any free port, printed on start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Most texts in one request.
    #[arg(long, default_value_t = 1024)]
    max_texts: usize,
    /// Longest text, in characters.
    #[arg(long, default_value_t = 20_000)]
    max_text_chars: usize,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    max_body_bytes: usize,
    /// Most texts computed together in one batch.
    #[arg(long, default_value_t = 512)]
    max_batch: usize,
    /// Longest time one request may take, in seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Longest time a client may take to send its request headers, in seconds.
    #[arg(long, default_value_t = 10.0)]
    header_timeout: f64,
    /// Most open connections (more are closed at once).
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
}

pub fn run(a: ServeArgs) -> Result<()> {
    anyhow::ensure!(
        a.max_texts >= 1 && a.max_batch >= 1 && a.max_text_chars >= 1,
        "--max-texts, --max-batch and --max-text-chars must be at least 1"
    );
    anyhow::ensure!(
        [a.timeout, a.header_timeout]
            .iter()
            .all(|t| t.is_finite() && *t > 0.0),
        "--timeout and --header-timeout must be positive numbers of seconds"
    );
    anyhow::ensure!(
        a.max_connections >= 1,
        "--max-connections must be at least 1"
    );
    let dir = Path::new(&a.model);
    let model: Served = if textrnn::translate::store::is_translator(dir) {
        Translator::load(dir)
            .context("cannot load the model")?
            .into()
    } else {
        Model::load(dir).context("cannot load the model")?.into()
    };
    let cfg = ServeConfig {
        max_body_bytes: a.max_body_bytes,
        max_texts: a.max_texts,
        max_text_chars: a.max_text_chars,
        max_batch_texts: a.max_batch,
        request_timeout: Duration::from_secs_f64(a.timeout),
        threads: rayon::current_num_threads(),
        header_timeout: Duration::from_secs_f64(a.header_timeout),
        max_connections: a.max_connections,
        ..ServeConfig::default()
    };
    textrnn_serve::run_blocking(a.addr, model, cfg)
        .with_context(|| format!("cannot serve on {}", a.addr))
}

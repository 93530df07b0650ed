//! textrnn's HTTP server: a trained model behind `POST /v1/classify` and
//! `POST /v1/embed`, or a translation model behind `POST /v1/translate`,
//! with dynamic batching.
//!
//! This crate owns everything asynchronous; the `textrnn` library stays free
//! of it. The data flow of one request:
//!
//! 1. axum parses and checks the body (size, JSON shape, number of texts,
//!    text length) and answers a clear JSON error when something is wrong;
//! 2. the texts become one [`Job`] on a bounded queue (full queue: 503);
//! 3. one batcher thread takes every job waiting in the queue, up to
//!    [`ServeConfig::max_batch_texts`] texts, classifies all their texts in
//!    one call of [`Model::classify`] (embed jobs: [`Model::represent`];
//!    translate jobs: [`Translator::translate`], one call per set of
//!    decoding options; all use the rayon pool), and answers each job with
//!    its own rows. Under load, requests therefore share batches
//!    and throughput grows with concurrency; alone, a request is computed at
//!    once (no batching window is waited for);
//! 4. the handler turns the rows into the response.
//!
//! A request that takes longer than [`ServeConfig::request_timeout`] gets
//! 503; a job whose client has gone is skipped. Shutdown (SIGTERM, Ctrl-C or
//! the caller's future) stops accepting connections and lets in-flight
//! requests finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use textrnn::model::Model;
use textrnn::nn::gemm::Threads;
use textrnn::translate::decode::DecodeOptions;
use textrnn::translate::translator::{Translation, Translator};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// Limits and sizes of the server.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Largest request body in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Most texts in one request (more: 413).
    pub max_texts: usize,
    /// Longest text in characters (longer: 413).
    pub max_text_chars: usize,
    /// Most texts the batcher represents in one call.
    pub max_batch_texts: usize,
    /// Most requests waiting for the batcher (more: 503).
    pub queue_capacity: usize,
    /// Longest time a request may take (longer: 503).
    pub request_timeout: Duration,
    /// Threads for the model's computation.
    pub threads: usize,
    /// Longest time a client may take to send a request's headers (slow
    /// clients are disconnected).
    pub header_timeout: Duration,
    /// Most open connections; more are closed at once.
    pub max_connections: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            max_body_bytes: 4 << 20,
            max_texts: 1024,
            max_text_chars: 20_000,
            max_batch_texts: 512,
            queue_capacity: 1024,
            request_timeout: Duration::from_secs(30),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            header_timeout: Duration::from_secs(10),
            max_connections: 4096,
        }
    }
}

/// What the server holds: a classification model or a translation model.
/// (Built once per server: the variants' sizes do not matter.)
#[allow(clippy::large_enum_variant)]
pub enum Served {
    /// `/v1/classify` and `/v1/embed`.
    Classifier(Model),
    /// `/v1/translate`.
    Translator(Translator),
}

impl From<Model> for Served {
    fn from(m: Model) -> Self {
        Served::Classifier(m)
    }
}

impl From<Translator> for Served {
    fn from(t: Translator) -> Self {
        Served::Translator(t)
    }
}

/// What a job asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Task {
    Classify,
    Embed,
    /// Beam size and n-best list length.
    Translate(usize, usize),
}

/// Where a job's answer goes.
enum Reply {
    Rows(oneshot::Sender<Vec<Vec<f32>>>),
    Translations(oneshot::Sender<Vec<Vec<Translation>>>),
}

impl Reply {
    fn is_closed(&self) -> bool {
        match self {
            Reply::Rows(r) => r.is_closed(),
            Reply::Translations(r) => r.is_closed(),
        }
    }
}

/// One request's texts waiting for the batcher.
struct Job {
    texts: Vec<String>,
    task: Task,
    reply: Reply,
}

/// Counters shown by `GET /v1/model`.
#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    texts: AtomicU64,
    batches: AtomicU64,
}

struct Shared {
    model: Option<Arc<Model>>,
    translator: Option<Arc<Translator>>,
    cfg: ServeConfig,
    queue: mpsc::Sender<Job>,
    stats: Arc<Stats>,
}

type AppState = Arc<Shared>;

/// An error answer: `{"error": {"status": 400, "message": "..."}}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"status": self.0.as_u16(), "message": self.1}});
        (self.0, Json(body)).into_response()
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError(status, message.into())
}

/// The application and the batcher thread that serves it. The thread ends
/// when the router (and with it the queue) is dropped.
pub fn app(served: impl Into<Served>, cfg: ServeConfig) -> (Router, std::thread::JoinHandle<()>) {
    let (model, translator) = match served.into() {
        Served::Classifier(model) => {
            // Warm up: the first call loads lazily built state (jieba's dictionary).
            model.represent(&["warm up", "预热"], Threads::One);
            // A server encodes many texts a few at a time: pack the encoder's
            // weights once now, and fold its input projection (exact, within the
            // memory cap; 41 MB for the shipped encoder over a 13k-token
            // vocabulary), so no request repacks or projects.
            let folded = model.prepare_inference(Threads::One);
            tracing::info!(folded, "encoder prepared for inference");
            (Some(Arc::new(model)), None)
        }
        Served::Translator(t) => (None, Some(Arc::new(t))),
    };
    let stats = Arc::new(Stats::default());
    let (tx, rx) = mpsc::channel(cfg.queue_capacity.max(1));
    let batcher = {
        let (model, translator) = (model.clone(), translator.clone());
        let (stats, cfg) = (stats.clone(), cfg.clone());
        std::thread::Builder::new()
            .name("textrnn-batcher".into())
            .spawn(move || match (model, translator) {
                (Some(m), _) => batcher(rx, &m, &stats, &cfg),
                (None, Some(t)) => translate_batcher(rx, &t, &stats, &cfg),
                (None, None) => unreachable!("a server holds a model"),
            })
            .expect("cannot start the batcher thread")
    };
    let timeout = cfg.request_timeout;
    let state: AppState = Arc::new(Shared {
        model,
        translator,
        cfg,
        queue: tx,
        stats,
    });
    let router = Router::new()
        .route("/health", get(health))
        .route("/v1/model", get(model_info))
        .route("/openapi.json", get(openapi))
        .route("/v1/classify", post(classify))
        .route("/v1/embed", post(embed))
        .route("/v1/translate", post(translate))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(timeout, time_limit))
        .with_state(state);
    (router, batcher)
}

/// Serve on `listener` until `shutdown` completes, then let in-flight
/// requests finish.
///
/// Connections are served by hyper directly (not `axum::serve`) so that a
/// client that is slow to send its headers is cut off after
/// [`ServeConfig::header_timeout`], and at most
/// [`ServeConfig::max_connections`] are open at once.
pub async fn serve(
    listener: TcpListener,
    model: impl Into<Served>,
    cfg: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let (router, batcher) = app(model, cfg.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(cfg.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, _)) => s,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::warn!("too many connections ({}); closing a new one", cfg.max_connections);
                    continue;
                };
                let service = hyper_util::service::TowerToHyperService::new(router.clone());
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(cfg.header_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection ended: {e}");
                    }
                    drop(slot);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    // The router is gone: the queue closes and the batcher ends.
    drop(router);
    tokio::task::spawn_blocking(move || batcher.join())
        .await
        .ok();
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Bind `addr` and serve until SIGTERM or Ctrl-C. Prints the bound address.
pub async fn run(addr: SocketAddr, model: Served, cfg: ServeConfig) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    eprintln!("textrnn: serving on http://{local} (Ctrl-C or SIGTERM stops)");
    serve(listener, model, cfg, shutdown_signal()).await
}

/// The next batch: the first waiting job (blocking until there is one) and
/// every job already queued behind it, up to `max` texts (a job that does
/// not fit waits in `pending` for the next batch). Jobs whose client gave
/// up are dropped. `None` when the queue is closed.
fn next_batch(
    rx: &mut mpsc::Receiver<Job>,
    pending: &mut Option<Job>,
    max: usize,
) -> Option<Vec<Job>> {
    let first = match pending.take() {
        Some(j) => j,
        None => rx.blocking_recv()?,
    };
    let mut n = first.texts.len();
    let mut jobs = vec![first];
    while n < max {
        match rx.try_recv() {
            Ok(j) if n + j.texts.len() <= max => {
                n += j.texts.len();
                jobs.push(j);
            }
            Ok(j) => {
                *pending = Some(j);
                break;
            }
            Err(_) => break,
        }
    }
    // Clients that gave up (timeout, disconnect) cost nothing.
    jobs.retain(|j| !j.reply.is_closed());
    Some(jobs)
}

/// The translation batcher: every waiting job's texts translated together,
/// one call per set of decoding options.
fn translate_batcher(
    mut rx: mpsc::Receiver<Job>,
    tr: &Translator,
    stats: &Stats,
    cfg: &ServeConfig,
) {
    let threads = Threads::Many(cfg.threads.max(1));
    let mut pending: Option<Job> = None;
    while let Some(jobs) = next_batch(&mut rx, &mut pending, cfg.max_batch_texts) {
        let mut tasks: Vec<Task> = Vec::new();
        for j in &jobs {
            if !tasks.contains(&j.task) {
                tasks.push(j.task);
            }
        }
        let mut answers: Vec<Option<Vec<Vec<Translation>>>> = jobs.iter().map(|_| None).collect();
        for task in tasks {
            let Task::Translate(beam, n_best) = task else {
                continue;
            };
            let idx: Vec<usize> = (0..jobs.len()).filter(|&i| jobs[i].task == task).collect();
            let texts: Vec<&str> = idx
                .iter()
                .flat_map(|&i| jobs[i].texts.iter().map(String::as_str))
                .collect();
            let opts = DecodeOptions {
                beam,
                n_best,
                ..DecodeOptions::default()
            };
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                tr.translate(&texts, &opts, threads)
            }));
            stats.batches.fetch_add(1, Ordering::Relaxed);
            let Ok(mut out) = out else {
                tracing::error!("the model panicked on a batch of {} texts", texts.len());
                continue;
            };
            for &i in idx.iter().rev() {
                let rest = out.split_off(out.len() - jobs[i].texts.len());
                answers[i] = Some(rest);
            }
        }
        for (job, answer) in jobs.into_iter().zip(answers) {
            if let (Reply::Translations(r), Some(a)) = (job.reply, answer) {
                r.send(a).ok();
            }
        }
    }
}

/// The classification batcher: take every waiting job (up to the batch
/// size), represent all their texts at once, answer each.
fn batcher(mut rx: mpsc::Receiver<Job>, model: &Model, stats: &Stats, cfg: &ServeConfig) {
    let threads = Threads::Many(cfg.threads.max(1));
    let d = model.dim();
    let k = model.manifest.clusters.len();
    let mut pending: Option<Job> = None;
    while let Some(jobs) = next_batch(&mut rx, &mut pending, cfg.max_batch_texts) {
        if jobs.is_empty() {
            continue;
        }
        // One call per task for the whole batch: predict (cluster classifier,
        // centroids, or seed-word classifier) for classify jobs, represent
        // for embed jobs.
        let texts_of = |task: Task| -> Vec<&str> {
            jobs.iter()
                .filter(|j| j.task == task)
                .flat_map(|j| j.texts.iter().map(String::as_str))
                .collect()
        };
        let (classify, embed) = (texts_of(Task::Classify), texts_of(Task::Embed));
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let classified = (!classify.is_empty())
                .then(|| model.classify_with_probabilities(&classify, threads));
            let embedded = (!embed.is_empty()).then(|| model.represent(&embed, threads));
            (classified, embedded)
        }));
        stats.batches.fetch_add(1, Ordering::Relaxed);
        let Ok((classified, embedded)) = out else {
            // Dropping the senders answers each job with an internal error.
            tracing::error!(
                "the model panicked on a batch of {} texts",
                classify.len() + embed.len()
            );
            continue;
        };
        let (mut ci, mut ei) = (0, 0);
        for job in jobs {
            let m = job.texts.len();
            let rows = match job.task {
                Task::Embed => {
                    let z = embedded.as_deref().unwrap_or_default();
                    let rows = z[ei * d..(ei + m) * d]
                        .chunks(d)
                        .map(<[f32]>::to_vec)
                        .collect();
                    ei += m;
                    rows
                }
                Task::Translate(..) => Vec::new(),
                Task::Classify => {
                    // [cluster, score, low confidence, every cluster's probability]
                    let (p, probs) = classified.as_ref().expect("classified");
                    let rows = (ci..ci + m)
                        .map(|i| {
                            let low = if p.low_confidence[i] { 1.0 } else { 0.0 };
                            let mut row = vec![p.labels[i] as f32, p.scores[i], low];
                            row.extend_from_slice(&probs[i * k..(i + 1) * k]);
                            row
                        })
                        .collect();
                    ci += m;
                    rows
                }
            };
            if let Reply::Rows(r) = job.reply {
                r.send(rows).ok();
            }
        }
    }
}

async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("request timed out after {:.1} s", limit.as_secs_f64()),
        )
        .into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextsRequest {
    texts: Vec<String>,
    /// `/v1/classify`: also the `top` most probable clusters of each text.
    #[serde(default)]
    top: Option<usize>,
    /// `/v1/translate`: beam size.
    #[serde(default)]
    beam: Option<usize>,
    /// `/v1/translate`: translations per text, best first.
    #[serde(default)]
    n_best: Option<usize>,
}

/// Most bytes of an oversized body read and thrown away before answering
/// 413, and for how long: clients that send the whole body before reading
/// (Python's urllib and requests) otherwise see a broken pipe instead of
/// the answer.
const DRAIN_BYTES: usize = 256 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// The request body, at most `max_body_bytes`; a larger one is drained
/// (up to [`DRAIN_BYTES`] / [`DRAIN_TIME`]) and answered 413.
async fn read_body(shared: &Shared, body: Body) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    let limit = shared.cfg.max_body_bytes;
    let mut body = body;
    let mut buf: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    let deadline = tokio::time::Instant::now() + DRAIN_TIME;
    loop {
        let frame = if seen > limit {
            match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(f) => f,
                Err(_) => break,
            }
        } else {
            body.frame().await
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen <= limit {
                buf.extend_from_slice(&data);
            } else if seen > DRAIN_BYTES {
                break;
            }
        }
    }
    if seen > limit {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {limit} bytes; send fewer texts per request"),
        ));
    }
    Ok(Bytes::from(buf))
}

/// Parse and check a `{"texts": [...]}` body.
fn parse_texts(shared: &Shared, body: Bytes) -> Result<TextsRequest, ApiError> {
    let body = std::str::from_utf8(&body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!(
                "request body is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    let req: TextsRequest = serde_json::from_str(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("expected {{\"texts\": [\"...\", ...]}}: {e}"),
        )
    })?;
    if req.top == Some(0) {
        return Err(error(StatusCode::BAD_REQUEST, "\"top\" must be at least 1"));
    }
    if req.texts.len() > shared.cfg.max_texts {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} texts in one request; at most {} are allowed",
                req.texts.len(),
                shared.cfg.max_texts
            ),
        ));
    }
    if let Some((i, t)) = req
        .texts
        .iter()
        .enumerate()
        .find(|(_, t)| t.chars().count() > shared.cfg.max_text_chars)
    {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "texts[{i}] has {} characters; at most {} are allowed",
                t.chars().count(),
                shared.cfg.max_text_chars
            ),
        ));
    }
    Ok(req)
}

/// Queue the texts and wait for the batcher's answer (`reply` wraps the
/// answer's channel).
async fn submit<R: Default>(
    shared: &Shared,
    texts: Vec<String>,
    task: Task,
    reply: fn(oneshot::Sender<R>) -> Reply,
) -> Result<R, ApiError> {
    shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    shared
        .stats
        .texts
        .fetch_add(texts.len() as u64, Ordering::Relaxed);
    if texts.is_empty() {
        return Ok(R::default());
    }
    let (tx, rx) = oneshot::channel();
    shared
        .queue
        .try_send(Job {
            texts,
            task,
            reply: reply(tx),
        })
        .map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is busy (request queue full); retry later",
            ),
            mpsc::error::TrySendError::Closed(_) => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down",
            ),
        })?;
    rx.await.map_err(|_| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the model failed on this batch",
        )
    })
}

/// The classification model, or 400 on a translation server.
fn classifier(s: &Shared) -> Result<&Arc<Model>, ApiError> {
    s.model.as_ref().ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            "this server holds a translation model: POST /v1/translate",
        )
    })
}

async fn classify(State(s): State<AppState>, body: Body) -> Result<Json<Value>, ApiError> {
    let model = classifier(&s)?.clone();
    let req = parse_texts(&s, read_body(&s, body).await?)?;
    if req.beam.is_some() || req.n_best.is_some() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "\"beam\" and \"n_best\" apply to /v1/translate",
        ));
    }
    let top = req.top;
    let rows = submit(&s, req.texts, Task::Classify, Reply::Rows).await?;
    let results: Vec<Value> = rows
        .iter()
        .map(|r| model.result_json(r[0] as usize, r[1], r[2] != 0.0, &r[3..], top, false))
        .collect();
    Ok(Json(json!({ "results": results })))
}

async fn embed(State(s): State<AppState>, body: Body) -> Result<Json<Value>, ApiError> {
    let dim = classifier(&s)?.dim();
    let req = parse_texts(&s, read_body(&s, body).await?)?;
    if req.top.is_some() || req.beam.is_some() || req.n_best.is_some() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "\"top\" applies to /v1/classify, \"beam\" and \"n_best\" to /v1/translate, none to /v1/embed",
        ));
    }
    let rows = submit(&s, req.texts, Task::Embed, Reply::Rows).await?;
    Ok(Json(json!({"dim": dim, "embeddings": rows})))
}

/// Largest beam (and n-best list) a request may ask for.
const MAX_BEAM: usize = 16;

async fn translate(State(s): State<AppState>, body: Body) -> Result<Json<Value>, ApiError> {
    if s.translator.is_none() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "this server holds a classification model: POST /v1/classify or /v1/embed",
        ));
    }
    let req = parse_texts(&s, read_body(&s, body).await?)?;
    if req.top.is_some() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "\"top\" applies to /v1/classify, not /v1/translate",
        ));
    }
    let beam = req.beam.unwrap_or(DecodeOptions::default().beam);
    let n_best = req.n_best.unwrap_or(1);
    if !(1..=MAX_BEAM).contains(&beam) || !(1..=beam).contains(&n_best) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("\"beam\" must be 1 to {MAX_BEAM} and \"n_best\" 1 to the beam"),
        ));
    }
    let out = submit(
        &s,
        req.texts,
        Task::Translate(beam, n_best),
        Reply::Translations,
    )
    .await?;
    let results: Vec<Value> = out
        .iter()
        .map(|hyps| {
            let best = &hyps[0];
            let mut v = json!({"translation": best.text, "score": best.score});
            if n_best > 1 {
                v["n_best"] = hyps
                    .iter()
                    .map(|h| json!({"translation": h.text, "score": h.score}))
                    .collect();
            }
            v
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}

async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn model_info(State(s): State<AppState>) -> Response {
    let limits = json!({
        "max_body_bytes": s.cfg.max_body_bytes,
        "max_texts": s.cfg.max_texts,
        "max_text_chars": s.cfg.max_text_chars,
        "request_timeout_s": s.cfg.request_timeout.as_secs_f64(),
    });
    let stats = json!({
        "requests": s.stats.requests.load(Ordering::Relaxed),
        "texts": s.stats.texts.load(Ordering::Relaxed),
        "batches": s.stats.batches.load(Ordering::Relaxed),
    });
    let Some(m) = &s.model else {
        let t = s.translator.as_ref().expect("a server holds a model");
        let best = t
            .epochs
            .iter()
            .filter_map(|e| e.valid_bleu)
            .fold(None, |b: Option<f64>, x| Some(b.map_or(x, |b| b.max(x))));
        return Json(json!({
            "task": "translate",
            "source": t.config.src.code(),
            "target": t.config.tgt.code(),
            "model": t.model.config,
            "vocab_size": {"source": t.src_vocab.len(), "target": t.tgt_vocab.len()},
            "epochs": t.epochs.len(),
            "best_valid_bleu": best,
            "limits": limits,
            "stats": stats,
        }))
        .into_response();
    };
    let c = &m.manifest.config;
    let enc = &m.encoder.config;
    let clusters: Vec<Value> = m
        .manifest
        .clusters
        .iter()
        .map(|c| json!({"id": c.id, "name": c.name, "size": c.size, "top_terms": c.top_terms}))
        .collect();
    Json(json!({
        "format_version": m.manifest.version,
        "k": m.manifest.clusters.len(),
        "dim": m.dim(),
        "encoder": {
            "cell": enc.cell,
            "hidden": enc.hidden,
            "layers": enc.layers,
            "bidirectional": enc.bidirectional,
            "pooling": enc.pooling,
            "embed": enc.embed,
        },
        "vocab_size": m.vocab.len(),
        "max_len": c.train.max_len,
        "feature_weights": c.weights,
        "clusters": clusters,
        "limits": limits,
        "stats": stats,
    }))
    .into_response()
}

async fn not_found(req: Request) -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no route {} {}; see GET /openapi.json",
            req.method(),
            req.uri().path()
        ),
    )
}

async fn method_not_allowed(req: Request) -> ApiError {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} is not allowed on {}; see GET /openapi.json",
            req.method(),
            req.uri().path()
        ),
    )
}

async fn openapi() -> Response {
    Json(openapi_document()).into_response()
}

/// The OpenAPI 3.0 description of every route.
pub fn openapi_document() -> Value {
    let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let texts_body = json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Texts"}}}});
    let post_errors = |ok: Value| {
        json!({
            "200": ok,
            "400": err("malformed JSON or wrong types"),
            "413": err("body, number of texts or a text too large"),
            "503": err("queue full, shutting down, or timed out"),
        })
    };
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "textrnn",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Classify and embed texts with a textrnn model trained without labels, or translate them with a textrnn translation model. Concurrent requests are batched together."
        },
        "paths": {
            "/health": {"get": {"summary": "200 once the model is loaded", "responses": {"200": {"description": "ready", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string"}}}}}}}}},
            "/v1/model": {"get": {"summary": "Model summary: encoder, clusters with names, sizes and top terms, limits, counters", "responses": {"200": {"description": "the model", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelInfo"}}}}}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.0 document"}}}},
            "/v1/classify": {"post": {
                "summary": "Cluster, name and probability of each text, in input order",
                "requestBody": texts_body,
                "responses": post_errors(json!({"description": "one result per text", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Classified"}}}}))
            }},
            "/v1/embed": {"post": {
                "summary": "The representation each text is clustered by (SIF, RNN and LSA blocks, weighted)",
                "requestBody": texts_body,
                "responses": post_errors(json!({"description": "one vector per text", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Embedded"}}}}))
            }},
            "/v1/translate": {"post": {
                "summary": "Translation of each text, in input order (a server holding a translation model)",
                "requestBody": texts_body,
                "responses": post_errors(json!({"description": "one result per text", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Translated"}}}}))
            }},
        },
        "components": {"schemas": {
            "Texts": {"type": "object", "required": ["texts"], "additionalProperties": false,
                "properties": {"texts": {"type": "array", "items": {"type": "string"}},
                    "top": {"type": "integer", "minimum": 1, "description": "/v1/classify only: also the N most probable clusters of each text"},
                    "beam": {"type": "integer", "minimum": 1, "maximum": 16, "description": "/v1/translate only: beam size (default 5; 1 is greedy)"},
                    "n_best": {"type": "integer", "minimum": 1, "description": "/v1/translate only: also the N best translations (at most the beam)"}}},
            "Translated": {"type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": {
                "type": "object", "required": ["translation", "score"],
                "properties": {"translation": {"type": "string"}, "score": {"type": "number", "description": "length-normalized log-probability"},
                    "n_best": {"type": "array", "items": {"type": "object", "properties": {"translation": {"type": "string"}, "score": {"type": "number"}}}}}}}}},
            "Classified": {"type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": {
                "type": "object", "required": ["cluster", "name", "score", "low_confidence"],
                "properties": {"cluster": {"type": "integer", "minimum": 0}, "name": {"type": "string"}, "score": {"type": "number", "minimum": 0, "maximum": 1}, "low_confidence": {"type": "boolean"},
                    "top": {"type": "array", "description": "with \"top\": N in the request, the N most probable clusters, most probable first", "items": {"type": "object", "properties": {"cluster": {"type": "integer"}, "name": {"type": "string"}, "score": {"type": "number"}}}}}}}}},
            "Embedded": {"type": "object", "required": ["dim", "embeddings"], "properties": {
                "dim": {"type": "integer"},
                "embeddings": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}}},
            "ModelInfo": {"type": "object", "properties": {
                "k": {"type": "integer"}, "dim": {"type": "integer"}, "vocab_size": {"type": "integer"},
                "clusters": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"}, "size": {"type": "integer"},
                    "top_terms": {"type": "array", "items": {"type": "string"}}}}}}},
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["status", "message"],
                "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}}}}
        }}
    })
}

/// [`run`] on its own tokio runtime (a few I/O threads; the model computes on
/// the rayon pool), for callers without one.
pub fn run_blocking(addr: SocketAddr, model: Served, cfg: ServeConfig) -> std::io::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("textrnn-http")
        .build()?
        .block_on(run(addr, model, cfg))
}

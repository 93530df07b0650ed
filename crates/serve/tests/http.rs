//! The server on a loopback port: every route, every error, a concurrent
//! burst, timeouts and graceful shutdown. The model is trained here, on the
//! embedded demo corpus, with a small configuration.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};
use textrnn::model::{Model, ModelConfig};
use textrnn::nn::gemm::Threads;
use textrnn_serve::ServeConfig;

/// A small model saved once per test binary.
fn model_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let corpus = textrnn::demo::corpus_by_language()
            .into_iter()
            .next()
            .unwrap()
            .1;
        let texts = corpus.texts();
        let mut cfg = ModelConfig::new(6, 0);
        cfg.vocab.min_count = 1;
        cfg.train.encoder.embed = 32;
        cfg.train.encoder.hidden = 32;
        cfg.train.epochs = 1;
        cfg.wordvec_dims = 32;
        cfg.lsa_dims = 20;
        let mut fitted = Model::fit(&texts, &cfg, Threads::One, &mut |_| {}).unwrap();
        let dir = tempfile::tempdir().unwrap().keep().join("m");
        fitted.model.save(&dir).unwrap();
        dir
    })
}

fn model() -> Model {
    Model::load(model_dir()).unwrap()
}

/// A server on its own runtime and thread; dropped or `stop`ped, it shuts down gracefully.
struct TestServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    fn start(cfg: ServeConfig) -> TestServer {
        TestServer::start_with(model().into(), cfg)
    }

    fn start_with(model: textrnn_serve::Served, cfg: ServeConfig) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                textrnn_serve::serve(listener, model, cfg, async {
                    rx.await.ok();
                })
                .await
            })
        });
        TestServer {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            tx.send(()).ok();
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.stop();
        }
    }
}

/// One HTTP/1.1 request with `Connection: close`: the status and the body.
fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let req = format!(
        "{head} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    // The server may answer (413) before reading the whole body.
    s.write_all(body).ok();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok();
    let text = String::from_utf8_lossy(&resp);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let start = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(resp.len(), |p| p + 4);
    let body = resp[start..].to_vec();
    // Chunked bodies are de-chunked by parsing the first chunk only when needed.
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    };
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(p) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(std::str::from_utf8(&b[..p]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[p + 2..p + 2 + n]);
        b = &b[p + 2 + n + 2..];
    }
    out
}

fn call(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, Value) {
    let (status, body) = raw(addr, head, body);
    let v = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "{head}: body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&body)
        )
    });
    (status, v)
}

fn texts_body(texts: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "texts": texts })).unwrap()
}

const TEXTS: [&str; 5] = [
    "the team won the football match in the final minute",
    "stock prices fell after the central bank raised rates",
    "a new smartphone with a faster chip and a better camera",
    "",
    "the election results surprised the ruling party",
];

#[test]
fn every_route_answers() {
    let server = TestServer::start(ServeConfig::default());
    let a = server.addr;

    let (s, v) = call(a, "GET /health", b"");
    assert_eq!((s, v["status"].as_str()), (200, Some("ok")));

    let (s, v) = call(a, "GET /v1/model", b"");
    assert_eq!(s, 200);
    assert_eq!(v["k"], 6);
    let clusters = v["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 6);
    assert!(clusters.iter().all(|c| c["name"].is_string()
        && c["size"].as_u64().unwrap() > 0
        && !c["top_terms"].as_array().unwrap().is_empty()));

    let (s, v) = call(a, "GET /openapi.json", b"");
    assert_eq!(s, 200);
    assert_eq!(v["openapi"], "3.0.3");
    for p in [
        "/health",
        "/v1/model",
        "/openapi.json",
        "/v1/classify",
        "/v1/embed",
    ] {
        assert!(
            v["paths"][p].is_object(),
            "{p} missing from the OpenAPI document"
        );
    }

    // Classify: in order, and the same as the library's predict.
    let (s, v) = call(a, "POST /v1/classify", &texts_body(&TEXTS));
    assert_eq!(s, 200);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), TEXTS.len());
    let m = model();
    let pred = m.classify(&TEXTS, Threads::One);
    for (i, r) in results.iter().enumerate() {
        let c = r["cluster"].as_u64().unwrap() as usize;
        assert_eq!(c, pred.labels[i], "text {i}");
        assert_eq!(r["name"], m.manifest.clusters[c].name);
        let p = r["score"].as_f64().unwrap();
        assert!((p - pred.scores[i] as f64).abs() < 1e-3 && (0.0..=1.0).contains(&p));
        assert_eq!(r["low_confidence"], pred.low_confidence[i], "text {i}");
    }

    // Embed: one row of the model's width per text, equal to represent().
    let (s, v) = call(a, "POST /v1/embed", &texts_body(&TEXTS[..2]));
    assert_eq!(s, 200);
    let d = m.dim();
    assert_eq!(v["dim"].as_u64(), Some(d as u64));
    let rows = v["embeddings"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let z = m.represent(&TEXTS[..2], Threads::One);
    for (i, row) in rows.iter().enumerate() {
        let row = row.as_array().unwrap();
        assert_eq!(row.len(), d);
        for (j, x) in row.iter().enumerate() {
            assert!((x.as_f64().unwrap() - z[i * d + j] as f64).abs() < 1e-5);
        }
    }

    // "top": the N most probable clusters, most probable first, the first
    // being the text's cluster and score; the library's probabilities.
    let body = json!({"texts": TEXTS, "top": 3}).to_string();
    let (s, v) = call(a, "POST /v1/classify", body.as_bytes());
    assert_eq!(s, 200);
    let (_, probs) = m.classify_with_probabilities(&TEXTS, Threads::One);
    for (i, r) in v["results"].as_array().unwrap().iter().enumerate() {
        let top = r["top"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        assert_eq!(top[0]["cluster"], r["cluster"], "text {i}");
        assert_eq!(top[0]["score"], r["score"], "text {i}");
        let scores: Vec<f64> = top.iter().map(|t| t["score"].as_f64().unwrap()).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "text {i}: {scores:?}"
        );
        for t in top {
            let c = t["cluster"].as_u64().unwrap() as usize;
            assert!((t["score"].as_f64().unwrap() - probs[i * 6 + c] as f64).abs() < 1e-4);
            assert_eq!(t["name"], m.manifest.clusters[c].name);
        }
    }
    expect_error(
        a,
        "POST /v1/classify",
        br#"{"texts": ["x"], "top": 0}"#,
        400,
        "at least 1",
    );
    expect_error(
        a,
        "POST /v1/embed",
        br#"{"texts": ["x"], "top": 2}"#,
        400,
        "/v1/classify",
    );

    // No texts: no results.
    let (s, v) = call(a, "POST /v1/classify", br#"{"texts": []}"#);
    assert_eq!((s, v["results"].as_array().map(Vec::len)), (200, Some(0)));
}

/// Status and message of an error answer; the body must be the JSON error shape.
fn expect_error(a: SocketAddr, head: &str, body: &[u8], status: u16, needle: &str) {
    let (s, v) = call(a, head, body);
    assert_eq!(s, status, "{head}: {v}");
    assert_eq!(v["error"]["status"].as_u64(), Some(status as u64), "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(needle), "{head}: {msg:?} lacks {needle:?}");
}

#[test]
fn every_error_is_clear_json() {
    let cfg = ServeConfig {
        max_body_bytes: 2000,
        max_texts: 3,
        max_text_chars: 50,
        ..ServeConfig::default()
    };
    let server = TestServer::start(cfg);
    let a = server.addr;
    let c = "POST /v1/classify";
    expect_error(a, c, b"{\"texts\": [", 400, "EOF");
    expect_error(a, c, b"not json", 400, "expected");
    expect_error(a, c, br#"{"texts": [1, 2]}"#, 400, "invalid type: integer");
    expect_error(a, c, br#"{"texts": "one"}"#, 400, "expected a sequence");
    expect_error(a, c, br#"{"text": ["a"]}"#, 400, "unknown field `text`");
    expect_error(a, c, br#"{}"#, 400, "missing field `texts`");
    expect_error(a, c, b"{\"texts\": [\"\xff\xfe\"]}", 400, "UTF-8");
    expect_error(a, c, &vec![b' '; 5000], 413, "larger than 2000 bytes");
    expect_error(a, c, &texts_body(&["a", "b", "c", "d"]), 413, "4 texts");
    expect_error(
        a,
        c,
        &texts_body(&[&"x".repeat(51)]),
        413,
        "texts[0] has 51 characters",
    );
    expect_error(
        a,
        "POST /v1/embed",
        br#"{"texts": [null]}"#,
        400,
        "invalid type: null",
    );
    expect_error(a, "GET /v2/classify", b"", 404, "no route GET /v2/classify");
    expect_error(a, "GET /v1/classify", b"", 405, "GET is not allowed");
    // After all of these the server still answers.
    let (s, _) = call(a, c, &texts_body(&["still here"]));
    assert_eq!(s, 200);
}

#[test]
fn concurrent_requests_are_batched_and_answered_in_order() {
    let server = TestServer::start(ServeConfig::default());
    let a = server.addr;
    let m = model();
    let clients = 32;
    let per_client = 6;
    std::thread::scope(|scope| {
        for t in 0..clients {
            let m = &m;
            scope.spawn(move || {
                for r in 0..per_client {
                    // Each request has its own texts, so a mix-up between requests shows.
                    let texts: Vec<String> = (0..1 + (t + r) % 4)
                        .map(|i| format!("{} {t} {r} {i}", TEXTS[(t + r + i) % TEXTS.len()]))
                        .collect();
                    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                    let (s, v) = call(a, "POST /v1/classify", &texts_body(&refs));
                    assert_eq!(s, 200, "{v}");
                    let (labels, _) = m.predict(&refs, Threads::One);
                    let got: Vec<usize> = v["results"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x["cluster"].as_u64().unwrap() as usize)
                        .collect();
                    assert_eq!(got, labels);
                }
            });
        }
    });
    let (_, v) = call(a, "GET /v1/model", b"");
    let requests = v["stats"]["requests"].as_u64().unwrap();
    let batches = v["stats"]["batches"].as_u64().unwrap();
    assert_eq!(requests, (clients * per_client) as u64);
    assert!(
        batches < requests,
        "{requests} concurrent requests took {batches} batches: nothing was batched"
    );
}

#[test]
fn a_slow_request_times_out_with_503() {
    let cfg = ServeConfig {
        request_timeout: Duration::from_millis(1),
        max_texts: 100_000,
        max_body_bytes: 64 << 20,
        ..ServeConfig::default()
    };
    let server = TestServer::start(cfg);
    let many: Vec<&str> = (0..20_000).map(|i| TEXTS[i % 3]).collect();
    expect_error(
        server.addr,
        "POST /v1/classify",
        &texts_body(&many),
        503,
        "timed out",
    );
    // Routes that answer at once are unaffected.
    let (s, _) = call(server.addr, "GET /health", b"");
    assert_eq!(s, 200);
}

#[test]
fn shutdown_lets_in_flight_requests_finish() {
    let cfg = ServeConfig {
        max_texts: 100_000,
        max_body_bytes: 64 << 20,
        ..ServeConfig::default()
    };
    let mut server = TestServer::start(cfg);
    let a = server.addr;
    let many: Vec<&str> = (0..3000).map(|i| TEXTS[i % 3]).collect();
    let body = texts_body(&many);
    let inflight = std::thread::spawn(move || call(a, "POST /v1/classify", &body));
    // Let the request arrive, then ask the server to stop while it computes.
    std::thread::sleep(Duration::from_millis(150));
    server.stop();
    let (s, v) = inflight.join().unwrap();
    assert_eq!(s, 200);
    assert_eq!(v["results"].as_array().unwrap().len(), 3000);
    // Stopped: new connections are refused.
    assert!(TcpStream::connect(a).is_err());
}

/// Raise the open-file limit toward the hard limit (1,000 connections need
/// 2,000 descriptors in one process).
fn raise_fd_limit(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn rss_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / 1e6
}

#[test]
fn slow_clients_are_cut_off_and_others_are_served() {
    let cfg = ServeConfig {
        header_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(600),
        ..ServeConfig::default()
    };
    let server = TestServer::start(cfg);
    let a = server.addr;
    // Headers that never end: the connection is closed.
    let mut slow = TcpStream::connect(a).unwrap();
    slow.write_all(b"POST /v1/classify HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // A body that never ends: 503 after the request timeout.
    let mut trickle = TcpStream::connect(a).unwrap();
    trickle
        .write_all(
            b"POST /v1/classify HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n{\"texts\": [",
        )
        .unwrap();
    trickle
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // Meanwhile others are answered.
    for _ in 0..5 {
        let (s, _) = call(a, "POST /v1/classify", &texts_body(&["goal match"]));
        assert_eq!(s, 200);
    }
    let start = std::time::Instant::now();
    let mut buf = Vec::new();
    let n = slow.read_to_end(&mut buf);
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "a client stuck in its headers was kept {:?}",
        start.elapsed()
    );
    assert!(n.is_ok() || buf.is_empty());
    let mut resp = Vec::new();
    trickle.read_to_end(&mut resp).ok();
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 503"), "{resp}");
    assert!(resp.contains("timed out"), "{resp}");
}

#[test]
fn clients_that_disconnect_mid_request_do_not_hurt_the_server() {
    let cfg = ServeConfig {
        max_texts: 100_000,
        max_body_bytes: 64 << 20,
        ..ServeConfig::default()
    };
    let server = TestServer::start(cfg);
    let a = server.addr;
    for i in 0..50 {
        let mut s = TcpStream::connect(a).unwrap();
        if i % 2 == 0 {
            // Gone in the middle of the body.
            s.write_all(
                b"POST /v1/classify HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n{\"te",
            )
            .unwrap();
        } else {
            // Gone while its (large) request is being computed.
            let many: Vec<&str> = (0..2000).map(|i| TEXTS[i % 3]).collect();
            let body = texts_body(&many);
            let head = format!(
                "POST /v1/classify HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(&body).unwrap();
        }
        drop(s);
    }
    for _ in 0..10 {
        let (s, v) = call(a, "POST /v1/classify", &texts_body(&TEXTS));
        assert_eq!(s, 200);
        assert_eq!(v["results"].as_array().unwrap().len(), TEXTS.len());
    }
}

#[test]
fn a_thousand_concurrent_connections_are_served_with_bounded_memory() {
    raise_fd_limit(8192);
    let server = TestServer::start(ServeConfig::default());
    let a = server.addr;
    // Warm up, then measure.
    let (s, _) = call(a, "POST /v1/classify", &texts_body(&TEXTS));
    assert_eq!(s, 200);
    let before = rss_mb();
    let body = texts_body(&["the team won the match", "stocks fell"]);
    let head = format!(
        "POST /v1/classify HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    // 1,000 connections open at once, each with a request in flight.
    let mut conns: Vec<TcpStream> = (0..1000)
        .map(|_| {
            let mut s = TcpStream::connect(a).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(&body).unwrap();
            s
        })
        .collect();
    let mut ok = 0;
    for s in &mut conns {
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).unwrap();
        if resp.starts_with(b"HTTP/1.1 200") {
            ok += 1;
        }
    }
    assert_eq!(ok, 1000, "every connection is answered");
    let grown = rss_mb() - before;
    assert!(
        grown < 300.0,
        "memory grew by {grown:.0} MB for 1,000 connections"
    );
    let (s, _) = call(a, "GET /health", b"");
    assert_eq!(s, 200);
}

/// A client that sends the whole of an oversized body before reading (as
/// Python's urllib and requests do) still gets the 413 and its JSON error,
/// not a broken pipe: the server drains the body before answering.
#[test]
fn an_oversized_body_sent_whole_gets_its_413() {
    let cfg = ServeConfig {
        max_body_bytes: 2000,
        ..ServeConfig::default()
    };
    let server = TestServer::start(cfg);
    let body = vec![b'x'; 8 << 20];
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "POST /v1/classify HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body).expect("the server reads the whole body");
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("larger than 2000 bytes"), "{text}");
}

/// A translator of Chinese digit strings into English number words, small
/// enough to train in a second.
fn toy_translator() -> textrnn::translate::translator::Translator {
    use textrnn::translate::tokenize::Lang;
    use textrnn::translate::train::{train, TranslateConfig};
    const ZH: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    const EN: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let mut r = textrnn::rng::Rng::new(1);
    let pairs: Vec<(String, String)> = (0..600)
        .map(|_| {
            let d: Vec<usize> = (0..2 + r.below(4)).map(|_| r.below(10)).collect();
            let zh = d.iter().map(|&i| ZH[i]).collect::<String>();
            let en = d.iter().map(|&i| EN[i]).collect::<Vec<_>>().join(" ");
            (zh, en)
        })
        .collect();
    let cfg = TranslateConfig {
        src: Lang::Zh,
        tgt: Lang::En,
        embed: 16,
        hidden: 24,
        dec_hidden: 48,
        dropout: 0.1,
        batch_size: 16,
        lr: 1e-2,
        warmup: 20,
        epochs: Some(20),
        min_count: 1,
        ..TranslateConfig::default()
    };
    train(&pairs, &[], &cfg, 1, None, &mut |_| {}).unwrap()
}

#[test]
fn a_translation_model_is_served_on_v1_translate() {
    let server = TestServer::start_with(toy_translator().into(), ServeConfig::default());
    let a = server.addr;
    let body = serde_json::to_vec(&json!({"texts": ["三一四", "", "九九"]})).unwrap();
    let (status, v) = call(a, "POST /v1/translate", &body);
    assert_eq!(status, 200, "{v}");
    let r = v["results"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["translation"], "three one four", "{v}");
    assert_eq!(r[1]["translation"], "");
    assert_eq!(r[2]["translation"], "nine nine", "{v}");
    assert!(r[0]["score"].as_f64().unwrap() <= 0.0);
    // n-best lists, greedy decoding.
    let body = serde_json::to_vec(&json!({"texts": ["五六"], "beam": 4, "n_best": 3})).unwrap();
    let (status, v) = call(a, "POST /v1/translate", &body);
    assert_eq!(status, 200, "{v}");
    let nb = v["results"][0]["n_best"].as_array().unwrap();
    assert_eq!(nb.len(), 3);
    assert_eq!(nb[0]["translation"], v["results"][0]["translation"]);
    let body = serde_json::to_vec(&json!({"texts": ["五六"], "beam": 1})).unwrap();
    assert_eq!(
        call(a, "POST /v1/translate", &body).1["results"][0]["translation"],
        "five six"
    );
    // The model's description, and the routes that belong to the other kind of model.
    let (status, info) = call(a, "GET /v1/model", b"");
    assert_eq!(status, 200);
    assert_eq!(info["task"], "translate");
    assert_eq!(info["source"], "zh");
    let errors: [(&str, Vec<u8>, &str); 4] = [
        ("POST /v1/classify", texts_body(&["x"]), "translation model"),
        ("POST /v1/embed", texts_body(&["x"]), "translation model"),
        (
            "POST /v1/translate",
            serde_json::to_vec(&json!({"texts": ["x"], "beam": 0})).unwrap(),
            "beam",
        ),
        (
            "POST /v1/translate",
            serde_json::to_vec(&json!({"texts": ["x"], "beam": 2, "n_best": 3})).unwrap(),
            "n_best",
        ),
    ];
    for (head, body, needle) in errors {
        expect_error(a, head, &body, 400, needle);
    }
}

#[test]
fn a_classification_server_refuses_translate() {
    let server = TestServer::start(ServeConfig::default());
    expect_error(
        server.addr,
        "POST /v1/translate",
        &texts_body(&["x"]),
        400,
        "classification model",
    );
}

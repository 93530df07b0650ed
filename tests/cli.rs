//! The real `textrnn` binary, run in a temp dir on corpora the test writes itself.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{stderr, stdout, textrnn, topical_corpus, TINY};

#[test]
fn baseline_clusters_scores_and_writes_assignments_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let out = dir.path().join("assign.jsonl");
    let o = textrnn(&[
        "baseline",
        &corpus,
        "--k",
        "3",
        "--label-field",
        "label",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("ACC"), "{text}");
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["n"], 150);
    assert_eq!(last["k"], 3);
    assert!(last["acc"].as_f64().unwrap() > 0.95, "{last}");
    assert!(last["nmi"].as_f64().unwrap() > 0.85, "{last}");
    let assignments: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(assignments.len(), 150);
    // Texts 0, 3, 6... share a topic, so they share a cluster.
    let c0 = &assignments[0]["cluster"];
    assert!((0..150)
        .step_by(3)
        .all(|i| &assignments[i]["cluster"] == c0));
    assert_ne!(&assignments[1]["cluster"], c0);
}

#[test]
fn same_seed_same_clusters_for_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let run = |threads: &str, name: &str| {
        let out = dir.path().join(name);
        let o = textrnn(&[
            "baseline",
            &corpus,
            "--k",
            "4",
            "--lsa",
            "--lsa-dims",
            "5",
            "--seed",
            "3",
            "--threads",
            threads,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read(out).unwrap()
    };
    let a = run("1", "a.jsonl");
    assert_eq!(a, run("1", "b.jsonl"));
    assert_eq!(a, run("2", "c.jsonl"));
}

#[test]
fn stdin_plain_text() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_textrnn"))
        .args(["baseline", "-", "--k", "2", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let text = "red apple fruit\nred apple pie\ngreen apple fruit\nfast car engine\nfast car wheel\nred car engine\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("<stdin> (txt)"), "{out}");
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["n"], 6);
    assert!(last["acc"].is_null());
}

#[test]
fn bad_input_exits_2_naming_file_and_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(
        &path,
        "{\"text\": \"fine\"}\n{\"text\": 5}\n{\"text\": \"also fine\"}\n",
    )
    .unwrap();
    let out = dir.path().join("never.jsonl");
    let p = path.to_str().unwrap();
    let o = textrnn(&["baseline", p, "--k", "1", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{p}:2: field \"text\" is a number")),
        "{err}"
    );
    assert!(err.contains("--skip-bad-lines"), "{err}");
    assert_eq!(err.matches("error").count(), 1, "printed once: {err}");
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp files left"
    );

    // Skipping keeps the output aligned with the input records.
    let o = textrnn(&[
        "baseline",
        p,
        "--k",
        "1",
        "--skip-bad-lines",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("skipped 1 bad record"));
    let lines: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        lines,
        vec![
            "{\"cluster\":0}",
            "{\"cluster\":null,\"skipped\":true}",
            "{\"cluster\":0}"
        ]
    );
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    // `train` on the corpus with these flags (refused before any output).
    let train = |flags: &[&'static str]| {
        let mut args = vec!["train", corpus.as_str(), "--out", "/nonexistent/m"];
        args.extend(flags);
        args
    };
    for (args, needle) in [
        (
            vec!["baseline", corpus.as_str(), "--k", "0"],
            "--k must be at least 1",
        ),
        (
            vec!["baseline", corpus.as_str(), "--k", "151"],
            "cannot make 151 clusters from 150 texts",
        ),
        (
            vec!["baseline", dir.path().to_str().unwrap(), "--k", "2"],
            "is a directory",
        ),
        (
            vec!["baseline", "/nonexistent/x.txt", "--k", "2"],
            "/nonexistent/x.txt: cannot read",
        ),
        (
            train(&["--seeds", "sentiment-en", "--dec", "2"]),
            "--dec refines a clustering",
        ),
        (
            train(&["--k", "2", "--dec", "2", "--dec-lr", "0"]),
            "--dec-lr must be positive",
        ),
        (
            train(&["--k", "2", "--graph-weight", "inf"]),
            "feature weights, --head-c and --head-balance must be finite",
        ),
        (
            train(&["--k", "2", "--cluster-sample", "10"]),
            "--cluster-sample must be 0 (all texts) or at least 100",
        ),
        (
            train(&["--seeds", "sentiment-en", "--seed-agreement", "1.5"]),
            "--seed-agreement is a share of the seed-labeled texts",
        ),
        (
            train(&["--k", "2", "--graph-min-match", "1.5"]),
            "--graph-min-match is a share of the texts",
        ),
        (
            train(&["--k", "2", "--head-holdout", "1"]),
            "--head-holdout must be in [0, 1)",
        ),
        (
            train(&["--k", "2", "--objective", "lm", "--layers", "2"]),
            "--objective lm with --layers above 1 needs --unidirectional",
        ),
    ] {
        let o = textrnn(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        // The cause is said once (it used to repeat as the error's source).
        assert!(
            stderr(&o).matches("os error").count() <= 1,
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn every_verb_has_help() {
    for verb in [
        "train", "predict", "serve", "describe", "rename", "eval", "baseline", "tokenize", "bench",
        "demo", "merge", "split", "update", "report",
    ] {
        let o = textrnn(&[verb, "--help"]);
        assert!(o.status.success());
        assert!(stdout(&o).contains("Usage: textrnn"), "{verb}");
    }
}

#[test]
fn demo_prints_clusters_and_scores() {
    let o = textrnn(&["demo", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("cluster 0") && out.contains("ACC"), "{out}");
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["n"], 432);
    assert_eq!(last["k"], 6);
    // Quality floor of the RNN path on the demo corpus (seed 0 measured 100% ACC per language;
    // the TF-IDF + LSA baseline gets 73-75%).
    assert!(last["acc"].as_f64().unwrap() >= 0.9, "{last}");
    assert!(
        out.contains("[en]") && out.contains("[zh]") && out.contains("TF-IDF + LSA"),
        "{out}"
    );
}

#[test]
fn closed_stdout_ends_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_textrnn"))
        .args(["demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
}

/// `train CORPUS --out MODEL EXTRA... TINY...`, which must succeed; its output.
fn train_tiny(corpus: &str, model: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["train", corpus, "--out", model.to_str().unwrap()];
    args.extend(extra);
    args.extend(TINY);
    let o = textrnn(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

#[test]
fn train_saves_a_model_that_predict_uses_and_same_seed_gives_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let train = |name: &str| {
        let model = dir.path().join(name);
        let assign = dir.path().join(format!("{name}.jsonl"));
        let mut args = vec![
            "train",
            corpus.as_str(),
            "--label-field",
            "label",
            "--threads",
            "2",
            "--out",
            model.to_str().unwrap(),
        ];
        args.extend(["--out-assignments", assign.to_str().unwrap()]);
        args.extend(TINY);
        let o = textrnn(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        (model, assign, stdout(&o))
    };
    let (model, assign, out) = train("m1");
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert!(last["acc"].as_f64().unwrap() > 0.9, "{out}");
    for f in [
        "model.json",
        "pipeline.json",
        "vocab.json",
        "tfidf.json",
        "wordvec.json",
        "weights.safetensors",
    ] {
        assert!(model.join(f).exists(), "{f}");
    }
    let (model2, assign2, _) = train("m2");
    for f in ["model.json", "weights.safetensors"] {
        assert!(
            std::fs::read(model.join(f)).unwrap() == std::fs::read(model2.join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
    assert_eq!(
        std::fs::read(&assign).unwrap(),
        std::fs::read(&assign2).unwrap()
    );

    // predict reproduces the training assignments, in order, with names.
    let o = textrnn(&["predict", "--model", model.to_str().unwrap(), &corpus]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pred: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let trained: Vec<serde_json::Value> = std::fs::read_to_string(&assign)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(pred.len(), 150);
    // --top and --all-probabilities: the same clusters and scores, plus the
    // ranked clusters and every cluster's probability.
    let o = textrnn(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        &corpus,
        "--top",
        "2",
        "--all-probabilities",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (line, p) in stdout(&o).lines().zip(&pred) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!((&v["cluster"], &v["score"]), (&p["cluster"], &p["score"]));
        let top = v["top"].as_array().unwrap();
        assert_eq!(top.len(), 2);
        assert_eq!(
            (&top[0]["cluster"], &top[0]["score"]),
            (&p["cluster"], &p["score"])
        );
        assert!(
            top[0]["score"].as_f64() >= top[1]["score"].as_f64(),
            "{line}"
        );
        let all: Vec<f64> = v["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert!((all.iter().sum::<f64>() - 1.0).abs() < 1e-3, "{line}");
        let second = top[1]["cluster"].as_u64().unwrap() as usize;
        assert_eq!(all[second], top[1]["score"].as_f64().unwrap(), "{line}");
    }
    for (p, t) in pred.iter().zip(&trained) {
        // Same cluster and same score: the loaded model represents the
        // texts exactly as training did.
        assert_eq!(p["cluster"], t["cluster"]);
        assert_eq!(p["score"], t["score"]);
        assert!(p["name"].is_string() && p["score"].as_f64().unwrap() > 0.0);
    }
    // JSON lines on stdin are read as JSON lines (the README's
    // `cat new.jsonl | textrnn predict --model m -`), with a note.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_textrnn"))
        .args(["predict", "--model", model.to_str().unwrap(), "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&std::fs::read(&corpus).unwrap()).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("<stdin> as JSON lines"),
        "{}",
        stderr(&o)
    );
    let piped: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(piped, pred);
    // Scores are calibrated (docs/calibration.md); few training texts are
    // flagged, and texts the model cannot read are flagged at 1/k.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("model.json")).unwrap()).unwrap();
    let cal = &manifest["calibration"];
    assert!(cal["temperature"].as_f64().unwrap() > 0.0, "{cal}");
    let flagged = pred.iter().filter(|p| p["low_confidence"] == true).count();
    assert!(flagged <= 3, "{flagged} of 150 training texts flagged");
    let odd = dir.path().join("odd.txt");
    std::fs::write(&odd, "\nПривет мир, как дела\nzzqx flurble\n.,!?\n").unwrap();
    let o = textrnn(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        odd.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let k = manifest["config"]["k"].as_f64().unwrap();
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for l in &lines {
        assert_eq!(l["low_confidence"], true, "{l}");
        assert!((l["score"].as_f64().unwrap() - 1.0 / k).abs() < 1e-3, "{l}");
    }
    // Training said what the graph step and the cluster classifier did, and saved it.
    // In order: the encoder, how the clusters were drawn, the classifiers,
    // the scores, then the clusters (the numbers behind each are under -v).
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing: {out}"))
    };
    let order = [
        at("encoder: 1 epoch, training loss"),
        at("clusters: k-means on the texts' representation"),
        at("classifiers trained on the clusters keep"),
        at("scores: calibrated without labels"),
        at("cluster  0"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{out}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("model.json")).unwrap()).unwrap();
    assert!(
        manifest["graph"]["agreement"].is_number() && manifest["graph"]["kmeans_match"].is_number(),
        "{}",
        manifest["graph"]
    );
    assert!(manifest["cluster_head"]["agreement"].as_f64().unwrap() > 0.9);
    assert_eq!(manifest["version"], 4);
    // What the corpus-adaptive defaults read is saved beside them.
    let profile = &manifest["profile"];
    assert!(profile["openings"].as_f64().unwrap() > 1.0, "{profile}");
    assert_eq!(profile["mostly_chinese"], false, "{profile}");
    assert!(profile["rare_word_share"].is_null(), "{profile}");

    // describe, rename, eval.
    let m = model.to_str().unwrap();
    let o = textrnn(&["describe", "--model", m]);
    assert!(
        o.status.success() && stdout(&o).contains("top terms:"),
        "{}",
        stderr(&o)
    );
    let o = textrnn(&["rename", "--model", m, "0", "Topic Zero"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = textrnn(&["describe", "--model", m, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["clusters"][0]["name"], "Topic Zero");
    assert_eq!(v["clusters"][0]["examples"].as_array().unwrap().len(), 5);
    let o = textrnn(&["predict", "--model", m, &corpus]);
    assert!(stdout(&o).lines().any(|l| l.contains("\"Topic Zero\"")));
    let o = textrnn(&["rename", "--model", m, "7", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no cluster 7"), "{}", stderr(&o));
    let o = textrnn(&[
        "eval",
        "--model",
        m,
        &corpus,
        "--label-field",
        "label",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("TF-IDF + k-means") && out.contains("confusion"),
        "{out}"
    );
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert!(
        v["acc"].as_f64().unwrap() > 0.9 && v["baseline"]["acc"].is_number(),
        "{v}"
    );
    // Per cluster: the class it stands for (each topic once), precision, recall.
    assert!(
        out.contains("per cluster: the class it stands for"),
        "{out}"
    );
    let per = v["per_cluster"].as_array().unwrap();
    assert_eq!(per.len(), 3);
    let mut stands: Vec<&str> = per.iter().map(|p| p["class"].as_str().unwrap()).collect();
    stands.sort_unstable();
    assert_eq!(stands, ["food", "money", "sport"]);
    assert!(per
        .iter()
        .all(|p| p["precision"].as_f64().unwrap() > 0.8 && p["recall"].as_f64().unwrap() > 0.8));

    // A flipped byte in the weights is caught by the checksum, with exit code 2.
    let w = model.join("weights.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&w, bytes).unwrap();
    let o = textrnn(&["predict", "--model", model.to_str().unwrap(), &corpus]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("checksum mismatch"), "{}", stderr(&o));
    // A missing model directory is a clear error too.
    let o = textrnn(&[
        "predict",
        "--model",
        dir.path().join("nope").to_str().unwrap(),
        &corpus,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("model.json"), "{}", stderr(&o));
}

#[test]
fn k_auto_chooses_by_view_agreement_and_saves_the_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let model = dir.path().join("auto.model");
    let mut args = vec![
        "train",
        corpus.as_str(),
        "--out",
        model.to_str().unwrap(),
        "--k-max",
        "6",
    ];
    args.extend(TINY.iter().filter(|&&a| a != "--k" && a != "3"));
    args.extend(["--k", "auto"]);
    let o = textrnn(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("chosen by view agreement") && stdout(&o).contains("runner-up k ="),
        "{}",
        stdout(&o)
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("model.json")).unwrap()).unwrap();
    assert_eq!(m["k_selection"].as_array().unwrap().len(), 5);
    let choice = &m["k_choice"];
    // Three topics, two of them English and one Chinese: k = 3 scores
    // highest, and k = 2 (the languages) is within its noise on 150 texts,
    // so the rule may keep the simpler grouping; it must say so.
    assert_eq!(choice["best"], 3, "{choice}");
    let k = m["config"]["k"].as_u64().unwrap();
    assert_eq!(choice["k"].as_u64(), Some(k));
    assert!(k == 2 || k == 3, "{choice}");
    if k == 2 {
        assert!(
            stdout(&o).contains("k = 3 scores highest"),
            "{}",
            stdout(&o)
        );
        assert!(stdout(&o).contains("warning: k = 2 is at the edge"));
    }
    assert_eq!(choice["range"], serde_json::json!([2, 6]));
    assert_eq!(choice["scores"].as_array().unwrap().len(), 5);
    // The margin is negative when a larger k scores higher within noise.
    assert!(choice["margin"].as_f64().unwrap().is_finite());
    assert!(choice["runner_up"].as_u64().is_some());
    // The report shows the evidence.
    let page = dir.path().join("auto.html");
    let o = textrnn(&[
        "report",
        "--model",
        model.to_str().unwrap(),
        "--out",
        page.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("id=\"k-selection\"") && html.contains(&format!("{k} (chosen)")));
}

#[test]
fn select_keeps_one_candidate_and_saves_the_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let model = dir.path().join("sel.model");
    let o = train_tiny(&corpus, &model, &["--select"]);
    assert_eq!(
        stdout(&o).matches("held-out silhouette").count(),
        4,
        "{}",
        stdout(&o)
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("model.json")).unwrap()).unwrap();
    let sel = m["selection"].as_array().unwrap();
    assert_eq!(sel.len(), 4);
    assert_eq!(sel.iter().filter(|c| c["chosen"] == true).count(), 1);
    let chosen = sel.iter().find(|c| c["chosen"] == true).unwrap();
    assert_eq!(m["config"]["train"]["encoder"]["cell"], chosen["cell"]);
    assert_eq!(m["config"]["train"]["encoder"]["hidden"], chosen["hidden"]);
}

#[test]
fn serve_answers_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader, Read};
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let model = dir.path().join("serve.model");
    train_tiny(&corpus, &model, &[]);

    let mut child = Command::new(env!("CARGO_BIN_EXE_textrnn"))
        .args([
            "serve",
            "--model",
            model.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first stderr line names the bound address.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let body = r#"{"texts": ["goal match team", "bank stock market"]}"#;
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "POST /v1/classify HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains(r#""results":[{"cluster""#), "{resp}");

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exited with {status} on SIGTERM");
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert!(!rest.contains("panicked"), "{rest}");
}

#[test]
fn serve_with_a_missing_model_exits_2() {
    let o = textrnn(&[
        "serve",
        "--model",
        "/nonexistent/model",
        "--addr",
        "127.0.0.1:0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot load the model"),
        "{}",
        stderr(&o)
    );
}

/// Debian's Chromium, or the one named by $CHROMIUM.
fn chromium() -> Option<String> {
    if let Ok(c) = std::env::var("CHROMIUM") {
        return Some(c);
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .map(String::from)
}

fn headless(chrome: &str, profile: &Path, extra: &[&str], page: &Path) -> Output {
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(format!("file://{}", page.display()));
    Command::new(chrome)
        .args(&args)
        .output()
        .expect("chromium runs")
}

#[test]
fn report_is_one_self_contained_page_that_chromium_renders() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let model = dir.path().join("r.model");
    train_tiny(&corpus, &model, &[]);
    // The same texts with a date each (a few unreadable), over five days.
    let timed = dir.path().join("timed.jsonl");
    let lines: Vec<String> = (std::fs::read_to_string(&corpus)
        .unwrap()
        .lines()
        .enumerate())
    .map(|(i, l)| {
        let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
        v["date"] = match i % 50 {
            49 => "someday".into(),
            _ => format!("2024-03-0{}T12:00:00Z", 1 + i % 5).into(),
        };
        v.to_string()
    })
    .collect();
    std::fs::write(&timed, lines.join("\n")).unwrap();

    let page = dir.path().join("report.html");
    let o = textrnn(&[
        "report",
        "--model",
        model.to_str().unwrap(),
        "--input",
        timed.to_str().unwrap(),
        "--label-field",
        "label",
        "--time-field",
        "date",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    let n_texts = std::fs::read_to_string(&corpus).unwrap().lines().count();
    // Self-contained: nothing is fetched.
    for needle in ["http://", "https://", "<script", "<link"] {
        assert!(!html.contains(needle), "report references {needle}");
    }
    for id in [
        "id=\"scores\"",
        "id=\"confusion\"",
        "id=\"map\"",
        "id=\"loss-curve\"",
        "id=\"lr-curve\"",
        "id=\"terms-0\"",
        "id=\"epochs\"",
        "id=\"dendrogram\"",
        "id=\"themes\"",
        "id=\"cluster-map\"",
        "id=\"timeline\"",
    ] {
        assert!(html.contains(id), "report lacks {id}");
    }
    assert!(html.contains("Texts per day and cluster"), "daily periods");
    assert!(
        html.contains("3 texts without a readable time"),
        "unreadable times are counted"
    );
    assert_eq!(html.matches("class=\"cluster\"").count(), 3);

    // Without --input: the map shows the representative texts; no scores.
    let plain = dir.path().join("plain.html");
    let o = textrnn(&[
        "report",
        "--model",
        model.to_str().unwrap(),
        "--out",
        plain.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plain_html = std::fs::read_to_string(&plain).unwrap();
    assert!(plain_html.contains("id=\"map\"") && !plain_html.contains("id=\"confusion\""));

    // --label-field without --input is a usage error, and no file is written.
    let none = dir.path().join("none.html");
    let o = textrnn(&[
        "report",
        "--model",
        model.to_str().unwrap(),
        "--label-field",
        "label",
        "--out",
        none.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!none.exists());

    // Rendered by a real browser: the elements are there after parsing, and it paints.
    let Some(chrome) = chromium() else {
        assert!(
            std::env::var_os("TEXTRNN_REQUIRE_CHROMIUM").is_none(),
            "TEXTRNN_REQUIRE_CHROMIUM is set but no Chromium was found"
        );
        eprintln!("skipping the browser half: no Chromium (apt-get install chromium)");
        return;
    };
    let profile = dir.path().join("profile");
    let o = headless(&chrome, &profile, &["--dump-dom"], &page);
    assert!(o.status.success(), "{}", stderr(&o));
    let dom = stdout(&o);
    assert!(
        dom.contains("<svg id=\"map\""),
        "no map in the rendered DOM"
    );
    assert_eq!(dom.matches("<circle class=\"doc").count(), n_texts);
    assert!(dom.contains("<svg id=\"confusion\""));
    assert!(dom.contains("<polyline class=\"series\""));
    assert_eq!(dom.matches("<div class=\"cluster\"").count(), 3);
    assert!(dom.contains("<td id=\"acc\">"));
    assert_eq!(
        dom.matches("<path class=\"join\"").count(),
        2,
        "k - 1 joins"
    );
    assert_eq!(dom.matches("<circle class=\"centroid\"").count(), 3);
    assert!(dom.contains("<rect class=\"period\""));
    let png = dir.path().join("shot.png");
    let shot = format!("--screenshot={}", png.display());
    let o = headless(
        &chrome,
        &profile,
        &[&shot, "--window-size=1280,2000"],
        &page,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "{} bytes",
        bytes.len()
    );
}

/// Reviews: half contain a seed word, the rest only words that co-occur with them.
fn review_corpus(dir: &Path) -> String {
    let pos_seed = ["great", "wonderful", "excellent"];
    let neg_seed = ["terrible", "awful", "boring"];
    let pos_cue = ["warm", "lively", "moving", "charming"];
    let neg_cue = ["flat", "tedious", "clumsy", "hollow"];
    let subject = ["film", "story", "acting", "script", "ending", "cast"];
    let path = dir.join("reviews.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..240 {
        let positive = i % 2 == 0;
        let (seed, cue) = if positive {
            (pos_seed, pos_cue)
        } else {
            (neg_seed, neg_cue)
        };
        let s = subject[(i / 2) % subject.len()];
        let c1 = cue[(i / 3) % 4];
        let c2 = cue[(i / 5 + 1) % 4];
        let text = match i % 4 {
            0 | 1 => format!("the {s} was {} , {c1} and {c2}", seed[(i / 4) % 3]),
            _ => format!("a {c1} {s} , {c2} from start to end"),
        };
        let label = if positive { "pos" } else { "neg" };
        writeln!(f, "{}", serde_json::json!({"text": text, "label": label})).unwrap();
    }
    path.to_str().unwrap().to_string()
}

/// Both final classifiers: the default (the RNN's probabilities times the
/// feature classifier's) and the RNN classifier alone
/// (`--seed-feature-rounds 0`). Only the RNN alone is held to the negated
/// text: on this 240-text corpus, with 8-dimensional word vectors and 5 LSA
/// dimensions, the feature classifier reads "the film was flat" as leaning
/// positive, enough to tip "the film was not great , flat" (where the RNN
/// is 74% sure it is negative) to positive 51%; on real reviews the
/// product is the better classifier (sst2, waimai_10k; docs/train.md).
#[test]
fn seed_words_name_the_classes_and_generalize_beyond_seed_matches() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = review_corpus(dir.path());
    let seeds = dir.path().join("seeds.json");
    std::fs::write(
        &seeds,
        r#"{"positive": ["great", "wonderful", "excellent"], "negative": ["terrible", "awful", "boring"]}"#,
    )
    .unwrap();
    for rnn_alone in [false, true] {
        let model = dir.path().join(format!("s{rnn_alone}.model"));
        let mut args = vec![
            "train",
            corpus.as_str(),
            "--seeds",
            seeds.to_str().unwrap(),
            "--label-field",
            "label",
            "--out",
            model.to_str().unwrap(),
            "--seed-epochs",
            "10",
            "--seed-role",
            "classify",
        ];
        if rnn_alone {
            args.extend(["--seed-feature-rounds", "0"]);
        }
        args.extend(TINY.iter().skip(2));
        let o = textrnn(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        assert_eq!(
            out.contains("feature classifier (SIF + LSA) beside the RNN classifier"),
            !rnn_alone,
            "{out}"
        );
        let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        // Half the texts have no seed word; they are classified too.
        assert!(last["acc"].as_f64().unwrap() >= 0.9, "{out}");
        assert_eq!(last["k"], 2);

        // The classes keep their names in describe and predict.
        let o = textrnn(&["describe", "--model", model.to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let d = stdout(&o);
        assert!(
            d.contains("\"positive\"") && d.contains("\"negative\""),
            "{d}"
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_textrnn"))
            .args(["predict", "--model", model.to_str().unwrap(), "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"a lively and charming cast\na clumsy , hollow script\nthe film was not great , flat\n")
            .unwrap();
        let o = child.wait_with_output().unwrap();
        let names: Vec<String> = stdout(&o)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["name"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let want = ["positive", "negative", "negative"];
        let held = if rnn_alone { 3 } else { 2 };
        assert_eq!(names[..held], want[..held], "rnn alone: {rnn_alone}");
        assert_eq!(names.len(), 3);
    }
}

#[test]
fn seed_word_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = review_corpus(dir.path());
    let out = dir.path().join("m");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"positive": ["great"]}"#).unwrap();
    let scores = dir.path().join("lexicon.tsv");
    std::fs::write(&scores, "great\t3\nawful\tvery\n").unwrap();
    let lists = dir.path().join("lists");
    std::fs::create_dir(&lists).unwrap();
    std::fs::write(lists.join("pos.txt"), "great\n").unwrap();
    std::fs::write(lists.join("neg.txt"), "# nothing yet\n").unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let cases: [(Vec<&str>, &str); 7] = [
        (vec!["--seeds", bad.to_str().unwrap()], "at least 2 classes"),
        (
            vec!["--seeds", scores.to_str().unwrap()],
            "lexicon.tsv: line 2: \"very\" is not a number",
        ),
        (
            vec!["--seeds", lists.to_str().unwrap()],
            "the list of class \"neg\" has no words",
        ),
        (
            vec!["--seeds", empty.to_str().unwrap()],
            "empty.txt: the file is empty",
        ),
        (vec!["--seeds", "no-such-set"], "not a shipped seed set"),
        (
            vec!["--seeds", "sentiment-en", "--k", "3"],
            "--k must match the 2 classes",
        ),
        (
            vec!["--seeds", "emotion-zh"],
            "no text contains a seed word",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = vec![
            "train",
            corpus.as_str(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        args.extend(extra);
        let o = textrnn(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!out.exists());
    }
}

/// A word-score lexicon and a folder of word lists work as --seeds, and name
/// the classes as a JSON seed file does.
#[test]
fn seed_lexicons_in_common_formats_train() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = review_corpus(dir.path());
    let scores = dir.path().join("afinn.txt");
    std::fs::write(
        &scores,
        "great\t3\nwonderful\t4\nexcellent\t3\nfine\t1\nterrible\t-3\nawful\t-3\nboring\t-2\n",
    )
    .unwrap();
    let lists = dir.path().join("lists");
    std::fs::create_dir(&lists).unwrap();
    std::fs::write(lists.join("liked.txt"), "great\nwonderful\nexcellent\n").unwrap();
    std::fs::write(lists.join("disliked.txt"), "terrible\nawful\nboring\n").unwrap();
    for (seeds, names) in [
        (scores.to_str().unwrap(), ["positive", "negative"]),
        (lists.to_str().unwrap(), ["disliked", "liked"]),
    ] {
        let model = dir.path().join("m");
        let mut args = vec![
            "train",
            corpus.as_str(),
            "--out",
            model.to_str().unwrap(),
            "--seeds",
            seeds,
            "--seed-threshold",
            "1",
        ];
        args.extend(TINY.iter().skip(2));
        let o = textrnn(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let d: serde_json::Value = serde_json::from_str(&stdout(&textrnn(&[
            "describe",
            "--model",
            model.to_str().unwrap(),
            "--json",
        ])))
        .unwrap();
        let got: Vec<&str> = (d["clusters"].as_array().unwrap().iter())
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(got, names);
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(model.join("model.json")).unwrap()).unwrap();
        // The threshold 1 leaves "fine" (1) out.
        let all = manifest["config"]["seeds"].to_string();
        assert!(!all.contains("\"fine\""), "{all}");
        std::fs::remove_dir_all(&model).unwrap();
    }
}

#[test]
fn training_killed_with_sigkill_resumes_to_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    // Big enough that training takes a while at test optimization.
    let words = [
        "goal", "match", "team", "coach", "bank", "stock", "market", "loan", "火锅", "饺子",
        "面条", "好吃", "rain", "cloud", "storm", "wind",
    ];
    let corpus = dir.path().join("big.txt");
    let mut f = std::fs::File::create(&corpus).unwrap();
    for i in 0..3000usize {
        let t = (i % 4) * 4;
        let line: Vec<&str> = (0..8).map(|j| words[t + (i * 7 + j * 3) % 4]).collect();
        writeln!(f, "{}", line.join(" ")).unwrap();
    }
    drop(f);
    let corpus = corpus.to_str().unwrap();
    let flags = [
        "--k",
        "4",
        "--hidden",
        "16",
        "--embed",
        "16",
        "--wordvec-dims",
        "16",
        "--lsa-dims",
        "5",
        "--epochs",
        "3",
        "--batch",
        "16",
        "--threads",
        "1",
        "--checkpoint-every",
        "3",
        "--quiet",
    ];
    let full = dir.path().join("full.model");
    let mut args = vec!["train", corpus, "--out", full.to_str().unwrap()];
    args.extend(flags);
    let o = textrnn(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !dir.path().join("full.model.checkpoint").exists(),
        "removed after saving"
    );

    let model = dir.path().join("killed.model");
    let ckpt = dir.path().join("killed.model.checkpoint");
    let mut args = vec!["train", corpus, "--out", model.to_str().unwrap()];
    args.extend(flags);
    let mut child = Command::new(env!("CARGO_BIN_EXE_textrnn"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !ckpt.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!model.exists(), "killed before the model was saved");
    assert!(ckpt.exists());

    args.push("--resume");
    let o = textrnn(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    for file in [
        "model.json",
        "weights.safetensors",
        "vocab.json",
        "tfidf.json",
    ] {
        assert_eq!(
            std::fs::read(full.join(file)).unwrap(),
            std::fs::read(model.join(file)).unwrap(),
            "{file} differs after resuming"
        );
    }
    assert!(!ckpt.exists());
}

/// Run a shell script in a private mount namespace (as root, or as a mapped
/// root in a user namespace), so it can mount a tiny or read-only tmpfs
/// without touching the machine. `None` when namespaces are not available.
fn in_mount_namespace(script: &str) -> Option<Output> {
    for prefix in [
        &["--mount"][..],
        &["--user", "--map-root-user", "--mount"][..],
    ] {
        let o = Command::new("unshare")
            .args(prefix)
            .args(["sh", "-c", script])
            .output()
            .ok()?;
        // unshare itself failing (not permitted) prints its own name.
        if !String::from_utf8_lossy(&o.stderr).starts_with("unshare:") {
            return Some(o);
        }
    }
    None
}

#[test]
fn a_full_disk_and_a_read_only_directory_are_reported_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let bin = env!("CARGO_BIN_EXE_textrnn");
    let d = dir.path().display();
    let tiny = TINY[..TINY.len() - 1].join(" "); // without --json
    let script = format!(
        r#"set -u
mkdir -p {d}/full {d}/ro
mount -t tmpfs -o size=64k none {d}/full || exit 90
cat /dev/zero > {d}/full/filler 2>/dev/null
echo "== train-full"; {bin} train {corpus} --out {d}/full/m.model {tiny} 2>&1; echo "rc=$?"
echo "== baseline-full"; {bin} baseline {corpus} --k 3 --out {d}/full/a.jsonl 2>&1 >/dev/null; echo "rc=$?"
echo "== left-full"; ls -A {d}/full
mount -t tmpfs none {d}/ro && mount -o remount,ro {d}/ro || exit 91
echo "== train-ro"; {bin} train {corpus} --out {d}/ro/m.model {tiny} 2>&1; echo "rc=$?"
echo "== baseline-ro"; {bin} baseline {corpus} --k 3 --out {d}/ro/a.jsonl 2>&1 >/dev/null; echo "rc=$?"
echo "== left-ro"; ls -A {d}/ro
"#
    );
    let Some(o) = in_mount_namespace(&script) else {
        eprintln!("skipping: no mount namespace (unshare) on this machine");
        return;
    };
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    let section = |name: &str| -> String {
        out.split("== ")
            .find(|s| s.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .to_string()
    };
    for (name, what) in [
        ("train-full", "No space left on device"),
        ("baseline-full", "No space left on device"),
        ("train-ro", "Read-only file system"),
        ("baseline-ro", "Read-only file system"),
    ] {
        let s = section(name);
        assert!(s.contains("rc=2"), "{name}: {s}");
        assert!(s.contains(what), "{name}: {s}");
        assert!(!s.contains("panicked"), "{name}: {s}");
    }
    // Nothing half-written: only the filler on the full disk, nothing on the read-only one.
    assert_eq!(section("left-full").trim(), "left-full\nfiller");
    assert_eq!(section("left-ro").trim(), "left-ro");
}

#[test]
fn damaged_models_give_clear_errors_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let good = dir.path().join("good.model");
    train_tiny(&corpus, &good, &[]);
    let files = [
        "model.json",
        "pipeline.json",
        "vocab.json",
        "tfidf.json",
        "wordvec.json",
        "weights.safetensors",
    ];
    // Each damage: (file, how, what the message must say).
    type Damage = fn(&mut Vec<u8>);
    let damages: [(&str, Damage, &str); 4] = [
        ("truncated", |b| b.truncate(b.len() / 2), ""),
        (
            "flipped",
            |b| {
                let i = b.len() / 3;
                b[i] ^= 0x01
            },
            "",
        ),
        ("emptied", |b| b.clear(), ""),
        ("garbage", |b| *b = b"\x00\xffnot a model".to_vec(), ""),
    ];
    let mut n = 0;
    for file in files {
        for (how, damage, _) in &damages {
            let m = dir.path().join(format!("{file}.{how}.model"));
            std::fs::create_dir_all(&m).unwrap();
            for f in files {
                std::fs::copy(good.join(f), m.join(f)).unwrap();
            }
            let mut bytes = std::fs::read(m.join(file)).unwrap();
            damage(&mut bytes);
            std::fs::write(m.join(file), bytes).unwrap();
            for verb in [
                vec!["predict", "--model", m.to_str().unwrap(), corpus.as_str()],
                vec!["describe", "--model", m.to_str().unwrap()],
            ] {
                let o = textrnn(&verb);
                let err = stderr(&o);
                assert_eq!(o.status.code(), Some(2), "{file} {how} {verb:?}: {err}");
                assert!(!err.contains("panicked"), "{file} {how}: {err}");
                if file != "model.json" && verb[0] == "predict" {
                    assert!(
                        err.contains(file) && err.contains("checksum mismatch"),
                        "{file} {how}: {err}"
                    );
                } else if file == "model.json" {
                    assert!(err.contains("model.json"), "{file} {how}: {err}");
                }
                n += 1;
            }
        }
    }
    assert!(n >= 40);
    // A missing file, and a model from a future format.
    let m = dir.path().join("missing.model");
    std::fs::create_dir_all(&m).unwrap();
    for f in files.iter().filter(|f| **f != "tfidf.json") {
        std::fs::copy(good.join(f), m.join(f)).unwrap();
    }
    let o = textrnn(&["predict", "--model", m.to_str().unwrap(), &corpus]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("tfidf.json"), "{}", stderr(&o));
    let future = dir.path().join("future.model");
    std::fs::create_dir_all(&future).unwrap();
    for f in files {
        std::fs::copy(good.join(f), future.join(f)).unwrap();
    }
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(future.join("model.json")).unwrap()).unwrap();
    manifest["version"] = serde_json::json!(99);
    std::fs::write(future.join("model.json"), manifest.to_string()).unwrap();
    let o = textrnn(&["predict", "--model", future.to_str().unwrap(), &corpus]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("newer textrnn"), "{}", stderr(&o));
}

/// The "cluster" of each JSON line (assignments or predict output).
fn cluster_ids(jsonl: &str) -> Vec<usize> {
    jsonl
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["cluster"]
                .as_u64()
                .unwrap() as usize
        })
        .collect()
}

#[test]
fn train_is_deterministic_per_thread_count_and_threads_agree_on_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let run = |threads: &str, name: &str| -> (Vec<u8>, Vec<u8>, Vec<usize>) {
        let model = dir.path().join(format!("{name}.model"));
        let assign = dir.path().join(format!("{name}.jsonl"));
        let mut args = vec![
            "train",
            corpus.as_str(),
            "--out",
            model.to_str().unwrap(),
            "--out-assignments",
            assign.to_str().unwrap(),
            "--threads",
            threads,
            "--seed",
            "5",
        ];
        args.extend(TINY);
        let o = textrnn(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let labels = cluster_ids(&std::fs::read_to_string(&assign).unwrap());
        (
            std::fs::read(model.join("weights.safetensors")).unwrap(),
            std::fs::read(assign).unwrap(),
            labels,
        )
    };
    let one_a = run("1", "one_a");
    let one_b = run("1", "one_b");
    assert_eq!(one_a.0, one_b.0, "1 thread: same weights");
    assert_eq!(one_a.1, one_b.1, "1 thread: same assignments");
    let two_a = run("2", "two_a");
    let two_b = run("2", "two_b");
    assert_eq!(two_a.0, two_b.0, "2 threads: same weights");
    assert_eq!(two_a.1, two_b.1, "2 threads: same assignments");
    // 1 and 2 threads: the same partition of the texts (cluster ids may differ).
    let mut map = std::collections::HashMap::new();
    for (a, b) in one_a.2.iter().zip(&two_a.2) {
        assert_eq!(
            *map.entry(*a).or_insert(*b),
            *b,
            "1 and 2 threads split the texts differently"
        );
    }
}

#[test]
fn bench_reports_its_flop_rate_and_the_reference_sgemm_rate() {
    let field = |o: &Output, key: &str| -> f64 {
        let out = stdout(o);
        let line = out
            .lines()
            .find(|l| l.starts_with("RESULT "))
            .expect("RESULT line");
        let v: serde_json::Value = serde_json::from_str(&line["RESULT ".len()..]).unwrap();
        v[key].as_f64().unwrap_or_else(|| panic!("{key} in {line}"))
    };
    let o = textrnn(&["bench", "--sgemm", "64"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(field(&o, "gemm_gflops") > 0.0);
    let o = textrnn(&[
        "bench",
        "--cell",
        "gru",
        "--hidden",
        "8",
        "--batch",
        "4",
        "--seq",
        "5",
        "--steps",
        "2",
        "--warm",
        "1",
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // 3 x 2·G·H·(E+H) FLOPs per token, G = 3, H = 8, E = 128.
    let want = 3.0 * 2.0 * 3.0 * 8.0 * (128.0 + 8.0) * field(&o, "train_tok_s") / 1e9;
    assert!((field(&o, "train_gflops") - want).abs() <= 0.05 + 0.01 * want);
    assert!(textrnn(&["bench", "--sgemm", "0"]).status.code() == Some(2));
}

/// Questions open with a closed set of words: `train` makes the first word a
/// feature by default, says so, and saves it; `--lead 0` keeps it off.
#[test]
fn question_openings_become_a_feature_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("questions.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    let openings = ["what is", "who wrote", "where is", "how many"];
    let topics = [
        "the river",
        "the old book",
        "the red car",
        "the tall tower",
        "a song",
    ];
    for i in 0..120 {
        let text = format!("{} {} {i}", openings[i % 4], topics[(i / 4) % 5]);
        writeln!(f, "{}", serde_json::json!({ "text": text })).unwrap();
    }
    drop(f);
    let corpus = path.to_str().unwrap();
    for (extra, lead) in [(&[][..], 1), (&["--lead", "0"][..], 0)] {
        let model = dir.path().join(format!("q{lead}.model"));
        let o = train_tiny(corpus, &model, extra);
        let said = stdout(&o).contains("the texts open with 4.0 effective distinct words");
        assert_eq!(said, lead == 1, "{}", stdout(&o));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(model.join("model.json")).unwrap())
                .unwrap();
        assert_eq!(json["config"]["tfidf"]["lead"], lead);
    }
}

/// `--objective lm` trains, is saved in the model's config, and the model
/// predicts its own training clusters; the default objective is not written.
#[test]
fn the_language_model_objective_trains_a_model_that_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    for (extra, written) in [(&["--objective", "lm"][..], true), (&[][..], false)] {
        let model = dir.path().join(format!("lm{written}.model"));
        let assignments = dir.path().join(format!("a{written}.jsonl"));
        let mut args = extra.to_vec();
        args.extend(["--out-assignments", assignments.to_str().unwrap()]);
        train_tiny(&corpus, &model, &args);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(model.join("model.json")).unwrap())
                .unwrap();
        assert_eq!(
            json["config"]["train"]
                .get("objective")
                .and_then(|v| v.as_str()),
            written.then_some("language_model")
        );
        let o = textrnn(&["predict", "--model", model.to_str().unwrap(), &corpus]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            cluster_ids(&stdout(&o)),
            cluster_ids(&std::fs::read_to_string(&assignments).unwrap())
        );
    }
}

/// The optimisation settings reach training and are saved in the model.
#[test]
fn optimisation_settings_are_configurable_and_saved() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let model = dir.path().join("opt.model");
    let flags = [
        "--decay",
        "linear",
        "--warmup",
        "0.2",
        "--clip",
        "1",
        "--l1",
        "0.00001",
        "--val-fraction",
        "0.1",
        "--patience",
        "3",
    ];
    train_tiny(&corpus, &model, &flags);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("model.json")).unwrap()).unwrap();
    let t = &json["config"]["train"];
    assert_eq!(t["decay"], "linear");
    assert_eq!(t["warmup_fraction"], 0.2);
    assert_eq!(t["clip"], 1.0);
    assert_eq!(t["l1"], 0.00001);
    assert_eq!(t["val_fraction"], 0.1);
    assert_eq!(t["patience"], 3);
    // Linear decay: the rate rises during the warm-up, then falls to near 0.
    let lrs: Vec<f64> = json["training_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["lr"].as_f64().unwrap())
        .collect();
    let peak = lrs.iter().copied().fold(0.0, f64::max);
    assert!(
        lrs[0] < peak && *lrs.last().unwrap() < 0.2 * peak,
        "{lrs:?}"
    );
    let o = textrnn(&[
        "train",
        &corpus,
        "--out",
        "/nonexistent/m",
        "--k",
        "2",
        "--warmup",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--warmup and --val-fraction must be in [0, 1)"));
}

/// A bad --out is refused before any training and leaves nothing behind:
/// an existing directory that is not a model, a file, an unwritable place.
#[test]
fn a_bad_out_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let other = dir.path().join("photos");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("a.jpg"), b"x").unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"x").unwrap();
    let blocked = file.join("m");
    for (out, needle) in [
        (&other, "is not a textrnn model directory"),
        (&file, "is a file"),
        (&blocked, "notes.txt/m"),
    ] {
        let o = textrnn(&["train", &corpus, "--k", "3", "--out", out.to_str().unwrap()]);
        assert!(!o.status.success());
        let err = stderr(&o);
        assert!(err.contains(needle), "{err}");
        assert!(!err.contains("epoch"), "trained before refusing: {err}");
    }
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !left
            .iter()
            .any(|n| n.contains("checkpoint") || n.ends_with(".tmp")),
        "{left:?}"
    );
}

/// A model remembers the field its texts came from: predict and eval read
/// the same CSV without --text-field (they failed: the header has no column
/// "text"), and an explicit --text-field still wins.
#[test]
fn the_model_remembers_the_text_field() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = topical_corpus(dir.path());
    let csv = dir.path().join("c.csv");
    let mut w = String::from("id,body,label\n");
    for (i, line) in std::fs::read_to_string(&jsonl).unwrap().lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        w.push_str(&format!(
            "{i},{},{}\n",
            v["text"].as_str().unwrap(),
            v["label"].as_str().unwrap()
        ));
    }
    std::fs::write(&csv, w).unwrap();
    let model = dir.path().join("m");
    let csv_s = csv.to_str().unwrap();
    train_tiny(
        csv_s,
        &model,
        &["--text-field", "body", "--label-field", "label"],
    );
    let m = model.to_str().unwrap();
    let o = textrnn(&["predict", "--model", m, csv_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 150);
    let o = textrnn(&["eval", "--model", m, csv_s, "--label-field", "label"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // --id-field carries the id column through predict and --out-assignments,
    // which also names each text's cluster.
    let o = textrnn(&["predict", "--model", m, csv_s, "--id-field", "id"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ids: Vec<String> = stdout(&o)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, (0..150).map(|i| i.to_string()).collect::<Vec<_>>());
    // The same as CSV with a header, names with commas or quotes quoted.
    let o = textrnn(&[
        "predict",
        "--model",
        m,
        csv_s,
        "--id-field",
        "id",
        "--output-format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv_out = stdout(&o);
    let mut lines = csv_out.lines();
    assert_eq!(lines.next(), Some("id,cluster,name,score,low_confidence"));
    let jsonl_out = textrnn(&["predict", "--model", m, csv_s, "--id-field", "id"]);
    for (row, json_line) in lines.zip(stdout(&jsonl_out).lines()) {
        let v: serde_json::Value = serde_json::from_str(json_line).unwrap();
        let expect = format!(
            "{},{},{},{},{}",
            v["id"].as_str().unwrap(),
            v["cluster"],
            v["name"].as_str().unwrap(),
            v["score"],
            v["low_confidence"]
        );
        assert_eq!(row, expect);
    }
    let o = textrnn(&[
        "predict",
        "--model",
        m,
        csv_s,
        "--output-format",
        "csv",
        "--top",
        "2",
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("--output-format jsonl"),
        "{}",
        stderr(&o)
    );
    let assign = dir.path().join("a.jsonl");
    let model2 = dir.path().join("m2");
    let a = assign.to_str().unwrap();
    train_tiny(
        csv_s,
        &model2,
        &[
            "--text-field",
            "body",
            "--id-field",
            "id",
            "--out-assignments",
            a,
        ],
    );
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&assign)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 150);
    assert!(rows
        .iter()
        .enumerate()
        .all(|(i, r)| r["id"].as_str() == Some(i.to_string().as_str()) && r["name"].is_string()));
    let o = textrnn(&["predict", "--model", m, csv_s, "--text-field", "text"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("\"text\""), "{}", stderr(&o));
}

/// k = 1 and fewer than two texts per cluster train, with a warning.
#[test]
fn degenerate_k_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let few = dir.path().join("few.txt");
    std::fs::write(
        &few,
        "goal match team\nrain cloud wind\nbank loan stock\nsoup rice noodle\nchip code bug\n",
    )
    .unwrap();
    for (input, k, needle) in [
        (corpus.as_str(), "1", "--k 1 puts every text in one cluster"),
        (few.to_str().unwrap(), "4", "5 texts for --k 4"),
    ] {
        let model = dir.path().join(format!("m{k}"));
        let mut args = vec!["train", input, "--out", model.to_str().unwrap()];
        args.extend(&TINY[2..]);
        args.extend(["--k", k, "--min-count", "1"]);
        let o = textrnn(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
    }
}

/// A model trained with --format on a file whose name says nothing reads
/// such inputs the same way; and a corpus too small to hold texts out for
/// validation (its validation loss is NaN, saved as null) still loads.
#[test]
fn a_tiny_forced_format_model_loads_and_remembers_its_format() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("r.dat");
    std::fs::write(
        &data,
        "body\tlabel\nhow many cats are there\tnum\nwho is the king\thum\nwhat is love\tdesc\nhow far is it\tnum\nwho wrote this\thum\nwhat is a cat\tdesc\n",
    )
    .unwrap();
    let d = data.to_str().unwrap();
    let model = dir.path().join("m");
    let mut args = vec!["train", d, "--out", model.to_str().unwrap()];
    args.extend(&TINY[2..]);
    args.extend([
        "--format",
        "tsv",
        "--text-field",
        "body",
        "--k",
        "2",
        "--min-count",
        "1",
    ]);
    let o = textrnn(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("too few texts to hold some out"),
        "{}",
        stdout(&o)
    );
    let o = textrnn(&["predict", "--model", model.to_str().unwrap(), d]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().count(),
        6,
        "read as TSV with a header: {}",
        stdout(&o)
    );
}

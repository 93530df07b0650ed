//! The translation verbs on a toy language pair the test writes (Chinese
//! digit strings to English number words): train with a validation file,
//! translate stdin and a file, evaluate, resume, and every clear error.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{stderr, stdout, textrnn};

const ZH: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
const EN: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// A TSV with the shared corpus's header (`en`, `zh`, attribution).
fn write_pairs(path: &std::path::Path, n: usize, seed: u64) {
    let mut r = textrnn::rng::Rng::new(seed);
    let mut s = String::from("en\tzh\tattribution\n");
    for _ in 0..n {
        let d: Vec<usize> = (0..2 + r.below(4)).map(|_| r.below(10)).collect();
        let zh: String = d.iter().map(|&i| ZH[i]).collect();
        let en = d.iter().map(|&i| EN[i]).collect::<Vec<_>>().join(" ");
        s += &format!("{en}.\t{zh}。\ttest\n");
    }
    std::fs::write(path, s).unwrap();
}

const SMALL: [&str; 14] = [
    "--embed",
    "16",
    "--hidden",
    "24",
    "--batch-size",
    "16",
    "--lr",
    "0.01",
    "--min-count",
    "1",
    "--dropout",
    "0.1",
    "--threads",
    "1",
];

#[test]
fn train_translate_and_evaluate_a_toy_pair() {
    let dir = tempfile::tempdir().unwrap();
    let (train, dev) = (dir.path().join("train.tsv"), dir.path().join("dev.tsv"));
    write_pairs(&train, 600, 1);
    write_pairs(&dev, 40, 2);
    let model = dir.path().join("zh-en.model");
    let m = model.to_str().unwrap();
    let mut args = vec![
        "translate-train",
        train.to_str().unwrap(),
        "--valid",
        dev.to_str().unwrap(),
    ];
    args.extend(["--epochs", "15", "--out", m]);
    args.extend(SMALL);
    let o = textrnn(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("epoch 15") && err.contains("valid BLEU"),
        "{err}"
    );
    assert!(model.join("translator.json").exists() && model.join("weights.safetensors").exists());
    assert!(
        !dir.path().join("zh-en.model.checkpoint").exists(),
        "checkpoint left behind"
    );

    // stdin, one line out per line in, blank lines kept.
    let mut child = Command::new(env!("CARGO_BIN_EXE_textrnn"))
        .args(["translate", "--model", m, "--beam", "3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("三一四。\n\n九九。\n".as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(lines, ["three one four.", "", "nine nine."]);

    // JSON with n-best lists.
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "五六。\n").unwrap();
    let o = textrnn(&[
        "translate",
        "--model",
        m,
        input.to_str().unwrap(),
        "--json",
        "--n-best",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["translation"], "five six.");
    assert_eq!(v["n_best"].as_array().unwrap().len(), 2);

    // BLEU and chrF, greedy and beam, with the translations written out.
    let hyp = dir.path().join("hyp.txt");
    let o = textrnn(&[
        "translate-eval",
        "--model",
        m,
        dev.to_str().unwrap(),
        "--out",
        hyp.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let result: serde_json::Value =
        serde_json::from_str(out.lines().last().unwrap().strip_prefix("RESULT ").unwrap()).unwrap();
    let rows = result["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|r| r["bleu"].as_f64().unwrap() > 70.0),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&hyp).unwrap().lines().count(), 40);

    // Verbs for classification models say what this one is.
    let o = textrnn(&["predict", "--model", m, input.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("is a translation model"),
        "{}",
        stderr(&o)
    );

    // Describe says what the model is.
    let o = textrnn(&["describe", "--model", m]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("translation model") && out.contains("zh -> en"),
        "{out}"
    );
}

#[test]
fn translation_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.tsv");
    write_pairs(&train, 30, 3);
    let t = train.to_str().unwrap();
    let out = dir.path().join("m");
    let m = out.to_str().unwrap();
    let cases: [(Vec<&str>, &str); 5] = [
        (
            vec!["translate-train", t, "--src", "fr", "--out", m],
            "--src \"fr\": the languages are zh and en",
        ),
        (
            vec![
                "translate-train",
                t,
                "--src",
                "en",
                "--tgt",
                "en",
                "--out",
                m,
            ],
            "both en",
        ),
        (
            vec!["translate-train", t, "--src-field", "chinese", "--out", m],
            "chinese",
        ),
        (
            vec!["translate-train", t, "--resume", "--out", m],
            "no checkpoint",
        ),
        (
            vec!["translate", "--model", dir.path().to_str().unwrap()],
            "not a textrnn translation model",
        ),
    ];
    for (args, needle) in cases {
        let o = textrnn(&args);
        assert!(!o.status.success(), "{args:?} succeeded");
        let err = stderr(&o);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

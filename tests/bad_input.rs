//! Messy input through `train`, `baseline` and `predict`: every crafted
//! corpus gives a correct result or a clear error (exit 2, naming the file
//! and what is wrong), never a panic, and never leaves a partial output file,
//! model directory or checkpoint behind.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{stderr, textrnn};

/// What a verb must do with a corpus.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Exit 0 (and, for predict, this many output lines).
    Ok(Option<usize>),
    /// Exit 2 with this in the message.
    Err(&'static str),
}
use Expect::{Err, Ok};

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    args: &'static [&'static str],
    train: Expect,
    baseline: Expect,
    predict: Expect,
}

fn good_lines() -> String {
    let rows = ["goal match team", "bank stock loan", "rain cloud wind"];
    (0..30).map(|i| format!("{}\n", rows[i % 3])).collect()
}

fn jsonl(texts: &[serde_json::Value]) -> Vec<u8> {
    texts
        .iter()
        .map(|v| format!("{v}\n"))
        .collect::<String>()
        .into_bytes()
}

fn cases() -> Vec<Case> {
    let good = good_lines();
    let j = |v: serde_json::Value| v;
    let bad_field =
        |v: serde_json::Value| jsonl(&[j(serde_json::json!({"text": "goal match"})), v]);
    let mut long_zh = good.clone();
    long_zh.push_str(&"我们今天去北京天安门看升旗仪式然后吃烤鸭".repeat(5000));
    long_zh.push('\n');
    vec![
        Case {
            name: "invalid_utf8.txt",
            bytes: [good.as_bytes(), b"bad \xff\xfe text\n"].concat(),
            args: &[],
            train: Err("invalid_utf8.txt:31: invalid UTF-8"),
            baseline: Err("invalid_utf8.txt:31: invalid UTF-8"),
            predict: Err("invalid_utf8.txt:31: invalid UTF-8"),
        },
        Case {
            name: "nul.txt",
            bytes: [good.as_bytes(), b"goal\x00match team\n"].concat(),
            args: &[],
            train: Ok(None),
            baseline: Ok(None),
            predict: Ok(Some(31)),
        },
        Case {
            name: "empty.txt",
            bytes: Vec::new(),
            args: &[],
            train: Err("empty.txt: no texts found"),
            baseline: Err("empty.txt: no texts found"),
            predict: Ok(Some(0)),
        },
        Case {
            name: "blank.txt",
            bytes: b"\n\n   \n\t\n".to_vec(),
            args: &[],
            train: Err("the texts contain no tokens"),
            baseline: Err("no term occurs in at least 2 texts"),
            predict: Ok(None),
        },
        Case {
            name: "bom.txt",
            bytes: [b"\xef\xbb\xbf".as_slice(), good.as_bytes()].concat(),
            args: &[],
            train: Ok(None),
            baseline: Ok(None),
            predict: Ok(Some(30)),
        },
        Case {
            name: "crlf.txt",
            bytes: good.replace('\n', "\r\n").into_bytes(),
            args: &[],
            train: Ok(None),
            baseline: Ok(None),
            predict: Ok(Some(30)),
        },
        Case {
            name: "cr.txt",
            bytes: good.replace('\n', "\r").into_bytes(),
            args: &[],
            train: Ok(None),
            baseline: Ok(None),
            predict: Ok(Some(30)),
        },
        Case {
            name: "missing.jsonl",
            bytes: bad_field(serde_json::json!({"body": "x"})),
            args: &[],
            train: Err("missing.jsonl:2: no field \"text\""),
            baseline: Err("missing.jsonl:2: no field \"text\""),
            predict: Err("missing.jsonl:2: no field \"text\""),
        },
        Case {
            name: "null.jsonl",
            bytes: bad_field(serde_json::json!({"text": null})),
            args: &[],
            train: Err("null.jsonl:2: field \"text\" is null"),
            baseline: Err("null.jsonl:2: field \"text\" is null"),
            predict: Err("null.jsonl:2: field \"text\" is null"),
        },
        Case {
            name: "number.jsonl",
            bytes: bad_field(serde_json::json!({"text": 3})),
            args: &[],
            train: Err("number.jsonl:2: field \"text\" is a number"),
            baseline: Err("number.jsonl:2: field \"text\" is a number"),
            predict: Err("number.jsonl:2: field \"text\" is a number"),
        },
        Case {
            name: "array.jsonl",
            bytes: bad_field(serde_json::json!({"text": ["a"]})),
            args: &[],
            train: Err("array.jsonl:2: field \"text\" is an array"),
            baseline: Err("array.jsonl:2: field \"text\" is an array"),
            predict: Err("array.jsonl:2: field \"text\" is an array"),
        },
        Case {
            name: "badjson.jsonl",
            bytes: b"{\"text\": \"goal match\"}\n{\"text\": \n".to_vec(),
            args: &[],
            train: Err("badjson.jsonl:2: not valid JSON"),
            baseline: Err("badjson.jsonl:2: not valid JSON"),
            predict: Err("badjson.jsonl:2: not valid JSON"),
        },
        Case {
            name: "nested.jsonl",
            bytes: jsonl(
                &good
                    .lines()
                    .map(|l| serde_json::json!({"doc": {"body": l}}))
                    .collect::<Vec<_>>(),
            ),
            args: &["--text-field", "doc.body"],
            train: Ok(None),
            baseline: Ok(None),
            predict: Ok(Some(30)),
        },
        Case {
            name: "quoted.csv",
            bytes: format!(
                "id,text\n{}",
                good.lines()
                    .enumerate()
                    .map(|(i, l)| format!("{i},\"{l}\nsecond, line\"\n"))
                    .collect::<String>()
            )
            .into_bytes(),
            args: &[],
            train: Ok(None),
            baseline: Ok(None),
            predict: Ok(Some(30)),
        },
        Case {
            name: "noheader.csv",
            bytes: good
                .lines()
                .enumerate()
                .map(|(i, l)| format!("{i},{l}\n"))
                .collect::<String>()
                .into_bytes(),
            args: &[],
            train: Err("noheader.csv: the header has no column \"text\""),
            baseline: Err("noheader.csv: the header has no column \"text\""),
            predict: Err("noheader.csv: the header has no column \"text\""),
        },
        Case {
            name: "ragged.csv",
            bytes: b"id,text\n1,goal match\n2,bank loan,extra\n".to_vec(),
            args: &[],
            train: Err("ragged.csv:3: row has 3 fields but the header has 2"),
            baseline: Err("ragged.csv:3: row has 3 fields but the header has 2"),
            predict: Err("ragged.csv:3: row has 3 fields but the header has 2"),
        },
        Case {
            name: "headeronly.csv",
            bytes: b"id,text\n".to_vec(),
            args: &[],
            train: Err("headeronly.csv: no texts found"),
            baseline: Err("headeronly.csv: no texts found"),
            predict: Ok(Some(0)),
        },
        Case {
            name: "stray.tsv",
            bytes: b"id\ttext\n1\tgoal match\n2\tbank\tloan\n".to_vec(),
            args: &[],
            train: Err("stray.tsv:3: row has 3 fields but the header has 2"),
            baseline: Err("stray.tsv:3: row has 3 fields but the header has 2"),
            predict: Err("stray.tsv:3: row has 3 fields but the header has 2"),
        },
        Case {
            name: "identical.txt",
            bytes: "same text here\n".repeat(50).into_bytes(),
            args: &[],
            train: Err("cannot make 3 clusters from 1 distinct texts"),
            baseline: Err("cannot make 3 clusters from 1 distinct texts"),
            predict: Ok(Some(50)),
        },
        Case {
            name: "oneword.txt",
            bytes: ["goal\n", "bank\n", "rain\n"]
                .concat()
                .repeat(20)
                .into_bytes(),
            args: &[],
            train: Ok(None),
            baseline: Ok(None),
            predict: Ok(Some(60)),
        },
        Case {
            name: "emoji.txt",
            bytes: ["😀😀\n", "🎉\n", "🔥🔥🔥\n", "👍\n"]
                .concat()
                .repeat(10)
                .into_bytes(),
            args: &[],
            train: Ok(None),
            baseline: Err("no term occurs in at least 2 texts"),
            predict: Ok(Some(40)),
        },
        Case {
            name: "long_chinese.txt",
            bytes: long_zh.into_bytes(),
            args: &[],
            train: Ok(None),
            baseline: Ok(None),
            predict: Ok(Some(31)),
        },
        Case {
            name: "k0.txt",
            bytes: good.clone().into_bytes(),
            args: &["--k", "0"],
            train: Err("--k must be at least 1"),
            baseline: Err("--k must be at least 1"),
            predict: Ok(Some(30)),
        },
        Case {
            name: "k1.txt",
            bytes: good.clone().into_bytes(),
            args: &["--k", "1"],
            train: Ok(None),
            baseline: Ok(None),
            predict: Ok(Some(30)),
        },
        Case {
            name: "k_over_distinct.txt",
            bytes: good.clone().into_bytes(),
            args: &["--k", "4"],
            train: Err("cannot make 4 clusters from 3 distinct texts"),
            baseline: Err("cannot make 4 clusters from 3 distinct texts"),
            predict: Ok(Some(30)),
        },
        Case {
            name: "k_over_texts.txt",
            bytes: good.clone().into_bytes(),
            args: &["--k", "31"],
            train: Err("cannot make 31 clusters from 30 texts"),
            baseline: Err("cannot make 31 clusters from 30 texts"),
            predict: Ok(Some(30)),
        },
        Case {
            name: "wrong_field.jsonl",
            bytes: jsonl(&[serde_json::json!({"text": "goal"})]),
            args: &["--text-field", "body"],
            train: Err("wrong_field.jsonl:1: no field \"body\" (the record has \"text\")"),
            baseline: Err("wrong_field.jsonl:1: no field \"body\" (the record has \"text\")"),
            predict: Err("wrong_field.jsonl:1: no field \"body\" (the record has \"text\")"),
        },
    ]
}

/// A model trained on good data, for predict.
fn model() -> &'static PathBuf {
    static M: OnceLock<PathBuf> = OnceLock::new();
    M.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let corpus = dir.join("good.txt");
        std::fs::write(&corpus, good_lines()).unwrap();
        let model = dir.join("good.model");
        let mut args = vec![
            "train",
            corpus.to_str().unwrap(),
            "--k",
            "3",
            "--out",
            model.to_str().unwrap(),
            "--quiet",
        ];
        args.extend(SMALL);
        let o = textrnn(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        model
    })
}

/// A small, fast model: what every training run in this file uses.
const SMALL: [&str; 12] = [
    "--hidden",
    "8",
    "--embed",
    "8",
    "--wordvec-dims",
    "8",
    "--lsa-dims",
    "4",
    "--epochs",
    "1",
    "--min-count",
    "1",
];

/// Run one verb on one corpus and check the expectation.
fn check(verb: &str, input: &Path, args: &[&str], expect: Expect, dir: &Path) {
    let name = input.file_name().unwrap().to_string_lossy().into_owned();
    let out_model = dir.join(format!("{name}.model"));
    let out_file = dir.join(format!("{name}.assign.jsonl"));
    let input_s = input.to_str().unwrap();
    let mut a: Vec<&str> = Vec::new();
    let has_k = args.contains(&"--k");
    match verb {
        "train" => {
            a.extend([
                "train",
                input_s,
                "--out",
                out_model.to_str().unwrap(),
                "--quiet",
            ]);
            a.extend(SMALL);
            if !has_k {
                a.extend(["--k", "3"]);
            }
        }
        "baseline" => {
            a.extend(["baseline", input_s, "--out", out_file.to_str().unwrap()]);
            if !has_k {
                a.extend(["--k", "3"]);
            }
        }
        _ => a.extend(["predict", "--model", model().to_str().unwrap(), input_s]),
    }
    // predict has no --k.
    let mut skip = false;
    for x in args {
        if verb == "predict" && (*x == "--k" || skip) {
            skip = !skip;
            continue;
        }
        a.push(x);
    }
    let o = textrnn(&a);
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{verb} {name}: panic: {err}");
    match expect {
        Ok(lines) => {
            assert!(
                o.status.success(),
                "{verb} {name}: expected success, got {err}"
            );
            if let Some(n) = lines {
                assert_eq!(
                    String::from_utf8_lossy(&o.stdout).lines().count(),
                    n,
                    "{verb} {name}"
                );
            }
            match verb {
                "train" => assert!(
                    out_model.join("model.json").exists(),
                    "{verb} {name}: no model"
                ),
                "baseline" => assert!(out_file.exists(), "{verb} {name}: no output"),
                _ => {}
            }
            let _ = std::fs::remove_dir_all(&out_model);
            let _ = std::fs::remove_file(&out_file);
        }
        Err(needle) => {
            assert_eq!(
                o.status.code(),
                Some(2),
                "{verb} {name}: expected exit 2: {err}"
            );
            assert!(
                err.contains(needle),
                "{verb} {name}: {err:?} lacks {needle:?}"
            );
            // A missing field is fixed by naming the right one, not by skipping records.
            if needle.contains("no field") {
                assert!(!err.contains("--skip-bad-lines"), "{verb} {name}: {err:?}");
            }
            assert!(!out_model.exists(), "{verb} {name}: left a model directory");
            assert!(!out_file.exists(), "{verb} {name}: left an output file");
        }
    }
    let ckpt = dir.join(format!("{name}.model.checkpoint"));
    assert!(!ckpt.exists(), "{verb} {name}: left a checkpoint");
    // Nothing half-written next to the outputs either.
    for e in std::fs::read_dir(dir).unwrap() {
        let f = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!f.contains(".tmp"), "{verb} {name}: left {f}");
    }
}

#[test]
fn every_crafted_corpus_gives_a_result_or_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    assert!(cases.len() >= 25);
    for c in &cases {
        let input = dir.path().join(c.name);
        std::fs::write(&input, &c.bytes).unwrap();
        for (verb, expect) in [
            ("train", c.train),
            ("baseline", c.baseline),
            ("predict", c.predict),
        ] {
            check(verb, &input, c.args, expect, dir.path());
        }
    }
}

#[test]
fn a_directory_a_missing_file_and_an_unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("corpus.txt");
    std::fs::create_dir(&sub).unwrap();
    for verb in ["train", "baseline", "predict"] {
        check(verb, &sub, &[], Err("is a directory"), dir.path());
        check(
            verb,
            &dir.path().join("absent.txt"),
            &[],
            Err("absent.txt"),
            dir.path(),
        );
    }
    // Unreadable: root reads it anyway, so then the result must be right.
    let locked = dir.path().join("locked.txt");
    std::fs::write(&locked, good_lines()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable = std::fs::read(&locked).is_ok();
    for verb in ["train", "baseline", "predict"] {
        let expect = if readable {
            Ok(None)
        } else {
            Err("Permission denied")
        };
        check(verb, &locked, &[], expect, dir.path());
    }
}

#[test]
fn a_50_mb_single_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("huge.txt");
    let mut text = "lorem ipsum dolor sit amet ".repeat(50 * 1024 * 1024 / 27);
    text.push('\n');
    std::fs::write(&input, text).unwrap();
    check(
        "train",
        &input,
        &[],
        Err("cannot make 3 clusters from 1 texts"),
        dir.path(),
    );
    check(
        "baseline",
        &input,
        &["--k", "1"],
        Err("no term occurs in at least 2 texts"),
        dir.path(),
    );
    check("predict", &input, &[], Ok(Some(1)), dir.path());
}

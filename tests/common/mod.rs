//! Helpers shared by the binary's integration tests.
#![allow(dead_code)] // each test file uses a subset

use std::path::Path;
use std::process::{Command, Output};

/// Run the real `textrnn` binary with `args`.
pub fn textrnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_textrnn"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// Its stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Its stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Three topics with disjoint vocabularies (one of them Chinese) plus shared filler words.
pub fn topical_corpus(dir: &Path) -> String {
    let topics: [(&str, &[&str]); 3] = [
        (
            "sport",
            &[
                "goal", "match", "team", "coach", "league", "striker", "stadium", "season",
            ],
        ),
        (
            "money",
            &[
                "bank", "stock", "market", "loan", "interest", "profit", "shares", "investor",
            ],
        ),
        (
            "food",
            &[
                "米饭", "火锅", "饺子", "面条", "好吃", "厨师", "辣椒", "餐厅",
            ],
        ),
    ];
    let filler = ["today", "news", "big", "new"];
    let mut state = 12345u64;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize % n
    };
    let mut lines = String::new();
    for i in 0..150 {
        let (label, words) = topics[i % 3];
        let mut text: Vec<&str> = (0..5).map(|_| words[next(words.len())]).collect();
        text.push(filler[next(filler.len())]);
        let sep = if label == "food" { "" } else { " " };
        lines.push_str(&serde_json::json!({"text": text.join(sep), "label": label}).to_string());
        lines.push('\n');
    }
    let path = dir.join("corpus.jsonl");
    std::fs::write(&path, lines).unwrap();
    path.to_str().unwrap().to_string()
}

/// Small, fast training flags for tests.
pub const TINY: [&str; 16] = [
    "--k",
    "3",
    "--hidden",
    "8",
    "--embed",
    "8",
    "--wordvec-dims",
    "8",
    "--lsa-dims",
    "5",
    "--epochs",
    "1",
    "--batch",
    "16",
    "--quiet",
    "--json",
];

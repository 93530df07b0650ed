//! Working with a trained model's clusters through the real binary:
//! describing them anew with other terms, the tree, merge and split.

mod common;

use std::path::Path;

use common::{stderr, stdout, textrnn, topical_corpus, TINY};
use serde_json::Value;

/// Train the three-topic corpus into 4 clusters (so one topic is cut in two).
fn trained(dir: &Path) -> (String, String) {
    let corpus = topical_corpus(dir);
    let model = dir.join("m").to_str().unwrap().to_string();
    let mut args = vec!["train", &corpus, "--out", &model, "--seed", "1"];
    args.extend(TINY.iter().filter(|&&a| a != "--k" && a != "3"));
    args.extend(["--k", "4"]);
    let o = textrnn(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    (corpus, model)
}

fn ok(args: &[&str]) -> String {
    let o = textrnn(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).unwrap()
}

/// Each text's predicted line.
fn predict(model: &str, corpus: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["predict", "--model", model, corpus];
    args.extend(extra);
    ok(&args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ids(described: &Value) -> Vec<u64> {
    described["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect()
}

#[test]
fn merge_and_split_keep_other_clusters_and_predictions_agree() {
    let dir = tempfile::tempdir().unwrap();
    let (corpus, model) = trained(dir.path());
    let before = predict(&model, &corpus, &[]);
    let d0 = json(&["describe", "--model", &model, "--json"]);
    assert_eq!(ids(&d0), vec![0, 1, 2, 3]);

    // The tree: three joins over four clusters, and themes that cover them all.
    let tree = json(&["describe", "--model", &model, "--tree", "--json"]);
    assert_eq!(tree["joins"].as_array().unwrap().len(), 3);
    let covered: usize = (tree["themes"].as_array().unwrap().iter())
        .map(|t| t["clusters"].as_array().unwrap().len())
        .sum();
    assert_eq!(covered, 4);
    assert!(ok(&["describe", "--model", &model, "--tree"]).contains("themes:"));

    // Merge 3 into 1 (to another directory): 1 keeps its id, 3 is retired,
    // every other text keeps its cluster and score.
    let merged = dir.path().join("merged").to_str().unwrap().to_string();
    let out = ok(&[
        "merge", "--model", &model, "1", "3", "--name", "joined", "--out", &merged,
    ]);
    assert!(out.contains("cluster 1 \"joined\""), "{out}");
    let d1 = json(&["describe", "--model", &merged, "--json"]);
    assert_eq!(ids(&d1), vec![0, 1, 2]);
    assert_eq!(d1["edits"][0]["op"], "merge");
    assert_eq!(d1["edits"][0]["clusters"], serde_json::json!([1, 3]));
    let size = |d: &Value, id: u64| {
        (d["clusters"].as_array().unwrap().iter())
            .find(|c| c["id"] == id)
            .map(|c| c["size"].as_u64().unwrap())
    };
    assert_eq!(
        size(&d1, 1),
        Some(size(&d0, 1).unwrap() + size(&d0, 3).unwrap())
    );
    assert_eq!(d1["clusters"][0]["name"], d0["clusters"][0]["name"]);
    let after = predict(&merged, &corpus, &["--all-probabilities"]);
    for (b, a) in before.iter().zip(&after) {
        let probs = a["probabilities"].as_array().unwrap();
        assert_eq!(probs.len(), 4, "indexed by id");
        assert_eq!(probs[3], 0.0, "a retired id has no probability");
        // A text of 1 or 3 goes to 1 with the sum of both probabilities (or
        // stays with 0 or 2, if its runner-up was there and beats the sum); a
        // text of 0 or 2 stays with the same score, or goes to 1 because the
        // sum beats it. Either way no score falls.
        assert!(a["score"].as_f64() >= b["score"].as_f64(), "{b} -> {a}");
        if a["cluster"] != 1 {
            assert!(b["cluster"] == a["cluster"] || b["cluster"] == 1 || b["cluster"] == 3);
        }
        if a["cluster"] == b["cluster"] && b["cluster"] != 1 {
            assert_eq!(a["score"], b["score"]);
        }
    }
    // An edited model is not updated (its classifiers are the trained ones).
    let o = textrnn(&["update", "--model", &merged, &corpus, "--out", &merged]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("merged or split"), "{}", stderr(&o));
    // The original model is untouched.
    assert_eq!(
        ids(&json(&["describe", "--model", &model, "--json"])),
        vec![0, 1, 2, 3]
    );

    // Split the joined cluster again: new ids, named, with the history.
    let out = ok(&[
        "split", "--model", &merged, "1", "--into", "2", "--input", &corpus,
    ]);
    assert!(out.contains("split cluster 1 into 2 parts"), "{out}");
    let d2 = json(&["describe", "--model", &merged, "--json"]);
    assert_eq!(ids(&d2), vec![0, 2, 4, 5]);
    assert_eq!(d2["edits"][1]["op"], "split");
    assert_eq!(d2["edits"][1]["into"], serde_json::json!([4, 5]));
    let split = predict(&merged, &corpus, &["--top", "2"]);
    let in_parts = (after.iter().zip(&split))
        .filter(|(a, _)| a["cluster"] == 1)
        .filter(|(_, s)| s["cluster"] == 4 || s["cluster"] == 5)
        .count();
    let was = after.iter().filter(|a| a["cluster"] == 1).count();
    assert!(
        in_parts * 10 >= was * 9,
        "{in_parts} of {was} texts went to the parts"
    );
    assert!(split.iter().all(|s| s["top"][0]["cluster"] == s["cluster"]));
    // The model file says it needs a build that knows edits, and renaming
    // goes by id.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(Path::new(&merged).join("model.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["version"], 5);
    ok(&["rename", "--model", &merged, "5", "fifth"]);
    let o = textrnn(&["rename", "--model", &merged, "3", "gone"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no cluster 3 (the clusters are 0, 2, 4, 5)"),
        "{}",
        stderr(&o)
    );

    // Merge along the tree down to two clusters.
    ok(&["merge", "--model", &merged, "--to", "2"]);
    let d3 = json(&["describe", "--model", &merged, "--json"]);
    assert_eq!(ids(&d3).len(), 2);
    let total: u64 = (d3["clusters"].as_array().unwrap().iter())
        .map(|c| c["size"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 150);
    assert_eq!(predict(&merged, &corpus, &[]).len(), 150);
}

#[test]
fn edits_refuse_what_cannot_be_done() {
    let dir = tempfile::tempdir().unwrap();
    let (corpus, model) = trained(dir.path());
    for (args, says) in [
        (
            vec!["merge", "--model", &model, "1"],
            "at least two different clusters",
        ),
        (
            vec!["merge", "--model", &model, "1", "1"],
            "at least two different clusters",
        ),
        (vec!["merge", "--model", &model, "1", "9"], "no cluster 9"),
        (
            vec!["merge", "--model", &model, "--to", "9"],
            "from 1 to the 4",
        ),
        (
            vec![
                "split", "--model", &model, "1", "--into", "1", "--input", &corpus,
            ],
            "2 parts or more",
        ),
        (
            vec![
                "split", "--model", &model, "1", "--into", "200", "--input", &corpus,
            ],
            "needs at least 400",
        ),
    ] {
        let o = textrnn(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    // Nothing was written.
    assert_eq!(
        ids(&json(&["describe", "--model", &model, "--json"])),
        vec![0, 1, 2, 3]
    );
}

#[test]
fn describe_anew_with_stop_words_and_keep_user_names() {
    let dir = tempfile::tempdir().unwrap();
    let (corpus, model) = trained(dir.path());
    ok(&["rename", "--model", &model, "0", "mine"]);
    let d0 = json(&["describe", "--model", &model, "--json"]);
    // Stop every term of cluster 1 that a user might dislike: its top term.
    let top = d0["clusters"][1]["top_terms"][0]
        .as_str()
        .unwrap()
        .to_string();
    let stop = dir.path().join("stop.txt");
    std::fs::write(&stop, format!("# mine\n{top}\n")).unwrap();
    let stop = stop.to_str().unwrap();
    let o = textrnn(&["describe", "--model", &model, "--stop-words", stop]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("give the corpus with --input"),
        "{}",
        stderr(&o)
    );
    let d1 = json(&[
        "describe",
        "--model",
        &model,
        "--input",
        &corpus,
        "--stop-words",
        stop,
        "--json",
        "--term-ngrams",
        "1-2",
        "--save",
    ]);
    assert!(d1["clusters"].as_array().unwrap().iter().all(|c| {
        c["top_terms"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t != top.as_str())
    }));
    assert_eq!(d1["clusters"][0]["name"], "mine", "a user's name is kept");
    // Saved: the next plain describe shows the same, and the settings stay.
    let d2 = json(&["describe", "--model", &model, "--json"]);
    assert_eq!(d1["clusters"], d2["clusters"]);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(Path::new(&model).join("model.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest["config"]["describe"]["stop_words"],
        serde_json::json!([top])
    );
    assert_eq!(
        manifest["config"]["describe"]["ngrams"],
        serde_json::json!([1, 2])
    );
    // Bad values are refused by name.
    for (flag, value) in [
        ("--term-ngrams", "2-1"),
        ("--term-ngrams", "9"),
        ("--min-term-freq", "0"),
    ] {
        let o = textrnn(&[
            "describe", "--model", &model, "--input", &corpus, flag, value,
        ]);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}");
        assert!(stderr(&o).contains(flag), "{}", stderr(&o));
    }
}

#[test]
fn update_keeps_ids_and_forms_a_cluster_for_a_new_topic() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    // Train on two of the three topics (and six texts of the third, so that
    // its words are in the vocabulary); then update with all three, the
    // third twice over: a topic the model has not learned.
    let all = std::fs::read_to_string(&corpus).unwrap();
    let food: Vec<&str> = all.lines().filter(|l| l.contains("\"food\"")).collect();
    let mut two: Vec<&str> = all.lines().filter(|l| !l.contains("\"food\"")).collect();
    two.extend(&food[..6]);
    let first = dir.path().join("two.jsonl");
    std::fs::write(&first, two.join("\n")).unwrap();
    let new_texts = dir.path().join("new.jsonl");
    std::fs::write(&new_texts, format!("{all}{}", food.join("\n"))).unwrap();
    let new_texts = new_texts.to_str().unwrap();
    let model = dir.path().join("m").to_str().unwrap().to_string();
    let mut args = vec![
        "train",
        first.to_str().unwrap(),
        "--out",
        &model,
        "--seed",
        "1",
    ];
    args.extend(TINY.iter().filter(|&&a| a != "--k" && a != "3"));
    args.extend(["--k", "2"]);
    let o = textrnn(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = predict(&model, first.to_str().unwrap(), &[]);
    let updated = dir.path().join("m2").to_str().unwrap().to_string();
    let out = ok(&["update", "--model", &model, new_texts, "--out", &updated]);
    assert!(out.contains("updated with 200 texts"), "{out}");
    let d = json(&["describe", "--model", &updated, "--json"]);
    assert_eq!(ids(&d), vec![0, 1, 2], "{out}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(Path::new(&updated).join("model.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest["updates"][0]["new_clusters"],
        serde_json::json!([2])
    );
    // The old clusters keep their names and their texts; the new topic is the new cluster.
    let d0 = json(&["describe", "--model", &model, "--json"]);
    assert_eq!(d["clusters"][0]["name"], d0["clusters"][0]["name"]);
    let after = predict(&updated, first.to_str().unwrap(), &[]);
    let same = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b["cluster"] == a["cluster"])
        .count();
    assert!(
        same * 10 >= before.len() * 9,
        "{same} of {} old texts kept their cluster",
        before.len()
    );
    let food_file = dir.path().join("food.jsonl");
    std::fs::write(&food_file, food.join("\n")).unwrap();
    let in_new = predict(&updated, food_file.to_str().unwrap(), &[])
        .iter()
        .filter(|p| p["cluster"] == 2)
        .count();
    assert!(
        in_new * 10 >= food.len() * 9,
        "{in_new} of {} new-topic texts in the new cluster",
        food.len()
    );
    // --new-clusters 0 adds none; a bad value is refused.
    let none = dir.path().join("m3").to_str().unwrap().to_string();
    ok(&[
        "update",
        "--model",
        &model,
        new_texts,
        "--out",
        &none,
        "--new-clusters",
        "0",
    ]);
    assert_eq!(
        ids(&json(&["describe", "--model", &none, "--json"])),
        vec![0, 1]
    );
    let o = textrnn(&[
        "update",
        "--model",
        &model,
        &corpus,
        "--new-clusters",
        "many",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("give auto, 0 or a number"),
        "{}",
        stderr(&o)
    );
}

/// Seed words that agree with the corpus's own topics keep the clusters and
/// name them, in the seed file's order; `--seed-role classify` trains the
/// seed classifier instead; `describe --seed-words` writes a file (given
/// words, then those `--seed-expansion` added) that `--seeds` reads back.
#[test]
fn seeds_that_agree_with_the_clusters_name_them() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = topical_corpus(dir.path());
    let seeds = dir.path().join("seeds.json");
    std::fs::write(
        &seeds,
        r#"{"food": ["火锅", "饺子"], "sport": ["goal", "team"], "money": ["bank", "stock"]}"#,
    )
    .unwrap();
    let manifest = |m: &str| -> Value {
        serde_json::from_slice(&std::fs::read(Path::new(m).join("model.json")).unwrap()).unwrap()
    };
    let tiny: Vec<&str> = TINY.iter().skip(2).copied().collect();
    for (role, kept) in [("auto", true), ("classify", false)] {
        let model = dir.path().join(role).to_str().unwrap().to_string();
        let mut args = vec!["train", &corpus, "--out", &model, "--seeds"];
        args.extend([
            seeds.to_str().unwrap(),
            "--seed-role",
            role,
            "--label-field",
        ]);
        args.extend(["label", "--seed-epochs", "10", "--seed-expansion"]);
        args.extend(&tiny);
        let last: Value = serde_json::from_str(ok(&args).lines().last().unwrap()).unwrap();
        assert!(last["acc"].as_f64().unwrap() > 0.95, "{role}: {last}");
        let m = manifest(&model);
        let agreement = m["weak"]["cluster_agreement"].as_f64();
        assert_eq!(
            m["config"]["seed_role"],
            if kept { "name" } else { "classify" }
        );
        assert_eq!(agreement.is_some(), kept, "{role}");
        if kept {
            assert!(agreement.unwrap() > 0.95);
            assert!(
                m["cluster_head"].is_object(),
                "the cluster classifier assigns"
            );
        }
        let d = json(&["describe", "--model", &model, "--json"]);
        let names: Vec<&str> = (d["clusters"].as_array().unwrap().iter())
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["food", "sport", "money"], "{role}");
        let p = predict(&model, &corpus, &[]);
        let labels: Vec<Value> = std::fs::read_to_string(&corpus)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let right = p
            .iter()
            .zip(&labels)
            .filter(|(p, l)| p["name"] == l["label"]);
        assert!(right.count() as f64 > 0.95 * labels.len() as f64, "{role}");
    }

    // The seed words as a file to edit: given, then added; read back exactly.
    let model = dir.path().join("auto").to_str().unwrap().to_string();
    let text = ok(&["describe", "--model", &model, "--seed-words"]);
    let words: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(words["food"][0], "火锅", "{text}");
    assert_eq!(words["money"][1], "stock", "{text}");
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, text.replace("\"stock\"", "\"shares\"")).unwrap();
    let again = dir.path().join("again").to_str().unwrap().to_string();
    let mut args = vec!["train", &corpus, "--out", &again, "--seeds"];
    args.extend([edited.to_str().unwrap()]);
    args.extend(&tiny);
    ok(&args);
    let m = manifest(&again);
    assert!(m["weak"]["expansion"].is_null(), "expansion off");
    assert_eq!(m["config"]["seeds"]["classes"][2]["seeds"][1], "shares");
    let plain = ok(&["describe", "--model", &again]);
    assert!(plain.contains("money: "), "{plain}");
    let o = textrnn(&[
        "describe",
        "--model",
        &dir.path().join("auto").to_string_lossy(),
        "--seed-words",
        "--tree",
    ]);
    assert!(!o.status.success());
}

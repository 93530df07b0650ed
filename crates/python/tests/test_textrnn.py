"""The Python package against the library and the CLI.

Run with `pytest crates/python/tests` after installing the wheel; the CLI
tests need the `textrnn` binary (TEXTRNN_BIN, or target/release/textrnn,
or target/debug/textrnn) and are skipped without it.
"""

import json
import os
import random
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import textrnn
from textrnn import TextRNN

ROOT = Path(__file__).resolve().parents[3]

TOPICS = {
    "sport": ["football", "match", "goal", "team", "league", "coach", "score", "season"],
    "food": ["recipe", "cook", "bake", "flour", "sugar", "oven", "dinner", "soup"],
    "tech": ["software", "computer", "code", "laptop", "program", "server", "bug", "chip"],
}
FILLER = ["the", "a", "new", "today", "about", "with", "for", "my", "this", "great"]


def corpus(n_per_topic=60, seed=1):
    """Three topics of short texts the tests write themselves, and their labels."""
    rng = random.Random(seed)
    texts, labels = [], []
    for label, words in TOPICS.items():
        for _ in range(n_per_topic):
            w = rng.sample(words, 3) + rng.sample(FILLER, 2)
            rng.shuffle(w)
            texts.append(" ".join(w))
            labels.append(label)
    return texts, labels


def small(**kw):
    """A fast model: small encoder, one epoch."""
    opts = dict(k=3, seed=0, threads=1, verbose=0, hidden=16, embed=16, wordvec_dims=16,
                lsa_dims=8, epochs=1)
    opts.update(kw)
    return TextRNN(**opts)


@pytest.fixture(scope="module")
def fitted():
    texts, labels = corpus()
    return small().fit(texts), texts, labels


def purity(pred, labels):
    by = {}
    for p, l in zip(pred, labels):
        by.setdefault(p, []).append(l)
    return sum(max(v.count(x) for x in set(v)) for v in by.values()) / len(labels)


def test_fit_finds_the_topics(fitted):
    m, texts, labels = fitted
    assert m.labels_.shape == (len(texts),)
    assert m.labels_.dtype == np.int64
    assert purity(list(m.labels_), labels) > 0.9
    assert len(m.cluster_names_) == 3 and m.n_clusters_ == 3
    assert np.all((m.scores_ > 0) & (m.scores_ <= 1))


def test_predict_matches_training_assignments(fitted):
    m, texts, _ = fitted
    assert np.array_equal(m.predict(texts), m.labels_)


def test_predict_proba_rows_are_distributions(fitted):
    m, texts, _ = fitted
    p = m.predict_proba(texts[:20])
    assert p.shape == (20, 3) and p.dtype == np.float32
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert np.array_equal(p.argmax(axis=1), m.predict(texts[:20]))
    scores = [r["score"] for r in m.classify(texts[:20])]
    assert np.allclose(p.max(axis=1), scores, atol=1e-6)


def test_unknown_text_is_low_confidence(fitted):
    m, _, _ = fitted
    r = m.classify(["", "zzzz qqqq"])
    assert all(x["low_confidence"] for x in r)
    assert all(abs(x["score"] - 1 / 3) < 1e-6 for x in r)
    assert np.allclose(m.predict_proba([""]), 1 / 3)


def test_transform_shape(fitted):
    m, texts, _ = fitted
    z = m.transform(texts[:5])
    assert z.shape == (5, m._native_model().dim) and z.dtype == np.float32
    assert np.all(np.isfinite(z))


def test_input_kinds_agree(fitted):
    m, texts, _ = fitted
    expected = m.predict(texts[:10])
    kinds = [texts[:10], tuple(texts[:10]), np.array(texts[:10]), np.array(texts[:10], dtype=object),
             pa.array(texts[:10]), pa.chunked_array([texts[:5], texts[5:10]])]
    try:
        import pandas as pd

        kinds.append(pd.Series(texts[:10]))
    except ImportError:
        pass
    for kind in kinds:
        assert np.array_equal(m.predict(kind), expected), type(kind)


def test_bad_input_raises(fitted):
    m, _, _ = fitted
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        m.predict(["ok", 3])
    with pytest.raises(TypeError, match="single str"):
        m.predict("one text")
    with pytest.raises(ValueError, match="not fitted"):
        TextRNN().predict(["x"])
    with pytest.raises(ValueError, match="unknown option 'epoch'"):
        small(epoch=3).fit(corpus()[0])
    with pytest.raises(ValueError, match="dropout"):
        small(dropout=1.5).fit(corpus()[0])
    with pytest.raises(ValueError, match="cannot cluster"):
        small(k=5).fit(["a b", "c d"])
    with pytest.raises(ValueError, match="no tokens"):
        small(k=2).fit(["   ", "\t", " "])
    with pytest.raises(TypeError):
        small(k="many").fit(corpus()[0])
    with pytest.raises(OSError, match="cannot load"):
        TextRNN.load("/nonexistent/model")


def test_same_seed_same_model(tmp_path):
    texts, _ = corpus()
    a = small().fit(texts)
    b = small().fit(texts)
    assert np.array_equal(a.labels_, b.labels_)
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    assert (tmp_path / "a" / "weights.safetensors").read_bytes() == (tmp_path / "b" / "weights.safetensors").read_bytes()


def test_save_load_rename(fitted, tmp_path):
    m, texts, _ = fitted
    m.rename(0, "first")
    m.save(tmp_path / "m")
    back = TextRNN.load(tmp_path / "m")
    assert back.cluster_names_[0] == "first"
    assert np.array_equal(back.predict(texts), m.predict(texts))
    with pytest.raises(ValueError, match="no cluster 7"):
        back.rename(7, "x")


def test_describe(fitted):
    m, _, _ = fitted
    d = m.describe()
    rows = d.to_dict("records") if hasattr(d, "to_dict") else d
    assert [r["id"] for r in rows] == [0, 1, 2]
    assert sum(r["size"] for r in rows) == len(m.labels_)
    assert all(r["top_terms"] and r["examples"] for r in rows)


def test_predict_arrow(fitted):
    m, texts, _ = fitted
    batch = pa.RecordBatch.from_arrays([pa.array(texts[:30]), pa.array(range(30))], names=["text", "id"])
    out = m.predict_arrow(batch)
    assert out.schema.names == ["text", "id", "cluster", "name", "score", "low_confidence"]
    assert out.column("cluster").to_pylist() == list(m.predict(texts[:30]))
    names = m.cluster_names_
    assert out.column("name").to_pylist() == [names[c] for c in m.predict(texts[:30])]
    # Sliced, large_string, with a null: read in place, null as empty.
    col = pa.array(texts[:10] + [None], type=pa.large_string()).slice(3)
    out = m.predict_arrow(pa.table({"body": col}), text_column="body")
    assert out.column("cluster").to_pylist()[:7] == list(m.predict(texts[3:10]))
    assert out.column("low_confidence").to_pylist()[-1] is True
    with pytest.raises(ValueError, match="no column 'text'"):
        m.predict_arrow(pa.table({"body": col}))
    e = m.embed_arrow(batch)
    assert e.column("embedding").type.list_size == m._native_model().dim
    z = np.array(e.column("embedding").to_pylist(), dtype=np.float32)
    assert np.array_equal(z, m.transform(texts[:30]))


def test_k_auto_and_seeds():
    texts, _ = corpus()
    m = small(k="auto", k_min=2, k_max=5).fit(texts)
    assert 2 <= m.n_clusters_ <= 5
    assert m.k_choice_ is not None
    seeds = {"sport": ["football", "goal"], "food": ["recipe", "soup"]}
    s = small(k=None, seeds=seeds).fit(texts)
    assert s.n_clusters_ == 2 and sorted(s.cluster_names_) == ["food", "sport"]
    with pytest.raises(ValueError, match="must match the 2 classes"):
        small(k=3, seeds=seeds).fit(texts)
    # What the seeds decide, and the seed words to edit and pass back.
    for role in ("classify", "name"):
        r = small(k=None, seeds=seeds, seed_role=role).fit(texts)
        assert r.manifest_["config"]["seed_role"] == role
        assert r.cluster_names_ == ["sport", "food"]
    words = small(k=None, seeds=seeds, seed_expansion=True).fit(texts).seed_words_
    assert list(words) == ["sport", "food"] and words["sport"][:2] == ["football", "goal"]
    exact = small(k=None, seeds=words).fit(texts)
    assert exact.seed_words_ == words
    assert small(k=3).fit(texts).seed_words_ is None
    with pytest.raises(ValueError, match="bad option value"):
        small(k=None, seeds=seeds, seed_role="sometimes").fit(texts)
    with pytest.raises(ValueError, match="seed_agreement must be in"):
        small(k=None, seeds=seeds, seed_agreement=2).fit(texts)
    # The sampled partition: a sample smaller than the corpus still gives k clusters.
    sampled = small(k=3, cluster_sample=100).fit(texts)
    assert sampled.manifest_["config"]["cluster_sample"] == 100 and sampled.n_clusters_ == 3
    with pytest.raises(ValueError, match="cluster_sample must be 0"):
        small(k=3, cluster_sample=10).fit(texts)


def test_progress_callback_errors_stop_training():
    texts, _ = corpus()
    calls = []

    def boom(*args):
        calls.append(args)
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        textrnn._native.NativeModel.fit(texts, 3, None, 0, 1, None, {"epochs": 1, "hidden": 8}, boom)
    assert calls


def cli():
    for p in [os.environ.get("TEXTRNN_BIN"), ROOT / "target/release/textrnn", ROOT / "target/debug/textrnn"]:
        if p and Path(p).is_file():
            return str(p)
    pytest.skip("no textrnn binary (build it, or set TEXTRNN_BIN)")


def test_cli_and_python_train_the_same_model(tmp_path):
    bin = cli()
    texts, _ = corpus()
    data = tmp_path / "c.txt"
    data.write_text("\n".join(texts) + "\n")
    flags = ["--k", "3", "--seed", "0", "--hidden", "16", "--embed", "16", "--wordvec-dims", "16",
             "--lsa-dims", "8", "--epochs", "1", "--quiet"]
    subprocess.run([bin, "--threads", "1", "train", str(data), "--out", str(tmp_path / "cli"), *flags],
                   check=True, capture_output=True)
    py = small().fit(texts)
    py.save(tmp_path / "py")
    assert (tmp_path / "cli/weights.safetensors").read_bytes() == (tmp_path / "py/weights.safetensors").read_bytes()
    # The CLI predicts with the Python model, and the reverse, as each predicts itself.
    out = subprocess.run([bin, "--threads", "1", "predict", "--model", str(tmp_path / "py"), str(data)],
                         check=True, capture_output=True, text=True).stdout
    rows = [json.loads(l) for l in out.splitlines()]
    assert [r["cluster"] for r in rows] == list(py.predict(texts))
    arrow = TextRNN.load(tmp_path / "cli").predict_arrow(pa.table({"text": texts}))
    assert arrow.column("cluster").to_pylist() == [r["cluster"] for r in rows]
    assert np.allclose(arrow.column("score").to_pylist(), [r["score"] for r in rows], atol=1e-4)


def test_edited_model_predicts_ids_as_the_cli_does(fitted, tmp_path):
    bin = cli()
    model, texts, _ = fitted
    model.save(tmp_path / "m")
    # Join clusters 2 and 0 (0 is retired, 2 kept): ids 1, 2 remain.
    subprocess.run([bin, "merge", "--model", str(tmp_path / "m"), "2", "0", "--name", "joined"],
                   check=True, capture_output=True)
    edited = TextRNN.load(tmp_path / "m")
    assert list(edited.classes_) == [1, 2]
    assert edited.cluster_names_[1] == "joined"
    out = subprocess.run([bin, "predict", "--model", str(tmp_path / "m"), "-"], input="\n".join(texts),
                         check=True, capture_output=True, text=True).stdout
    rows = [json.loads(l) for l in out.splitlines()]
    assert [r["cluster"] for r in rows] == list(edited.predict(texts))
    assert [r["name"] for r in rows] == [c["name"] for c in edited.classify(texts)]
    proba = edited.predict_proba(texts)
    assert proba.shape == (len(texts), 2)
    assert list(edited.classes_[proba.argmax(axis=1)]) == list(edited.predict(texts))
    arrow = edited.predict_arrow(pa.table({"text": texts}))
    assert arrow.column("cluster").to_pylist() == [r["cluster"] for r in rows]
    assert arrow.column("name").to_pylist() == [r["name"] for r in rows]


def test_tree_merge_split_update(tmp_path):
    texts, labels = corpus()
    m = small().fit(texts)
    joins = m.tree()
    assert len(joins) == 2 and sorted(joins[-1]["clusters"]) == [0, 1, 2]
    # update first (edited models refuse it): the same topics, no new cluster
    log = m.update(texts[::2])
    assert log["texts"] == len(texts[::2]) and log["new_clusters"] == []
    assert list(m.classes_) == [0, 1, 2]
    with pytest.raises(ValueError, match="new_clusters"):
        m.update(texts, new_clusters="many")
    kept = m.merge(2, 0, name="two topics")
    assert kept == 2 and list(m.classes_) == [1, 2] and m.n_clusters_ == 2
    assert set(m.predict(texts)) <= {1, 2}
    assert m.manifest_["edits"][0]["clusters"] == [2, 0]
    parts = m.split(2, texts, into=2)
    assert parts == [3, 4] and list(m.classes_) == [1, 3, 4]
    assert purity(m.predict(texts), labels) > 0.9
    with pytest.raises(ValueError, match="merged or split"):
        m.update(texts)
    with pytest.raises(ValueError, match="no cluster 0"):
        m.merge(0, 1)
    m.save(tmp_path / "edited")
    again = TextRNN.load(tmp_path / "edited")
    assert list(again.predict(texts)) == list(m.predict(texts))


def test_ray_local_mode_matches_predict(fitted, tmp_path):
    ray = pytest.importorskip("ray", reason="ray not installed (pip install 'ray[data]' to run this test)")
    m, texts, _ = fitted
    m.save(tmp_path / "m")

    class Predictor:
        def __init__(self, path):
            self.model = TextRNN.load(path, threads=1)

        def __call__(self, batch):
            return self.model.predict_arrow(batch)

    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)
    try:
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        table = pa.table({"id": list(range(len(texts))), "text": texts})
        out = ray.data.from_arrow(table).map_batches(
            Predictor, fn_constructor_args=(str(tmp_path / "m"),), batch_format="pyarrow",
            batch_size=50, concurrency=1, num_cpus=1,
        ).to_arrow_refs()
        result = pa.concat_tables(ray.get(out)).sort_by("id")
    finally:
        ray.shutdown()
    assert result.column("cluster").to_pylist() == list(m.predict(texts))

"""textrnn: unsupervised text classification with recurrent neural networks.

A thin Python layer over the Rust library (``textrnn._native``): the same
training, the same model directory and the same predictions as the
``textrnn`` command line. A model trained here serves with ``textrnn serve``,
and one trained by ``textrnn train`` loads here.

    >>> from textrnn import TextRNN
    >>> model = TextRNN(k=8, seed=0).fit(texts)
    >>> model.labels_, model.describe()
    >>> model.predict(["new text"])
    >>> model.save("model")
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np

from . import _native

__all__ = ["TextRNN", "option_names", "__version__"]
__version__ = _native.__version__


def option_names() -> list:
    """The settings ``TextRNN(**options)`` accepts (the CLI flags' names)."""
    return list(_native.option_names())


def _texts(texts: Any, what: str = "texts") -> list:
    """A list of str from a list, tuple, numpy array, pandas Series or pyarrow array."""
    if isinstance(texts, str):
        raise TypeError(f"{what} must be a sequence of strings, not a single str")
    mod = type(texts).__module__ or ""
    if mod.startswith("pyarrow"):
        import pyarrow as pa

        if isinstance(texts, (pa.Array, pa.ChunkedArray)):
            if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
                raise TypeError(f"{what}: a pyarrow array of strings is needed, not {texts.type}")
            texts = texts.to_pylist()
    elif mod.startswith("pandas"):
        texts = texts.tolist()
    elif isinstance(texts, np.ndarray):
        if texts.ndim != 1:
            raise ValueError(f"{what} must be one-dimensional, got shape {texts.shape}")
        texts = texts.tolist()
    if not isinstance(texts, list):
        try:
            texts = list(texts)
        except TypeError:
            raise TypeError(f"{what} must be a sequence of strings, not {type(texts).__name__}") from None
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{what}[{i}] is {type(t).__name__}, not str")
    return texts


def _seeds_spec(seeds: Any) -> Optional[str]:
    """Seed words as the library takes them: a shipped set's name, JSON
    text, or the path of a JSON file, a word-score lexicon or a folder of
    word lists (read by the library, as ``textrnn train --seeds``)."""
    if seeds is None:
        return None
    if isinstance(seeds, dict):
        return json.dumps(seeds, ensure_ascii=False)
    if isinstance(seeds, (str, os.PathLike)):
        s = os.fspath(seeds)
        if s in _native.builtin_seed_sets():
            return s
        if os.path.exists(s):
            return os.path.abspath(s)
        raise ValueError(
            f"seeds={s!r}: not a shipped seed set ({', '.join(_native.builtin_seed_sets())}) "
            "and no such file or folder"
        )
    raise TypeError("seeds must be a shipped set's name, a path (JSON, word-score lexicon, folder of lists) or a dict")


class _Progress:
    """A tqdm bar over the encoder's training steps (silent without tqdm)."""

    def __init__(self, verbose: int):
        self.bar = None
        # A bar in a terminal or a notebook; not in logs or pipes.
        interactive = "ipykernel" in sys.modules or (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
        self.enabled = verbose > 1 or (verbose > 0 and interactive)
        self.tqdm = None
        if self.enabled:
            try:
                from tqdm.auto import tqdm

                self.tqdm = tqdm
            except ImportError:
                self.enabled = False

    def __call__(self, stage: str, epoch: int, step: int, total: int, loss: float) -> None:
        if not self.enabled:
            return
        if total > 0:
            if self.bar is None:
                self.bar = self.tqdm(total=total, desc="train", unit="step", file=sys.stderr)
            self.bar.n = step
            self.bar.set_postfix(epoch=epoch, loss=f"{loss:.3f}", refresh=False)
            self.bar.refresh()
        elif self.bar is not None:
            self.bar.set_description(stage)
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class TextRNN:
    """Find the classes in unlabeled text, name them, and classify new text.

    Parameters
    ----------
    k : int or "auto"
        The number of clusters; "auto" chooses it between ``k_min`` and
        ``k_max`` (how clear the choice was is in ``k_choice_``).
    cell : "gru" or "lstm"
        The RNN encoder's cell.
    seed : int
        The same seed and thread count give the same model.
    threads : int, optional
        Worker threads (default: all cores).
    seeds : str, dict or path, optional
        Seed words: a shipped set's name (``"sentiment-en"``, ...), a JSON
        file or a dict ``{"class name": ["seed word", ...]}``; the classes
        then come from them.
    verbose : int
        1 shows a progress bar while training in a terminal or notebook
        (with tqdm installed), 2 anywhere, 0 never.
    **options
        Any of ``option_names()``: the ``textrnn train`` flags, with
        underscores (``epochs=4``, ``graph_neighbors=10``, ``lsa_dims=0``).
    """

    def __init__(
        self,
        k: Union[int, str] = 8,
        cell: str = "gru",
        seed: int = 0,
        threads: Optional[int] = None,
        seeds: Any = None,
        k_min: int = _native.K_AUTO_RANGE[0],
        k_max: int = _native.K_AUTO_RANGE[1],
        verbose: int = 1,
        **options: Any,
    ):
        self.k = k
        self.cell = cell
        self.seed = seed
        self.threads = threads
        self.seeds = seeds
        self.k_min = k_min
        self.k_max = k_max
        self.verbose = verbose
        self.options = options
        self._model = None

    # scikit-learn's parameter protocol
    def get_params(self, deep: bool = True) -> dict:
        p = dict(k=self.k, cell=self.cell, seed=self.seed, threads=self.threads, seeds=self.seeds,
                 k_min=self.k_min, k_max=self.k_max, verbose=self.verbose)
        p.update(self.options)
        return p

    def set_params(self, **params: Any) -> "TextRNN":
        for name, value in params.items():
            if name in ("k", "cell", "seed", "threads", "seeds", "k_min", "k_max", "verbose"):
                setattr(self, name, value)
            else:
                self.options[name] = value
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={v!r}" for n, v in self.get_params().items())
        return f"TextRNN({args})"

    # training
    def fit(self, texts: Any, y: Any = None) -> "TextRNN":
        """Train on ``texts`` (``y`` is ignored: labels never train)."""
        texts = _texts(texts)
        if self.k == "auto":
            k, k_auto = 0, (int(self.k_min), int(self.k_max))
        elif isinstance(self.k, (int, np.integer)) and not isinstance(self.k, bool):
            k, k_auto = int(self.k), None
            if k < 1:
                raise ValueError("k must be at least 1 (or 'auto')")
        elif self.k is None and self.seeds is not None:
            k, k_auto = 0, None
        else:
            raise TypeError(f"k must be an int or 'auto', not {self.k!r}")
        if self.cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', not {self.cell!r}")
        options = dict(self.options)
        options["cell"] = self.cell
        progress = _Progress(self.verbose)
        try:
            model, labels, scores = _native.NativeModel.fit(
                texts, k, k_auto, int(self.seed), self.threads,
                _seeds_spec(self.seeds), options, progress,
            )
        finally:
            progress.close()
        self._set(model)
        self.labels_ = np.frombuffer(labels, dtype=np.int64)
        self.scores_ = np.frombuffer(scores, dtype=np.float32)
        return self

    def fit_predict(self, texts: Any, y: Any = None) -> np.ndarray:
        """Train on ``texts`` and return each one's cluster."""
        return self.fit(texts).labels_

    def _set(self, model: Any) -> None:
        self._model = model
        manifest = json.loads(model.manifest_json())
        self.manifest_ = manifest
        self.n_clusters_ = model.k
        self.k_choice_ = manifest.get("k_choice")

    def _native_model(self) -> Any:
        if self._model is None:
            raise ValueError("this TextRNN is not fitted yet: call fit(texts) or TextRNN.load(path)")
        return self._model

    @property
    def cluster_names_(self) -> list:
        """Each cluster's name, in the order of ``classes_`` (by id, until
        clusters are merged or split with ``textrnn merge`` / ``split``)."""
        return [c["name"] for c in self._native_model().clusters()]

    @property
    def seed_words_(self) -> Optional[dict]:
        """A seed-word model's seed words, ``{class: [word, ...]}``: each
        class's given words, then those the corpus added (with
        ``seed_expansion=True``); edit and pass back as ``seeds=``.
        None without seed words."""
        text = self._native_model().seed_words_json()
        return None if text is None else json.loads(text)

    @property
    def classes_(self) -> np.ndarray:
        """The cluster ids in the order of ``predict_proba``'s columns and
        ``cluster_names_``: 0 to k-1, until clusters are merged (retired ids
        leave gaps) or split (parts get new ids) with the CLI."""
        return np.array([c["id"] for c in self._native_model().clusters()], dtype=np.int64)

    # prediction
    def predict(self, texts: Any) -> np.ndarray:
        """Each text's cluster id."""
        labels, _, _ = self._native_model().predict(_texts(texts), self.threads)
        return self.classes_[np.frombuffer(labels, dtype=np.int64)]

    def classify(self, texts: Any) -> list:
        """What ``textrnn predict`` prints for each text: cluster, name,
        score (the probability that it belongs with its cluster) and
        low_confidence (the model cannot vouch for it)."""
        labels, scores, low = self._native_model().predict(_texts(texts), self.threads)
        names, ids = self.cluster_names_, self.classes_
        return [
            {"cluster": int(ids[c]), "name": names[c], "score": float(s), "low_confidence": bool(f)}
            for c, s, f in zip(np.frombuffer(labels, dtype=np.int64),
                               np.frombuffer(scores, dtype=np.float32),
                               np.frombuffer(low, dtype=np.uint8))
        ]

    def predict_proba(self, texts: Any) -> np.ndarray:
        """Each text's probability of every cluster, ``(N, k)`` float32,
        columns in the order of ``classes_``; its largest entry is the
        text's score."""
        m = self._native_model()
        p = np.frombuffer(m.probabilities(_texts(texts), self.threads), dtype=np.float32)
        return p.reshape(-1, m.k)

    def transform(self, texts: Any) -> np.ndarray:
        """The representation the clusters are computed on, ``(N, dim)`` float32."""
        m = self._native_model()
        z = np.frombuffer(m.represent(_texts(texts), self.threads), dtype=np.float32)
        return z.reshape(-1, m.dim)

    # Arrow
    def _arrow_call(self, column: Any, call: str) -> tuple:
        import pyarrow as pa

        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            try:
                column = column.cast(pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise TypeError(f"the text column must hold strings, not {column.type}") from None
        if column.null_count:
            import pyarrow.compute as pc

            column = pc.fill_null(column, "")
        _, offsets, data = column.buffers()
        large = pa.types.is_large_string(column.type)
        m = self._native_model()
        described = (
            offsets.address, offsets.size,
            0 if data is None else data.address, 0 if data is None else data.size,
            large, column.offset, len(column),
        )
        return getattr(m, call)(described, self.threads)

    def _text_column(self, text_column: Optional[str]) -> str:
        """The column to read: the one given, else the field the model's
        texts came from (``textrnn train --text-field``), else ``text``."""
        if text_column is not None:
            return text_column
        return (getattr(self, "manifest_", None) or {}).get("text_field") or "text"

    def predict_arrow(self, batch: Any, text_column: Optional[str] = None) -> Any:
        """``batch`` (a pyarrow RecordBatch or Table) with ``cluster``,
        ``name``, ``score`` and ``low_confidence`` columns added. The strings
        are read in place from the Arrow buffers; a null text is read as an
        empty one (low confidence). ``text_column`` defaults to the field the
        model was trained on, else ``text``."""
        import pyarrow as pa

        column = _column(batch, self._text_column(text_column))
        labels, scores, low = self._arrow_call(column, "predict_utf8")
        labels = pa.array(np.frombuffer(labels, dtype=np.int64))
        names = pa.array(self.cluster_names_, pa.string()).take(labels)
        return _with_columns(batch, {
            "cluster": pa.array(self.classes_).take(labels),
            "name": names,
            "score": pa.array(np.frombuffer(scores, dtype=np.float32)),
            "low_confidence": pa.array(np.frombuffer(low, dtype=np.uint8).astype(bool)),
        })

    def embed_arrow(self, batch: Any, text_column: Optional[str] = None, column: str = "embedding") -> Any:
        """``batch`` with the representation added as a fixed-size list
        column of float32 (``dim`` values per text); the strings are read in
        place, as in ``predict_arrow``."""
        import pyarrow as pa

        texts = _column(batch, self._text_column(text_column))
        m = self._native_model()
        z = np.frombuffer(self._arrow_call(texts, "represent_utf8"), dtype=np.float32)
        values = pa.array(z)
        return _with_columns(batch, {column: pa.FixedSizeListArray.from_arrays(values, m.dim)})

    # clusters
    def describe(self) -> Any:
        """Each cluster: id, name, size, top terms, examples; a pandas
        DataFrame when pandas is installed, else a list of dicts."""
        rows = self._native_model().clusters()
        try:
            import pandas as pd
        except ImportError:
            return rows
        return pd.DataFrame(rows)

    def rename(self, id: int, name: str) -> "TextRNN":
        """Name cluster ``id`` (kept by ``save``)."""
        self._native_model().rename(int(id), str(name))
        return self

    # working with the clusters
    def _refresh(self) -> None:
        m = self._native_model()
        self.manifest_ = json.loads(m.manifest_json())
        self.n_clusters_ = m.k

    def merge(self, *ids: int, name: Optional[str] = None) -> int:
        """Join clusters ``ids`` into the first (``textrnn merge``): a text's
        probability of it is the sum of theirs; the others keep their ids
        and names. Returns the joined cluster's id."""
        kept = self._native_model().merge([int(i) for i in ids], name)
        self._refresh()
        return kept

    def merge_to(self, k: int) -> list:
        """Merge along the cluster tree until ``k`` clusters are left
        (``textrnn merge --to``); returns the groups merged (ids, kept first)."""
        groups = self._native_model().merge_to(int(k))
        self._refresh()
        return groups

    def split(self, cluster: int, texts: Any, into: int = 2) -> list:
        """Split ``cluster`` into ``into`` parts by re-clustering its texts
        among ``texts`` (``textrnn split``); returns the parts' new ids."""
        parts = self._native_model().split(int(cluster), int(into), _texts(texts), self.threads)
        self._refresh()
        return parts

    def update(self, texts: Any, epochs: int = 0, new_clusters: Union[str, int] = "auto") -> dict:
        """Update the model with new texts without renumbering its clusters
        (``textrnn update``); texts that fit no cluster may form new ones
        (``new_clusters``: "auto", 0 or a number of groups to try). Returns
        what the update did (texts, candidates, new cluster ids, share moved)."""
        if new_clusters == "auto":
            count = None
        elif isinstance(new_clusters, int) and not isinstance(new_clusters, bool) and new_clusters >= 0:
            count = new_clusters
        else:
            raise ValueError(f"new_clusters must be 'auto' or a count >= 0, not {new_clusters!r}")
        log = json.loads(self._native_model().update(_texts(texts), int(epochs), count, self.threads))
        self._refresh()
        return log

    def tree(self) -> list:
        """How the clusters group (Ward's linkage on their centroids, as
        ``textrnn describe --tree``): each join as a dict with the two
        sides' node numbers (0..k-1 the clusters in ``classes_`` order, k+i
        join i), its height, size and the cluster ids under it."""
        ids = list(self.classes_)
        members = [[i] for i in ids]
        out = []
        for a, b, height, size in self._native_model().tree():
            members.append(sorted(members[a] + members[b]))
            out.append({"children": (a, b), "height": height, "size": size, "clusters": members[-1]})
        return out

    # persistence
    def save(self, path: Union[str, os.PathLike]) -> None:
        """Write the model directory ``textrnn serve`` and ``textrnn predict`` read."""
        self._native_model().save(os.fspath(path))

    @classmethod
    def load(cls, path: Union[str, os.PathLike], threads: Optional[int] = None) -> "TextRNN":
        """Load a model directory written by ``save`` or ``textrnn train``."""
        model = _native.NativeModel.load(os.fspath(path))
        manifest = json.loads(model.manifest_json())
        cfg = manifest["config"]
        self = cls(k=model.k, cell=cfg["train"]["encoder"]["cell"], seed=cfg["train"]["seed"],
                   threads=threads)
        self._set(model)
        return self


def _column(batch: Any, name: str) -> Any:
    if name not in batch.schema.names:
        raise ValueError(f"no column {name!r}; the columns are: {', '.join(batch.schema.names)}")
    return batch.column(name)


def _with_columns(batch: Any, columns: dict) -> Any:
    import pyarrow as pa

    for name in columns:
        if name in batch.schema.names:
            raise ValueError(f"the batch already has a column {name!r}")
    arrays = list(batch.columns) + list(columns.values())
    names = list(batch.schema.names) + list(columns)
    if isinstance(batch, pa.Table):
        return pa.Table.from_arrays(arrays, names=names)
    return pa.RecordBatch.from_arrays(arrays, names=names)

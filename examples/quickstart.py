"""textrnn from Python, the way a BERTopic or scikit-learn user works.

    python examples/quickstart.py [CORPUS.jsonl] [K]

(default: ../shared/data/searchsnippets/data.jsonl, 8 clusters). Trains on
the texts alone (a `label` field, if present, is only used to print how the
clusters line up with it), shows the clusters, classifies new texts, and
plots a map of the corpus (with matplotlib installed) to quickstart.png.
"""

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from textrnn import TextRNN

corpus = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parents[1] / "../shared/data/searchsnippets/data.jsonl")
k = int(sys.argv[2]) if len(sys.argv) > 2 else 8
rows = [json.loads(line) for line in corpus.open(encoding="utf-8") if line.strip()]
texts = [r["text"] for r in rows]
print(f"{len(texts)} texts from {corpus}")

# 1. Train: the classes are found without labels.
model = TextRNN(k=k, seed=0).fit(texts)

# 2. What each cluster is about.
info = model.describe()
rows_of = info.to_dict("records") if hasattr(info, "to_dict") else info
for c in rows_of:
    print(f"{c['id']:>3} {c['size']:>6}  {c['name']:<28} {' '.join(c['top_terms'][:8])}")
    print(f"{'':>11}e.g. {c['examples'][0][:90]}")

# 3. Give a cluster a name of your own; it is saved with the model.
model.rename(0, model.cluster_names_[0].split("/")[0] + " (renamed)")

# 4. Classify new text: cluster, name, calibrated score, low-confidence flag.
for r in model.classify(["the stock market fell sharply today", "", "how do I sort a list in python"]):
    print(r)

# 5. How the clusters line up with the labels, if the corpus has them.
if "label" in rows[0]:
    right = 0
    for c in range(model.n_clusters_):
        labels = [rows[i]["label"] for i in np.flatnonzero(model.labels_ == c)]
        right += Counter(labels).most_common(1)[0][1] if labels else 0
    print(f"purity against the labels (never used to train): {right / len(rows):.3f}")

# 6. Save: `textrnn serve --model quickstart.model` serves it.
model.save("quickstart.model")

# 7. A map: the representation projected on its top two principal axes.
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed: no map")
else:
    z = model.transform(texts)
    z = z - z.mean(axis=0)
    xy = z @ np.linalg.svd(z[:5000], full_matrices=False)[2][:2].T
    fig, ax = plt.subplots(figsize=(9, 7))
    for c, name in enumerate(model.cluster_names_):
        m = model.labels_ == c
        ax.scatter(xy[m, 0], xy[m, 1], s=2, label=name)
    ax.legend(markerscale=6, fontsize=7, loc="best")
    ax.set_title(f"{corpus.parent.name}: {model.n_clusters_} clusters")
    fig.savefig("quickstart.png", dpi=120, bbox_inches="tight")
    print("map written to quickstart.png")

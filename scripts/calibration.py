#!/usr/bin/env python3
"""Expected calibration error of textrnn's scores against gold labels.

A text counts as right when its gold label is its cluster's majority label
(labels only score; they never reach training). ECE is the mean, over ten
score bins weighted by their size, of |mean score - share right|.

usage: calibration.py DATA.jsonl ASSIGNMENTS.jsonl [--label-field F] [--table]
ASSIGNMENTS is `train --out-assignments` or `predict` output, one line per
record of DATA in order. --table adds the reliability table.
"""
import argparse
import collections
import json

ap = argparse.ArgumentParser()
ap.add_argument("data")
ap.add_argument("assignments")
ap.add_argument("--label-field", default="label")
ap.add_argument("--table", action="store_true")
a = ap.parse_args()
data = [json.loads(l) for l in open(a.data, encoding="utf-8")]
asg = [json.loads(l) for l in open(a.assignments, encoding="utf-8")]
assert len(data) == len(asg), f"{len(data)} records but {len(asg)} assignments"
by = collections.defaultdict(collections.Counter)
for d, r in zip(data, asg):
    by[r["cluster"]][d[a.label_field]] += 1
major = {c: cnt.most_common(1)[0][0] for c, cnt in by.items()}
bins = [[0, 0.0, 0] for _ in range(10)]
for d, r in zip(data, asg):
    s = r["score"]
    b = bins[min(int(s * 10), 9)]
    b[0] += 1
    b[1] += s
    b[2] += d[a.label_field] == major[r["cluster"]]
n = len(data)
ece = sum(abs(b[1] - b[2]) for b in bins if b[0]) / n
print(json.dumps({"n": n, "mean_score": round(sum(r["score"] for r in asg) / n, 4),
                  "right": round(sum(b[2] for b in bins) / n, 4), "ece": round(ece, 4)}))
if a.table:
    print("| score | texts | mean score | right |\n|---|---|---|---|")
    for i, b in enumerate(bins):
        if b[0]:
            print(f"| {i / 10:.1f}-{(i + 1) / 10:.1f} | {b[0]} | {b[1] / b[0]:.3f} | {b[2] / b[0]:.3f} |")

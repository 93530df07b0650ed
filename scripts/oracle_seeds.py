#!/usr/bin/env python3
"""Diagnostic only: seed words chosen WITH a corpus's labels.

Prints a seeds file (JSON, the format of `textrnn train --seeds FILE`) with,
per label, the N words (default 8, the shipped files' limit) that are most
typical of it: in at least MIN_DF texts (15), at least 70% of them with that
label, ranked by count x precision. Training with it measures how far the
seed-word mechanism goes when its seeds are as good as the corpus allows,
which separates what the mechanism limits from what the shipped seed files
(written from general knowledge, never from the labels) limit. The labels
choose the seeds here, so a model trained this way is not unsupervised: use
it to measure, never to report a result.

usage: scripts/oracle_seeds.py DATA.jsonl [--label-field label] [--n 8] [--min-df 15] > seeds.json
"""
import argparse
import collections
import json
import re
import sys

# English function words and the emotion corpus's frame ("i feel ..."):
# frequent in every class, never a useful seed.
STOP = set(
    "i a an the and or to of it is in on at that this was for with me my you be so"
    " not but have has had am im are as feel feeling feels".split()
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--label-field", default="label")
    ap.add_argument("--text-field", default="text")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--min-df", type=int, default=15)
    ap.add_argument("--precision", type=float, default=0.7)
    a = ap.parse_args()
    df = collections.Counter()
    per = collections.defaultdict(collections.Counter)
    labels = collections.Counter()
    with open(a.data, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            label = str(row[a.label_field])
            labels[label] += 1
            # Latin words; Han text as character bigrams (no segmenter here).
            text = row[a.text_field].lower()
            words = set(re.findall(r"[a-z]+", text)) - STOP
            for run in re.findall(r"[\u4e00-\u9fff]+", text):
                words.update(run[i : i + 2] for i in range(len(run) - 1))
            for w in words:
                df[w] += 1
                per[w][label] += 1
    seeds = {}
    for label in sorted(labels):
        ranked = sorted(
            (
                (per[w][label] * per[w][label] / df[w], w)
                for w in df
                if df[w] >= a.min_df and per[w][label] / df[w] >= a.precision
            ),
            reverse=True,
        )
        seeds[label] = [w for _, w in ranked[: a.n]]
        shown = ", ".join(
            f"{w} ({df[w]}, {per[w][label] / df[w]:.2f})" for w in seeds[label]
        )
        print(f"{label}: {shown}", file=sys.stderr)
    json.dump(seeds, sys.stdout, ensure_ascii=False, indent=1)
    print()


if __name__ == "__main__":
    main()

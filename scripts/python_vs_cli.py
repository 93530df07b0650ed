"""Prediction speed from Python against the CLI, side by side, same model
and threads (issue 28's performance check).

    python scripts/python_vs_cli.py MODEL CORPUS.jsonl [THREADS] [BIN]

Times `textrnn predict` (reading the JSONL, writing JSON lines to
/dev/null) and, in this process, `TextRNN.predict` on the texts as a list,
and `predict_arrow` on them as an Arrow table (reading the file is not
timed on the Python side). Best of 3 runs each.
"""

import json
import subprocess
import sys
import time

import pyarrow as pa

from textrnn import TextRNN

model_dir, corpus = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
binary = sys.argv[4] if len(sys.argv) > 4 else "target/release/textrnn"
texts = [json.loads(line)["text"] for line in open(corpus, encoding="utf-8") if line.strip()]
n = len(texts)


def best(f):
    times = []
    for _ in range(3):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def cli():
    with open("/dev/null", "w") as out:
        subprocess.run([binary, "--threads", str(threads), "predict", "--model", model_dir, corpus], stdout=out, check=True)


m = TextRNN.load(model_dir, threads=threads)
table = pa.table({"text": texts})
rows = [("textrnn predict (CLI)", best(cli)), ("TextRNN.predict (list)", best(lambda: m.predict(texts))),
        ("TextRNN.predict_arrow", best(lambda: m.predict_arrow(table)))]
print(f"{n} texts, {threads} thread(s)")
print("| how | seconds | texts/s | vs CLI |\n|---|---|---|---|")
for name, s in rows:
    print(f"| {name} | {s:.2f} | {n / s:.0f} | {rows[0][1] / s:.2f}x |")

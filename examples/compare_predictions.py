"""Check, row by row, that a Parquet output of ray_predict.py or
spark_predict.py equals `textrnn predict` on the same texts.

    textrnn predict --model MODEL corpus.jsonl > cli.jsonl
    python examples/compare_predictions.py cli.jsonl out_dir

Rows are matched by `id` (the CLI's i-th line is id i); cluster and name
must be equal, score equal to the CLI's 4 printed decimals.
"""

import json
import sys

import pyarrow.dataset as ds


def main():
    cli = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
    t = ds.dataset(sys.argv[2], format="parquet").to_table(columns=["id", "cluster", "name", "score", "low_confidence"])
    t = t.sort_by("id")
    ids = t.column("id").to_pylist()
    if ids != list(range(len(cli))):
        sys.exit(f"ids differ: {len(ids)} rows in the output, {len(cli)} from the CLI")
    bad = 0
    for i, (c, nm, s, low) in enumerate(zip(*(t.column(x).to_pylist() for x in ["cluster", "name", "score", "low_confidence"]))):
        r = cli[i]
        if c != r["cluster"] or nm != r["name"] or abs(s - r["score"]) > 5e-5 or low != r["low_confidence"]:
            bad += 1
            if bad <= 5:
                print(f"row {i}: output {c} {nm!r} {s:.4f} {low}, CLI {r}")
    print(f"{len(cli)} rows compared, {bad} differ")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

"""Classify a Parquet (or JSONL) corpus with Ray Data, one model per actor.

    python examples/ray_predict.py --model MODEL --input corpus.parquet --out out_dir \
        [--text-column text] [--actors 2] [--threads 1] [--batch-size 4096]

Each actor loads the model once (`TextRNN.load`) and calls `predict_arrow`
on Arrow batches; the output is the input's columns plus `cluster`, `name`,
`score` and `low_confidence`, written as Parquet in the input's row order.
On a cluster, `ray.init(address="auto")` replaces the local start and the
model directory must be readable by every node (docs/scale.md).
"""

import argparse
import os
import resource
import time

import ray

from textrnn import TextRNN


class Predictor:
    """Loads the model once per actor; called on each batch."""

    def __init__(self, model: str, text_column: str, threads: int):
        self.model = TextRNN.load(model, threads=threads)
        self.text_column = text_column

    def __call__(self, batch):
        return self.model.predict_arrow(batch, text_column=self.text_column)


def peak_rss_mb(_batch):
    """The calling process's peak resident memory (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True, help="a .parquet file or directory, or a .jsonl file")
    ap.add_argument("--out", required=True, help="output directory (Parquet)")
    ap.add_argument("--text-column", default="text")
    ap.add_argument("--actors", type=int, default=2, help="model replicas (one per core is a good start)")
    ap.add_argument("--threads", type=int, default=1, help="threads per actor")
    ap.add_argument("--batch-size", type=int, default=4096)
    ap.add_argument("--address", default=None, help="a running Ray cluster (default: start one locally)")
    a = ap.parse_args()

    if a.address is None:
        # Locally the actors take a CPU per thread; two more logical CPUs let
        # the read, list and write tasks run beside them (without them the
        # pipeline waits forever for a free CPU on a small machine).
        cpus = max(os.cpu_count() or 1, a.actors * a.threads) + 2
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=a.address, log_to_driver=False)
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    read = ray.data.read_json if a.input.endswith(".jsonl") else ray.data.read_parquet
    ds = read(a.input)
    n = ds.count()
    start = time.perf_counter()
    out = ds.map_batches(
        Predictor,
        fn_constructor_args=(a.model, a.text_column, a.threads),
        batch_format="pyarrow",
        batch_size=a.batch_size,
        concurrency=a.actors,
        num_cpus=a.threads,
    )
    out.write_parquet(a.out)
    seconds = time.perf_counter() - start
    print(f"{n} texts in {seconds:.1f} s: {n / seconds:.0f} texts/s with {a.actors} actors x {a.threads} threads")
    print(f"driver peak RSS {peak_rss_mb(None):.0f} MiB (actors: see `ray memory` or the notes in docs/scale.md)")


if __name__ == "__main__":
    main()

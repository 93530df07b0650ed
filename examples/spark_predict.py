"""Classify a Parquet corpus with Spark's DataFrame.mapInArrow.

    python examples/spark_predict.py --model MODEL --input corpus.parquet --out out_dir \
        [--text-column text] [--master local[2]] [--threads 1]

Each Python worker loads the model once (kept in a module-level cache) and
calls `predict_arrow` on the Arrow batches Spark hands it; the output is the
input's columns plus `cluster`, `name`, `score` and `low_confidence`. On a
cluster, the model directory must be on storage every executor reads, or
shipped with `--archives` (docs/scale.md).
"""

import argparse
import os
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql.types import BooleanType, FloatType, LongType, StringType, StructField, StructType

_MODELS = {}


def predictor(model_dir: str, text_column: str, threads: int):
    def run(batches):
        from textrnn import TextRNN

        key = (model_dir, threads)
        if key not in _MODELS:
            _MODELS[key] = TextRNN.load(model_dir, threads=threads)
        model = _MODELS[key]
        for batch in batches:
            out = model.predict_arrow(batch, text_column=text_column)
            yield out

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True, help="a .parquet file or directory")
    ap.add_argument("--out", required=True, help="output directory (Parquet)")
    ap.add_argument("--text-column", default="text")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--threads", type=int, default=1, help="threads per Python worker")
    ap.add_argument("--batch-size", type=int, default=4096)
    a = ap.parse_args()

    # Python workers run this interpreter (with textrnn and pyarrow) unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(a.master)
        .appName("textrnn-predict")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", a.batch_size)
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    df = spark.read.parquet(a.input)
    # A new schema: StructType.add would change df's own.
    schema = StructType(
        list(df.schema.fields)
        + [
            StructField("cluster", LongType()),
            StructField("name", StringType()),
            StructField("score", FloatType()),
            StructField("low_confidence", BooleanType()),
        ]
    )
    n = df.count()
    start = time.perf_counter()
    df.mapInArrow(predictor(a.model, a.text_column, a.threads), schema).write.mode("overwrite").parquet(a.out)
    seconds = time.perf_counter() - start
    print(f"{n} texts in {seconds:.1f} s: {n / seconds:.0f} texts/s on {a.master}, {a.threads} thread(s) per worker")
    spark.stop()


if __name__ == "__main__":
    main()

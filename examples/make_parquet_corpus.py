"""Pool the English texts of the shared corpora into one Parquet file (and
the same texts as JSONL for `textrnn predict`), for the scale examples.

    python examples/make_parquet_corpus.py ../shared/data 200000 corpus.parquet

Rows: `id` (0..N-1) and `text`; the pooled texts repeat until N rows.
Nothing here is committed: the data stays in ../shared/data.
"""

import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ENGLISH = ["searchsnippets", "stackoverflow", "agnews", "trec", "sst2", "emotion", "banking77"]


def main():
    data, n, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    pool = []
    for name in ENGLISH:
        path = data / name / "data.jsonl"
        if path.exists():
            pool += [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]
    if not pool:
        sys.exit(f"no corpus found under {data}")
    texts = [pool[i % len(pool)] for i in range(n)]
    pq.write_table(pa.table({"id": pa.array(range(n), pa.int64()), "text": texts}), out)
    with out.with_suffix(".jsonl").open("w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n")
    print(f"{n} texts ({len(pool)} distinct pooled) -> {out} and {out.with_suffix('.jsonl')}")


if __name__ == "__main__":
    main()

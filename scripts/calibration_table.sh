#!/usr/bin/env bash
# Calibration of `score` on the shared corpora: train each at its true k
# (one seed), then the expected calibration error of the training texts'
# scores against "gold label = the cluster's majority label"
# (scripts/calibration.py; labels only score).
# usage: scripts/calibration_table.sh [SEED] [DATA_DIR]
#   BIN=path runs that binary; CORPORA="trec:6 agnews:4" runs only those;
#   TABLES=1 prints each corpus's reliability table too.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-0}
data=${2:-../shared/data}
if [ -n "${BIN:-}" ]; then bin=$BIN; else cargo build --release -q; bin=target/release/textrnn; fi
out=$(mktemp -d)
printf '| corpus | k | texts | temperature | mean score (uncalibrated) | share right | ECE |\n|---|---|---|---|---|---|---|\n'
for spec in ${CORPORA:-searchsnippets:8 stackoverflow:20 agnews:4 trec:6 thucnews_titles:10 sst2:2 waimai_10k:2 emotion:6 banking77:77}; do
  corpus=${spec%%:*}; k=${spec##*:}
  $bin train "$data/$corpus/data.jsonl" --k "$k" --seed "$seed" --out "$out/model" --out-assignments "$out/asg" --quiet > /dev/null
  r=$(python3 scripts/calibration.py "$data/$corpus/data.jsonl" "$out/asg")
  python3 - "$corpus" "$k" "$out/model/model.json" "$r" <<'PY'
import json, sys
corpus, k, manifest, r = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
c = json.load(open(manifest)).get("calibration") or {}
t = c.get("temperature")
raw = c.get("mean_score_raw")
print(f"| {corpus} | {k} | {r['n']} | {t:.2f} | {r['mean_score']:.3f} ({raw:.3f}) | {r['right']:.3f} | {r['ece']:.3f} |"
      if t is not None else f"| {corpus} | {k} | {r['n']} | - | {r['mean_score']:.3f} | {r['right']:.3f} | {r['ece']:.3f} |")
PY
  if [ -n "${TABLES:-}" ]; then
    python3 scripts/calibration.py "$data/$corpus/data.jsonl" "$out/asg" --table | tail -n +2
  fi
done
rm -rf "$out"

#!/usr/bin/env bash
# Mean ACC / NMI / ARI (%) and wall time over seeds 0-4 of `textrnn baseline`
# on the shared corpora, beside scikit-learn's numbers from the issue.
# Usage: scripts/baseline_table.sh [DATA_DIR]   (default ../shared/data)
set -euo pipefail
data=${1:-../shared/data}
bin=target/release/textrnn
cargo build --release -q
printf '| corpus | method | ACC | NMI | ARI | s/run |\n|---|---|---|---|---|---|\n'
run() { # corpus k method-flags label
  local corpus=$1 k=$2 flags=$3 name=$4
  local lines=""
  for seed in 0 1 2 3 4; do
    lines+=$($bin baseline "$data/$corpus/data.jsonl" --k "$k" --label-field label --seed "$seed" $flags --json | tail -1)$'\n'
  done
  printf '%s' "$lines" | CORPUS=$corpus NAME=$name python3 -c '
import json, os, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
m = lambda f: sum(r[f] for r in rows) / len(rows)
a, n, r, s = 100 * m("acc"), 100 * m("nmi"), 100 * m("ari"), m("seconds")
c, nm = os.environ["CORPUS"], os.environ["NAME"]
print(f"| {c} | {nm} | {a:.1f} | {n:.1f} | {r:.1f} | {s:.2f} |")'
}
run stackoverflow 20 "" "TF-IDF + k-means"
run stackoverflow 20 "--lsa" "TF-IDF + LSA + k-means"
run searchsnippets 8 "" "TF-IDF + k-means"
run agnews 4 "--lsa" "TF-IDF + LSA + k-means"
run thucnews_titles 10 "" "TF-IDF + k-means"

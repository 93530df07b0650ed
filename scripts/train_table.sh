#!/usr/bin/env bash
# Mean ACC / NMI / ARI (%) and wall time over seeds of `textrnn train` on the
# shared corpora (k = the true number of classes; labels only score).
# usage: scripts/train_table.sh [SEEDS] [DATA_DIR] [-- extra train flags]
#   SEEDS defaults to "0 1 2 3 4"; DATA_DIR to ../shared/data.
#   BIN=path runs that binary instead of building target/release/textrnn
#   (copy it first when building other versions while the table runs);
#   CORPORA="trec:6 agnews:4" runs only those corpus:k pairs.
# Besides the means it prints each seed's ACC and the graph step's
# decision per seed (plain k-means' agreement with the graph -> weight,
# ~ the graph partition's matched agreement with plain k-means).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-"0 1 2 3 4"}
data=${2:-../shared/data}
shift $(( $# > 2 ? 2 : $# )) || true
[ "${1:-}" = "--" ] && shift
extra=("$@")
if [ -n "${BIN:-}" ]; then bin=$BIN; else cargo build --release -q; bin=target/release/textrnn; fi
out=$(mktemp -d)
printf '| corpus | k | ACC | NMI | ARI | s/run | ACC per seed | graph agreement -> weight ~match |\n|---|---|---|---|---|---|---|---|\n'
for spec in ${CORPORA:-searchsnippets:8 stackoverflow:20 agnews:4 trec:6 thucnews_titles:10}; do
  corpus=${spec%%:*}; k=${spec##*:}
  : > "$out/rows"; : > "$out/graph"
  for seed in $seeds; do
    $bin train "$data/$corpus/data.jsonl" --k "$k" --label-field label --seed "$seed" --out "$out/model" --quiet --json "${extra[@]}" | tail -1 >> "$out/rows"
    # The graph step's decision, from the model just written.
    python3 -c 'import json,sys; g=json.load(open(sys.argv[1])).get("graph") or {}; print(json.dumps({"agreement": g.get("agreement"), "weight": g.get("weight"), "used": g.get("used"), "match": g.get("kmeans_match")}))' "$out/model/model.json" >> "$out/graph"
  done
  CORPUS=$corpus K=$k python3 - "$out/rows" "$out/graph" <<'PY'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
graph = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
m = lambda f: sum(r[f] for r in rows) / len(rows)
per_seed = " ".join(f"{100*r['acc']:.1f}" for r in rows)
def step(g):
    if g["agreement"] is None:
        return "off"
    kept = "" if g["used"] else " (dropped)"
    match = "" if g.get("match") is None else f" ~{g['match']:.2f}"
    return f"{g['agreement']:.2f}->{g['weight']}{match}{kept}"
print(f"| {os.environ['CORPUS']} | {os.environ['K']} | {100*m('acc'):.1f} | {100*m('nmi'):.1f} | {100*m('ari'):.1f} | {m('seconds'):.0f} | {per_seed} | {' '.join(step(g) for g in graph)} |")
PY
done
rm -rf "$out"

#!/usr/bin/env bash
# The runs behind the leave-one-corpus-out tables of docs/defaults.md: for
# each corpus and seed, `textrnn train` with the shipped defaults, then with
# each fitted threshold's decision flipped for that corpus (the other side
# of the threshold), one JSON line per run: scores, the statistic each
# threshold reads (from model.json) and which arm ran.
# usage: scripts/loco_runs.sh [SEEDS] [DATA_DIR] > rows.jsonl
#   then: python3 scripts/loco.py rows.jsonl
#   BIN=path runs that binary; CORPORA="trec:6 ..." limits the corpora.
# Arms (each is the other side of one threshold; see docs/defaults.md#loco):
#   default   shipped flags
#   trust     --graph-trust 0 where the graph was not trusted, 1.01 where it was
#   lead      --lead 1 where the default lead was 0, else --lead 0
#   fallback  the graph partition given up as a guard would: base weight
#             (trusted runs) or plain k-means (--graph-neighbors 0); where a
#             guard fired: that guard off
#   sparse    mostly-Chinese corpora: the other reading (RNN over words and
#             LSA 0.5, or characters and LSA 0)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-"0 1"}
data=${2:-../shared/data}
if [ -n "${BIN:-}" ]; then bin=$BIN; else cargo build --release -q; bin=target/release/textrnn; fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# One run: corpus k seed arm [flags...] -> a JSON line on stdout.
run() {
  local corpus=$1 k=$2 seed=$3 arm=$4; shift 4
  "$bin" train "$data/$corpus/data.jsonl" --k "$k" --label-field label --seed "$seed" \
    --out "$out/model" --quiet --json "$@" | tail -1 > "$out/score"
  python3 - "$out/score" "$out/model/model.json" "$corpus" "$seed" "$arm" "$*" <<'PY'
import json, sys
score = json.load(open(sys.argv[1]))
m = json.load(open(sys.argv[2]))
g = m.get("graph") or {}
p = m.get("profile") or {}
c = m["config"]
print(json.dumps({
    "corpus": sys.argv[3], "seed": int(sys.argv[4]), "arm": sys.argv[5], "flags": sys.argv[6],
    "acc": score["acc"], "nmi": score["nmi"], "ari": score["ari"], "seconds": score["seconds"],
    "agreement": g.get("agreement"), "weight": g.get("weight"), "used": g.get("used"),
    "match": g.get("kmeans_match"), "dropped_trusted_match": g.get("dropped_trusted_match"),
    "kmeans_balance": g.get("kmeans_balance"), "graph_balance": g.get("graph_balance"),
    "trust": (c["graph"].get("trust") or {}).get("agreement"),
    "openings": p.get("openings"), "rare_word_share": p.get("rare_word_share"),
    "mostly_chinese": p.get("mostly_chinese"), "sparse_chinese": p.get("sparse_chinese"),
    "lead": c["tfidf"].get("lead"),
}))
PY
}
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"; }
for spec in ${CORPORA:-searchsnippets:8 stackoverflow:20 agnews:4 trec:6 thucnews_titles:10 sst2:2 waimai_10k:2 emotion:6 banking77:77}; do
  corpus=${spec%%:*}; k=${spec##*:}
  for seed in $seeds; do
    d=$(run "$corpus" "$k" "$seed" default); echo "$d"
    agreement=$(field "$d" agreement); used=$(field "$d" used); weight=$(field "$d" weight)
    trusted=$(python3 -c "print(int(float('${agreement:-0}') >= float('$(field "$d" trust)')))")
    if [ "$trusted" = 1 ]; then run "$corpus" "$k" "$seed" trust --graph-trust 1.01
    else run "$corpus" "$k" "$seed" trust --graph-trust 0; fi
    if [ "$(field "$d" lead)" = 0 ]; then run "$corpus" "$k" "$seed" lead --lead 1
    else run "$corpus" "$k" "$seed" lead --lead 0; fi
    if [ "$used" != True ] || [ -n "$(field "$d" dropped_trusted_match)" ]; then
      run "$corpus" "$k" "$seed" fallback --graph-max-balance-drop 1 --graph-min-match 0
    elif [ "$weight" != 0.5 ]; then
      run "$corpus" "$k" "$seed" fallback --graph-trusted-weight 0.5
    else
      run "$corpus" "$k" "$seed" fallback --graph-neighbors 0
    fi
    if [ "$(field "$d" mostly_chinese)" = True ]; then
      if [ "$(field "$d" sparse_chinese)" = True ]; then
        run "$corpus" "$k" "$seed" sparse --rnn-chinese words --lsa-weight 0.5
      else
        run "$corpus" "$k" "$seed" sparse --rnn-chinese chars --lsa-weight 0
      fi
    fi
  done
done

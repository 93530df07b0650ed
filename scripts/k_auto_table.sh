#!/usr/bin/env bash
# `--k auto` against the true k on the shared corpora (labels only score):
# chosen k, true k, ACC / NMI / ARI (%) at both, seconds at both, the
# choice's margin over the runner-up and whether it is at the range's edge.
# usage: scripts/k_auto_table.sh [SEED] [DATA_DIR] [SAMPLE]
#   SEED defaults to 0; DATA_DIR to ../shared/data; SAMPLE (e.g. 3000)
#   trains on that many texts drawn with a fixed seed instead of all.
#   BIN=path runs that binary; CORPORA="trec:6 ..." picks corpus:k pairs.
# A corpus with more than 20 classes is searched up to --k-max 150, the
# others in the default range (2-20).
# Pass: chosen k within [2/3, 3/2] of the true k and ARI at it no more
# than 5 points below ARI at the true k (issue 27, item 5).
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-0}
data=${2:-../shared/data}
sample=${3:-}
if [ -n "${BIN:-}" ]; then bin=$BIN; else cargo build --release -q; bin=target/release/textrnn; fi
out=$(mktemp -d)
printf '| corpus | true k | chosen | ACC / NMI / ARI at true k | at chosen | s at true k | s auto | runner-up, margin | edge | pass |\n|---|---|---|---|---|---|---|---|---|---|\n'
for spec in ${CORPORA:-searchsnippets:8 stackoverflow:20 agnews:4 trec:6 thucnews_titles:10 sst2:2 waimai_10k:2 emotion:6 banking77:77}; do
  corpus=${spec%%:*}; k=${spec##*:}
  file="$data/$corpus/data.jsonl"
  if [ -n "$sample" ]; then
    python3 -c 'import random,sys; l=open(sys.argv[1]).readlines(); random.Random(0).shuffle(l); sys.stdout.writelines(l[:int(sys.argv[2])])' "$file" "$sample" > "$out/$corpus.jsonl"
    file="$out/$corpus.jsonl"
  fi
  range=(); [ "$k" -gt 20 ] && range=(--k-max 150)
  $bin train "$file" --k "$k" --label-field label --seed "$seed" --out "$out/fixed" --quiet --json | tail -1 > "$out/fixed.json"
  $bin train "$file" --k auto "${range[@]}" --label-field label --seed "$seed" --out "$out/auto" --quiet --json | tail -1 > "$out/auto.json"
  CORPUS=$corpus K=$k python3 - "$out/fixed.json" "$out/auto.json" "$out/auto/model.json" <<'PY'
import json, os, sys
f, a = (json.load(open(p)) for p in sys.argv[1:3])
c = json.load(open(sys.argv[3]))["k_choice"]
k, chosen = int(os.environ["K"]), c["k"]
s = lambda r: f"{100*r['acc']:.1f} / {100*r['nmi']:.1f} / {100*r['ari']:.1f}"
ok = 2 * k <= 3 * chosen and 2 * chosen <= 3 * k and 100 * (f["ari"] - a["ari"]) <= 5
clear = "clear" if c["clear"] else "weak"
print(f"| {os.environ['CORPUS']} | {k} | {chosen} | {s(f)} | {s(a)} | {f['seconds']:.0f} | {a['seconds']:.0f} | {c['runner_up']}, {c['margin']:.3f} ({clear}) | {'yes' if c['at_edge'] else ''} | {'yes' if ok else 'no'} |")
PY
done
rm -rf "$out"

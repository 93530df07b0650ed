#!/usr/bin/env bash
# Side-by-side speed of `textrnn bench` and the PyTorch reference, alternating
# runs, several rounds; prints the median ratios (ours / PyTorch).
#
# usage: PYTHON=/path/to/venv/bin/python scripts/bench_vs_pytorch.sh [ROUNDS] [CONFIG...]
#   CONFIG is cell:H:B:T:threads[:lengths-file], e.g. lstm:256:64:32:1
#   default configs: the issue's grid at 1 and 2 threads.
# env: STEPS (default 30), MAXSEC (default 15), SHARED (default ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
SHARED=${SHARED:-../shared}
rounds=${1:-3}
shift || true
configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
  for th in 1 2; do
    configs+=("lstm:256:64:32:$th" "lstm:512:128:64:$th" "gru:256:64:32:$th" "gru:512:128:64:$th")
  done
fi
# Fail before any measurement when a lengths file is missing.
for cfg in "${configs[@]}"; do
  IFS=: read -r _ _ _ _ _ lengths <<<"$cfg"
  if [ -n "${lengths:-}" ] && [ ! -r "$lengths" ]; then
    echo "bench_vs_pytorch.sh: lengths file $lengths (config $cfg) is missing; make it with: textrnn tokenize CORPUS --lengths > $lengths" >&2
    exit 2
  fi
done
export STEPS=${STEPS:-30} MAXSEC=${MAXSEC:-15}
cargo build --release -q
bin=target/release/textrnn
echo "| cell | H | B | T | threads | lengths | train ours/pt (tok/s) | infer ours/pt (tok/s) | train ratio | infer ratio | peak RSS ours/pt MB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for cfg in "${configs[@]}"; do
  IFS=: read -r cell h b t th lengths <<<"$cfg"
  ours=(); theirs=()
  for _ in $(seq "$rounds"); do
    if [ -n "${lengths:-}" ]; then
      ours+=("$($bin bench --cell "$cell" --hidden "$h" --batch "$b" --seq "$t" --threads "$th" --lengths "$lengths" --steps "$STEPS" --max-sec "$MAXSEC" | grep '^RESULT')")
      theirs+=("$(THREADS=$th $PY scripts/pytorch_rnn_bench_lengths.py "$cell" "$h" "$b" "$t" "$lengths" | grep '^RESULT')")
    else
      ours+=("$($bin bench --cell "$cell" --hidden "$h" --batch "$b" --seq "$t" --threads "$th" --steps "$STEPS" --max-sec "$MAXSEC" | grep '^RESULT')")
      theirs+=("$(THREADS=$th $PY "$SHARED/bench/pytorch_rnn_bench.py" "$cell" "$h" "$b" "$t" | grep '^RESULT')")
    fi
  done
  printf '%s\n' "${ours[@]}" > /tmp/bench_ours.$$
  printf '%s\n' "${theirs[@]}" > /tmp/bench_pt.$$
  python3 - "$cell" "$h" "$b" "$t" "$th" "${lengths:--}" /tmp/bench_ours.$$ /tmp/bench_pt.$$ <<'PY'
import json, statistics, sys
cell, h, b, t, th, lengths, fo, fp = sys.argv[1:]
load = lambda f: [json.loads(l.split(" ", 1)[1]) for l in open(f) if l.strip()]
o, p = load(fo), load(fp)
med = lambda rows, k: statistics.median(r[k] for r in rows)
rt = statistics.median(a["train_tok_s"] / b_["train_tok_s"] for a, b_ in zip(o, p))
ri = statistics.median(a["infer_tok_s"] / b_["infer_tok_s"] for a, b_ in zip(o, p))
print(f"| {cell} | {h} | {b} | {t} | {th} | {lengths} | {med(o,'train_tok_s'):.0f} / {med(p,'train_tok_s'):.0f} | "
      f"{med(o,'infer_tok_s'):.0f} / {med(p,'infer_tok_s'):.0f} | {rt:.2f}x | {ri:.2f}x | {med(o,'peak_rss_mb'):.0f} / {med(p,'peak_rss_mb'):.0f} |")
PY
  rm -f /tmp/bench_ours.$$ /tmp/bench_pt.$$
done

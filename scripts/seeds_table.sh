#!/usr/bin/env bash
# Sentiment and emotion: unsupervised (--k) and with the shipped seed words
# (--seeds), mean ACC / NMI (%) over seeds, on ../shared/data.
#
#   scripts/seeds_table.sh ["0 1 2 3 4"] [-- extra train flags]
#   BIN=path runs that binary instead of building target/release/textrnn;
#   ONLY=REGEX runs only the rows whose "corpus mode" matches (an extended regular expression, as grep -E),
#   e.g. ONLY="waimai|seeds sentiment-en".
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-"0 1 2 3 4"}
shift $(( $# > 1 ? 1 : $# )) || true
[ "${1:-}" = "--" ] && shift
extra=("$@")
if [ -n "${BIN:-}" ]; then bin=$BIN; else cargo build --release -q; bin=./target/release/textrnn; fi
data=../shared/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # corpus mode-args...
  local corpus=$1; shift
  # Matched in bash, not by `echo | grep -q`: under pipefail that pipe
  # fails if grep exits before echo has written (SIGPIPE), skipping a row.
  local row="$corpus $*" only=${ONLY:-.}
  [[ $row =~ $only ]] || return 0
  local accs=() nmis=() secs=()
  for s in $seeds; do
    line=$($bin train "$data/$corpus/data.jsonl" --label-field label --out "$tmp/m" --seed "$s" --quiet --json "$@" "${extra[@]}" | tail -1)
    accs+=("$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["acc"])')")
    nmis+=("$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["nmi"])')")
    secs+=("$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')")
  done
  python3 - "$corpus" "$*" "${accs[*]}" "${nmis[*]}" "${secs[*]}" <<'PY'
import sys, statistics as st
c, mode, a, n, s = sys.argv[1:]
a = [100 * float(x) for x in a.split()]; n = [100 * float(x) for x in n.split()]; s = [float(x) for x in s.split()]
sd = st.pstdev(a) if len(a) > 1 else 0.0
print(f"| {c} | {mode} | {st.mean(a):.1f} ± {sd:.1f} / {st.mean(n):.1f} | {st.mean(s):.0f} |")
PY
}
echo "| corpus | mode | ACC ± sd / NMI | s/run |"
echo "|---|---|---|---|"
run sst2 --k 2
run sst2 --seeds sentiment-en
run waimai_10k --k 2
run waimai_10k --seeds sentiment-zh
run emotion --k 6
run emotion --seeds emotion-en

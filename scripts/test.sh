#!/usr/bin/env bash
# Set up the environment and run the whole test suite (about 10 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/python -m pytest -q "$@"

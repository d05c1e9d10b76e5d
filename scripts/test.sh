#!/usr/bin/env bash
# Set up the environment and run the test suite without the `slow` checks (about
# 12 minutes on 2 cores). `bash scripts/test.sh -m slow` runs only the slow ones
# (real MiniLM training on real data, a wheel installed into a fresh venv);
# other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2
# pytest keeps the last `-m`, so a `-m` given here replaces "not slow".
.venv/bin/python -m pytest -q -m "not slow" "$@"

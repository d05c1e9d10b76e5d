#!/usr/bin/env bash
# Set up the environment, then run the main job end to end, offline: create a
# finance project, fine-tune the packaged MiniLM-L6 on the whole Twitter financial
# news train file (9,543 tweets, one epoch) and evaluate on its validation file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2
VTUNE="$PWD/.venv/bin/vtune"
DATA="$(realpath "${VTUNE_FINANCE_DATA:-../shared/datasets/twitter_financial_news_sentiment}")"
if [ ! -f "$DATA/sent_train.csv" ] || [ ! -f "$DATA/sent_valid.csv" ]; then
  echo "Error: sent_train.csv and sent_valid.csv not found in $DATA." >&2
  echo "  Fix: set VTUNE_FINANCE_DATA to the twitter_financial_news_sentiment folder." >&2
  exit 2
fi

rm -rf demo_project
"$VTUNE" init --industry finance demo_project
cd demo_project
"$VTUNE" train --config vtune.yaml \
  --train "$DATA/sent_train.csv" \
  --validation "$DATA/sent_valid.csv" \
  --epochs 1
"$VTUNE" evaluate runs/finance --data "$DATA/sent_valid.csv"
"$VTUNE" predict runs/finance --input data/validation.csv --output predictions.csv
head -n 5 predictions.csv

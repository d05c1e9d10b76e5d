"""Macro-F1 of an industry preset on its shared data set, next to the TF-IDF baseline.

Both models see the same training and validation rows in this one script. The
baseline (TF-IDF word 1-2-grams + class-balanced logistic regression) is fitted on
the whole training part. vertical_tune fine-tunes the packaged MiniLM-L6 with the
preset's settings and the overrides given here.

    .venv/bin/python bench/presets.py finance --epochs 3
    .venv/bin/python bench/presets.py medical --sequence-length 128
    .venv/bin/python bench/presets.py retail --max-train-rows 4000 --epochs 2

Splits: finance uses its train and valid files. Medical and retail use a
stratified 80/20 split with seed 0: medical over all 2,888 rows, retail over the
rows with a review text, labelled by `Recommended IND`.
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pandas as pd  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from vertical_tune import FineTuner  # noqa: E402
from vertical_tune.config.loader import parse_override  # noqa: E402

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def load_split(industry):
    """Return (train, validation) DataFrames for an industry's shared data set."""
    if industry == "finance":
        folder = DATASETS / "twitter_financial_news_sentiment"
        return pd.read_csv(folder / "sent_train.csv"), pd.read_csv(folder / "sent_valid.csv")
    if industry == "medical":
        frame = pd.read_csv(DATASETS / "medical_abstracts" / "medical_tc_test.csv")
        label = "condition_label"
    else:
        frame = pd.read_csv(DATASETS / "womens_clothing_reviews" / "Womens Clothing E-Commerce Reviews.csv", index_col=0)
        frame = frame.dropna(subset=["Review Text"])
        label = "Recommended IND"
    train, validation = train_test_split(frame, test_size=0.2, stratify=frame[label], random_state=0)
    return train, validation


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("industry", choices=["finance", "medical", "retail"])
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--sequence-length", type=int)
    parser.add_argument("--max-train-rows", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--class-weight", choices=["none", "balanced"])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any other config override")
    parser.add_argument("--run-dir", default=None, help="where to save the run (default: not saved)")
    args = parser.parse_args()

    training = {k: v for k, v in {"epochs": args.epochs, "learning_rate": args.learning_rate, "class_weight": args.class_weight}.items() if v is not None}
    backbone = {"sequence_length": args.sequence_length} if args.sequence_length else {}
    data = {"max_train_rows": args.max_train_rows} if args.max_train_rows else {}
    extra = dict(parse_override(item) for item in args.set)
    tuner = FineTuner.from_preset(args.industry, training=training, backbone=backbone, data=data, **extra)

    train, validation = load_split(args.industry)
    started = time.perf_counter()
    result = tuner.fit(train, validation)
    seconds = time.perf_counter() - started
    if args.run_dir:
        tuner.save(args.run_dir)

    report = tuner.validation_report
    baseline = tuner.baseline_metrics
    config = tuner.config
    print(f"\n{args.industry}: {tuner.data_summary['train']['rows']} train rows, {len(validation)} validation rows, "
          f"sequence length {config.backbone.sequence_length}, {result.epochs_run} epochs "
          f"(best {result.best_epoch}), lr {config.training.learning_rate}, warm-up {config.training.warmup_ratio}, "
          f"class weight {config.training.class_weight}, overrides {args.set}")
    print(f"{'metric':<16} {'vtune':>8} {'TF-IDF+LR':>10}")
    for metric in ("macro_f1", "macro_recall", "accuracy", "roc_auc"):
        print(f"{metric:<16} {report[metric]:>8.4f} {baseline[metric]:>10.4f}")
    print(f"training + evaluation seconds: {seconds:.0f}; seconds per epoch: "
          + ", ".join(f"{s:.0f}" for s in result.epoch_seconds))
    print(json.dumps({"industry": args.industry, "vtune": {k: report[k] for k in ("macro_f1", "macro_recall", "accuracy", "roc_auc")},
                      "baseline": {k: baseline[k] for k in ("macro_f1", "macro_recall", "accuracy", "roc_auc")}, "seconds": seconds}))


if __name__ == "__main__":
    main()

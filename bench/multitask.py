"""One multi-task model against three single-task models, and the step time of 3 heads vs 1.

Both measurements run in this one script, on the Women's E-Commerce Clothing Reviews
(rows with a review text, stratified 80/20 split by `Recommended IND`, seed 0, as in
bench/presets.py) and the packaged MiniLM-L6.

    .venv/bin/python bench/multitask.py compare --train-rows 3000 --validation-rows 1500 --epochs 2
    .venv/bin/python bench/multitask.py compare --multitask-only --set multitask.loss_balancing=uncertainty
    .venv/bin/python bench/multitask.py step-time --rounds 12

`compare` trains the `retail/multitask` preset (rating, recommended, department)
once, and the `retail` preset once per label column with the same rows, epochs,
sequence length, batch size, learning rate and class weighting as that task has in
the multi-task preset. It prints each task's validation metrics for both, and the
seconds spent training (fit, data preparation and per-epoch validation included)
and predicting the validation texts.

`step-time` times one optimizer step (forward, backward, update) on one fixed,
already tokenized batch, for the multi-task model with 3 heads and with 1 head,
and for keras-hub's own `TextClassifier` as a reference. Rounds alternate between
the models so drifts in machine load hit all of them; the ratio of medians is
printed.
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from vertical_tune import FineTuner  # noqa: E402
from vertical_tune.backbones.resolver import resolve_backbone  # noqa: E402
from vertical_tune.config.loader import load_config, parse_override  # noqa: E402
from vertical_tune.modeling.classifier import build_text_classifier  # noqa: E402
from vertical_tune.modeling.multitask import build_multitask_model  # noqa: E402
from vertical_tune.training.optimizer import build_optimizer  # noqa: E402

REVIEWS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "womens_clothing_reviews" / "Womens Clothing E-Commerce Reviews.csv"
# The metrics of each task in the comparison.
TASK_METRICS = {"rating": ["macro_f1", "accuracy"], "recommended": ["macro_f1", "roc_auc"], "department": ["macro_f1", "accuracy"]}


def load_split(train_rows, validation_rows):
    frame = pd.read_csv(REVIEWS, index_col=0, dtype=str, keep_default_na=False)
    frame = frame[frame["Review Text"].str.strip() != ""]
    train, validation = train_test_split(frame, test_size=0.2, stratify=frame["Recommended IND"], random_state=0)
    return train.sample(min(train_rows, len(train)), random_state=0), validation.sample(min(validation_rows, len(validation)), random_state=0)


def common_overrides(args):
    return {
        "training": {"epochs": args.epochs, "early_stopping_patience": None},
        "backbone": {"sequence_length": args.sequence_length},
        "output": {"compare_baseline": False},
    }


def timed_fit(tuner, train, validation):
    started = time.perf_counter()
    tuner.fit(train, validation, verbose=0)
    fit_seconds = time.perf_counter() - started
    texts = tuner.normalizer.normalize_all(list(validation["Review Text"]))
    started = time.perf_counter()
    tuner.predict_proba(texts)
    return fit_seconds, time.perf_counter() - started


def compare(args):
    train, validation = load_split(args.train_rows, args.validation_rows)
    extra = dict(parse_override(item) for item in args.set)
    multi = FineTuner.from_preset("retail/multitask", **common_overrides(args), **extra)
    print(f"{len(train)} training rows, {len(validation)} validation rows, {args.epochs} epochs, "
          f"sequence length {args.sequence_length}, batch {multi.config.training.batch_size}", flush=True)
    results = {"multi": {}, "single": {}}
    fit_seconds, predict_seconds = timed_fit(multi, train, validation)
    results["multi"] = {"fit_seconds": fit_seconds, "predict_seconds": predict_seconds, "tasks": {}}
    for name in TASK_METRICS:
        metrics = multi.validation_report[name]
        results["multi"]["tasks"][name] = {m: metrics[m] for m in TASK_METRICS[name]}
    print("multi-task:", json.dumps(results["multi"]), flush=True)
    if args.multitask_only:
        return

    for spec in multi.config.tasks:
        overrides = common_overrides(args)
        overrides["task"] = {"type": spec.type, "label_column": spec.label_column, "labels": spec.labels}
        overrides["training"]["class_weight"] = spec.class_weight
        single = FineTuner.from_preset("retail", **overrides)
        fit_seconds, predict_seconds = timed_fit(single, train, validation)
        report = single.validation_report
        results["single"][spec.name] = {
            "fit_seconds": fit_seconds,
            "predict_seconds": predict_seconds,
            "metrics": {m: report[m] for m in TASK_METRICS[spec.name]},
        }
        print(f"single-task {spec.name}:", json.dumps(results["single"][spec.name]), flush=True)

    print("\n| task | metric | single-task | multi-task | difference (points) |\n|---|---|---|---|---|")
    for name, metrics in TASK_METRICS.items():
        for metric in metrics:
            single_value = results["single"][name]["metrics"][metric]
            multi_value = results["multi"]["tasks"][name][metric]
            print(f"| {name} | {metric} | {single_value:.4f} | {multi_value:.4f} | {100 * (multi_value - single_value):+.1f} |")
    single_fit = sum(r["fit_seconds"] for r in results["single"].values())
    single_predict = sum(r["predict_seconds"] for r in results["single"].values())
    print(f"\ntraining seconds: 3 single-task models {single_fit:.0f}, multi-task {results['multi']['fit_seconds']:.0f} "
          f"(ratio {results['multi']['fit_seconds'] / single_fit:.3f})")
    print(f"prediction seconds: 3 single-task models {single_predict:.1f}, multi-task {results['multi']['predict_seconds']:.1f} "
          f"(ratio {results['multi']['predict_seconds'] / single_predict:.3f})")


def step_time(args):
    config = load_config(preset="retail/multitask", overrides={"backbone.sequence_length": args.sequence_length})
    backbone = resolve_backbone(config.backbone.preset)
    texts = list(load_split(args.batch_size, 1)[0]["Review Text"])[: args.batch_size]
    heads = [
        {"name": name, "type": "multiclass", "units": units, "hidden_units": 0, "dropout": 0.1, "loss_weight": 1.0, "class_weights": None, "focal_gamma": None}
        for name, units in (("rating", 5), ("recommended", 2), ("department", 6))
    ]
    labels = {"rating": np.arange(args.batch_size) % 5, "recommended": np.arange(args.batch_size) % 2, "department": np.arange(args.batch_size) % 6}

    models = {}
    for key, model_heads in (("3 heads", heads), ("1 head", heads[:1])):
        model = build_multitask_model(backbone, model_heads, sequence_length=args.sequence_length)
        model.compile(optimizer=build_optimizer(config.training, 1000))
        models[key] = (model, {h["name"]: labels[h["name"]] for h in model_heads})
    classifier = build_text_classifier(backbone, num_classes=5, sequence_length=args.sequence_length, dropout=0.1)
    classifier.compile(optimizer=build_optimizer(config.training, 1000), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    models["keras-hub TextClassifier"] = (classifier, labels["rating"])

    tokens = models["3 heads"][0].preprocessor(np.array(texts, dtype=object))
    seconds = {key: [] for key in models}
    for model, y in models.values():
        for _ in range(args.warmup):
            keras.Model.train_on_batch(model, tokens, y)
    for _ in range(args.rounds):
        for key, (model, y) in models.items():
            started = time.perf_counter()
            for _ in range(args.steps):
                keras.Model.train_on_batch(model, tokens, y)
            seconds[key].append((time.perf_counter() - started) / args.steps)
    medians = {key: statistics.median(values) for key, values in seconds.items()}
    print(f"batch {args.batch_size}, sequence length {args.sequence_length}, {args.rounds} rounds of {args.steps} steps")
    for key, value in medians.items():
        print(f"{key}: median {1000 * value:.1f} ms per step (min {1000 * min(seconds[key]):.1f}, max {1000 * max(seconds[key]):.1f})")
    print(f"ratio 3 heads / 1 head: {medians['3 heads'] / medians['1 head']:.3f}")
    print(f"ratio 3 heads / keras-hub TextClassifier: {medians['3 heads'] / medians['keras-hub TextClassifier']:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("compare")
    run.add_argument("--train-rows", type=int, default=3000)
    run.add_argument("--validation-rows", type=int, default=1500)
    run.add_argument("--epochs", type=int, default=2)
    run.add_argument("--sequence-length", type=int, default=96)
    run.add_argument("--multitask-only", action="store_true", help="train only the multi-task model")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for the multi-task model")
    steps = commands.add_parser("step-time")
    steps.add_argument("--sequence-length", type=int, default=96)
    steps.add_argument("--batch-size", type=int, default=32)
    steps.add_argument("--rounds", type=int, default=12)
    steps.add_argument("--steps", type=int, default=3)
    steps.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    compare(args) if args.command == "compare" else step_time(args)


if __name__ == "__main__":
    main()

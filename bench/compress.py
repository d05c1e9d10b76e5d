"""Compress and export a fine-tuned finance run; print speed, size and macro-F1 ratios against fp32 Keras.

Every ratio compares models measured in this one process. Throughput is timed on
already tokenized batches of 32 validation texts. The timed calls alternate between
the models, so a change in machine load affects all of them alike. Tokenisation is
excluded. Macro-F1 is computed on the whole validation file.

    .venv/bin/vtune train --preset finance --train sent_train.csv --validation sent_valid.csv \\
        --epochs 1 --set output.run_dir=runs/finance
    .venv/bin/python bench/compress.py runs/finance --out runs/bench-compress

Variants: Keras int8 (`model.quantize`), 50% magnitude pruning + Keras int8,
low-rank factorisation at half the kernel parameters (each fine-tuned
`--epochs` where the method fine-tunes), the LiteRT and ONNX exports of the fp32
run and the LiteRT exports of the 50%-pruned run.
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
import tensorflow as tf  # noqa: E402

from vertical_tune import load  # noqa: E402
from vertical_tune.evaluation.metrics import classification_metrics  # noqa: E402
from vertical_tune.export.exporter import export_run  # noqa: E402
from vertical_tune.export.predict_script import load_export  # noqa: E402

THREADS = 2
BATCH = 32


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="Run directory of the fine-tuned fp32 model.")
    parser.add_argument("--out", required=True, help="Folder for the compressed runs and exports.")
    parser.add_argument("--epochs", type=int, default=1, help="Fine-tuning epochs of prune and lowrank.")
    parser.add_argument("--repeats", type=int, default=7, help="Timed batches per model.")
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    original = load(args.run)
    validation = original._load(original.config.data.validation, role="validation")
    train = original._load(original.config.data.train, role="train")
    y_true = original.labels.encode(validation.labels, source=validation.source)
    texts = list(validation.texts)
    names = original.labels.names

    keras_runs = {"fp32": original}
    sizes = {"fp32": (Path(args.run) / "model.keras").stat().st_size}
    # prune50+int8 quantises the prune50 model, so the two share one fine-tuning.
    for name, source, methods, settings in (
        ("int8", "fp32", ["int8"], {}),
        ("prune50", "fp32", ["prune"], {"sparsity": 0.5, "epochs": args.epochs}),
        ("prune50+int8", "prune50", ["int8"], {}),
        ("lowrank-half", "fp32", ["lowrank"], {"parameter_fraction": 0.5, "epochs": args.epochs}),
    ):
        started = time.perf_counter()
        compressed = keras_runs[source].compress(methods, verbose=0, **settings)
        compressed.save(out / name)
        keras_runs[name] = compressed
        sizes[name] = (out / name / "model.keras").stat().st_size
        print(f"{name}: compressed in {time.perf_counter() - started:.0f} s", flush=True)

    predictors = {name: KerasRunner(run.model) for name, run in keras_runs.items()}
    calibration = list(np.random.default_rng(0).choice(train.texts, size=200, replace=False))
    known_f1 = {name: run.validation_report["macro_f1"] for name, run in keras_runs.items() if name != "fp32"}
    # A loaded run has no validation report; its compression measured it as stage 0.
    known_f1["fp32"] = keras_runs["int8"].compression_summary["stages"][0]["metrics"]["macro_f1"]
    for source, formats in (("fp32", ["litert", "onnx"]), ("prune50", ["litert"])):
        folder = out / f"export-{source}"
        started = time.perf_counter()
        manifest = export_run(keras_runs[source], folder, formats, check_texts=texts[:200], calibration_texts=calibration)
        print(f"export of {source}: {time.perf_counter() - started:.0f} s", flush=True)
        for artifact in manifest["artifacts"]:
            name = f"{source} {artifact['path']}"
            predictors[name] = load_export(folder, artifact["path"], num_threads=THREADS)
            sizes[name] = artifact["size_bytes"]

    rows = measure(predictors, texts, y_true, names, known_f1=known_f1, repeats=args.repeats)
    for name, row in rows.items():
        row["size_bytes"] = sizes[name]
    print_table(rows)
    (out / "results.json").write_text(json.dumps(rows, indent=2))


class KerasRunner:
    """A Keras classifier behind the same `prepare`/`run` interface as the export predictors."""

    def __init__(self, model):
        self.model = model

    def prepare(self, texts):
        return self.model.preprocessor(np.asarray(texts, dtype=object))

    def run(self, inputs):
        return tf.nn.softmax(keras.Model.predict_on_batch(self.model, inputs), axis=-1).numpy()

    def predict_proba(self, texts):
        return np.concatenate([self.run(self.prepare(texts[i : i + BATCH])) for i in range(0, len(texts), BATCH)])


def measure(predictors, texts, y_true, names, *, known_f1, repeats):
    """Return per model: macro-F1 on all texts and the median seconds per batch of 32.

    `known_f1` gives the macro-F1 of the Keras runs, which their validation reports
    computed on the same file. The exported files are run on every text here.
    """
    rows = {}
    for name, predictor in predictors.items():
        if name in known_f1:
            rows[name] = {"macro_f1": known_f1[name]}
        else:
            probabilities = predictor.predict_proba(texts)
            rows[name] = {"macro_f1": classification_metrics(y_true, probabilities, names)["macro_f1"]}
        print(f"{name}: macro-F1 {rows[name]['macro_f1']:.4f}", flush=True)
    batch = {name: predictor.prepare(texts[:BATCH]) for name, predictor in predictors.items()}
    seconds = {name: [] for name in predictors}
    for name, predictor in predictors.items():
        predictor.run(batch[name])
    for _ in range(repeats):
        for name, predictor in predictors.items():
            started = time.perf_counter()
            predictor.run(batch[name])
            seconds[name].append(time.perf_counter() - started)
    for name in predictors:
        rows[name]["seconds_per_batch_32"] = statistics.median(seconds[name])
    return rows


def print_table(rows):
    base = rows["fp32"]
    print("\n| model | size (MB) | % of fp32 | macro-F1 | change (points) | throughput, batch 32 (texts/s) | x fp32 Keras |")
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        throughput = BATCH / row["seconds_per_batch_32"]
        ratio = base["seconds_per_batch_32"] / row["seconds_per_batch_32"]
        change = 100 * (row["macro_f1"] - base["macro_f1"])
        size = f"{row['size_bytes'] / 1e6:.1f} | {100 * row['size_bytes'] / base['size_bytes']:.0f}%"
        print(f"| {name} | {size} | {row['macro_f1']:.4f} | {change:+.2f} | {throughput:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()

"""Seconds per epoch through vertical_tune vs a bare keras-hub `TextClassifier.fit`.

Both runs use the same backbone (the packaged MiniLM-L6), the same training and
validation rows, sequence length, batch size, optimizer settings and epochs, in
this one process. Each epoch is timed from its start to the end of its
validation pass, because vertical_tune computes its validation metrics (macro-F1,
ROC-AUC, ...) in that pass and the bare model computes Keras' validation loss.

    .venv/bin/python bench/overhead.py --rows 2048 --epochs 3

Prints a table and the ratio vtune / bare per epoch; epoch 1 includes graph tracing.
Run both pipelines on an otherwise idle machine: the ratio compares wall-clock time.
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vertical_tune import FineTuner  # noqa: E402
from vertical_tune.backbones.resolver import resolve_backbone  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "twitter_financial_news_sentiment")


class WallEpochTimer(keras.callbacks.Callback):
    """Seconds from the start of each epoch to the end of its validation pass."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._started)


def load_rows(rows, validation_rows, seed):
    train = pd.read_csv(os.path.join(DATA, "sent_train.csv")).sample(n=rows, random_state=seed)
    validation = pd.read_csv(os.path.join(DATA, "sent_valid.csv")).sample(n=validation_rows, random_state=seed)
    return train, validation


def run_bare(train, validation, args):
    keras.utils.set_random_seed(args.seed)
    handle = resolve_backbone("minilm_l6_offline").handle
    tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(handle, strip_accents=True)
    preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
        handle, sequence_length=args.sequence_length, tokenizer=tokenizer
    )
    model = keras_hub.models.TextClassifier.from_preset(handle, num_classes=3, preprocessor=preprocessor)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=args.learning_rate, weight_decay=0.01, global_clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    timer = WallEpochTimer()
    model.fit(
        x=train["text"].tolist(),
        y=train["label"].to_numpy(),
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(validation["text"].tolist(), validation["label"].to_numpy()),
        callbacks=[timer],
        verbose=0,
    )
    return timer.seconds


def run_vtune(train, validation, args):
    tuner = FineTuner.from_preset(
        "finance",
        backbone={"preset": "minilm_l6_offline", "sequence_length": args.sequence_length},
        training={
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "early_stopping_patience": None,
            "class_weight": "none",
            "seed": args.seed,
        },
        output={"compare_baseline": False},
    )
    timer = WallEpochTimer()
    tuner.fit(train, validation, verbose=0, callbacks=[timer])
    return timer.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2048, help="training rows")
    parser.add_argument("--validation-rows", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train, validation = load_rows(args.rows, args.validation_rows, args.seed)
    bare = run_bare(train, validation, args)
    vtune = run_vtune(train, validation, args)

    print(f"rows={args.rows} validation_rows={args.validation_rows} seq={args.sequence_length} "
          f"batch={args.batch_size} epochs={args.epochs}")
    print(f"{'epoch':>5} {'bare s':>8} {'vtune s':>8} {'ratio':>6}")
    for epoch, (b, v) in enumerate(zip(bare, vtune), start=1):
        print(f"{epoch:>5} {b:>8.1f} {v:>8.1f} {v / b:>6.3f}")
    if args.epochs > 1:
        mean_ratio = np.mean(vtune[1:]) / np.mean(bare[1:])
        # Single epochs now and then take 20 s longer in either pipeline (also seen in
        # bare keras-hub runs), so the median is the robust summary.
        median_ratio = np.median(vtune[1:]) / np.median(bare[1:])
        print(f"epochs 2..{args.epochs} (after tracing): mean ratio {mean_ratio:.3f}, median ratio {median_ratio:.3f}")


if __name__ == "__main__":
    main()

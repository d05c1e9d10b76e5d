"""Seconds per epoch on pre-tokenized TFRecord shards vs tokenizing the texts on the fly.

Writes a CSV of random sentiment texts and prepares it with `prepare_shards`.
Then it trains the same classifier twice in this one process, with the same
initial weights, rows, batch size and epochs. The first run reads
`stream_examples`, where the preprocessor tokenizes each batch. The second reads
`read_prepared` inside `without_preprocessor`. Prints the seconds
of every epoch side by side and the speed-up of the epochs after the first, which
includes graph tracing.

    .venv/bin/python bench/tfrecord_speed.py --backbone minilm_l6_offline --rows 512 --epochs 3
    .venv/bin/python bench/tfrecord_speed.py --backbone tiny --rows 4096 --epochs 3

`--backbone tiny` uses a random BERT with hidden size 32 and 2 layers, whose steps
are short. With MiniLM-L6 the encoder dominates each step.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402

from bench.streaming_memory import LABELS, write_csv  # noqa: E402
from vertical_tune.backbones.resolver import resolve_backbone  # noqa: E402
from vertical_tune.config.loader import load_config  # noqa: E402
from vertical_tune.data.normalize import build_normalizer  # noqa: E402
from vertical_tune.data.prepare import prepare_shards  # noqa: E402
from vertical_tune.data.prepared import read_prepared, without_preprocessor  # noqa: E402
from vertical_tune.data.streaming import expand_sources, steps_per_epoch, stream_examples  # noqa: E402
from vertical_tune.modeling.classifier import build_text_classifier  # noqa: E402


class EpochSeconds(keras.callbacks.Callback):
    """Wall-clock seconds of each training epoch."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._started)


def make_csv(path, rows):
    """Write a CSV of exactly `rows` data rows, cut from a generated file."""
    write_csv(path.with_suffix(".full"), max(1, rows * 200 // 1_000_000 + 1))
    with open(path.with_suffix(".full"), encoding="utf-8") as source, open(path, "w", encoding="utf-8") as target:
        for number, line in enumerate(source):
            if number > rows:
                break
            target.write(line)
    path.with_suffix(".full").unlink()


def train(model, dataset, steps, epochs):
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    timer = EpochSeconds()
    model.fit(dataset, steps_per_epoch=steps, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="minilm_l6_offline", help="`tiny`, or a backbone.preset value.")
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--workdir", default="/work/bench_runs")
    args = parser.parse_args()

    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="tfrecord_speed.", dir=args.workdir))
    try:
        preset = args.backbone
        if preset == "tiny":
            from tests.helpers import save_tiny_bert_preset

            preset = save_tiny_bert_preset(folder / "tiny_preset")
        data = folder / "train.csv"
        make_csv(data, args.rows)
        config = load_config(
            preset="finance",
            overrides={
                "task.labels": LABELS,
                "data.train": str(data),
                "data.streaming": True,
                "backbone.preset": preset,
                "backbone.sequence_length": args.sequence_length,
            },
        )
        started = time.perf_counter()
        manifest = prepare_shards(config, folder / "prepared", num_shards=4)
        prepare_seconds = time.perf_counter() - started
        steps = steps_per_epoch(manifest["num_rows"], args.batch_size)

        backbone = resolve_backbone(config.backbone.preset, strip_accents=config.backbone.strip_accents)
        keras.utils.set_random_seed(0)
        model = build_text_classifier(
            backbone, num_classes=3, sequence_length=args.sequence_length, dropout=0.0
        )
        initial = model.get_weights()

        texts = stream_examples(
            expand_sources(data),
            text_column="text",
            label_column="label",
            label_names=LABELS,
            batch_size=args.batch_size,
            normalizer=build_normalizer(config.normalization),
            repeat=True,
        )
        text_seconds = train(model, texts, steps, args.epochs)

        model.set_weights(initial)
        features = read_prepared(folder / "prepared", config, batch_size=args.batch_size, repeat=True)
        with without_preprocessor(model):
            feature_seconds = train(model, features, steps, args.epochs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"backbone {args.backbone}, {manifest['num_rows']} rows, batch {args.batch_size}, "
          f"sequence length {args.sequence_length}, {steps} steps per epoch")
    print(f"prepare_shards (one-time tokenization): {prepare_seconds:.1f} s")
    print(f"{'epoch':>5} {'texts s':>8} {'tfrecord s':>11} {'speed-up':>9}")
    for epoch, (text, feature) in enumerate(zip(text_seconds, feature_seconds), start=1):
        print(f"{epoch:>5} {text:>8.2f} {feature:>11.2f} {text / feature:>8.2f}x")
    later_text, later_feature = sum(text_seconds[1:]), sum(feature_seconds[1:])
    if later_feature:
        print(f"speed-up of epochs 2..{args.epochs} (texts / tfrecord): {later_text / later_feature:.2f}x")


if __name__ == "__main__":
    main()

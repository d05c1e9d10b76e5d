"""Peak memory of streamed training: a large generated CSV vs a small one.

Generates two CSV files of random sentiment texts (default about 200 MB and 2 GB)
under a temporary folder of --workdir, then runs the same job on each in a fresh
subprocess: `count_rows` (one full pass over the file, as a trainer does to get
the steps per epoch) and `--steps` training steps of a tiny BERT classifier fed by
`stream_examples`. Prints each subprocess's peak RSS (`ru_maxrss`) and the ratio
large / small, which should stay close to 1 because nothing is loaded whole.
The generated files are deleted at the end.

    .venv/bin/python bench/streaming_memory.py --small-mb 200 --large-mb 2000 --steps 500
    .venv/bin/python bench/streaming_memory.py --small-mb 20 --large-mb 200 --steps 50   # quick

`--preset PATH` trains a given keras-hub preset instead of the tiny random BERT.
"""

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LABELS = ["negative", "positive", "neutral"]
_CUES = {
    "negative": "bad poor terrible loss fall weak miss".split(),
    "positive": "good great excellent profit rise strong beat".split(),
    "neutral": "report today price quarter results".split(),
}
_FILLER = "the a stock market shares company is was".split()


def write_csv(path, megabytes, seed=0):
    """Write random labelled texts until the file reaches about `megabytes` MB."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    block = []
    with open(path, "w", encoding="utf-8") as file:
        file.write("text,label\n")
        while file.tell() < target:
            for _ in range(10_000):
                label = rng.choice(LABELS)
                words = rng.choices(_CUES[label], k=4) + rng.choices(_FILLER, k=20)
                rng.shuffle(words)
                block.append(f"{' '.join(words)},{label}\n")
            file.write("".join(block))
            block.clear()
    return path


def run_child(args):
    """Count the rows, then train `--steps` steps on the stream; print a JSON result line."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import keras

    from vertical_tune.backbones.resolver import resolve_backbone
    from vertical_tune.data.streaming import count_rows, stream_examples
    from vertical_tune.modeling.classifier import build_text_classifier

    preset = args.preset
    if preset is None:
        from tests.helpers import save_tiny_bert_preset

        preset = save_tiny_bert_preset(Path(args.child).parent / "tiny_preset")

    started = time.perf_counter()
    files = [args.child]
    stats = count_rows(files, text_column="text", label_column="label", label_names=LABELS)
    count_seconds = time.perf_counter() - started

    model = build_text_classifier(
        resolve_backbone(preset), num_classes=3, sequence_length=args.sequence_length, dropout=0.0
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    dataset = stream_examples(
        files,
        text_column="text",
        label_column="label",
        label_names=LABELS,
        batch_size=args.batch_size,
        repeat=True,
    )
    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=args.steps, epochs=1, verbose=0)
    fit_seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "rows": stats.rows,
                "count_seconds": round(count_seconds, 1),
                "fit_seconds": round(fit_seconds, 1),
                "peak_rss_mb": round(peak_kb / 1024, 1),
            }
        )
    )


def measure(path, args):
    command = [
        sys.executable,
        __file__,
        "--child",
        str(path),
        "--steps",
        str(args.steps),
        "--batch-size",
        str(args.batch_size),
        "--sequence-length",
        str(args.sequence_length),
    ]
    if args.preset:
        command += ["--preset", args.preset]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr[-4000:])
        raise SystemExit(f"the measurement of {path} failed with exit code {completed.returncode}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small-mb", type=int, default=200, help="Size of the small CSV in MB.")
    parser.add_argument("--large-mb", type=int, default=2000, help="Size of the large CSV in MB.")
    parser.add_argument("--steps", type=int, default=500, help="Training steps per run.")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=32)
    parser.add_argument("--preset", help="keras-hub preset folder to train (default: a tiny random BERT).")
    parser.add_argument("--workdir", default="/work/bench_runs", help="Parent folder of the temporary files.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
        return

    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="streaming_memory.", dir=args.workdir))
    try:
        results = {}
        for name, megabytes in (("small", args.small_mb), ("large", args.large_mb)):
            started = time.perf_counter()
            path = write_csv(folder / f"{name}.csv", megabytes)
            size_mb = path.stat().st_size / 1e6
            print(f"wrote {path.name}: {size_mb:.0f} MB in {time.perf_counter() - started:.0f} s", flush=True)
            results[name] = {"file_mb": round(size_mb), **measure(path, args)}
            path.unlink()
            print(f"{name}: {results[name]}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    small, large = results["small"], results["large"]
    print()
    print(f"{'':>8} {'file MB':>8} {'rows':>11} {'count s':>8} {'fit s':>7} {'peak RSS MB':>12}")
    for name, result in results.items():
        print(
            f"{name:>8} {result['file_mb']:>8} {result['rows']:>11} {result['count_seconds']:>8} "
            f"{result['fit_seconds']:>7} {result['peak_rss_mb']:>12}"
        )
    print(f"file size ratio large/small: {large['file_mb'] / small['file_mb']:.1f}")
    print(f"peak RSS ratio large/small: {large['peak_rss_mb'] / small['peak_rss_mb']:.3f} (target <= 1.2)")


if __name__ == "__main__":
    main()

"""Measure a model's inference latency and size on disk, for side-by-side comparisons."""

import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np


def latency_per_example(model, texts, *, batch_size, repeats=10, warmup=2):
    """Return the median seconds per example of one forward pass at `batch_size`.

    Tokenization happens once, outside the timing, so the figure is the model's own
    compute. The first `warmup` calls (graph tracing) are not timed.

    Args:
        model: keras-hub task with a preprocessor (raw text in, logits out).
        texts: list of str. Cycled when shorter than `batch_size`.
        batch_size: int.
        repeats: int. Timed calls; the median is returned.
        warmup: int. Untimed calls first.
    """
    batch = [texts[i % len(texts)] for i in range(batch_size)]
    tokens = model.preprocessor(np.asarray(batch, dtype=object))
    for _ in range(warmup):
        keras.Model.predict_on_batch(model, tokens)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        keras.Model.predict_on_batch(model, tokens)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) / batch_size


def saved_size_bytes(model):
    """Return the size in bytes of `model.keras` as a run directory stores it (no optimizer state)."""
    from vertical_tune.run_summary import save_model_for_inference

    with tempfile.TemporaryDirectory(prefix="vtune-size-") as directory:
        path = Path(directory) / "model.keras"
        save_model_for_inference(model, path)
        return path.stat().st_size

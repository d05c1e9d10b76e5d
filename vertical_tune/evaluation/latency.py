"""Measure a model's inference latency and size on disk, for side-by-side comparisons."""

import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np


def latency_per_example(models, texts, *, batch_size, repeats=10, warmup=2):
    """Return the median seconds per example of one forward pass at `batch_size`, per model.

    Tokenization happens once, outside the timing, so the figures are the models' own
    compute. The first `warmup` calls (graph tracing) are not timed, and the timed
    calls alternate between the models so that a change in machine load affects all
    of them alike.

    Args:
        models: dict name -> keras-hub task with a preprocessor (raw text in).
        texts: list of str. Cycled when shorter than `batch_size`.
        batch_size: int.
        repeats: int. Timed calls per model; the median is returned.
        warmup: int. Untimed calls per model first.

    Returns:
        dict name -> seconds per example.
    """
    batch = np.asarray([texts[i % len(texts)] for i in range(batch_size)], dtype=object)
    tokens = {name: model.preprocessor(batch) for name, model in models.items()}
    for name, model in models.items():
        for _ in range(warmup):
            keras.Model.predict_on_batch(model, tokens[name])
    seconds = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            started = time.perf_counter()
            keras.Model.predict_on_batch(model, tokens[name])
            seconds[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) / batch_size for name, values in seconds.items()}


def saved_size_bytes(model):
    """Return the size in bytes of `model.keras` as a run directory stores it (no optimizer state)."""
    from vertical_tune.run_summary import save_model_for_inference

    with tempfile.TemporaryDirectory(prefix="vtune-size-") as directory:
        path = Path(directory) / "model.keras"
        save_model_for_inference(model, path)
        return path.stat().st_size

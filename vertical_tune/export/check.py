"""Compare a loaded export with the Keras model, and measure its size and speed."""

import statistics
import time
from pathlib import Path

import numpy as np


def agreement(reference, probabilities):
    """Return label agreement and the max absolute probability difference of two (n, classes) arrays."""
    reference = np.asarray(reference, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if len(reference) == 0:
        return {"label_agreement": None, "max_abs_probability_difference": None}
    same = reference.argmax(axis=1) == probabilities.argmax(axis=1)
    return {
        "label_agreement": float(same.mean()),
        "max_abs_probability_difference": float(np.abs(reference - probabilities).max()),
    }


def size_bytes(path):
    """Return the size of a file, or the total size of the files under a folder."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def latency(predictor, texts, *, batch_size, repeats, warmup=2):
    """Return the median seconds per example of `predictor.run` at `batch_size`.

    Inputs are prepared once before timing. For models that take token ids the
    figure excludes tokenisation, and for models that take strings it includes it.
    The first `warmup` calls are not timed.
    """
    batch = [texts[index % len(texts)] for index in range(batch_size)]
    inputs = predictor.prepare(batch)
    for _ in range(warmup):
        predictor.run(inputs)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        predictor.run(inputs)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) / batch_size


def check_artifact(predictor, reference, texts, *, repeats_batch_1=20, repeats_batch_32=5):
    """Return agreement with `reference` on `texts`, latency at batch 1 and 32, and throughput.

    Args:
        predictor: a Predictor of the shipped loader (`predict.py`).
        reference: array (n, classes). The Keras model's probabilities on `texts`.
        texts: list of str. Normalised texts.
        repeats_batch_1, repeats_batch_32: int. Timed calls, of which the median is kept.
    """
    result = agreement(reference, predictor.predict_proba(texts))
    if not texts:
        return result
    batch_1 = latency(predictor, texts, batch_size=1, repeats=repeats_batch_1)
    batch_32 = latency(predictor, texts, batch_size=32, repeats=repeats_batch_32)
    result.update(
        {
            "latency_ms_batch_1": 1000 * batch_1,
            "latency_ms_batch_32": 1000 * batch_32,
            "throughput_per_second_batch_32": 1 / batch_32,
            "latency_includes_tokenization": predictor.text_input,
        }
    )
    return result

"""Measure each stage of a compression chain: parameters, size, latency, throughput, metrics."""

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf

from vertical_tune.compression.storage import load_model_file
from vertical_tune.evaluation.latency import latency_per_example
from vertical_tune.evaluation.metrics import classification_metrics
from vertical_tune.training.pipeline import make_dataset

COMPARED_METRICS = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1", "roc_auc", "loss")
LATENCY_TEXTS = 64
_PREDICT_BATCH = 32


class StageRecorder:
    """Evaluate and save each stage; compare their speed side by side at the end.

    Args:
        directory: Path. Scratch folder for the stages' model files.
        texts: validation texts (normalised).
        y_true: their class indices.
        label_names: list of str.
    """

    def __init__(self, directory, texts, y_true, label_names):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.texts = list(texts)
        self.y_true = np.asarray(y_true)
        self.label_names = list(label_names)
        self.rows = []
        self.last_probabilities = None
        self._files = []

    def add(self, name, model, structure, *, details):
        """Evaluate `model` on the validation texts and save it for the speed comparison."""
        from vertical_tune.run_summary import save_model_for_inference

        path = self.directory / f"{len(self.rows)}-{name}.keras"
        save_model_for_inference(model, path)
        probabilities = predict_probabilities(model, self.texts)
        self.last_probabilities = probabilities
        metrics = classification_metrics(self.y_true, probabilities, self.label_names)
        self.rows.append(
            {
                "stage": name,
                "parameters": int(model.count_params()),
                "size_bytes": path.stat().st_size,
                "gzip_bytes": gzip_size(path),
                "metrics": {key: metrics[key] for key in COMPARED_METRICS},
                "details": details,
            }
        )
        self._files.append((path, dict(structure)))

    def summary(self, *, methods, settings):
        """Time every stage side by side and return the compression summary."""
        models = {row["stage"]: load_model_file(path, structure) for row, (path, structure) in zip(self.rows, self._files)}
        sample = self.texts[:LATENCY_TEXTS]
        batch_1 = latency_per_example(models, sample, batch_size=1, repeats=20)
        batch_32 = latency_per_example(models, sample, batch_size=32, repeats=5)
        for row in self.rows:
            row["latency_ms_batch_1"] = 1000 * batch_1[row["stage"]]
            row["latency_ms_batch_32"] = 1000 * batch_32[row["stage"]]
            row["throughput_batch_32"] = 1.0 / batch_32[row["stage"]]
        shutil.rmtree(self.directory, ignore_errors=True)
        first, last = self.rows[0], self.rows[-1]
        return {
            "methods": methods,
            "settings": settings,
            "cpu_threads": cpu_threads(),
            "latency_texts": len(sample),
            "stages": self.rows,
            "macro_f1_change_points": 100 * (last["metrics"]["macro_f1"] - first["metrics"]["macro_f1"]),
            "size_ratio": last["size_bytes"] / first["size_bytes"],
            "throughput_ratio_batch_32": last["throughput_batch_32"] / first["throughput_batch_32"],
            "speedup_batch_1": first["latency_ms_batch_1"] / last["latency_ms_batch_1"],
        }


def predict_probabilities(model, texts):
    """Return softmax probabilities of a raw-text classifier on `texts`."""
    logits = model.predict(make_dataset(texts, batch_size=_PREDICT_BATCH), verbose=0)
    return tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1).numpy()


def gzip_size(path):
    """Return the size in bytes of `path` compressed with gzip (zeros of a pruned model compress)."""
    with open(path, "rb") as source:
        return len(gzip.compress(source.read(), compresslevel=6))


def cpu_threads():
    """Return the number of CPU threads TensorFlow runs one operation on."""
    configured = tf.config.threading.get_intra_op_parallelism_threads()
    return configured or os.cpu_count()

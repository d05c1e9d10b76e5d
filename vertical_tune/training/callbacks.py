"""Callbacks that compute the validation metrics and report progress."""

import json
import sys
import time

import keras
import numpy as np

from vertical_tune.evaluation.metrics import classification_metrics


class ValidationMetrics(keras.callbacks.Callback):
    """Compute the full set of classification metrics on validation data after each epoch.

    The metrics are added to the epoch logs with a `val_` prefix (`val_macro_f1`,
    `val_roc_auc`, ...), so `EarlyStopping` and `ModelCheckpoint` placed after this
    callback can monitor any of them. It replaces Keras' own validation pass, so
    the validation set is run once per epoch, not twice.

    Args:
        dataset: tf.data.Dataset of (texts, class indices), batched.
        y_true: numpy int array of the validation class indices.
        label_names: list of str.
    """

    def __init__(self, dataset, y_true, label_names):
        super().__init__()
        self.dataset = dataset
        self.y_true = np.asarray(y_true)
        self.label_names = list(label_names)
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        logits = self.model.predict(self.dataset, verbose=0)
        probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
        metrics = classification_metrics(self.y_true, probabilities, self.label_names)
        self.history.append(metrics)
        if logs is not None:
            for key, value in metrics.items():
                if key != "n_examples" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    logs[f"val_{key}"] = float(value)


class JsonLinesLogger(keras.callbacks.Callback):
    """Write one JSON object per epoch to a stream (stdout by default) for machines."""

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream or sys.stdout
        self._started = None

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        record = {"event": "epoch_end", "epoch": epoch + 1, "seconds": time.perf_counter() - self._started}
        record.update({key: float(value) for key, value in (logs or {}).items()})
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()


class EpochTimer(keras.callbacks.Callback):
    """Record the wall-clock seconds of each epoch's training steps (validation excluded)."""

    def __init__(self):
        super().__init__()
        self.seconds = []
        self._started = None

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._last_batch_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(self._last_batch_end - self._started)

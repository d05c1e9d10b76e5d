"""Compile and fit a classifier with the project's loop: Keras `fit` plus callbacks."""

import dataclasses
import math
import os

import keras
import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from vertical_tune.training.callbacks import EpochTimer, JsonLinesLogger, ValidationMetrics
from vertical_tune.training.optimizer import build_optimizer
from vertical_tune.training.pipeline import make_dataset


@dataclasses.dataclass
class TrainingResult:
    """Outcome of one `fit`: per-epoch logs and the selected (best) epoch."""

    history: dict
    best_epoch: int
    best_validation: dict
    epoch_seconds: list
    selection_metric: str
    epochs_run: int
    seconds: float | None = None  # whole `FineTuner.fit`, data loading included
    loss_weights: list | None = None  # multi-task: each epoch's {task: loss weight}


def compile_classifier(model, training, steps_per_epoch):
    """Compile `model` with AdamW, sparse cross-entropy on logits and accuracy."""
    total_steps = max(1, steps_per_epoch * training.epochs)
    model.compile(
        optimizer=build_optimizer(training, total_steps),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def class_weights(y, num_classes, mode):
    """Return Keras `class_weight` for `training.class_weight`, or None for `none`."""
    if mode == "none":
        return None
    present = np.unique(y)
    weights = compute_class_weight("balanced", classes=present, y=y)
    result = {int(c): 1.0 for c in range(num_classes)}
    result.update({int(c): float(w) for c, w in zip(present, weights)})
    return result


def fit_classifier(model, train, validation, label_names, training, *, workdir, verbose=1, json_lines=False, callbacks=()):
    """Fit a compiled classifier and restore the weights of the best validation epoch.

    Args:
        model: compiled keras-hub TextClassifier.
        train: (texts, class indices) for training.
        validation: (texts, class indices) used for selection and early stopping.
        label_names: list of str, in class-index order.
        training: TrainingConfig.
        workdir: str. Folder for TensorBoard logs and the best checkpoint.
        verbose: int. Keras verbosity: 1 progress bar, 2 one line per epoch, 0 silent.
        json_lines: bool. Also print one JSON object per epoch on stdout.
        callbacks: extra Keras callbacks, run after the built-in ones.

    Returns:
        TrainingResult.
    """
    train_texts, train_y = train
    val_texts, val_y = validation
    train_ds = make_dataset(train_texts, train_y, batch_size=training.batch_size, shuffle=True, seed=training.seed)
    val_ds = make_dataset(val_texts, batch_size=training.batch_size)

    validation_metrics = ValidationMetrics(val_ds, val_y, label_names)
    timer = EpochTimer()
    mode = "min" if training.selection_metric == "loss" else "max"
    built_in = [timer, validation_metrics] + selection_callbacks(
        f"val_{training.selection_metric}", mode, training, workdir, json_lines
    )

    history = model.fit(
        train_ds,
        epochs=training.epochs,
        shuffle=False,  # the dataset is already shuffled with the training seed
        class_weight=class_weights(np.asarray(train_y), len(label_names), training.class_weight),
        callbacks=built_in + list(callbacks),
        verbose=verbose,
    )
    return _summarise(history.history, validation_metrics.history, timer.seconds, training)


def selection_callbacks(monitor, mode, training, workdir, json_lines):
    """Early stopping with best-weight restore, best checkpoint, TensorBoard and JSON lines.

    They must run after the callback that adds `monitor` to the epoch logs.
    """
    patience = training.early_stopping_patience
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor=monitor,
            mode=mode,
            patience=training.epochs if patience is None else patience,
            restore_best_weights=True,
        ),
        keras.callbacks.ModelCheckpoint(
            os.path.join(workdir, "checkpoints", "best.weights.h5"),
            monitor=monitor,
            mode=mode,
            save_best_only=True,
            save_weights_only=True,
        ),
        keras.callbacks.TensorBoard(os.path.join(workdir, "logs"), write_graph=False, profile_batch=0),
    ]
    if json_lines:
        callbacks.append(JsonLinesLogger())
    return callbacks


def _summarise(history, validation_history, epoch_seconds, training):
    metric = training.selection_metric
    scores = [m[metric] if m[metric] is not None else math.nan for m in validation_history]
    pick = np.nanargmin if metric == "loss" else np.nanargmax
    best = int(pick(scores)) if not all(math.isnan(s) for s in scores) else len(scores) - 1
    clean_history = {key: [float(v) for v in values] for key, values in history.items()}
    return TrainingResult(
        history=clean_history,
        best_epoch=best + 1,
        best_validation=validation_history[best],
        epoch_seconds=[float(s) for s in epoch_seconds],
        selection_metric=metric,
        epochs_run=len(validation_history),
    )

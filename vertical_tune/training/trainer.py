"""Compile and fit a classifier with the project's loop: Keras `fit` plus callbacks."""

import dataclasses
import math
import os
import shutil
from pathlib import Path

import keras
import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from vertical_tune.training.callbacks import EpochTimer, JsonLinesLogger, ValidationMetrics
from vertical_tune.training.optimizer import build_optimizer
from vertical_tune.training.checkpoint import EpochPosition, TrainingCheckpoint
from vertical_tune.training.pipeline import EpochFeed, make_dataset


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


def compile_classifier(model, training, steps_per_epoch, jit_compile="auto"):
    """Compile `model` with AdamW, sparse cross-entropy on logits and accuracy.

    Call it inside the strategy's scope, so the optimizer's variables are mirrored too.
    """
    total_steps = max(1, steps_per_epoch * training.epochs)
    model.compile(
        jit_compile=jit_compile,
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


def fit_classifier(model, train, validation, label_names, training, *, workdir, verbose=1, json_lines=False, callbacks=(), checkpoint=None):
    """Fit a compiled classifier and restore the weights of the best validation epoch.

    Args:
        model: compiled keras-hub TextClassifier.
        train: (texts, class indices) for training.
        validation: (texts, class indices) used for selection and early stopping.
        label_names: list of str, in class-index order.
        training: TrainingConfig.
        workdir: str. Folder for TensorBoard logs.
        verbose: int. Keras verbosity: 1 progress bar, 2 one line per epoch, 0 silent.
        json_lines: bool. Also print one JSON object per epoch on stdout.
        callbacks: extra Keras callbacks, run after the built-in ones.
        checkpoint: CheckpointPlan or None. Save the training state there after
            every epoch (and every `every_steps` steps) and resume from it.

    Returns:
        TrainingResult.
    """
    val_texts, val_y = validation
    val_ds = make_dataset(val_texts, batch_size=training.batch_size)
    validation_metrics = ValidationMetrics(val_ds, val_y, label_names)
    mode = "min" if training.selection_metric == "loss" else "max"
    history, timer = run_fit(
        model,
        train,
        validation_metrics,
        f"val_{training.selection_metric}",
        mode,
        training,
        workdir=workdir,
        verbose=verbose,
        json_lines=json_lines,
        callbacks=callbacks,
        checkpoint=checkpoint,
        class_weight=class_weights(np.asarray(train[1]), len(label_names), training.class_weight),
    )
    return _summarise(history, validation_metrics.history, timer.seconds, training)


def run_fit(model, train, validation_callback, monitor, mode, training, *, workdir, verbose, json_lines, callbacks, checkpoint, class_weight=None):
    """Run `model.fit` with the built-in callbacks, checkpointing and resuming when asked.

    Args:
        model: compiled Keras model.
        train: (texts, targets) of the training data.
        validation_callback: callback that adds `monitor` to the epoch logs and
            keeps a `history` list of per-epoch metric dicts.
        monitor: str. The epoch-log key that selects the best epoch.
        mode: "min" or "max".
        training: TrainingConfig.
        workdir, verbose, json_lines, callbacks, checkpoint: as for `fit_classifier`.
        class_weight: dict or None, Keras `class_weight`.

    Returns:
        (history dict of per-epoch logs, EpochTimer).
    """
    texts, targets = train
    feed = EpochFeed(texts, targets, batch_size=training.batch_size, seed=training.seed)
    state = checkpoint.initial_state() if checkpoint else None
    first_epoch, first_batch = _start_position(state, training.epochs)
    position = EpochPosition(feed, first_epoch, first_batch)
    timer = EpochTimer()
    early_stopping = _early_stopping(monitor, mode, training)
    built_in = [position, timer, validation_callback, early_stopping]
    tensorboard_dir = os.path.join(checkpoint.directory if checkpoint and checkpoint.write else workdir, "logs")
    built_in.append(keras.callbacks.TensorBoard(tensorboard_dir, write_graph=False, profile_batch=0))
    if json_lines:
        built_in.append(JsonLinesLogger())
    saver = None
    if checkpoint:
        saver = TrainingCheckpoint(
            checkpoint.directory,
            fingerprint=checkpoint.fingerprint,
            position=position,
            early_stopping=early_stopping,
            validation=validation_callback,
            timer=timer,
            every_steps=checkpoint.every_steps,
            state=state,
            write=checkpoint.write,
        )
        built_in.append(saver)
    history = model.fit(
        feed.dataset,
        epochs=training.epochs,
        initial_epoch=first_epoch,
        shuffle=False,  # `EpochFeed` shuffles each epoch with the training seed
        class_weight=class_weight,
        callbacks=built_in + list(callbacks),
        verbose=verbose,
    )
    logs = saver.history if saver else history.history
    if checkpoint and checkpoint.write and Path(checkpoint.directory, "logs").is_dir() and workdir:
        shutil.copytree(Path(checkpoint.directory, "logs"), Path(workdir, "logs"), dirs_exist_ok=True)
    return {key: [float(v) for v in values] for key, values in logs.items()}, timer


def _start_position(state, epochs):
    if state is None:
        return 0, 0
    if state["finished"]:
        return epochs, 0
    return state["epoch"], state["batch"]


def _early_stopping(monitor, mode, training):
    patience = training.early_stopping_patience
    return keras.callbacks.EarlyStopping(
        monitor=monitor,
        mode=mode,
        patience=training.epochs if patience is None else patience,
        restore_best_weights=True,
    )


def selection_callbacks(monitor, mode, training, workdir, json_lines):
    """Early stopping with best-weight restore, TensorBoard and JSON lines.

    They must run after the callback that adds `monitor` to the epoch logs.
    """
    callbacks = [
        _early_stopping(monitor, mode, training),
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

"""Fit a multi-task model: per-task validation metrics, loss weights and best-epoch selection."""

import math
import warnings

import keras
import numpy as np

from vertical_tune.evaluation.task_evaluation import (
    evaluate_tasks,
    flat_metrics,
    selection_score,
    task_predictions,
)
from vertical_tune.evaluation.metrics import UndefinedAUCWarning
from vertical_tune.training.pipeline import make_dataset
from vertical_tune.training.trainer import TrainingResult, run_fit

SELECTION_LOG = "val_selection_score"


class MultiTaskValidation(keras.callbacks.Callback):
    """After each epoch, evaluate every task on validation data and log the results.

    Adds `val_<task>_<metric>` for every scalar metric, `val_selection_score` (the
    combined score that early stopping and checkpoints monitor) and, with
    uncertainty weighting, `weight_<task>` (the learned loss weight).

    Args:
        dataset: tf.data.Dataset of validation texts, batched.
        targets: list of TaskTarget.
        y_true: dict task name -> encoded validation targets.
        selection: str. `multitask.selection`.
    """

    def __init__(self, dataset, targets, y_true, selection):
        super().__init__()
        self.dataset = dataset
        self.targets = targets
        self.y_true = y_true
        self.selection = selection
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        outputs = self.model.predict(self.dataset, verbose=0)
        predictions = {t.name: task_predictions(t, outputs[t.name]) for t in self.targets}
        with warnings.catch_warnings():
            # A class missing from the validation labels is reported once, in the final report.
            warnings.simplefilter("ignore", UndefinedAUCWarning)
            results = evaluate_tasks(self.targets, self.y_true, predictions)
        score = selection_score(results, self.targets, self.selection)
        weights = dict(zip(self.model.task_names, self.model.loss_balancer.task_weights()))
        self.history.append({"selection": score, "tasks": results, "loss_weights": weights})
        if logs is not None:
            logs.update(flat_metrics(results))
            logs[SELECTION_LOG] = score["score"]
            if self.model.loss_balancing != "fixed":
                logs.update({f"weight_{name}": value for name, value in weights.items()})


def fit_multitask(model, train, validation, targets, config, *, workdir, verbose=1, json_lines=False, callbacks=(), checkpoint=None):
    """Fit a compiled `MultiTaskTextModel`, restoring the best validation epoch.

    Args:
        model: compiled MultiTaskTextModel.
        train: (texts, dict task name -> targets).
        validation: (texts, dict task name -> targets).
        targets: list of TaskTarget.
        config: VTuneConfig.
        workdir: str. Folder for TensorBoard logs and the best checkpoint.
        verbose, json_lines, callbacks, checkpoint: as for `fit_classifier`.

    Returns:
        TrainingResult whose `best_validation` is the best epoch's selection score
        and per-task metrics.
    """
    training = config.training
    val_texts, val_y = validation
    val_ds = make_dataset(val_texts, batch_size=training.batch_size)
    validation_callback = MultiTaskValidation(val_ds, targets, val_y, config.multitask.selection)
    history, timer = run_fit(
        model,
        train,
        validation_callback,
        SELECTION_LOG,
        "max",
        training,
        workdir=workdir,
        verbose=verbose,
        json_lines=json_lines,
        callbacks=callbacks,
        checkpoint=checkpoint,
    )
    epochs = validation_callback.history
    scores = [e["selection"]["score"] for e in epochs]
    best = len(scores) - 1 if all(math.isnan(s) for s in scores) else int(np.nanargmax(scores))
    return TrainingResult(
        history=history,
        best_epoch=best + 1,
        best_validation=epochs[best],
        epoch_seconds=[float(s) for s in timer.seconds],
        selection_metric=epochs[best]["selection"]["metric"],
        epochs_run=len(epochs),
        loss_weights=[e["loss_weights"] for e in epochs],
    )

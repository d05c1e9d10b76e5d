"""Evaluate every task of a multi-task model on the rows labelled for it, and combine a score."""

import math

import numpy as np
from scipy.special import expit, softmax

from vertical_tune.evaluation.metrics import classification_metrics
from vertical_tune.evaluation.task_metrics import multilabel_metrics, regression_metrics

# Metrics where lower is better; they enter a combined score negated.
LOWER_IS_BETTER = ("mae", "rmse", "loss")


def task_predictions(target, output):
    """Turn one head's raw output into probabilities (classification) or values (regression)."""
    output = np.asarray(output, dtype="float64")
    if target.type == "regression":
        return output.reshape(-1)
    if target.type == "multilabel":
        return expit(output)
    return softmax(output, axis=-1)


def evaluate_tasks(targets, y_true, predictions):
    """Compute each task's metrics on the rows that have its label.

    Args:
        targets: list of TaskTarget, in task order.
        y_true: dict task name -> encoded targets (with missing-label sentinels).
        predictions: dict task name -> output of `task_predictions`.

    Returns:
        dict task name -> {"type", "labels", "n_unlabelled", "metrics"}; `metrics` is
        None for a task with no labelled row in this data.
    """
    results = {}
    for target in targets:
        y = np.asarray(y_true[target.name])
        labelled = target.labelled(y)
        predicted = np.asarray(predictions[target.name])[labelled]
        metrics = None
        if labelled.any():
            if target.type == "regression":
                metrics = regression_metrics(y[labelled], predicted)
            elif target.type == "multilabel":
                metrics = multilabel_metrics(y[labelled].astype(int), predicted, target.names)
            else:
                metrics = classification_metrics(y[labelled], predicted, target.names)
        results[target.name] = {
            "type": target.type,
            "labels": target.names,
            "n_unlabelled": int((~labelled).sum()),
            "metrics": metrics,
        }
    return results


def selection_score(results, targets, selection):
    """Combine the tasks' selection metrics into the score that picks the best epoch.

    Args:
        results: output of `evaluate_tasks`.
        targets: list of TaskTarget (each spec names its `selection_metric`).
        selection: str. `mean`, or the name of the one task that decides.

    Returns:
        dict with `metric` (`mean` or `<task>.<metric>`), `score` (higher is better:
        error metrics are negated) and `per_task` {task: {"metric", "value"}}.
    """
    per_task, scores = {}, {}
    for target in targets:
        metric = target.spec.selection_metric
        metrics = results[target.name]["metrics"] or {}
        value = metrics.get(metric)
        per_task[target.name] = {"metric": metric, "value": value}
        if value is not None and not math.isnan(value):
            scores[target.name] = -value if metric in LOWER_IS_BETTER else value
    if selection == "mean":
        score = float(np.mean(list(scores.values()))) if scores else math.nan
        name = "mean"
    else:
        score = scores.get(selection, math.nan)
        name = f"{selection}.{per_task[selection]['metric']}"
    return {"metric": name, "score": score, "per_task": per_task}


def flat_metrics(results, prefix="val_"):
    """Scalar metrics of every task as `{prefix}{task}_{metric}: float`, for epoch logs."""
    flat = {}
    for task, result in results.items():
        for key, value in (result["metrics"] or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "n_examples":
                flat[f"{prefix}{task}_{key}"] = float(value)
    return flat

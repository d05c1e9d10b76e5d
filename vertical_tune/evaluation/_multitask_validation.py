"""Checks of the tasks and selection given to `MultiTaskReport`, with messages that name the task."""

import copy
import math
from collections.abc import Mapping

from vertical_tune.errors import format_error
from vertical_tune.evaluation.report import EvaluationReport

TASK_TYPES = ("multiclass", "binary", "multilabel", "regression")
CLASSIFICATION_TYPES = ("multiclass", "binary")
_TASK_KEYS = ("type", "metrics", "labels", "n_unlabelled")

# Metrics in display order, with their table labels.
MULTILABEL_SUMMARY_ROWS = (
    ("n_examples", "Examples"),
    ("threshold", "Threshold"),
    ("subset_accuracy", "Subset accuracy"),
    ("hamming_loss", "Hamming loss"),
    ("micro_precision", "Micro precision"),
    ("micro_recall", "Micro recall"),
    ("micro_f1", "Micro F1"),
    ("macro_precision", "Macro precision"),
    ("macro_recall", "Macro recall"),
    ("macro_f1", "Macro F1"),
    ("samples_f1", "Samples F1"),
    ("roc_auc", "ROC-AUC"),
)
REGRESSION_ROWS = (
    ("mae", "MAE"),
    ("rmse", "RMSE"),
    ("r2", "R²"),
    ("spearman", "Spearman"),
    ("mean_true", "Mean true value"),
    ("mean_pred", "Mean predicted value"),
    ("n_examples", "Examples"),
)


def validate_tasks(tasks):
    if not isinstance(tasks, Mapping) or not tasks:
        problem = "tasks must be a non-empty dict of task name to task entry."
        raise ValueError(format_error(problem, received=tasks))
    return {str(name): _validate_task(str(name), entry) for name, entry in tasks.items()}


def _validate_task(name, entry):
    if not isinstance(entry, Mapping) or set(entry) != set(_TASK_KEYS):
        raise ValueError(
            format_error(
                f"tasks[{name!r}] must be a dict with exactly the keys {list(_TASK_KEYS)}.",
                received=list(entry) if isinstance(entry, Mapping) else entry,
                expected='{"type": "multiclass", "metrics": {...}, "labels": [...], "n_unlabelled": 0}',
            )
        )
    task_type, metrics, count = entry["type"], entry["metrics"], entry["n_unlabelled"]
    if task_type not in TASK_TYPES:
        problem = f"tasks[{name!r}]['type'] is invalid."
        raise ValueError(format_error(problem, received=task_type, expected=f"one of {TASK_TYPES}"))
    if isinstance(count, bool) or not hasattr(count, "__index__") or int(count) < 0:
        raise ValueError(format_error(f"tasks[{name!r}]['n_unlabelled'] must be an int >= 0.", received=count))
    if metrics is not None and not isinstance(metrics, Mapping):
        raise ValueError(format_error(f"tasks[{name!r}]['metrics'] must be a dict or None.", received=metrics))

    metrics = copy.deepcopy(dict(metrics)) if metrics is not None else None
    labels = _validate_labels(name, task_type, metrics, entry["labels"])
    return {"type": task_type, "metrics": metrics, "labels": labels, "n_unlabelled": int(count)}


def _validate_labels(name, task_type, metrics, labels):
    """Check `labels` and `metrics` against the task type and return the label names."""
    if metrics is not None:
        _validate_metric_keys(name, task_type, metrics)
        if task_type in CLASSIFICATION_TYPES:
            try:
                labels = EvaluationReport(metrics, labels).label_names
            except ValueError as error:
                raise ValueError(f"tasks[{name!r}] has invalid classification metrics.\n{error}") from None
        elif task_type == "multilabel" and labels is None:
            labels = metrics["labels"]

    if task_type == "regression":
        if labels is not None:
            problem = f"tasks[{name!r}]['labels'] must be None for a regression task."
            raise ValueError(format_error(problem, received=labels))
        return None
    if labels is None or isinstance(labels, str):
        raise ValueError(format_error(f"tasks[{name!r}]['labels'] must be a list of names.", received=labels))

    labels = [str(label) for label in labels]
    if metrics is not None and task_type == "multilabel" and labels != list(metrics["labels"]):
        raise ValueError(
            format_error(
                f"tasks[{name!r}]['labels'] differs from the labels its metrics were computed with.",
                received=labels,
                expected=str(metrics["labels"]),
            )
        )
    if task_type == "binary" and len(labels) != 2:
        problem = f"Binary task {name!r} must have exactly 2 labels."
        fix = 'use type "multiclass" for 3 or more labels'
        raise ValueError(format_error(problem, received=labels, fix=fix))
    return labels


def _validate_metric_keys(name, task_type, metrics):
    """Check the keys of multilabel and regression metrics. `EvaluationReport` checks classification metrics."""
    if task_type == "regression":
        required = [key for key, _ in REGRESSION_ROWS]
    elif task_type == "multilabel":
        required = [key for key, _ in MULTILABEL_SUMMARY_ROWS] + ["labels", "per_label"]
    else:
        return

    missing = [key for key in required if key not in metrics]
    if missing:
        raise ValueError(
            format_error(
                f"tasks[{name!r}]['metrics'] lacks the keys {missing}.",
                fix=f"pass the dict returned by `{task_type}_metrics`",
            )
        )
    if task_type == "multilabel":
        per_label = metrics["per_label"] if isinstance(metrics["per_label"], Mapping) else {}
        missing_labels = [label for label in metrics["labels"] if label not in per_label]
        if missing_labels:
            raise ValueError(f"tasks[{name!r}]['metrics']['per_label'] lacks the labels {missing_labels}.")


def validate_selection(selection, tasks):
    if selection is None:
        return None
    selection = _validate_score(selection, "selection")
    per_task = selection.get("per_task")
    if per_task is None:
        return selection

    if not isinstance(per_task, Mapping) or not set(per_task) <= set(tasks):
        raise ValueError(
            format_error(
                "selection['per_task'] must map task names of this report to scores.",
                received=per_task,
                expected=f"keys among {list(tasks)}",
            )
        )
    selection["per_task"] = {
        name: _validate_score(score, f"selection['per_task'][{name!r}]") for name, score in per_task.items()
    }
    return selection


def _validate_score(score, where):
    """Check a `{"metric": str, "value": number or None}` dict and return a copy with a float or None value."""
    if not isinstance(score, Mapping) or "metric" not in score or "value" not in score:
        raise ValueError(
            format_error(
                f"{where} must be a dict with the keys 'metric' and 'value'.",
                received=score,
                expected='{"metric": "macro_f1", "value": 0.6}',
            )
        )

    score = copy.deepcopy(dict(score))
    score["metric"] = str(score["metric"])
    if score["value"] is not None:
        try:
            score["value"] = float(score["value"])
        except (TypeError, ValueError):
            problem = f"{where}['value'] must be a number or None."
            raise ValueError(format_error(problem, received=score["value"])) from None
        # A mean over tasks that all lack a defined value is NaN, and JSON has no NaN.
        if math.isnan(score["value"]):
            score["value"] = None
    return score

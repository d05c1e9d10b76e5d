"""Classification metrics from predicted class probabilities, computed with scikit-learn.

Undefined-value policy:

- Precision, recall and F1 use `zero_division=0`. A class that is never predicted gets
  precision 0, and a class with no examples in `y_true` gets recall 0 and F1 0. Their
  macro averages include all k classes, so such a class lowers them.
- ROC-AUC and PR-AUC are undefined for a class with no examples in `y_true`, and
  ROC-AUC is also undefined for a class that every example belongs to. Those per-class
  values are None, the macro averages use the classes where the value is defined, and
  an `UndefinedAUCWarning` names the classes.
"""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from vertical_tune.errors import format_error

# Whether a larger value is better, for each `TrainingConfig.selection_metric` name.
SELECTION_METRICS = {
    "macro_f1": True,
    "weighted_f1": True,
    "accuracy": True,
    "macro_recall": True,
    "macro_precision": True,
    "roc_auc": True,
    "loss": False,
}

# Rows of `probabilities` may differ from 1 by this much, because softmax outputs
# rounded to float16 can. A larger difference usually means logits were passed.
_ROW_SUM_TOLERANCE = 1e-2


class UndefinedAUCWarning(UndefinedMetricWarning):
    """Warning that ROC-AUC or PR-AUC is undefined for some classes and was set to None."""


def classification_metrics(y_true, probabilities, label_names, y_pred=None):
    """Compute accuracy, precision, recall, F1, ROC-AUC, PR-AUC and log loss.

    The predicted class of each example is `y_pred`, by default the argmax of its
    probabilities. ROC-AUC, PR-AUC and log loss use the probabilities only. Every
    value comes from scikit-learn (`precision_recall_fscore_support`, `roc_auc_score`,
    `average_precision_score`, `log_loss`, `confusion_matrix`) with `labels=range(k)`
    and `zero_division=0`. The module docstring states how undefined values are
    handled.

    Args:
        y_true: array-like of int, shape (n,). True class indices in `[0, k)`.
        probabilities: array-like of float, shape (n, k). Predicted class
            probabilities. Each row sums to 1 and lies in [0, 1].
        label_names: sequence of k distinct label names in class-index order.
            Names that are not strings are converted with `str`.
        y_pred: array-like of int, shape (n,), or None. Predicted class indices,
            e.g. after a decision threshold (`thresholds.apply_decision`).

    Returns:
        A dict of Python floats, ints, strings, lists and None only, so
        `json.dumps` accepts it. Keys:

        - `n_examples`, `accuracy`;
        - `macro_precision`, `macro_recall`, `macro_f1`, `weighted_precision`,
          `weighted_recall`, `weighted_f1`;
        - `roc_auc`: one-vs-rest macro ROC-AUC. For k == 2 it is the binary ROC-AUC
          of class index 1. None when it is undefined for every class.
        - `pr_auc`: macro average precision over the one-vs-rest problems, for
          k == 2 too (the AP of class 1 alone is in `per_class`).
        - `loss`: log loss (natural logarithm, mean over examples).
        - `per_class`: {name: {precision, recall, f1, support, roc_auc, pr_auc}}.
        - `confusion_matrix`: k lists of k counts. Rows are true labels and columns
          are predicted labels, in class-index order.
        - `labels`: the label names.

    Raises:
        ValueError: the shapes disagree, a class index is out of range, or the
            probabilities are not probabilities. The message shows the shapes or
            values received.

    Example:

    >>> metrics = classification_metrics(
    ...     [0, 1, 1], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]], ["legit", "fraud"]
    ... )
    >>> round(metrics["accuracy"], 4), metrics["confusion_matrix"]
    (0.6667, [[1, 0], [1, 1]])
    """
    labels = _validate_label_names(label_names)
    y_true, probabilities = _validate_predictions(y_true, probabilities, len(labels))
    class_indices = list(range(len(labels)))
    y_pred = probabilities.argmax(axis=1) if y_pred is None else _validate_y_pred(y_pred, y_true, len(labels))

    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=class_indices, average=None, zero_division=0
    )
    roc_auc_per_class, pr_auc_per_class = _per_class_auc(y_true, probabilities)
    _warn_undefined_auc(y_true, labels)

    per_class = {
        name: {
            "precision": float(precision[index]),
            "recall": float(recall[index]),
            "f1": float(f1[index]),
            "support": int(support[index]),
            "roc_auc": roc_auc_per_class[index],
            "pr_auc": pr_auc_per_class[index],
        }
        for index, name in enumerate(labels)
    }
    matrix = confusion_matrix(y_true, y_pred, labels=class_indices)

    return {
        "n_examples": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        **_averaged_scores(y_true, y_pred, class_indices),
        "roc_auc": _macro_roc_auc(y_true, probabilities, roc_auc_per_class),
        "pr_auc": _mean_of_defined(pr_auc_per_class),
        "loss": float(log_loss(y_true, probabilities, labels=class_indices)),
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
        "labels": labels,
    }


def _validate_label_names(label_names):
    labels = [str(name) for name in label_names]
    if len(labels) < 2:
        raise ValueError(
            format_error(
                "label_names must contain at least 2 labels.",
                received=labels,
                expected="the k label names in class-index order, k >= 2",
            )
        )

    duplicates = sorted({name for name in labels if labels.count(name) > 1})
    if duplicates:
        raise ValueError(
            format_error(
                f"label_names must be distinct, but {duplicates} occur more than once.",
                received=labels,
                fix="give each class its own name",
            )
        )
    return labels


def _validate_predictions(y_true, probabilities, num_classes):
    y_true = _validate_class_indices(y_true, num_classes)
    probabilities = np.asarray(probabilities)
    if probabilities.dtype.kind != "f":
        probabilities = probabilities.astype(np.float64)

    if probabilities.ndim != 2:
        raise ValueError(
            format_error(
                f"probabilities must be a 2-D array of shape (n, k), "
                f"but it has shape {probabilities.shape}.",
                expected=f"shape (n, {num_classes}): one row of class probabilities per example",
            )
        )
    if probabilities.shape[0] != y_true.shape[0]:
        raise ValueError(
            format_error(
                f"y_true and probabilities have different numbers of examples: "
                f"y_true has shape {y_true.shape}, probabilities has shape {probabilities.shape}.",
                fix="pass the true labels and the predictions of the same examples",
            )
        )
    if probabilities.shape[1] != num_classes:
        raise ValueError(
            format_error(
                f"probabilities has shape {probabilities.shape}, so {probabilities.shape[1]} "
                f"classes, but label_names has {num_classes} names.",
                fix="pass one label name per column of probabilities, in class-index order",
            )
        )

    _validate_probability_values(probabilities)
    return y_true, probabilities


def _validate_y_pred(y_pred, y_true, num_classes):
    y_pred = _validate_class_indices(y_pred, num_classes)
    if y_pred.shape != y_true.shape:
        raise ValueError(
            format_error(
                f"y_pred has {y_pred.shape[0]} predictions, but y_true has {y_true.shape[0]} labels.",
                fix="pass one predicted class index per example",
            )
        )
    return y_pred


def _validate_class_indices(y_true, num_classes):
    y_true = np.asarray(y_true)
    if y_true.ndim != 1:
        raise ValueError(
            format_error(
                f"y_true must be a 1-D array of class indices, but it has shape {y_true.shape}.",
                fix="pass class indices, not one-hot rows; use `argmax(axis=1)` to convert them",
            )
        )
    if y_true.shape[0] == 0:
        raise ValueError("y_true is empty: metrics need at least one example.")

    is_integral_float = y_true.dtype.kind == "f" and np.all(np.mod(y_true, 1) == 0)
    if y_true.dtype.kind not in "iub" and not is_integral_float:
        raise ValueError(
            format_error(
                f"y_true must contain integer class indices, but its dtype is {y_true.dtype}.",
                received=y_true[:5].tolist(),
                fix="map label values to indices, e.g. with `label_names.index(value)`",
            )
        )

    y_true = y_true.astype(np.int64)
    out_of_range = np.unique(y_true[(y_true < 0) | (y_true >= num_classes)])
    if out_of_range.size:
        raise ValueError(
            format_error(
                f"y_true contains class indices outside [0, {num_classes}).",
                received=out_of_range[:10].tolist(),
                expected=f"indices 0 to {num_classes - 1}, one per name in label_names",
            )
        )
    return y_true


def _validate_probability_values(probabilities):
    if not np.all(np.isfinite(probabilities)):
        raise ValueError("probabilities contains NaN or infinite values.")

    if probabilities.min() < 0 or probabilities.max() > 1:
        raise ValueError(
            format_error(
                "probabilities must lie in [0, 1].",
                received=(float(probabilities.min()), float(probabilities.max())),
                fix="apply softmax to logits before computing metrics",
            )
        )

    row_sums = probabilities.sum(axis=1, dtype=np.float64)
    bad_rows = np.flatnonzero(np.abs(row_sums - 1.0) > _ROW_SUM_TOLERANCE)
    if bad_rows.size:
        first = int(bad_rows[0])
        raise ValueError(
            format_error(
                f"Each row of probabilities must sum to 1, but {bad_rows.size} rows do not; "
                f"row {first} sums to {row_sums[first]:.6g}.",
                fix="apply softmax to logits before computing metrics",
            )
        )


def _averaged_scores(y_true, y_pred, class_indices):
    scores = {}
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=class_indices, average=average, zero_division=0
        )
        scores[f"{average}_precision"] = float(precision)
        scores[f"{average}_recall"] = float(recall)
        scores[f"{average}_f1"] = float(f1)
    return scores


def _per_class_auc(y_true, probabilities):
    """Return the one-vs-rest ROC-AUC and average precision of each class, None where undefined."""
    num_examples, num_classes = probabilities.shape
    roc_auc = [None] * num_classes
    pr_auc = [None] * num_classes

    for index in range(num_classes):
        is_positive = (y_true == index).astype(np.int64)
        num_positive = int(is_positive.sum())
        if num_positive == 0:
            continue

        scores = probabilities[:, index]
        pr_auc[index] = float(average_precision_score(is_positive, scores))
        if num_positive < num_examples:
            roc_auc[index] = float(roc_auc_score(is_positive, scores))
    return roc_auc, pr_auc


def _macro_roc_auc(y_true, probabilities, roc_auc_per_class):
    if probabilities.shape[1] == 2:
        if len(np.unique(y_true)) < 2:
            return None
        return float(roc_auc_score(y_true, probabilities[:, 1]))
    return _mean_of_defined(roc_auc_per_class)


def _mean_of_defined(values):
    defined = [value for value in values if value is not None]
    if not defined:
        return None
    return float(np.mean(defined))


def _warn_undefined_auc(y_true, labels):
    present = set(np.unique(y_true).tolist())
    absent = [name for index, name in enumerate(labels) if index not in present]

    if absent:
        warnings.warn(
            f"ROC-AUC and PR-AUC are undefined for classes with no examples in y_true: "
            f"{absent}. Their per-class values are None, and the macro averages roc_auc "
            f"and pr_auc leave them out.",
            UndefinedAUCWarning,
            stacklevel=3,
        )
    if len(present) == 1:
        only = labels[present.pop()]
        warnings.warn(
            f"Only class {only!r} occurs in y_true, so ROC-AUC is undefined for every "
            f"class and roc_auc is None.",
            UndefinedAUCWarning,
            stacklevel=3,
        )

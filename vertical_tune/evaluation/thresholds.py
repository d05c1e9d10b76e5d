"""Decision thresholds for binary classification and one class of a multi-class task.

An example is predicted positive when its score is >= the threshold, the same rule
`sklearn.metrics.precision_recall_curve` uses, so the precision and recall of an
`OperatingPoint` equal `precision_score` and `recall_score` of the thresholded labels.
"""

import dataclasses

import numpy as np
from sklearn.metrics import precision_recall_curve

from vertical_tune.errors import format_error
from vertical_tune.evaluation.metrics import _validate_label_names, _validate_predictions


@dataclasses.dataclass(frozen=True)
class OperatingPoint:
    """A decision threshold and the scores it gives on the examples it was chosen on.

    Attributes:
        threshold: score at or above which an example is predicted positive.
        precision: precision of the positive class at `threshold`.
        recall: recall of the positive class at `threshold`.
        f1: F1 score of the positive class at `threshold`.
        rule: the rule that chose the threshold: `"max_f1"`, `"min_recall=<x>"` or
            `"min_precision=<x>"`.
        support: number of positive examples.
        n: number of examples.
    """

    threshold: float
    precision: float
    recall: float
    f1: float
    rule: str
    support: int
    n: int

    def to_dict(self):
        """Return the fields as a dict of Python floats, ints and strings."""
        return dataclasses.asdict(self)


def choose_threshold(y_true_binary, scores, *, target="f1", min_recall=None, min_precision=None):
    """Choose the decision threshold of a binary classifier by one rule.

    The rule is `min_recall` or `min_precision` when one of them is given, otherwise
    `target="f1"`. Candidate thresholds are the distinct scores, as returned by
    `precision_recall_curve`.

    - `target="f1"`: the threshold with the maximum F1.
    - `min_recall=x`: among thresholds with recall >= x, the one with the maximum
      precision. Precision need not increase with the threshold, so this can be
      lower than the highest threshold that meets the recall target.
    - `min_precision=x`: among thresholds with precision >= x, the one with the
      maximum recall.

    Ties go to the higher precision and then to the higher threshold.

    Args:
        y_true_binary: array-like of 0/1 or bool, shape (n,). 1 marks a positive.
            At least one example must be positive.
        scores: array-like of float, shape (n,). Larger means more likely positive,
            e.g. the probability of the positive class.
        target: `"f1"`, the only target that needs no value.
        min_recall: float in [0, 1] or None. Recall the threshold must reach.
        min_precision: float in [0, 1] or None. Precision the threshold must reach.

    Returns:
        The chosen `OperatingPoint`.

    Raises:
        ValueError: the inputs are invalid, more than one rule is given, or no
            threshold reaches the target. The last message names the target and the
            best value any threshold reaches.

    Example:

    >>> point = choose_threshold([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], min_precision=1.0)
    >>> point.threshold, point.recall
    (0.9, 0.5)
    """
    rule_name, limit = _validate_rule(target, min_recall, min_precision)
    y_true_binary, scores = _validate_binary_inputs(y_true_binary, scores)

    precision, recall, thresholds = precision_recall_curve(y_true_binary, scores)
    # The last precision and recall pair (1, 0) belongs to no threshold.
    precision = precision[:-1]
    recall = recall[:-1]
    f1 = _safe_f1(precision, recall)

    if rule_name == "max_f1":
        index = _best_index(f1, precision, thresholds, eligible=np.ones_like(f1, dtype=bool))
        rule = "max_f1"
    elif rule_name == "min_recall":
        eligible = recall >= limit
        _raise_if_unreachable(eligible, "recall", limit, recall, thresholds)
        index = _best_index(precision, precision, thresholds, eligible)
        rule = f"min_recall={limit:g}"
    else:
        eligible = precision >= limit
        _raise_if_unreachable(eligible, "precision", limit, precision, thresholds)
        index = _best_index(recall, precision, thresholds, eligible)
        rule = f"min_precision={limit:g}"

    return OperatingPoint(
        threshold=float(thresholds[index]),
        precision=float(precision[index]),
        recall=float(recall[index]),
        f1=float(f1[index]),
        rule=rule,
        support=int(y_true_binary.sum()),
        n=int(len(y_true_binary)),
    )


def predict_with_threshold(probabilities, *, positive_index, threshold):
    """Predict class indices with a decision threshold on one class.

    An example is predicted as `positive_index` when its probability is >=
    `threshold`, and otherwise as the most probable of the other classes. With two
    classes this is the usual binary threshold; with more, it is a one-vs-rest
    threshold on the class that matters most (e.g. the one whose recall must reach
    a target), and the recall and precision of that class are those of
    `choose_threshold` on its one-vs-rest scores.

    Args:
        probabilities: array-like of float, shape (n, k) with k >= 2. Predicted
            class probabilities.
        positive_index: int in [0, k). Column of the thresholded class.
        threshold: float. Probability at or above which an example is predicted
            as `positive_index`.

    Returns:
        numpy array of int64, shape (n,).

    Raises:
        ValueError: `probabilities` does not have shape (n, k) with k >= 2,
            `positive_index` is not a column index, or `threshold` is not a finite
            number.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        raise ValueError(
            format_error(
                f"probabilities must have shape (n, k) with k >= 2, but it has shape {probabilities.shape}.",
                fix="pass one row of class probabilities per example",
            )
        )
    num_classes = probabilities.shape[1]
    if isinstance(positive_index, bool) or not isinstance(positive_index, (int, np.integer)) or not 0 <= positive_index < num_classes:
        raise ValueError(
            format_error(
                "positive_index must be a column index of probabilities.",
                received=positive_index,
                expected=f"an integer in [0, {num_classes})",
            )
        )
    if isinstance(threshold, bool) or not np.isfinite(threshold):
        raise ValueError(format_error("threshold must be a finite number.", received=threshold))

    others = probabilities.copy()
    others[:, positive_index] = -np.inf
    is_positive = probabilities[:, positive_index] >= threshold
    return np.where(is_positive, positive_index, others.argmax(axis=1)).astype(np.int64)


def apply_decision(probabilities, decision):
    """Return the predicted class indices of a model's saved decision rule.

    Args:
        probabilities: array-like of float, shape (n, k).
        decision: the content of a run's `threshold.json` (a dict with
            `positive_index` and `threshold`), or None for the argmax.

    Returns:
        numpy array of int64, shape (n,).
    """
    if not decision:
        return np.asarray(probabilities).argmax(axis=1).astype(np.int64)
    return predict_with_threshold(
        probabilities, positive_index=int(decision["positive_index"]), threshold=float(decision["threshold"])
    )


def one_vs_rest_points(y_true, probabilities, label_names, **rule):
    """Choose one operating point per class, treating that class as positive and the rest as negative.

    Args:
        y_true: array-like of int, shape (n,). True class indices in `[0, k)`.
        probabilities: array-like of float, shape (n, k). Predicted class probabilities.
        label_names: sequence of k distinct label names in class-index order.
        **rule: keyword arguments of `choose_threshold` (`target`, `min_recall` or
            `min_precision`), applied to every class.

    Returns:
        `{label: OperatingPoint}` in class-index order.

    Raises:
        ValueError: the inputs are invalid, or a class has no examples or cannot
            reach the target. The message names the class.
    """
    labels = _validate_label_names(label_names)
    y_true, probabilities = _validate_predictions(y_true, probabilities, len(labels))

    points = {}
    for index, name in enumerate(labels):
        try:
            points[name] = choose_threshold(y_true == index, probabilities[:, index], **rule)
        except ValueError as error:
            raise ValueError(f"Class {name!r} (index {index}): {error}") from error
    return points


def _validate_rule(target, min_recall, min_precision):
    constraints = {}
    if min_recall is not None:
        constraints["min_recall"] = min_recall
    if min_precision is not None:
        constraints["min_precision"] = min_precision

    if len(constraints) > 1:
        raise ValueError(
            format_error(
                "Pass at most one of min_recall and min_precision.",
                received=constraints,
                fix="keep the constraint that matters; the other metric is then maximised",
            )
        )
    if target != "f1":
        raise ValueError(
            format_error(
                "target must be 'f1'.",
                received=target,
                fix="use min_recall=... or min_precision=... for the other rules",
            )
        )
    if not constraints:
        return "max_f1", None

    name, limit = constraints.popitem()
    if isinstance(limit, bool) or not isinstance(limit, (int, float, np.floating)) or not 0 <= limit <= 1:
        raise ValueError(
            format_error(f"{name} must be a number in [0, 1].", received=limit, expected="e.g. 0.95")
        )
    return name, float(limit)


def _validate_binary_inputs(y_true_binary, scores):
    y_true_binary = np.asarray(y_true_binary)
    scores = np.asarray(scores, dtype=np.float64)
    if y_true_binary.ndim != 1 or scores.ndim != 1 or y_true_binary.shape != scores.shape:
        raise ValueError(
            format_error(
                f"y_true_binary and scores must be 1-D arrays of the same length, but they "
                f"have shapes {y_true_binary.shape} and {scores.shape}.",
                fix="pass one label and one score per example",
            )
        )

    values = np.unique(y_true_binary)
    if not np.isin(values, [0, 1]).all():
        raise ValueError(
            format_error(
                "y_true_binary must contain only 0 and 1 (or False and True).",
                received=values[:10].tolist(),
                fix="compare class indices with the positive class, e.g. `y_true == 1`",
            )
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contains NaN or infinite values.")
    if not (values == 1).any():
        raise ValueError(
            "y_true_binary contains no positive example, so recall is undefined "
            "and no threshold can be chosen."
        )
    return y_true_binary.astype(np.int64), scores


def _safe_f1(precision, recall):
    total = precision + recall
    return np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)


def _best_index(objective, precision, thresholds, eligible):
    """Return the eligible index with the max objective, then the max precision, then the max threshold."""
    candidates = np.flatnonzero(eligible)
    # np.lexsort sorts by the last key first, in ascending order.
    order = np.lexsort((thresholds[candidates], precision[candidates], objective[candidates]))
    return candidates[order[-1]]


def _raise_if_unreachable(eligible, metric, limit, values, thresholds):
    if eligible.any():
        return

    best = int(np.argmax(values))
    raise ValueError(
        format_error(
            f"No threshold reaches {metric} >= {limit:g}. The maximum {metric} of any "
            f"threshold is {values[best]:.4g}, at threshold {thresholds[best]:.4g}.",
            fix=f"lower min_{metric} to at most {values[best]:.4g}, or improve the model",
        )
    )

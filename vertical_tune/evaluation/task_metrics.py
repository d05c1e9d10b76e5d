"""Regression and multi-label metrics for the tasks of a multi-task model.

Multiclass and binary tasks use `classification_metrics` from `metrics.py`. Both
functions here return plain Python floats, ints, strings, lists and None, so
`json.dumps` accepts the result.

Undefined-value policy, as in `metrics.py`:

- Precision, recall and F1 use `zero_division=0`.
- A value that the data cannot define (R² of a constant target, ROC-AUC of a label
  column without both classes) is None. Macro averages of ROC-AUC use the labels
  where it is defined, and an `UndefinedAUCWarning` names the others.
"""

import warnings

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    hamming_loss,
    mean_absolute_error,
    precision_recall_fscore_support,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

from vertical_tune.errors import format_error
from vertical_tune.evaluation.metrics import UndefinedAUCWarning


def regression_metrics(y_true, y_pred):
    """Compute MAE, RMSE, R² and Spearman correlation of predicted values.

    MAE, RMSE and R² come from scikit-learn and Spearman's rank correlation from
    `scipy.stats.spearmanr`.

    Args:
        y_true: array-like of float, shape (n,) or (n, 1). True values of the
            labelled rows.
        y_pred: array-like of float, same shape as `y_true`. Predicted values.

    Returns:
        A dict with keys `n_examples`, `mae`, `rmse`, `r2`, `mean_true`, `mean_pred`
        and `spearman`. `r2` is None with fewer than 2 rows or a constant `y_true`.
        `spearman` is None with fewer than 2 rows or when either array is constant.

    Raises:
        ValueError: the arrays are empty, differ in length, are not numeric, or
            contain NaN or infinite values.

    Example:

    >>> metrics = regression_metrics([1.0, 2.0, 4.0], [1.5, 2.0, 3.0])
    >>> metrics["mae"], metrics["spearman"]
    (0.5, 1.0)
    """
    y_true = _as_value_vector(y_true, "y_true")
    y_pred = _as_value_vector(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            format_error(
                f"y_true and y_pred have different lengths: {y_true.shape[0]} and {y_pred.shape[0]}.",
                fix="pass the true and predicted values of the same rows",
            )
        )

    num_examples = int(y_true.shape[0])
    true_is_constant = bool(np.all(y_true == y_true[0]))
    pred_is_constant = bool(np.all(y_pred == y_pred[0]))
    r2 = None
    if num_examples >= 2 and not true_is_constant:
        r2 = float(r2_score(y_true, y_pred))
    spearman = None
    if num_examples >= 2 and not true_is_constant and not pred_is_constant:
        spearman = float(spearmanr(y_true, y_pred).statistic)

    return {
        "n_examples": num_examples,
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "r2": r2,
        "mean_true": float(np.mean(y_true)),
        "mean_pred": float(np.mean(y_pred)),
        "spearman": spearman,
    }


def multilabel_metrics(y_true, probabilities, label_names, threshold=0.5):
    """Compute subset accuracy, Hamming loss, F1 scores and ROC-AUC of independent labels.

    A label is predicted for a row when its probability is greater than or equal to
    `threshold`. Every value comes from scikit-learn with `zero_division=0`, so a row
    with no true and no predicted labels scores 0 in `samples_f1`.

    Args:
        y_true: array-like of 0/1, shape (n, L). True label indicators.
        probabilities: array-like of float in [0, 1], shape (n, L). One sigmoid
            output per label.
        label_names: sequence of L distinct label names in column order. Names that
            are not strings are converted with `str`.
        threshold: float in [0, 1]. Decision threshold. Defaults to 0.5.

    Returns:
        A dict with keys `n_examples`, `threshold`, `subset_accuracy` (exact match
        of all labels of a row), `hamming_loss`, `micro_precision`, `micro_recall`,
        `micro_f1`, `macro_precision`, `macro_recall`, `macro_f1`, `samples_f1`,
        `roc_auc`, `labels` and `per_label`: {name: {precision, recall, f1, support,
        roc_auc}}, where `support` counts the positive rows. A label's ROC-AUC is None
        when its column lacks 0s or 1s, and `roc_auc` is the mean over the other
        labels, or None when every label's is None.

    Raises:
        ValueError: the shapes disagree, `y_true` contains values other than 0 and
            1, or the probabilities or threshold lie outside [0, 1].
    """
    labels = _validate_multilabel_names(label_names)
    y_true, probabilities = _validate_multilabel_arrays(y_true, probabilities, len(labels))
    threshold = _validate_threshold(threshold)
    y_pred = (probabilities >= threshold).astype(np.int64)

    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, average=None, zero_division=0
    )
    roc_auc_per_label = [
        _binary_roc_auc(y_true[:, index], probabilities[:, index]) for index in range(len(labels))
    ]
    undefined = [name for name, value in zip(labels, roc_auc_per_label) if value is None]
    if undefined:
        warnings.warn(
            f"ROC-AUC is undefined for labels whose column in y_true lacks 0s or 1s: {undefined}. "
            f"Their per-label values are None, and roc_auc leaves them out.",
            UndefinedAUCWarning,
            stacklevel=2,
        )

    per_label = {
        name: {
            "precision": float(precision[index]),
            "recall": float(recall[index]),
            "f1": float(f1[index]),
            "support": int(support[index]),
            "roc_auc": roc_auc_per_label[index],
        }
        for index, name in enumerate(labels)
    }
    defined = [value for value in roc_auc_per_label if value is not None]

    return {
        "n_examples": int(y_true.shape[0]),
        "threshold": threshold,
        "subset_accuracy": float(accuracy_score(y_true, y_pred)),
        "hamming_loss": float(hamming_loss(y_true, y_pred)),
        **_averaged_scores(y_true, y_pred),
        "samples_f1": float(f1_score(y_true, y_pred, average="samples", zero_division=0)),
        "roc_auc": float(np.mean(defined)) if defined else None,
        "labels": labels,
        "per_label": per_label,
    }


def _as_value_vector(values, name):
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            format_error(f"{name} must contain numbers.", received=np.asarray(values).ravel()[:5].tolist())
        ) from None

    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            format_error(
                f"{name} must have shape (n,) or (n, 1), but it has shape {array.shape}.",
                fix="pass one value per row",
            )
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty, but metrics need at least one labelled row.")
    if not np.all(np.isfinite(array)):
        bad_rows = np.flatnonzero(~np.isfinite(array))
        raise ValueError(
            format_error(
                f"{name} contains NaN or infinite values in {bad_rows.size} rows.",
                where=f"rows {bad_rows[:10].tolist()}",
                fix="drop unlabelled rows before computing metrics",
            )
        )
    return array


def _validate_multilabel_names(label_names):
    labels = [str(name) for name in label_names]
    if not labels:
        raise ValueError("label_names is empty. Pass one name per column of y_true.")

    duplicates = sorted({name for name in labels if labels.count(name) > 1})
    if duplicates:
        raise ValueError(
            format_error(
                f"label_names must be distinct, but {duplicates} occur more than once.",
                received=labels,
            )
        )
    return labels


def _validate_multilabel_arrays(y_true, probabilities, num_labels):
    y_true = np.asarray(y_true)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    expected = f"shape (n, {num_labels}): one row per example and one column per name in label_names"
    for name, array in (("y_true", y_true), ("probabilities", probabilities)):
        if array.ndim != 2 or array.shape[1] != num_labels:
            raise ValueError(format_error(f"{name} has shape {array.shape}.", expected=expected))
    if y_true.shape[0] != probabilities.shape[0]:
        raise ValueError(
            f"y_true and probabilities have different numbers of rows: "
            f"{y_true.shape[0]} and {probabilities.shape[0]}."
        )
    if y_true.shape[0] == 0:
        raise ValueError("y_true is empty, but metrics need at least one labelled row.")

    invalid = np.unique(y_true[(y_true != 0) & (y_true != 1)])
    if invalid.size:
        raise ValueError(
            format_error("y_true must contain only 0 and 1.", received=invalid[:10].tolist())
        )
    if not np.all(np.isfinite(probabilities)):
        raise ValueError("probabilities contains NaN or infinite values.")
    if probabilities.min() < 0 or probabilities.max() > 1:
        raise ValueError(
            format_error(
                "probabilities must lie in [0, 1].",
                received=(float(probabilities.min()), float(probabilities.max())),
                fix="apply a sigmoid to the logits of each label before computing metrics",
            )
        )
    return y_true.astype(np.int64), probabilities


def _validate_threshold(threshold):
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating, np.integer)):
        raise ValueError(format_error("threshold must be a number in [0, 1].", received=threshold))
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(format_error("threshold must lie in [0, 1].", received=threshold))
    return float(threshold)


def _averaged_scores(y_true, y_pred):
    scores = {}
    for average in ("micro", "macro"):
        precision, recall, f1, _ = precision_recall_fscore_support(
            y_true, y_pred, average=average, zero_division=0
        )
        scores[f"{average}_precision"] = float(precision)
        scores[f"{average}_recall"] = float(recall)
        scores[f"{average}_f1"] = float(f1)
    return scores


def _binary_roc_auc(y_true_column, scores):
    if np.unique(y_true_column).size < 2:
        return None
    return float(roc_auc_score(y_true_column, scores))

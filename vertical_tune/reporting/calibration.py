"""Calibration of predicted probabilities: reliability bins and expected calibration error."""

import numpy as np

from vertical_tune.errors import format_error


def reliability_bins(y_true, probabilities, bins=10):
    """Group predictions by confidence into equal-width bins over [0, 1].

    The confidence of an example is the largest probability of its row, and the
    prediction is correct when that column is the true class. Bin `i` contains the
    confidences in `(edges[i], edges[i + 1]]`, and the first bin also contains 0.

    Args:
        y_true: array-like of int, shape (n,). True class indices.
        probabilities: array-like of float, shape (n, k). Predicted class probabilities.
        bins: int. Number of bins, at least 1. Defaults to 10.

    Returns:
        dict of numpy arrays: `edges` (bins + 1 floats), `count` (examples per bin),
        `confidence` (mean confidence per bin) and `accuracy` (fraction correct per
        bin). `confidence` and `accuracy` are NaN in an empty bin.

    Raises:
        ValueError: the shapes do not match, or `bins` is not a positive int.
    """
    y_true, probabilities = _check_inputs(y_true, probabilities, bins)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == y_true

    edges = np.linspace(0.0, 1.0, bins + 1)
    # side="left" counts the inner edges strictly below each confidence, which puts a
    # confidence equal to an edge into the bin that the edge closes.
    index = np.searchsorted(edges[1:-1], confidence, side="left")

    count = np.bincount(index, minlength=bins)
    confidence_sum = np.bincount(index, weights=confidence, minlength=bins)
    correct_sum = np.bincount(index, weights=correct.astype(np.float64), minlength=bins)
    mean_confidence = np.full(bins, np.nan)
    accuracy = np.full(bins, np.nan)
    filled = count > 0
    mean_confidence[filled] = confidence_sum[filled] / count[filled]
    accuracy[filled] = correct_sum[filled] / count[filled]
    return {"edges": edges, "count": count, "confidence": mean_confidence, "accuracy": accuracy}


def expected_calibration_error(y_true, probabilities, bins=10):
    """Compute the expected calibration error (ECE) of the predicted class.

    ECE is the sum over the bins of `reliability_bins` of (examples in the bin / n)
    times |accuracy - mean confidence| of the bin. It is 0 for a perfectly calibrated
    model and at most 1.

    Args:
        y_true: array-like of int, shape (n,). True class indices.
        probabilities: array-like of float, shape (n, k). Predicted class probabilities.
        bins: int. Number of equal-width confidence bins. Defaults to 10.

    Returns:
        float.
    """
    table = reliability_bins(y_true, probabilities, bins)
    filled = table["count"] > 0
    weights = table["count"][filled] / table["count"].sum()
    gaps = np.abs(table["accuracy"][filled] - table["confidence"][filled])
    return float(np.sum(weights * gaps))


def _check_inputs(y_true, probabilities, bins):
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(format_error("bins must be a positive int.", received=bins))
    y_true = np.asarray(y_true)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[0] == 0:
        raise ValueError(
            format_error(
                "probabilities must have shape (n, k) with n > 0.", received=f"shape {probabilities.shape}"
            )
        )
    if y_true.shape != (probabilities.shape[0],):
        raise ValueError(
            format_error(
                "y_true must have one class index per row of probabilities.",
                received=f"y_true shape {y_true.shape}, probabilities shape {probabilities.shape}",
            )
        )
    return y_true, probabilities

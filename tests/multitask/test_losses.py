"""Masked per-task losses against the same formulas written out in numpy."""

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from vertical_tune.training.losses import (
    masked_classification_loss,
    masked_multilabel_loss,
    masked_regression_loss,
)

LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 3.0, 0.0], [1.0, 1.0, 1.0]], dtype="float32")
CLASSES = np.array([0, -1, 1, 2])

MULTI_LOGITS = np.array([[1.5, -0.5], [0.0, 2.0], [-2.0, 0.3]], dtype="float32")
MULTI_TRUE = np.array([[1, 0], [-1, 1], [0, -1]], dtype="float32")


def to_float(tensor):
    return float(ops.convert_to_numpy(tensor))


def softmax_cross_entropy(logits, classes):
    log_probabilities = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -log_probabilities[np.arange(len(classes)), classes]


def sigmoid_cross_entropy(logits, y):
    probability = 1.0 / (1.0 + np.exp(-logits))
    return -(y * np.log(probability) + (1 - y) * np.log(1 - probability))


def test_classification_skips_masked_rows():
    labelled = CLASSES >= 0
    expected = softmax_cross_entropy(LOGITS[labelled], CLASSES[labelled]).mean()

    loss = masked_classification_loss(CLASSES, LOGITS)

    assert to_float(loss) == pytest.approx(expected, rel=1e-5)


def test_classification_class_weights_scale_each_row():
    weights = np.array([0.5, 2.0, 3.0])
    labelled = CLASSES >= 0
    per_row = softmax_cross_entropy(LOGITS[labelled], CLASSES[labelled]) * weights[CLASSES[labelled]]
    # The mean is over labelled rows, not over the sum of their weights.
    expected = per_row.sum() / labelled.sum()

    loss = masked_classification_loss(CLASSES, LOGITS, class_weights=weights)

    assert to_float(loss) == pytest.approx(expected, rel=1e-5)


def test_classification_focal_loss():
    gamma = 2.0
    labelled = CLASSES >= 0
    cross_entropy = softmax_cross_entropy(LOGITS[labelled], CLASSES[labelled])
    p_true = np.exp(-cross_entropy)
    expected = ((1 - p_true) ** gamma * cross_entropy).mean()

    loss = masked_classification_loss(CLASSES, LOGITS, focal_gamma=gamma)

    assert to_float(loss) == pytest.approx(expected, rel=1e-5)


def test_classification_focal_loss_with_class_weights():
    gamma, weights = 1.5, np.array([1.0, 4.0, 0.25])
    labelled = CLASSES >= 0
    cross_entropy = softmax_cross_entropy(LOGITS[labelled], CLASSES[labelled])
    focal = (1 - np.exp(-cross_entropy)) ** gamma * cross_entropy
    expected = (focal * weights[CLASSES[labelled]]).mean()

    loss = masked_classification_loss(CLASSES, LOGITS, class_weights=weights, focal_gamma=gamma)

    assert to_float(loss) == pytest.approx(expected, rel=1e-5)


def test_multilabel_skips_masked_cells():
    labelled = MULTI_TRUE >= 0
    expected = sigmoid_cross_entropy(MULTI_LOGITS, MULTI_TRUE)[labelled].mean()

    loss = masked_multilabel_loss(MULTI_TRUE, MULTI_LOGITS)

    assert to_float(loss) == pytest.approx(expected, rel=1e-5)


def test_multilabel_negative_and_positive_weights():
    weights = np.array([[0.5, 3.0], [2.0, 0.25]])  # (labels, [negative, positive])
    labelled = MULTI_TRUE >= 0
    cell_weights = np.where(MULTI_TRUE == 1, weights[:, 1], weights[:, 0])
    expected = (sigmoid_cross_entropy(MULTI_LOGITS, MULTI_TRUE) * cell_weights)[labelled].mean()

    loss = masked_multilabel_loss(MULTI_TRUE, MULTI_LOGITS, class_weights=weights)

    assert to_float(loss) == pytest.approx(expected, rel=1e-5)


def test_multilabel_focal_loss():
    gamma = 2.0
    labelled = MULTI_TRUE >= 0
    probability = 1.0 / (1.0 + np.exp(-MULTI_LOGITS))
    p_true = np.where(MULTI_TRUE == 1, probability, 1 - probability)
    focal = (1 - p_true) ** gamma * sigmoid_cross_entropy(MULTI_LOGITS, MULTI_TRUE)
    expected = focal[labelled].mean()

    loss = masked_multilabel_loss(MULTI_TRUE, MULTI_LOGITS, focal_gamma=gamma)

    assert to_float(loss) == pytest.approx(expected, rel=1e-5)


def test_multilabel_large_logits_stay_finite():
    logits = np.array([[80.0, -80.0]], dtype="float32")
    y = np.array([[0.0, 1.0]], dtype="float32")

    loss = masked_multilabel_loss(y, logits)

    assert to_float(loss) == pytest.approx(80.0, rel=1e-5)


def test_regression_scaled_squared_error_skips_nan():
    y_true = np.array([1.0, np.nan, 4.0, 10.0], dtype="float32")
    y_pred = np.array([[2.0], [100.0], [4.5], [7.0]], dtype="float32")
    scale = 2.5
    labelled = ~np.isnan(y_true)
    expected = (((y_pred[:, 0] - y_true) / scale) ** 2)[labelled].mean()

    loss = masked_regression_loss(y_true, y_pred, scale=scale)

    assert to_float(loss) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "loss_function, y_true, prediction",
    [
        (masked_classification_loss, np.array([-1, -1]), LOGITS[:2]),
        (masked_multilabel_loss, np.full((2, 2), -1.0, dtype="float32"), MULTI_LOGITS[:2]),
        (masked_regression_loss, np.array([np.nan, np.nan], dtype="float32"), np.ones((2, 1), dtype="float32")),
    ],
    ids=["classification", "multilabel", "regression"],
)
def test_all_masked_batch_gives_zero_and_zero_gradient(loss_function, y_true, prediction):
    prediction = tf.Variable(prediction)

    with tf.GradientTape() as tape:
        loss = loss_function(y_true, prediction)
    gradient = tape.gradient(loss, prediction).numpy()

    assert to_float(loss) == 0.0
    assert np.all(gradient == 0.0)


def test_masked_rows_get_no_gradient():
    logits = tf.Variable(LOGITS)

    with tf.GradientTape() as tape:
        loss = masked_classification_loss(CLASSES, logits, focal_gamma=2.0)
    gradient = tape.gradient(loss, logits).numpy()

    assert np.all(np.isfinite(gradient))
    assert np.all(gradient[1] == 0.0)
    assert np.any(gradient[0] != 0.0)


def test_nan_target_gives_finite_regression_gradient():
    y_pred = tf.Variable(np.array([[2.0], [3.0]], dtype="float32"))

    with tf.GradientTape() as tape:
        loss = masked_regression_loss(np.array([1.0, np.nan], dtype="float32"), y_pred)
    gradient = tape.gradient(loss, y_pred).numpy()

    np.testing.assert_allclose(gradient, [[2.0], [0.0]])

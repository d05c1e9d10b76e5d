"""Masked per-task losses: rows without a label for a task add nothing to its loss.

Each function returns the mean loss over the labelled entries of the batch (0 when
none is labelled), so a task with many blank labels is not diluted by them. Class
weights and the focal term act per entry, inside the loss, which is how several
outputs can each have their own class weighting.
"""

import keras
from keras import ops


def masked_classification_loss(y_true, logits, *, class_weights=None, focal_gamma=None):
    """Softmax cross-entropy (or focal loss) over rows whose class index is not -1.

    Args:
        y_true: int tensor (batch,). Class indices, -1 for a missing label.
        logits: float tensor (batch, num_classes).
        class_weights: sequence of float or None. Weight of each class.
        focal_gamma: float or None. Focal loss focusing parameter.
    """
    y_true = ops.reshape(ops.cast(y_true, "int32"), (-1,))
    logits = ops.cast(logits, "float32")
    mask = ops.cast(y_true >= 0, "float32")
    safe = ops.maximum(y_true, 0)
    losses = keras.losses.sparse_categorical_crossentropy(safe, logits, from_logits=True)
    if focal_gamma:
        p_true = ops.exp(-losses)
        losses = ops.power(1.0 - p_true, focal_gamma) * losses
    if class_weights is not None:
        losses = losses * ops.take(ops.convert_to_tensor(class_weights, "float32"), safe)
    return _masked_mean(losses, mask)


def masked_multilabel_loss(y_true, logits, *, class_weights=None, focal_gamma=None):
    """Sigmoid cross-entropy (or focal loss) per label over cells that are not -1.

    Args:
        y_true: float tensor (batch, labels) of 0/1, -1 for a missing cell.
        logits: float tensor (batch, labels).
        class_weights: array (labels, 2) or None. Weights of a negative and a
            positive cell of each label.
        focal_gamma: float or None.
    """
    y_true = ops.cast(y_true, "float32")
    logits = ops.cast(logits, "float32")
    mask = ops.cast(y_true >= 0, "float32")
    safe = ops.clip(y_true, 0.0, 1.0)
    # Stable form of -[y log(sigmoid(x)) + (1 - y) log(1 - sigmoid(x))].
    losses = ops.maximum(logits, 0.0) - logits * safe + ops.log1p(ops.exp(-ops.abs(logits)))
    if focal_gamma:
        probability = ops.sigmoid(logits)
        p_true = safe * probability + (1.0 - safe) * (1.0 - probability)
        losses = ops.power(1.0 - p_true, focal_gamma) * losses
    if class_weights is not None:
        weights = ops.convert_to_tensor(class_weights, "float32")
        losses = losses * (safe * weights[:, 1] + (1.0 - safe) * weights[:, 0])
    return _masked_mean(losses, mask)


def masked_regression_loss(y_true, y_pred, *, scale=1.0):
    """Mean squared error in units of `scale` over rows whose value is not NaN.

    Args:
        y_true: float tensor (batch,) or (batch, 1); NaN for a missing value.
        y_pred: float tensor (batch, 1).
        scale: float. The training standard deviation, so the loss is on the same
            footing as a cross-entropy whatever the unit of the target.
    """
    y_true = ops.reshape(ops.cast(y_true, "float32"), (-1,))
    y_pred = ops.reshape(ops.cast(y_pred, "float32"), (-1,))
    mask = ops.cast(ops.logical_not(ops.isnan(y_true)), "float32")
    safe = ops.where(mask > 0, y_true, y_pred)
    losses = ops.square((y_pred - safe) / scale)
    return _masked_mean(losses, mask)


def _masked_mean(losses, mask):
    return ops.sum(losses * mask) / ops.maximum(ops.sum(mask), 1.0)

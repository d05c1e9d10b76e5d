"""Report figures as PNG bytes, drawn with matplotlib's Agg canvas.

No function touches pyplot, so the caller's backend and figure list stay as they were
and nothing needs a display. Every figure draws with the CJK fallback fonts of
`vertical_tune.evaluation.fonts`, and a class label that no installed font can draw
is shown as its stand-in `class <index>`.
"""

import io
import math
import warnings

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

from vertical_tune.errors import format_error
from vertical_tune.evaluation.plots import _row_fractions, _shorten
from vertical_tune.evaluation import fonts
from vertical_tune.reporting.calibration import expected_calibration_error, reliability_bins

_DPI = 100
_PANEL_COLUMNS = 3


@fonts.with_fallback_fonts
def training_curves(history):
    """Draw one panel per metric family of a Keras training history.

    A family is a metric name with its `val_` counterpart, so `accuracy` and
    `val_accuracy` share a panel. The `loss` panel comes first.

    Args:
        history: dict mapping a metric name to its per-epoch values.

    Returns:
        PNG bytes, or None when `history` has no values to draw.
    """
    families = _metric_families(history)
    if not families:
        return None

    columns = min(_PANEL_COLUMNS, len(families))
    rows = math.ceil(len(families) / columns)
    figure = _new_figure(4.0 * columns, 3.0 * rows)
    for position, (family, keys) in enumerate(families.items(), start=1):
        axes = figure.add_subplot(rows, columns, position)
        for key in keys:
            values = history[key]
            epochs = np.arange(1, len(values) + 1)
            axes.plot(epochs, values, marker="o", markersize=3, label=key)
        axes.set_title(family)
        axes.set_xlabel("Epoch")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    return _png_bytes(figure)


@fonts.with_fallback_fonts
def confusion_heatmaps(matrix, labels):
    """Draw the confusion matrix twice: raw counts and fractions of each true label.

    Args:
        matrix: array-like of int, shape (k, k). Rows are true labels, columns predicted.
        labels: sequence of k label names in class-index order.

    Returns:
        PNG bytes.
    """
    counts = np.asarray(matrix)
    labels = fonts.figure_labels(labels)
    fractions = _row_fractions(counts)
    side = min(3.5 + 0.45 * len(labels), 14.0)
    figure = _new_figure(2 * side + 1.5, side)
    font_family = fonts.font_families()

    panels = (
        ("Counts", counts, max(1, int(counts.max())), lambda row, column: str(int(counts[row, column]))),
        ("Fraction of true label", fractions, 1.0, lambda row, column: f"{fractions[row, column]:.0%}"),
    )
    for position, (title, shading, color_max, cell_text) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, 2, position)
        image = axes.imshow(shading, cmap="Blues", vmin=0.0, vmax=color_max)
        figure.colorbar(image, ax=axes, shrink=0.8)
        _label_matrix_axes(axes, labels, font_family)
        axes.set_title(title)
        if len(labels) <= 25:
            for row, column in np.ndindex(counts.shape):
                dark = shading[row, column] > 0.5 * color_max
                axes.text(
                    column,
                    row,
                    cell_text(row, column),
                    ha="center",
                    va="center",
                    fontsize=9,
                    color="white" if dark else "black",
                )
    return _png_bytes(figure)


@fonts.with_fallback_fonts
def roc_curves(y_true, probabilities, labels, operating_point=None):
    """Draw one-vs-rest ROC curves with their AUC in the legend.

    A binary problem gets only the curve of its positive class: the operating point's
    `positive_label`, else class index 1. A class with no examples, or with every
    example, has no ROC curve and is listed in the legend as undefined.

    Args:
        y_true: array-like of int, shape (n,). True class indices.
        probabilities: array-like of float, shape (n, k).
        labels: sequence of k label names.
        operating_point: dict with `threshold`, `precision`, `recall`, optionally
            `rule` and `positive_label` (class index 1 when missing), or None. When
            given, the point is marked on the positive class's curve. An example is
            predicted positive when its probability is >= `threshold`.

    Returns:
        PNG bytes.
    """
    y_true, probabilities, labels = _as_arrays(y_true, probabilities, labels)
    shown_labels = fonts.figure_labels(labels)
    figure = _new_figure(6.0, 5.0)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)

    for index in _curve_classes(labels, operating_point):
        is_class = y_true == index
        name = _shorten(shown_labels[index])
        if is_class.all() or not is_class.any():
            axes.plot([], [], label=f"{name} (AUC undefined)")
            continue
        false_positive_rate, true_positive_rate, _ = roc_curve(is_class, probabilities[:, index])
        area = auc(false_positive_rate, true_positive_rate)
        axes.plot(false_positive_rate, true_positive_rate, label=f"{name} (AUC {area:.3f})")

    if operating_point is not None:
        positive = _positive_index(labels, operating_point)
        predicted_positive = probabilities[:, positive] >= operating_point["threshold"]
        negatives = y_true != positive
        false_positive_rate = (predicted_positive & negatives).sum() / max(1, negatives.sum())
        _mark_operating_point(axes, false_positive_rate, operating_point["recall"], operating_point)

    _finish_curve_axes(axes, "False positive rate", "True positive rate", "ROC curves (one-vs-rest)", labels)
    return _png_bytes(figure)


@fonts.with_fallback_fonts
def pr_curves(y_true, probabilities, labels, operating_point=None):
    """Draw one-vs-rest precision-recall curves with average precision (AP) in the legend.

    Classes are chosen as in `roc_curves`. A class with no examples has no curve.

    Args:
        y_true: array-like of int, shape (n,). True class indices.
        probabilities: array-like of float, shape (n, k).
        labels: sequence of k label names.
        operating_point: dict as in `roc_curves`, or None.

    Returns:
        PNG bytes.
    """
    y_true, probabilities, labels = _as_arrays(y_true, probabilities, labels)
    shown_labels = fonts.figure_labels(labels)
    figure = _new_figure(6.0, 5.0)
    axes = figure.add_subplot()

    for index in _curve_classes(labels, operating_point):
        is_class = y_true == index
        name = _shorten(shown_labels[index])
        if not is_class.any():
            axes.plot([], [], label=f"{name} (AP undefined)")
            continue
        precision, recall, _ = precision_recall_curve(is_class, probabilities[:, index])
        average_precision = average_precision_score(is_class, probabilities[:, index])
        axes.plot(recall, precision, drawstyle="steps-post", label=f"{name} (AP {average_precision:.3f})")

    if operating_point is not None:
        _mark_operating_point(axes, operating_point["recall"], operating_point["precision"], operating_point)

    _finish_curve_axes(axes, "Recall", "Precision", "Precision-recall curves (one-vs-rest)", labels)
    return _png_bytes(figure)


@fonts.with_fallback_fonts
def reliability_diagram(y_true, probabilities, bins=10):
    """Draw accuracy against confidence of the predicted class, per confidence bin.

    Each bar is one of `bins` equal-width bins and is labelled with its example
    count. The dashed diagonal is perfect calibration, and the title gives the
    expected calibration error.

    Args:
        y_true: array-like of int, shape (n,). True class indices.
        probabilities: array-like of float, shape (n, k).
        bins: int. Number of bins. Defaults to 10.

    Returns:
        PNG bytes.
    """
    table = reliability_bins(y_true, probabilities, bins)
    error = expected_calibration_error(y_true, probabilities, bins)
    edges = table["edges"]
    width = edges[1] - edges[0]
    centers = edges[:-1] + width / 2
    accuracy = np.nan_to_num(table["accuracy"])

    figure = _new_figure(6.0, 5.0)
    axes = figure.add_subplot()
    bars = axes.bar(centers, accuracy, width=width * 0.9, edgecolor="black", alpha=0.8, label="Accuracy")
    filled = table["count"] > 0
    axes.plot(centers[filled], table["confidence"][filled], "o", color="tab:red", label="Mean confidence")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="Perfect calibration")
    for bar, count in zip(bars, table["count"]):
        if count:
            axes.annotate(
                str(int(count)),
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.08)
    axes.set_xlabel("Confidence of the predicted class")
    axes.set_ylabel("Accuracy")
    axes.set_title(f"Reliability diagram (ECE {error:.3f})")
    axes.legend(loc="upper left", fontsize=8)
    return _png_bytes(figure)


def _metric_families(history):
    families = {}
    for key, values in (history or {}).items():
        if not _is_numeric_series(values):
            continue
        family = key[len("val_"):] if key.startswith("val_") else key
        families.setdefault(family, []).append(key)
    ordered = {"loss": families.pop("loss")} if "loss" in families else {}
    ordered.update(families)
    return {family: sorted(keys, key=lambda key: key.startswith("val_")) for family, keys in ordered.items()}


def _is_numeric_series(values):
    if not isinstance(values, (list, tuple, np.ndarray)) or len(values) == 0:
        return False
    return all(isinstance(value, (int, float, np.number)) and not isinstance(value, bool) for value in values)


def _as_arrays(y_true, probabilities, labels):
    return np.asarray(y_true), np.asarray(probabilities, dtype=np.float64), [str(name) for name in labels]


def _curve_classes(labels, operating_point):
    if len(labels) != 2:
        return range(len(labels))
    return [_positive_index(labels, operating_point)]


def _positive_index(labels, operating_point):
    """Return the class index of the operating point's `positive_label`, or 1 when it has none."""
    if operating_point is None or operating_point.get("positive_label") is None:
        return 1
    name = str(operating_point["positive_label"])
    if name not in labels:
        raise ValueError(
            format_error(
                "The operating point's positive_label is not a class name.",
                received=name,
                expected=f"one of {labels}",
            )
        )
    return labels.index(name)


def _mark_operating_point(axes, x, y, operating_point):
    rule = operating_point.get("rule")
    text = f"threshold {operating_point['threshold']:.3f}" + (f" ({rule})" if rule else "")
    axes.plot([x], [y], marker="*", markersize=14, color="black", linestyle="none", label=text)


def _finish_curve_axes(axes, xlabel, ylabel, title, labels):
    axes.set_xlim(-0.01, 1.01)
    axes.set_ylim(-0.01, 1.01)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    legend = axes.legend(loc="lower right" if "ROC" in title else "lower left", fontsize=8)
    for text in legend.get_texts():
        text.set_family(fonts.font_families())


def _label_matrix_axes(axes, labels, font_family):
    names = [_shorten(name) for name in labels]
    rotate = len(names) > 6 or max(len(name) for name in names) > 8
    ticks = np.arange(len(names))
    axes.set_xticks(ticks)
    axes.set_xticklabels(
        names,
        family=font_family,
        rotation=45 if rotate else 0,
        ha="right" if rotate else "center",
        rotation_mode="anchor",
    )
    axes.set_yticks(ticks)
    axes.set_yticklabels(names, family=font_family)
    axes.set_xlabel("Predicted label")
    axes.set_ylabel("True label")


def _new_figure(width, height):
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png_bytes(figure):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Class labels that cannot be drawn are already stand-ins. Other texts, such as
        # history keys, may still be drawn as boxes, and the report tables show them.
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()

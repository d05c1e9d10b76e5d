"""Confusion-matrix figure rendered with matplotlib's Agg backend."""

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vertical_tune.evaluation._io import write_bytes_atomically
from vertical_tune.evaluation.fonts import figure_labels, with_fallback_fonts

_MAX_LABEL_CHARS = 24
# Above this many classes the cells are too small for readable counts.
_MAX_ANNOTATED_CLASSES = 25


def plot_confusion_matrix(matrix, label_names, path, *, normalize=True, title="Confusion matrix"):
    """Draw a confusion matrix and save it as a PNG file.

    Each cell shows its count. With `normalize=True` the shading is the count divided
    by its row total (the fraction of that true label), each cell also shows that
    fraction, and rows without examples stay blank. With `normalize=False` the shading
    is the raw count. Label names longer than 24 characters are shortened with "…",
    and x-axis labels are rotated when they are long or many.

    The figure is built without pyplot, so the caller's backend and pyplot's figure
    list are left untouched and nothing stays open after the call. The file is written
    atomically.

    Args:
        matrix: array-like of int, shape (k, k). Rows are true labels and columns
            are predicted labels.
        label_names: sequence of k label names in class-index order.
        path: str or path-like. Output PNG file; its directory must exist.
        normalize: bool. Shade by row-normalised fractions instead of counts.
            Defaults to True.
        title: str. Figure title.

    Returns:
        The `Path` written.

    Raises:
        ValueError: `matrix` is not square, or its size differs from the number of
            label names.
    """
    counts = np.asarray(matrix)
    labels = [str(name) for name in label_names]
    if counts.ndim != 2 or counts.shape != (len(labels), len(labels)):
        raise ValueError(
            f"matrix must have shape (k, k) with k = len(label_names) = {len(labels)}, "
            f"but it has shape {counts.shape}."
        )

    shading = _row_fractions(counts) if normalize else counts
    figure = _draw(counts, shading, labels, normalize=normalize, title=title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    return write_bytes_atomically(path, buffer.getvalue())


def _row_fractions(counts):
    row_totals = counts.sum(axis=1, keepdims=True)
    fractions = np.zeros(counts.shape, dtype=np.float64)
    np.divide(counts, row_totals, out=fractions, where=row_totals > 0)
    return fractions


@with_fallback_fonts
def _draw(counts, shading, labels, *, normalize, title):
    num_classes = len(labels)
    side = min(4.0 + 0.55 * num_classes, 30.0)
    figure = Figure(figsize=(side + 1.5, side), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()

    color_max = 1.0 if normalize else max(1, int(counts.max()))
    image = axes.imshow(shading, cmap="Blues", vmin=0.0, vmax=color_max)
    figure.colorbar(image, ax=axes, label="Fraction of true label" if normalize else "Count")

    # Labels no installed font can draw become `class <index>`; report.md names them.
    display_names = [_shorten(name) for name in figure_labels(labels)]
    rotate = num_classes > 6 or max(len(name) for name in display_names) > 8
    ticks = np.arange(num_classes)
    axes.set_xticks(ticks)
    axes.set_xticklabels(
        display_names,
        rotation=45 if rotate else 0,
        ha="right" if rotate else "center",
        rotation_mode="anchor",
    )
    axes.set_yticks(ticks)
    axes.set_yticklabels(display_names)
    axes.set_xlabel("Predicted label")
    axes.set_ylabel("True label")
    axes.set_title(title)

    if num_classes <= _MAX_ANNOTATED_CLASSES:
        _annotate(axes, counts, shading, color_max, normalize=normalize)
    return figure


def _annotate(axes, counts, shading, color_max, *, normalize):
    row_totals = counts.sum(axis=1)
    font_size = _annotation_font_size(len(counts))
    for row, column in np.ndindex(counts.shape):
        text = str(int(counts[row, column]))
        if normalize and row_totals[row] > 0:
            text += f"\n{shading[row, column]:.0%}"
        dark_cell = shading[row, column] > 0.5 * color_max
        axes.text(
            column,
            row,
            text,
            ha="center",
            va="center",
            fontsize=font_size,
            color="white" if dark_cell else "black",
        )


def _annotation_font_size(num_classes):
    if num_classes <= 4:
        return 12
    if num_classes <= 10:
        return 10
    return 8


def _shorten(name):
    if len(name) <= _MAX_LABEL_CHARS:
        return name
    return name[: _MAX_LABEL_CHARS - 1] + "…"

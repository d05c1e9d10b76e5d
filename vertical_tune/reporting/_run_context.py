"""Turn one run view into the formatted tables and figures that every report format shows."""

import re

import numpy as np

from vertical_tune.errors import format_error
from vertical_tune.evaluation._tables import Table, format_value
from vertical_tune.reporting import figures
from vertical_tune.reporting.calibration import expected_calibration_error

# Headline metrics in display order, as keys of `classification_metrics` output.
HEADLINE_METRICS = (
    "accuracy",
    "macro_f1",
    "weighted_f1",
    "macro_precision",
    "macro_recall",
    "roc_auc",
    "pr_auc",
    "loss",
)
# File name of each figure, without the `.png` suffix, in the order they appear.
FIGURE_NAMES = ("training_curves", "confusion_matrix", "roc_curves", "pr_curves", "reliability_diagram")
MISTAKES_SHOWN = 10

_REQUIRED_KEYS = ("name", "labels", "y_true", "probabilities", "texts", "metrics")


def build_run_context(run, slug):
    """Compute the tables, figures and calibration error of one run view.

    Args:
        run: dict. A run view, as described in `vertical_tune.reporting`.
        slug: str. Identifier of the run, unique within the report, used in HTML
            ids and figure paths.

    Returns:
        dict with `name`, `path`, `slug`, `tables` (name to `Table` or None),
        `figures` (name to PNG bytes or None) and `ece`.
    """
    labels, y_true, probabilities, texts = _check_run(run)
    metrics = run["metrics"]
    summary = run.get("summary") or {}
    operating_point = run.get("operating_point")
    ece = expected_calibration_error(y_true, probabilities)

    tables = {
        "summary": _summary_table(run, summary),
        "data": _data_table(summary.get("data") or {}),
        "versions": _versions_table(summary.get("versions") or {}),
        "headline": _headline_table(metrics, run.get("intervals")),
        "operating_point": _operating_point_table(operating_point),
        "per_class": _per_class_table(metrics, labels),
        "confusion": _confusion_table(metrics["confusion_matrix"], labels),
        "curve_areas": _curve_area_table(metrics, labels),
        "mistakes": _mistakes_table(labels, y_true, probabilities, texts, run.get("y_pred")),
    }
    figure_bytes = {
        "training_curves": figures.training_curves(run.get("history") or {}),
        "confusion_matrix": figures.confusion_heatmaps(metrics["confusion_matrix"], labels),
        "roc_curves": figures.roc_curves(y_true, probabilities, labels, operating_point),
        "pr_curves": figures.pr_curves(y_true, probabilities, labels, operating_point),
        "reliability_diagram": figures.reliability_diagram(y_true, probabilities),
    }
    return {
        "name": str(run["name"]),
        "path": str(run.get("path") or ""),
        "slug": slug,
        "tables": tables,
        "figures": figure_bytes,
        "ece": ece,
    }


def comparison_table(contexts, runs):
    """Build a table with one row per headline metric and one column per run."""
    header = ["Metric"] + [context["name"] for context in contexts]
    rows = []
    for key in HEADLINE_METRICS:
        rows.append([key] + [format_value(run["metrics"].get(key)) for run in runs])
    rows.append(["ece"] + [format_value(context["ece"]) for context in contexts])
    rows.append(["n_examples"] + [format_value(run["metrics"].get("n_examples")) for run in runs])
    return Table("Headline metrics by run", header, rows)


def unique_slugs(names):
    """Return an HTML-id and file-name safe identifier for each run name, all distinct."""
    slugs = []
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-").lower() or "run"
        slug, suffix = base, 2
        while slug in slugs:
            slug, suffix = f"{base}-{suffix}", suffix + 1
        slugs.append(slug)
    return slugs


def _check_run(run):
    missing = [key for key in _REQUIRED_KEYS if key not in run]
    if missing:
        raise ValueError(
            format_error(
                "A run view is missing required keys.",
                received=missing,
                expected=f"a dict with keys {list(_REQUIRED_KEYS)}",
                fix="Build run views with vertical_tune.reporting.run_view.load_run_view.",
            )
        )
    labels = [str(name) for name in run["labels"]]
    y_true = np.asarray(run["y_true"])
    probabilities = np.asarray(run["probabilities"], dtype=np.float64)
    texts = [str(text) for text in run["texts"]]
    expected_shape = (len(y_true), len(labels))
    if probabilities.shape != expected_shape or len(texts) != len(y_true):
        raise ValueError(
            format_error(
                f"Run {run['name']!r} has inconsistent sizes.",
                received=(
                    f"{len(y_true)} labels in y_true, {len(texts)} texts, {len(labels)} class names, "
                    f"probabilities of shape {probabilities.shape}"
                ),
                expected=f"probabilities of shape {expected_shape} and one text per example",
            )
        )
    return labels, y_true, probabilities, texts


def _summary_table(run, summary):
    seconds = summary.get("seconds")
    rows = [
        ["Run", str(run["name"])],
        ["Directory", str(run.get("path") or "n/a")],
        ["Industry", format_value(summary.get("industry"))],
        ["Preset", format_value(summary.get("preset"))],
        ["Backbone", format_value(summary.get("backbone"))],
        ["Seed", format_value(summary.get("seed"))],
        ["Selection metric", format_value(summary.get("selection_metric"))],
        ["Best epoch", format_value(summary.get("best_epoch"))],
        ["Training time (s)", "n/a" if seconds is None else f"{float(seconds):.1f}"],
    ]
    distribution = summary.get("distribution")
    if distribution:
        rows.append(["Strategy", f"{distribution.get('strategy')}, {distribution.get('replicas')} replica(s)"])
    if summary.get("evaluated_on"):
        rows.append(["Evaluated on", str(summary["evaluated_on"])])
        rows.append(["Evaluated examples", format_value(run["metrics"].get("n_examples"))])
    else:
        rows.append(["Validation examples", format_value(run["metrics"].get("n_examples"))])
    return Table("Run summary", ["Field", "Value"], rows)


def _data_table(data):
    rows = [
        [role, str(entry.get("path")), format_value(entry.get("sha256")), format_value(entry.get("rows"))]
        for role, entry in data.items()
    ]
    return Table("Data", ["Role", "Path", "SHA-256", "Rows"], rows) if rows else None


def _versions_table(versions):
    rows = [[package, str(version)] for package, version in versions.items()]
    return Table("Library versions", ["Package", "Version"], rows) if rows else None


def _headline_table(metrics, intervals):
    intervals = intervals or {}
    rows = []
    for key in HEADLINE_METRICS:
        interval = intervals.get(key)
        if interval is None:
            bounds = "n/a"
        else:
            bounds = f"[{format_value(interval['low'])}, {format_value(interval['high'])}]"
        rows.append([key, format_value(metrics.get(key)), bounds])
    note = "Bounds are bootstrap confidence intervals." if intervals else None
    return Table("Headline metrics", ["Metric", "Value", "Interval"], rows, note)


def _operating_point_table(operating_point):
    if operating_point is None:
        return None
    keys = ("positive_label", "threshold", "precision", "recall", "f1", "rule")
    rows = [[key, format_value(operating_point.get(key))] for key in keys if key in operating_point]
    return Table("Operating point", ["Field", "Value"], rows)


def _per_class_table(metrics, labels):
    rows = []
    for name in labels:
        scores = metrics["per_class"][name]
        rows.append(
            [name]
            + [format_value(scores.get(key)) for key in ("precision", "recall", "f1")]
            + [format_value(scores.get("support"))]
        )
    return Table("Per-class metrics", ["Label", "Precision", "Recall", "F1", "Support"], rows)


def _confusion_table(matrix, labels):
    rows = [[name] + [str(int(count)) for count in row] for name, row in zip(labels, matrix)]
    return Table(
        "Confusion matrix", ["True \\ predicted"] + labels, rows, "Rows are true labels, columns predicted labels."
    )


def _curve_area_table(metrics, labels):
    rows = []
    for name in labels:
        scores = metrics["per_class"][name]
        rows.append([name, format_value(scores.get("roc_auc")), format_value(scores.get("pr_auc"))])
    rows.append(["macro", format_value(metrics.get("roc_auc")), format_value(metrics.get("pr_auc"))])
    return Table("Areas under the curves", ["Label", "ROC-AUC", "Average precision"], rows)


def _mistakes_table(labels, y_true, probabilities, texts, y_pred=None):
    predicted = probabilities.argmax(axis=1) if y_pred is None else np.asarray(y_pred)
    # The probability of the predicted label, which a decision threshold can make other than the largest.
    confidence = probabilities[np.arange(len(predicted)), predicted]
    wrong = np.flatnonzero(predicted != y_true)
    # A stable sort keeps equally confident mistakes in input order.
    order = wrong[np.argsort(-confidence[wrong], kind="stable")][:MISTAKES_SHOWN]
    rows = [
        [texts[index], labels[y_true[index]], labels[predicted[index]], f"{confidence[index]:.4f}"]
        for index in order
    ]
    note = f"The {MISTAKES_SHOWN} wrong predictions with the highest confidence, out of {len(wrong)}."
    return Table("Most confident mistakes", ["Text", "True", "Predicted", "Confidence"], rows, note)

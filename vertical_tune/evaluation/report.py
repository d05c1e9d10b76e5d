"""`EvaluationReport`: one set of classification metrics as JSON, Markdown, text, HTML and rich tables."""

import copy
import json
import os
from collections.abc import Mapping
from pathlib import Path

from vertical_tune.errors import RunError, format_error
from vertical_tune.evaluation import _tables
from vertical_tune.evaluation._io import write_bytes_atomically
from vertical_tune.evaluation.metrics import classification_metrics

METRICS_FILE = "metrics.json"
MARKDOWN_FILE = "report.md"
CONFUSION_MATRIX_FILE = "confusion_matrix.png"

# Top-level metrics in display order, with their table labels.
_SUMMARY_ROWS = (
    ("n_examples", "Examples"),
    ("accuracy", "Accuracy"),
    ("macro_precision", "Macro precision"),
    ("macro_recall", "Macro recall"),
    ("macro_f1", "Macro F1"),
    ("weighted_precision", "Weighted precision"),
    ("weighted_recall", "Weighted recall"),
    ("weighted_f1", "Weighted F1"),
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("loss", "Log loss"),
)
_PER_CLASS_COLUMNS = (
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("f1", "F1"),
    ("support", "Support"),
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
)
_NON_SCALAR_KEYS = ("per_class", "confusion_matrix", "labels")
_REQUIRED_KEYS = tuple(key for key, _ in _SUMMARY_ROWS) + _NON_SCALAR_KEYS
_DEFAULT_TITLE = "Evaluation report"


class EvaluationReport:
    """Classification metrics of one model on one data set, ready to show or save.

    Every view (`to_dict`, `to_markdown`, `str`, `_repr_html_`, `rich_tables`) comes
    from the same metrics dict, so the tables and the JSON file always agree.

    Args:
        metrics: dict returned by `classification_metrics`.
        label_names: sequence of str or None. The label names in class-index order.
            They must equal `metrics["labels"]`, which is used when this is None.
        title: str. Heading of the report. Defaults to "Evaluation report".
        metadata: dict or None. Provenance shown under the title and saved with the
            metrics, e.g. `{"run_dir": ..., "data": ..., "backbone": ...}`.
        baselines: mapping or None. `{name: {metric: value}}` of other models on the
            same data, e.g. a TF-IDF baseline. A `classification_metrics` dict is a
            valid value, and its per-class and confusion-matrix entries are ignored.
            The Markdown, text, HTML and rich views then include a "Compared with"
            table.

    Example:

    >>> report = EvaluationReport.from_predictions(
    ...     [0, 1, 1], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]], ["legit", "fraud"]
    ... )
    >>> round(report["macro_f1"], 4)
    0.6667
    """

    def __init__(self, metrics, label_names=None, *, title=_DEFAULT_TITLE, metadata=None, baselines=None):
        self._metrics = copy.deepcopy(dict(metrics))
        _validate_metrics(self._metrics)
        self.label_names = _validate_label_names(label_names, self._metrics["labels"])
        self.title = str(title)
        self.metadata = copy.deepcopy(dict(metadata or {}))
        self.baselines = _normalize_baselines(baselines)

    @classmethod
    def from_predictions(cls, y_true, probabilities, label_names, **kwargs):
        """Compute `classification_metrics` and build a report from them.

        Keyword arguments (`title`, `metadata`, `baselines`) go to the constructor.
        """
        metrics = classification_metrics(y_true, probabilities, label_names)
        return cls(metrics, metrics["labels"], **kwargs)

    def __getitem__(self, key):
        """Return a top-level metric, e.g. `report["macro_f1"]`."""
        if key not in self._metrics:
            raise KeyError(
                format_error(
                    f"{key!r} is not a metric of this report.",
                    expected=", ".join(self._metrics),
                )
            )
        return copy.deepcopy(self._metrics[key])

    def to_dict(self):
        """Return the metrics with `title`, `metadata` and `baselines` added, as saved in metrics.json."""
        return {
            **copy.deepcopy(self._metrics),
            "title": self.title,
            "metadata": copy.deepcopy(self.metadata),
            "baselines": copy.deepcopy(self.baselines),
        }

    def to_markdown(self):
        """Render the title, metadata and tables as Markdown."""
        sections = [f"# {_tables.escape_markdown(self.title)}"]
        if self.metadata:
            sections.append(
                "\n".join(
                    f"- {_tables.escape_markdown(key)}: {_tables.escape_markdown(value)}"
                    for key, value in self.metadata.items()
                )
            )
        sections += [_tables.to_markdown(table) for table in self._tables()]
        return "\n\n".join(sections) + "\n"

    def __str__(self):
        sections = [f"{self.title}\n{'=' * len(self.title)}"]
        if self.metadata:
            sections.append("\n".join(f"{key}: {value}" for key, value in self.metadata.items()))
        sections += [_tables.to_text(table) for table in self._tables()]
        return "\n\n".join(sections)

    def __repr__(self):
        return (
            f"EvaluationReport(title={self.title!r}, "
            f"n_examples={self._metrics['n_examples']}, "
            f"accuracy={_tables.format_value(self._metrics['accuracy'])}, "
            f"macro_f1={_tables.format_value(self._metrics['macro_f1'])})"
        )

    def _repr_html_(self):
        parts = ["<div>", f"<h3>{_tables.escape_html(self.title)}</h3>"]
        if self.metadata:
            items = "".join(
                f"<li>{_tables.escape_html(key)}: {_tables.escape_html(value)}</li>"
                for key, value in self.metadata.items()
            )
            parts.append(f"<ul>{items}</ul>")
        parts += [_tables.to_html(table) for table in self._tables()]
        parts.append("</div>")
        return "\n".join(parts)

    def rich_tables(self):
        """Return `rich.table.Table`s: summary, per class, confusion matrix, then baselines if any."""
        return [_tables.to_rich(table) for table in self._tables()]

    def save(self, directory):
        """Write confusion_matrix.png, report.md and metrics.json into `directory`.

        The directory is created if needed. Each file is written atomically, and
        metrics.json is written last, so a first save that created metrics.json also
        wrote the other two files.
        Metadata values that JSON cannot store (paths, NumPy scalars, other objects)
        are written as strings or plain numbers.

        Returns:
            The directory as a `Path`.
        """
        # Imported here because matplotlib takes a noticeable time to import and only
        # `save` needs it.
        from vertical_tune.evaluation.plots import plot_confusion_matrix

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)

        plot_confusion_matrix(
            self._metrics["confusion_matrix"],
            self.label_names,
            directory / CONFUSION_MATRIX_FILE,
            title=f"Confusion matrix: {self.title}",
        )
        write_bytes_atomically(directory / MARKDOWN_FILE, self.to_markdown().encode("utf-8"))
        text = json.dumps(
            self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False, default=_to_json_value
        )
        write_bytes_atomically(directory / METRICS_FILE, (text + "\n").encode("utf-8"))
        return directory

    @classmethod
    def load(cls, directory):
        """Read the metrics.json that `save` wrote in `directory` back into a report.

        Raises:
            RunError: metrics.json is missing, is not valid JSON, or lacks metrics.
        """
        path = Path(directory) / METRICS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunError(
                format_error(
                    "Evaluation metrics not found.",
                    where=str(path),
                    fix="pass the directory that `EvaluationReport.save` wrote",
                )
            ) from None
        except json.JSONDecodeError as error:
            raise RunError(
                format_error(
                    f"metrics.json is not valid JSON: {error.msg}.",
                    where=f"{path}, line {error.lineno}, column {error.colno}",
                    fix="evaluate the model again to rewrite it",
                )
            ) from None

        title = data.pop("title", _DEFAULT_TITLE)
        metadata = data.pop("metadata", None)
        baselines = data.pop("baselines", None)
        try:
            return cls(data, title=title, metadata=metadata, baselines=baselines)
        except ValueError as error:
            raise RunError(f"{path} is not a valid evaluation report.\n{error}") from None

    def _tables(self):
        tables = [self._summary_table(), self._per_class_table(), self._confusion_matrix_table()]
        if self.baselines:
            tables.append(self._baselines_table())
        return tables

    def _summary_table(self):
        rows = [[label, _tables.format_value(self._metrics[key])] for key, label in _SUMMARY_ROWS]
        if len(self.label_names) == 2:
            roc_auc_meaning = f"ROC-AUC is the binary ROC-AUC of {self.label_names[1]!r}"
        else:
            roc_auc_meaning = "ROC-AUC is the one-vs-rest macro average"
        note = (
            f"{roc_auc_meaning}, and PR-AUC is the one-vs-rest macro average precision. "
            "n/a marks a value that is undefined for this data."
        )
        return _tables.Table("Summary", ["Metric", "Value"], rows, note)

    def _per_class_table(self):
        header = ["Label"] + [label for _, label in _PER_CLASS_COLUMNS]
        rows = []
        for name in self.label_names:
            scores = self._metrics["per_class"][name]
            rows.append([name] + [_tables.format_value(scores[key]) for key, _ in _PER_CLASS_COLUMNS])
        return _tables.Table("Per class", header, rows)

    def _confusion_matrix_table(self):
        header = ["True \\ Predicted"] + list(self.label_names)
        rows = [
            [name] + [str(count) for count in counts]
            for name, counts in zip(self.label_names, self._metrics["confusion_matrix"])
        ]
        note = "Rows are true labels and columns are predicted labels."
        return _tables.Table("Confusion matrix", header, rows, note)

    def _baselines_table(self):
        # One row per metric and one column per model, so it fits a terminal.
        known = [key for key, _ in _SUMMARY_ROWS]
        mentioned = {metric for scores in self.baselines.values() for metric in scores}
        metrics = [key for key in known if key in mentioned]
        metrics += sorted(mentioned - set(metrics))

        labels = dict(_SUMMARY_ROWS)
        header = ["Metric", "this model"] + list(self.baselines)
        rows = []
        for key in metrics:
            values = [self._metrics.get(key)] + [scores.get(key) for scores in self.baselines.values()]
            rows.append([labels.get(key, key)] + [_tables.format_value(v) for v in values])
        return _tables.Table("Compared with", header, rows)


def _validate_metrics(metrics):
    missing = [key for key in _REQUIRED_KEYS if key not in metrics]
    if missing:
        raise ValueError(
            format_error(
                f"metrics lacks the keys {missing}.",
                fix="pass the dict returned by `classification_metrics`",
            )
        )

    num_classes = len(metrics["labels"])
    matrix = metrics["confusion_matrix"]
    if len(matrix) != num_classes or any(len(row) != num_classes for row in matrix):
        raise ValueError(
            f"metrics['confusion_matrix'] must be {num_classes} rows of {num_classes} counts, "
            f"one per label in metrics['labels']."
        )

    missing_classes = [name for name in metrics["labels"] if name not in metrics["per_class"]]
    if missing_classes:
        raise ValueError(f"metrics['per_class'] lacks the labels {missing_classes}.")


def _validate_label_names(label_names, metric_labels):
    if label_names is None:
        return list(metric_labels)

    names = [str(name) for name in label_names]
    if names != list(metric_labels):
        raise ValueError(
            format_error(
                "label_names differs from the labels the metrics were computed with.",
                received=names,
                expected=f"{list(metric_labels)}, or None to use them",
            )
        )
    return names


def _normalize_baselines(baselines):
    normalized = {}
    for name, scores in (baselines or {}).items():
        if not isinstance(scores, Mapping):
            raise ValueError(
                format_error(
                    f"baselines[{name!r}] must map metric names to values.",
                    received=scores,
                    expected='e.g. {"tfidf_logreg": {"accuracy": 0.81, "macro_f1": 0.77}}',
                )
            )
        # A whole `classification_metrics` dict is accepted, and its tables are skipped.
        normalized[str(name)] = {
            str(metric): _to_number(name, metric, value)
            for metric, value in scores.items()
            if metric not in _NON_SCALAR_KEYS
        }
    return normalized


def _to_number(name, metric, value):
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(
            format_error(
                f"baselines[{name!r}][{metric!r}] must be a number or None.",
                received=value,
            )
        ) from None


def _to_json_value(value):
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)

"""`MultiTaskReport`: the evaluation of a multi-task model, with one section per task."""

import copy
import dataclasses
import json
import re
from pathlib import Path

from vertical_tune.errors import RunError, format_error
from vertical_tune.evaluation import _tables
from vertical_tune.evaluation._io import write_bytes_atomically
from vertical_tune.evaluation._multitask_validation import (
    CLASSIFICATION_TYPES,
    MULTILABEL_SUMMARY_ROWS,
    REGRESSION_ROWS,
    validate_selection,
    validate_tasks,
)
from vertical_tune.evaluation.report import MARKDOWN_FILE, METRICS_FILE, EvaluationReport, _to_json_value

_DEFAULT_TITLE = "Evaluation report"

# Per-label metrics in display order, with their table labels.
_PER_LABEL_COLUMNS = (
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("f1", "F1"),
    ("support", "Support"),
    ("roc_auc", "ROC-AUC"),
)
_UNDEFINED_NOTE = "n/a marks a value that is undefined for this data."


class MultiTaskReport:
    """Metrics of one multi-task model on one data set, with one section per task.

    Every view (`to_dict`, `to_markdown`, `str`, `_repr_html_`, `rich_tables`) comes
    from the same task dicts. Multiclass and binary tasks show the tables of
    `EvaluationReport`.

    Args:
        tasks: dict of task name to `{"type", "metrics", "labels", "n_unlabelled"}`,
            in task order. `type` is "multiclass", "binary", "multilabel" or
            "regression". `metrics` is the dict returned by `classification_metrics`
            (multiclass, binary), `multilabel_metrics` or `regression_metrics`, or
            None when no row has a label for the task. `labels` is the list of label
            names, or None for regression. `n_unlabelled` is the number of rows whose
            label for the task was blank, which the metrics leave out.
        title: str. Heading of the report. Defaults to "Evaluation report".
        metadata: dict or None. Provenance shown under the title and saved with the
            metrics, e.g. `{"data": ..., "backbone": ...}`.
        selection: dict or None. The checkpoint-selection score, e.g.
            `{"metric": "mean", "value": 0.71, "per_task": {"rating": {"metric":
            "macro_f1", "value": 0.6}}}`. `per_task` is optional, and a NaN value is
            stored as None.

    Raises:
        ValueError: a task entry or `selection` does not have the form above.
    """

    def __init__(self, tasks, *, title=_DEFAULT_TITLE, metadata=None, selection=None):
        self._tasks = validate_tasks(tasks)
        self.title = str(title)
        self.metadata = copy.deepcopy(dict(metadata or {}))
        self.selection = validate_selection(selection, self._tasks)

    @property
    def task_names(self):
        """Task names in task order."""
        return list(self._tasks)

    def __getitem__(self, name):
        """Return a copy of the metrics dict of task `name`, or None if it has no labelled rows.

        Example: `report["rating"]["macro_f1"]`.
        """
        if name not in self._tasks:
            problem = f"{name!r} is not a task of this report."
            raise KeyError(format_error(problem, expected=", ".join(self._tasks)))
        return copy.deepcopy(self._tasks[name]["metrics"])

    def task(self, name):
        """Return a copy of the metrics dict of task `name`, the same as `report[name]`."""
        return self[name]

    def classification_report(self, name):
        """Build an `EvaluationReport` of the multiclass or binary task `name`.

        Raises:
            KeyError: `name` is not a task.
            ValueError: the task is a multilabel or regression task, or no row has
                a label for it.
        """
        metrics = self[name]
        task = self._tasks[name]
        if task["type"] not in CLASSIFICATION_TYPES or metrics is None:
            reason = "has no labelled rows" if metrics is None else f"is a {task['type']} task"
            raise ValueError(
                format_error(
                    f"Task {name!r} {reason}, so it has no classification report.",
                    expected=f"a multiclass or binary task with metrics: one of {self._classification_tasks()}",
                    fix=f"read its metrics with report[{name!r}]",
                )
            )
        return EvaluationReport(metrics, task["labels"], title=f"{self.title}: {name}", metadata=self.metadata)

    def to_dict(self):
        """Return the title, metadata, selection and tasks, as saved in metrics.json."""
        return {
            "title": self.title,
            "metadata": copy.deepcopy(self.metadata),
            "selection": copy.deepcopy(self.selection),
            "tasks": copy.deepcopy(self._tasks),
        }

    def __eq__(self, other):
        if not isinstance(other, MultiTaskReport):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None

    def __repr__(self):
        types = {name: task["type"] for name, task in self._tasks.items()}
        return f"MultiTaskReport(title={self.title!r}, tasks={types})"

    def to_markdown(self):
        """Render the title, metadata, selection and one section per task as Markdown."""
        sections = [f"# {_tables.escape_markdown(self.title)}"]
        if self.metadata:
            sections.append(
                "\n".join(
                    f"- {_tables.escape_markdown(key)}: {_tables.escape_markdown(value)}"
                    for key, value in self.metadata.items()
                )
            )
        if self.selection:
            sections.append(_tables.escape_markdown(self._selection_line()))
        for name in self._tasks:
            sections.append(f"## {_tables.escape_markdown(self._heading(name))}")
            sections.append(_tables.escape_markdown(self._unlabelled_sentence(name)))
            # `_tables.to_markdown` starts each table with "## ", one level below the task heading.
            sections += ["#" + _tables.to_markdown(table) for table in self._task_tables(name)]
        return "\n\n".join(sections) + "\n"

    def __str__(self):
        sections = [f"{self.title}\n{'=' * len(self.title)}"]
        if self.metadata:
            sections.append("\n".join(f"{key}: {value}" for key, value in self.metadata.items()))
        if self.selection:
            sections.append(self._selection_line())
        for name in self._tasks:
            heading = self._heading(name)
            sections += [f"{heading}\n{'=' * len(heading)}", self._unlabelled_sentence(name)]
            sections += [_tables.to_text(table) for table in self._task_tables(name)]
        return "\n\n".join(sections)

    def _repr_html_(self):
        parts = ["<div>", f"<h2>{_tables.escape_html(self.title)}</h2>"]
        if self.metadata:
            items = "".join(
                f"<li>{_tables.escape_html(key)}: {_tables.escape_html(value)}</li>"
                for key, value in self.metadata.items()
            )
            parts.append(f"<ul>{items}</ul>")
        if self.selection:
            parts.append(f"<p>{_tables.escape_html(self._selection_line())}</p>")
        for name in self._tasks:
            parts.append(f"<h3>{_tables.escape_html(self._heading(name))}</h3>")
            parts.append(f"<p>{_tables.escape_html(self._unlabelled_sentence(name))}</p>")
            parts += [_tables.to_html(table) for table in self._task_tables(name)]
        parts.append("</div>")
        return "\n".join(parts)

    def rich_tables(self):
        """Build `rich.table.Table`s of every task, titled "<task>: <table title>".

        The caption of each task's first table states how many unlabelled rows were excluded.
        """
        rendered = []
        for name in self._tasks:
            tables = [
                dataclasses.replace(table, title=f"{name}: {table.title}") for table in self._task_tables(name)
            ]
            first_note = " ".join(filter(None, [self._unlabelled_sentence(name), tables[0].note]))
            tables[0] = dataclasses.replace(tables[0], note=first_note)
            rendered += [_tables.to_rich(table) for table in tables]
        return rendered

    def save(self, directory):
        """Write one confusion_matrix_<task>.png per classification task, report.md and metrics.json.

        The directory is created if needed. Each file is written atomically, and
        metrics.json is written last. A task without labelled rows gets no PNG. In
        PNG file names, characters of a task name other than letters, digits, "_",
        "-" and "." become "_", and "_2", "_3", ... is appended when two tasks would
        share a file name.

        Returns:
            The directory as a `Path`.
        """
        # Imported here because only `save` needs matplotlib, which is slow to import.
        from vertical_tune.evaluation.plots import plot_confusion_matrix

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)

        for name, file_name in self._confusion_matrix_files().items():
            plot_confusion_matrix(
                self._tasks[name]["metrics"]["confusion_matrix"],
                self._tasks[name]["labels"],
                directory / file_name,
                title=f"Confusion matrix: {name}",
            )
        write_bytes_atomically(directory / MARKDOWN_FILE, self.to_markdown().encode("utf-8"))
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False, default=_to_json_value)
        write_bytes_atomically(directory / METRICS_FILE, (text + "\n").encode("utf-8"))
        return directory

    @classmethod
    def load(cls, directory):
        """Read the metrics.json that `save` wrote in `directory` back into a report.

        Raises:
            RunError: metrics.json is missing, is not UTF-8 JSON, or does not
                describe a multi-task report.
        """
        path = Path(directory) / METRICS_FILE
        fix = "evaluate the model again to rewrite it"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunError(
                format_error(
                    "Multi-task evaluation metrics not found.",
                    where=str(path),
                    fix="pass the directory that `MultiTaskReport.save` wrote",
                )
            ) from None
        except json.JSONDecodeError as error:
            where = f"{path}, line {error.lineno}, column {error.colno}"
            problem = f"metrics.json is not valid JSON: {error.msg}."
            raise RunError(format_error(problem, where=where, fix=fix)) from None
        except UnicodeDecodeError:
            raise RunError(format_error("metrics.json is not UTF-8 text.", where=str(path), fix=fix)) from None

        if not isinstance(data, dict) or "tasks" not in data:
            if isinstance(data, dict) and "confusion_matrix" in data:
                fix = "it is a single-task report, so read it with `EvaluationReport.load`"
            problem = "metrics.json has no 'tasks' key, so it is not a multi-task report."
            raise RunError(format_error(problem, where=str(path), fix=fix))
        try:
            return cls(
                data["tasks"],
                title=data.get("title", _DEFAULT_TITLE),
                metadata=data.get("metadata"),
                selection=data.get("selection"),
            )
        except (TypeError, ValueError) as error:
            problem = "metrics.json does not describe a valid multi-task report."
            raise RunError(f"{format_error(problem, where=str(path), fix=fix)}\n{error}") from None

    def _classification_tasks(self):
        """Return the multiclass and binary tasks that have metrics."""
        return [
            name
            for name, task in self._tasks.items()
            if task["type"] in CLASSIFICATION_TYPES and task["metrics"] is not None
        ]

    def _heading(self, name):
        return f"Task: {name} ({self._tasks[name]['type']})"

    def _unlabelled_sentence(self, name):
        count = self._tasks[name]["n_unlabelled"]
        rows = "row" if count == 1 else "rows"
        return f"Excluded {count} {rows} whose label for this task is blank."

    def _selection_line(self):
        line = f"Selection: {self.selection['metric']} = {_tables.format_value(self.selection['value'])}"
        per_task = self.selection.get("per_task") or {}
        scores = [
            f"{name}: {score['metric']} = {_tables.format_value(score['value'])}"
            for name, score in per_task.items()
        ]
        if scores:
            line += f" ({', '.join(scores)})"
        return line

    def _task_tables(self, name):
        task = self._tasks[name]
        metrics = task["metrics"]
        if metrics is None:
            note = "No row has a label for this task, so no metric was computed."
            return [_tables.Table("Metrics", ["Metric", "Value"], [["Examples", "0"]], note)]
        if task["type"] in CLASSIFICATION_TYPES:
            # `EvaluationReport` renders these tables in its own views, so both reports show the same cells.
            return EvaluationReport(metrics, task["labels"])._tables()
        if task["type"] == "regression":
            rows = [[label, _tables.format_value(metrics[key])] for key, label in REGRESSION_ROWS]
            return [_tables.Table("Regression metrics", ["Metric", "Value"], rows, _UNDEFINED_NOTE)]

        summary = [[label, _tables.format_value(metrics[key])] for key, label in MULTILABEL_SUMMARY_ROWS]
        threshold = _tables.format_value(metrics["threshold"])
        note = (
            f"A label is predicted when its probability is at least {threshold}. "
            f"ROC-AUC is the macro average over labels with both classes present. {_UNDEFINED_NOTE}"
        )
        header = ["Label"] + [title for _, title in _PER_LABEL_COLUMNS]
        per_label = [
            [label] + [_tables.format_value(metrics["per_label"][label][key]) for key, _ in _PER_LABEL_COLUMNS]
            for label in task["labels"]
        ]
        return [
            _tables.Table("Summary", ["Metric", "Value"], summary, note),
            _tables.Table("Per label", header, per_label),
        ]

    def _confusion_matrix_files(self):
        """Map each classification task with metrics to its PNG file name."""
        files = {}
        for name in self._classification_tasks():
            stem = "confusion_matrix_" + re.sub(r"[^\w.-]", "_", name)
            file_name, suffix = f"{stem}.png", 2
            while file_name in files.values():
                file_name, suffix = f"{stem}_{suffix}.png", suffix + 1
            files[name] = file_name
        return files

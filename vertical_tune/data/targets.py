"""Turn one task's label cells into model targets, marking blank labels for masking.

Targets use a sentinel for a missing label, which the task's loss and metrics skip:
`-1` for a class index, `-1` for a multilabel cell, NaN for a regression value.
"""

import math

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from vertical_tune.data.labels import LabelVocabulary
from vertical_tune.errors import DataError, format_error

_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}
_MAX_SHOWN = 8


class TaskTarget:
    """The encoding of one task's labels, fitted on the training data.

    Args:
        spec: TaskSpec. The task from the config.
        key: str. Config key of the task, named in errors (e.g. `tasks[1] (rating)`).
        vocabulary: LabelVocabulary or None. Classes of a multiclass or binary task,
            or allowed values of a delimited multilabel column.
        label_names: list of str or None. Output names of a multilabel task.
        mean, std: float. Training mean and standard deviation of a regression task.
    """

    def __init__(self, spec, *, key, vocabulary=None, label_names=None, mean=0.0, std=1.0):
        self.spec = spec
        self.key = key
        self.vocabulary = vocabulary
        self.label_names = label_names
        self.mean = float(mean)
        self.std = float(std)

    # ------------------------------------------------------------------ fitting

    @classmethod
    def fit(cls, spec, index, train):
        """Fit the encoding on the training data (`MultiLabeledTexts`).

        Raises:
            DataError: the task has no labelled training row, a binary task does not
                have exactly two labels, or a cell cannot be parsed.
        """
        key = f"tasks[{index}] ({spec.name})"
        present = [cell for column in spec.columns for cell in train.cells[column] if cell is not None]
        if not present:
            raise DataError(
                format_error(
                    f"Task {spec.name!r} has no labelled row in the training data.",
                    where=f"{train.source}, column(s) {', '.join(map(repr, spec.columns))}",
                    received=f"{len(train)} rows, every label cell blank",
                    expected="at least one row with a label for every task",
                    fix=f"Check {key}.label_column, or remove the task.",
                )
            )
        target = cls(spec, key=key)
        if spec.type == "regression":
            values = target._numbers(train)
            values = values[~np.isnan(values)]
            target.mean = float(values.mean())
            target.std = float(values.std()) or 1.0
        elif spec.type == "multilabel" and spec.label_columns is not None:
            target.label_names = list(spec.label_columns)
        elif spec.type == "multilabel":
            values = [value for cell in present for value in target._split(cell)]
            # With a given label list, an unknown value is left to `encode`, whose error
            # names the column, the data row and the delimiter.
            checked = values if spec.labels == "from_data" else None
            target.vocabulary = LabelVocabulary.from_spec(spec.labels, checked, key=f"{key}.labels")
            target.label_names = target.vocabulary.names
        else:
            target.vocabulary = LabelVocabulary.from_spec(spec.labels, present, key=f"{key}.labels")
            if spec.type == "binary" and target.vocabulary.num_classes != 2:
                raise DataError(
                    format_error(
                        f"Binary task {spec.name!r} needs exactly 2 labels.",
                        where=f"{train.source}, column {spec.label_column!r}",
                        received=target.vocabulary.names,
                        expected="2 distinct labels",
                        fix=f"Set {key}.type to `multiclass`.",
                    )
                )
        return target

    # ------------------------------------------------------------------ properties

    @property
    def name(self):
        """The task name."""
        return self.spec.name

    @property
    def type(self):
        """The task type: multiclass, binary, multilabel or regression."""
        return self.spec.type

    @property
    def names(self):
        """Class or label names in output order; None for regression."""
        if self.type == "regression":
            return None
        if self.type == "multilabel":
            return list(self.label_names)
        return self.vocabulary.names

    @property
    def units(self):
        """Width of the task's output layer."""
        return 1 if self.type == "regression" else len(self.names)

    # ------------------------------------------------------------------ encoding

    def encode(self, data):
        """Return the targets of `data`: int64 class indices, float32 multi-hot or values.

        Raises:
            DataError: a cell is not a known label or not a number, naming the task,
                column, value and data row.
        """
        if self.type == "regression":
            return self._numbers(data).astype("float32")
        if self.type == "multilabel":
            return self._multi_hot(data)
        cells = data.cells[self.spec.label_column]
        y = np.full(len(cells), -1, dtype=np.int64)
        labelled = [i for i, cell in enumerate(cells) if cell is not None]
        if labelled:
            try:
                y[labelled] = self.vocabulary.encode([cells[i] for i in labelled], source=data.source)
            except DataError as error:
                raise DataError(f"Task {self.name!r}, column {self.spec.label_column!r}: {error}") from None
        return y

    def labelled(self, y):
        """Boolean mask of the rows of targets `y` that have a label for this task."""
        if self.type == "regression":
            return ~np.isnan(y)
        if self.type == "multilabel":
            return (y >= 0).all(axis=1)
        return y >= 0

    def class_weights(self, y):
        """Per-class loss weights for `class_weight: balanced`, else None.

        Multiclass and binary: one weight per class. Multilabel: an (L, 2) array of
        weights for a negative and a positive cell of each label.
        """
        if self.spec.class_weight == "none":
            return None
        if self.type == "multilabel":
            weights = np.ones((self.units, 2), dtype="float32")
            for column in range(self.units):
                values = y[:, column][y[:, column] >= 0]
                positives, total = float((values == 1).sum()), float(len(values))
                if 0 < positives < total:
                    weights[column] = [total / (2 * (total - positives)), total / (2 * positives)]
            return weights
        labelled = y[y >= 0]
        present = np.unique(labelled)
        result = np.ones(self.units, dtype="float32")
        result[present] = compute_class_weight("balanced", classes=present, y=labelled)
        return result

    def _numbers(self, data):
        column = self.spec.label_column
        values = np.full(len(data), np.nan, dtype="float64")
        for i, cell in enumerate(data.cells[column]):
            if cell is None:
                continue
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise self._cell_error(data, column, i, cell, "a finite number, e.g. 4 or 3.5",
                                       "Fix or blank the cell, or make the task `multiclass`.")
            values[i] = value
        return values

    def _multi_hot(self, data):
        y = np.full((len(data), self.units), -1.0, dtype="float32")
        if self.spec.label_columns is not None:
            for j, column in enumerate(self.spec.label_columns):
                for i, cell in enumerate(data.cells[column]):
                    if cell is None:
                        continue
                    flag = cell.lower()
                    if flag not in _TRUE | _FALSE:
                        raise self._cell_error(data, column, i, cell, "0 or 1 (also true/false, yes/no)",
                                               "Each label column of a multilabel task holds 0 or 1.")
                    y[i, j] = 1.0 if flag in _TRUE else 0.0
            return y
        column = self.spec.label_column
        index = {value: j for j, value in enumerate(self.vocabulary.raw_values)}
        index.update({name: j for j, name in enumerate(self.vocabulary.names)})
        for i, cell in enumerate(data.cells[column]):
            if cell is None:
                continue
            y[i] = 0.0
            for value in self._split(cell):
                if value not in index:
                    raise self._cell_error(
                        data, column, i, value,
                        f"labels separated by {self.spec.delimiter!r}, each one of {_shown(self.names)}",
                        f"Check {self.key}.delimiter (the cell is {cell!r}), or add the value to {self.key}.labels.",
                    )
                y[i, index[value]] = 1.0
        return y

    def _split(self, cell):
        return [part.strip() for part in cell.split(self.spec.delimiter) if part.strip()]

    def _cell_error(self, data, column, i, value, expected, fix):
        return DataError(
            format_error(
                f"Task {self.name!r}: unexpected value in column {column!r}.",
                where=f"{data.source}, data row {data.rows[i]}, column {column!r} ({self.key})",
                received=value,
                expected=expected,
                fix=fix,
            )
        )

    # ------------------------------------------------------------------ persistence

    def to_dict(self):
        """JSON-safe description, read back by `from_dict`."""
        return {
            "name": self.name,
            "type": self.type,
            "vocabulary": self.vocabulary.to_dict() if self.vocabulary is not None else None,
            "label_names": self.label_names,
            "mean": self.mean,
            "std": self.std,
        }

    @classmethod
    def from_dict(cls, spec, index, data):
        """Rebuild a target from `to_dict` output and the task's spec at position `index`."""
        vocabulary = data.get("vocabulary")
        return cls(
            spec,
            key=f"tasks[{index}] ({spec.name})",
            vocabulary=LabelVocabulary.from_dict(vocabulary) if vocabulary else None,
            label_names=data.get("label_names"),
            mean=data.get("mean", 0.0),
            std=data.get("std", 1.0),
        )


def _shown(names):
    names = list(names)
    text = ", ".join(map(repr, names[:_MAX_SHOWN]))
    return text + (f" and {len(names) - _MAX_SHOWN} more" if len(names) > _MAX_SHOWN else "")

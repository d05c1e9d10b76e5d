"""The ordered label set of a task: raw label values, readable names and class indices."""

import re
from collections import Counter

import numpy as np

from vertical_tune.errors import DataError, format_error

FROM_DATA = "from_data"
_MAX_SHOWN = 10
_INTEGER = re.compile(r"^[+-]?\d+$")


class LabelVocabulary:
    """The classes of a task in class-index order.

    Class `i` has the raw value `raw_values[i]` (as written in the data files) and the
    readable name `names[i]`. Both forms are accepted by `encode`.

    Args:
        raw_values: list of str. Label values in class-index order.
        names: list of str or None. Readable names in the same order. `None` uses the
            raw values.
        key: str. Config key or file named in error messages.

    Example:
        >>> vocabulary = LabelVocabulary(["0", "1"], ["negative", "positive"])
        >>> vocabulary.encode(["1", "negative"], source="valid.csv").tolist()
        [1, 0]
    """

    def __init__(self, raw_values, names=None, *, key="task.labels"):
        raw_values = [str(value).strip() for value in raw_values]
        names = raw_values if names is None else [str(name).strip() for name in names]
        if len(names) != len(raw_values):
            raise ValueError(
                f"raw_values and names differ in length: {len(raw_values)} != {len(names)}"
            )
        _check_unique(raw_values, "label value", key)
        _check_unique(names, "label name", key)
        _check_unambiguous(raw_values, names, key)
        self._raw_values = raw_values
        self._names = names
        self._index = {name: index for index, name in enumerate(names)}
        self._index.update({value: index for index, value in enumerate(raw_values)})

    @classmethod
    def from_spec(cls, spec, train_labels, *, key="task.labels"):
        """Build the vocabulary from a `task.labels` value and the training labels.

        Args:
            spec: `"from_data"` (the sorted distinct training labels, sorted numerically
                when all are integers), a list of raw values in class-index order, or a
                dict mapping each raw value to a readable name.
            train_labels: list of str or None. The training labels; `None` skips the
                check that they all belong to a list or dict spec.
            key: str. Config key named in error messages.

        Raises:
            DataError: `from_data` finds fewer than 2 labels, or a training label is
                neither a value nor a name of a list or dict spec.
        """
        if isinstance(spec, str):
            if spec != FROM_DATA:
                raise DataError(
                    format_error(
                        "Invalid label specification.",
                        where=key,
                        received=spec,
                        expected=(
                            f"{FROM_DATA!r}, a list of labels, "
                            "or a mapping from label value to name"
                        ),
                    )
                )
            return cls(_labels_from_data(train_labels, key), key=key)

        if isinstance(spec, dict):
            vocabulary = cls(list(spec.keys()), list(spec.values()), key=key)
        else:
            vocabulary = cls(list(spec), key=key)
        if train_labels is not None:
            vocabulary._check_training_labels(train_labels, key)
        return vocabulary

    @property
    def raw_values(self):
        """Label values as written in the data files, in class-index order."""
        return list(self._raw_values)

    @property
    def names(self):
        """Readable label names in class-index order."""
        return list(self._names)

    @property
    def num_classes(self):
        """Number of classes."""
        return len(self._raw_values)

    def encode(self, labels, *, source):
        """Map labels (raw values or names) to class indices.

        Args:
            labels: iterable of str.
            source: str. Name of the data the labels come from, shown in errors.

        Returns:
            An int64 numpy array of class indices.

        Raises:
            DataError: a label is neither a raw value nor a name of this vocabulary.
        """
        labels = [_clean(label) for label in labels]
        unknown = Counter(label for label in labels if label not in self._index)
        if unknown:
            raise DataError(
                format_error(
                    f"{source} contains {len(unknown)} label(s) that the model was not trained on.",
                    where=f"{source}, label column",
                    received=_top_counts(unknown),
                    expected=f"one of the trained labels {self._described_labels()}",
                    fix=(
                        f"Remove these rows from {source}, or retrain with these labels in "
                        "task.labels (or in the training data when task.labels is from_data)."
                    ),
                )
            )
        return np.array([self._index[label] for label in labels], dtype=np.int64)

    def decode(self, indices):
        """Return the readable names of class indices."""
        return [self._names[int(index)] for index in indices]

    def to_dict(self):
        """Return a JSON-safe dict for `label_map.json`, which `from_dict` reads back."""
        return {"raw_values": self.raw_values, "names": self.names}

    @classmethod
    def from_dict(cls, data, *, source="label map"):
        """Rebuild a vocabulary from `to_dict()` output. `source` names the data in errors."""
        valid = (
            isinstance(data, dict)
            and isinstance(data.get("raw_values"), list)
            and (data.get("names") is None or len(data["names"]) == len(data["raw_values"]))
        )
        if not valid:
            raise DataError(
                format_error(
                    "Invalid label map.",
                    where=source,
                    received=data,
                    expected='{"raw_values": [...], "names": [...]}',
                    fix="Restore label_map.json from the training run, or train again.",
                )
            )
        return cls(data["raw_values"], data.get("names"), key=source)

    def __eq__(self, other):
        if not isinstance(other, LabelVocabulary):
            return NotImplemented
        return self._raw_values == other._raw_values and self._names == other._names

    def __repr__(self):
        return f"LabelVocabulary(raw_values={self._raw_values!r}, names={self._names!r})"

    def _check_training_labels(self, train_labels, key):
        unknown = Counter(
            label for label in map(_clean, train_labels) if label not in self._index
        )
        if unknown:
            raise DataError(
                format_error(
                    f"The training data has {len(unknown)} label(s) that are not in {key}.",
                    where=key,
                    received=_top_counts(unknown),
                    expected=f"one of the labels in {key}: {self._described_labels()}",
                    fix=(
                        f"Add these labels to {key}, or set {key}: {FROM_DATA} "
                        "to take the labels from the training data."
                    ),
                )
            )

    def _described_labels(self):
        if self._names == self._raw_values:
            return repr(self._raw_values)
        return repr(dict(zip(self._raw_values, self._names)))


def _clean(label):
    return label.strip() if isinstance(label, str) else str(label)


def _labels_from_data(train_labels, key):
    values = sorted(set(map(_clean, train_labels or [])))
    if values and all(_INTEGER.match(value) for value in values):
        values.sort(key=lambda value: (int(value), value))
    if len(values) < 2:
        raise DataError(
            format_error(
                f"The training data has {len(values)} distinct label(s), "
                "but classification needs at least 2.",
                where=f"{key}: {FROM_DATA}",
                received=values,
                expected="at least 2 distinct labels in the label column",
                fix=(
                    "Check that task.label_column names the label column, "
                    "and that the training file contains every class."
                ),
            )
        )
    return values


def _check_unique(values, kind, key):
    duplicates = sorted(value for value, count in Counter(values).items() if count > 1)
    if duplicates:
        raise DataError(
            format_error(
                f"Each {kind} must appear once.",
                where=key,
                received=duplicates,
                expected=f"distinct {kind}s",
                fix=f"Remove the repeated entries from {key}.",
            )
        )


def _check_unambiguous(raw_values, names, key):
    # encode() accepts both forms, so a name that is another class's raw value is ambiguous.
    clashes = sorted(
        name
        for index, name in enumerate(names)
        if name in raw_values and raw_values.index(name) != index
    )
    if clashes:
        raise DataError(
            format_error(
                "A label name equals the raw value of a different label.",
                where=key,
                received=clashes,
                expected="names that differ from the raw values of other labels",
                fix=f"Rename these labels in {key}.",
            )
        )


def _top_counts(counts):
    """Return the `_MAX_SHOWN` most common labels with their counts, plus a total of the rest."""
    top = dict(counts.most_common(_MAX_SHOWN))
    hidden = len(counts) - len(top)
    if hidden:
        top[f"... {hidden} more"] = sum(counts.values()) - sum(top.values())
    return top

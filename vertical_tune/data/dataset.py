"""Load the text and label columns of a data source, dropping unusable rows."""

import difflib
import logging
import os
from dataclasses import dataclass

import pandas as pd

from vertical_tune.data.readers import read_table
from vertical_tune.errors import DataError, format_error

logger = logging.getLogger(__name__)


@dataclass
class LabeledTexts:
    """Texts with their raw label strings, as loaded from one source.

    Attributes:
        texts: list of str. Non-blank input texts.
        labels: list of str, or None for unlabelled input. Raw label values, stripped of
            surrounding whitespace, in the same order as `texts`.
        source: str. Display name used in messages: the path, `"DataFrame"` or the
            `tfds:` source.
        dropped_empty_texts: int. Rows of `source` dropped for a missing or blank text.
        dropped_missing_labels: int. Rows of `source` dropped for a missing or blank label.
    """

    texts: list[str]
    labels: list[str] | None
    source: str
    dropped_empty_texts: int = 0
    dropped_missing_labels: int = 0

    def __post_init__(self):
        if self.labels is not None and len(self.labels) != len(self.texts):
            raise ValueError(
                f"texts and labels differ in length: {len(self.texts)} != {len(self.labels)}"
            )

    def __len__(self):
        return len(self.texts)

    def subset(self, indices):
        """Return the rows at `indices`, in that order.

        The drop counts are copied unchanged because they describe how `source` was
        loaded, not the subset.
        """
        indices = [int(index) for index in indices]
        return LabeledTexts(
            texts=[self.texts[index] for index in indices],
            labels=None if self.labels is None else [self.labels[index] for index in indices],
            source=self.source,
            dropped_empty_texts=self.dropped_empty_texts,
            dropped_missing_labels=self.dropped_missing_labels,
        )


def load_labeled_texts(
    source,
    *,
    text_column,
    label_column=None,
    format="auto",
    encoding="utf-8",
    tfds_data_dir=None,
):
    """Read `source` and return its texts and labels as `LabeledTexts`.

    Rows with a missing or blank text are dropped, then rows with a missing or blank
    label (when `label_column` is given). Both counts are logged as warnings.

    Args:
        source: a file path, a pandas.DataFrame or `"tfds:NAME[:SPLIT]"`, as in
            `read_table`.
        text_column: str. Column with the input text (`task.text_column`).
        label_column: str or None. Column with the label (`task.label_column`). `None`
            loads unlabelled texts.
        format, encoding, tfds_data_dir: passed to `read_table`.

    Raises:
        DataError: a column is missing, or no row has both a text and a label.
    """
    table = read_table(source, format=format, encoding=encoding, tfds_data_dir=tfds_data_dir)
    name = display_name(source)
    texts = text_values(table, text_column, name)
    labels = None
    if label_column is not None:
        labels = column_values(table, label_column, name, "task.label_column")

    keep, dropped_empty_texts, dropped_missing_labels = _rows_to_keep(texts, labels)
    _warn_dropped(name, text_column, dropped_empty_texts, "an empty text")
    _warn_dropped(name, label_column, dropped_missing_labels, "a missing label")
    if not any(keep):
        raise _no_rows_error(
            name, len(table), dropped_empty_texts, dropped_missing_labels, labels is not None
        )

    if labels is not None:
        labels = [label.strip() for label, kept in zip(labels, keep) if kept]
    return LabeledTexts(
        texts=[text for text, kept in zip(texts, keep) if kept],
        labels=labels,
        source=name,
        dropped_empty_texts=dropped_empty_texts,
        dropped_missing_labels=dropped_missing_labels,
    )


def text_values(table, text_column, source):
    """Return the text of every row: one column, or several joined by a blank line.

    With a list of columns, the non-blank cells of a row are joined in list order, so
    a row is blank only when all of its text cells are.
    """
    if isinstance(text_column, str):
        return column_values(table, text_column, source, "task.text_column")
    columns = [column_values(table, c, source, "task.text_column") for c in text_column]
    return ["\n\n".join(cell.strip() for cell in cells if is_filled(cell)) for cells in zip(*columns)]


def _rows_to_keep(texts, labels):
    """Return a keep flag per row and the counts of rows dropped for a text or a label."""
    keep = [is_filled(text) for text in texts]
    dropped_empty_texts = keep.count(False)
    if labels is None:
        return keep, dropped_empty_texts, 0

    has_label = [is_filled(label) for label in labels]
    dropped_missing_labels = sum(
        1 for kept, labeled in zip(keep, has_label) if kept and not labeled
    )
    keep = [kept and labeled for kept, labeled in zip(keep, has_label)]
    return keep, dropped_empty_texts, dropped_missing_labels


def display_name(source):
    """Return the name of a data source used in messages."""
    if isinstance(source, pd.DataFrame):
        return "DataFrame"
    return os.fspath(source)


def is_filled(value):
    """True for a cell that is neither missing nor blank."""
    return value is not None and bool(value.strip())


def column_values(table, column, source, key):
    """Return the cells of `column`, raising `DataError` when it is missing or repeated."""
    columns = [str(name) for name in table.columns]
    if column not in columns:
        raise _missing_column_error(column, columns, source, key)
    if columns.count(column) > 1:
        raise DataError(
            format_error(
                f"Column {column!r} appears {columns.count(column)} times in {source}.",
                where=f"{source}, {key}",
                received=column,
                expected="a column name that appears once",
                fix="Rename the duplicate columns.",
            )
        )
    return table[column].tolist()


def _missing_column_error(column, columns, source, key):
    suggestion = _nearest_column(column, columns)
    if suggestion is not None:
        fix = f"Did you mean {suggestion!r}? Set {key}: {suggestion!r}."
    else:
        fix = f"Set {key} to one of the available columns."
    return DataError(
        format_error(
            f"Column {column!r} not found in {source}.",
            where=f"{source}, {key}",
            received=column,
            expected=f"one of the columns {columns}",
            fix=fix,
        )
    )


def _nearest_column(column, columns):
    for candidate in columns:
        if candidate.strip().lower() == column.strip().lower():
            return candidate
    matches = difflib.get_close_matches(column, columns, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _warn_dropped(source, column, count, reason):
    if count:
        logger.warning("%s: dropped %d row(s) with %s in column %r.", source, count, reason, column)


def _no_rows_error(source, total, dropped_empty_texts, dropped_missing_labels, labelled):
    required = "a non-blank text and label" if labelled else "a non-blank text"
    return DataError(
        format_error(
            f"{source} has no row with {required}.",
            where=source,
            received=(
                f"{total} rows: {dropped_empty_texts} with an empty text, "
                f"{dropped_missing_labels} with a missing label"
            ),
            expected=f"at least one row with {required}",
            fix="Check that task.text_column and task.label_column name the right columns.",
        )
    )

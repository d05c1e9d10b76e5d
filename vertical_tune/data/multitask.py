"""Load texts with several label columns for a multi-task model, keeping blank labels.

A row with a text is kept even when some of its labels are blank: the tasks whose
label is present train on it, and the others mask it out. Only rows without a text
are dropped.
"""

import logging
from dataclasses import dataclass

from vertical_tune.data.dataset import column_values, display_name, is_filled, text_values
from vertical_tune.data.readers import read_table
from vertical_tune.errors import DataError, format_error

logger = logging.getLogger(__name__)

MISSING = "(no label)"


@dataclass
class MultiLabeledTexts:
    """Texts and the raw cells of every label column, as loaded from one source.

    Attributes:
        texts: list of str. Non-blank input texts.
        cells: dict mapping a label column to its cells (str, or None when blank), in
            the order of `texts`. Empty for unlabelled input.
        rows: list of int. The 0-based data row of each text in `source`, for messages.
        source: str. Display name of the source.
        dropped_empty_texts: int. Rows of `source` dropped for a blank text.
        stratify_column: str or None. Label column whose values stratify splits and
            samples (blank cells form their own group).
    """

    texts: list
    cells: dict
    rows: list
    source: str
    dropped_empty_texts: int = 0
    stratify_column: str | None = None

    def __len__(self):
        return len(self.texts)

    @property
    def labels(self):
        """The stratification key of each row, so the split helpers can use this class."""
        if self.stratify_column is None:
            return ["all"] * len(self.texts)
        return [MISSING if cell is None else cell for cell in self.cells[self.stratify_column]]

    @property
    def split_key(self):
        """What stratifies splits, as named in error messages."""
        if self.stratify_column is None:
            return "no stratification (no multiclass or binary task)"
        return f"column {self.stratify_column!r} (stratifies the split; blank cells are one group)"

    @property
    def dropped_missing_labels(self):
        """Always 0: rows with blank labels are kept and masked per task."""
        return 0

    def subset(self, indices):
        """Return the rows at `indices`, in that order."""
        indices = [int(index) for index in indices]
        return MultiLabeledTexts(
            texts=[self.texts[i] for i in indices],
            cells={column: [values[i] for i in indices] for column, values in self.cells.items()},
            rows=[self.rows[i] for i in indices],
            source=self.source,
            dropped_empty_texts=self.dropped_empty_texts,
            stratify_column=self.stratify_column,
        )


def load_multitask_texts(source, *, text_column, tasks, format="auto", encoding="utf-8", tfds_data_dir=None, require_labels=True):
    """Read `source` and return its texts and the label cells of every task.

    Args:
        source: a file path, a pandas.DataFrame or `"tfds:NAME[:SPLIT]"`.
        text_column: str or list of str (`task.text_column`).
        tasks: list of TaskSpec.
        format, encoding, tfds_data_dir: passed to `read_table`.
        require_labels: bool. When False, label columns that the source lacks are
            skipped (prediction input); when True a missing column is an error naming
            the task.

    Raises:
        DataError: a column is missing, or no row has a text.
    """
    table = read_table(source, format=format, encoding=encoding, tfds_data_dir=tfds_data_dir)
    name = display_name(source)
    texts = text_values(table, text_column, name)
    cells = {}
    for index, task in enumerate(tasks):
        for column in task.columns:
            if column in cells or (not require_labels and column not in table.columns):
                continue
            key = f"tasks[{index}] ({task.name}).label_column" + ("s" if task.label_columns else "")
            values = column_values(table, column, name, key)
            cells[column] = [value.strip() if is_filled(value) else None for value in values]

    keep = [is_filled(text) for text in texts]
    dropped = keep.count(False)
    if dropped:
        logger.warning("%s: dropped %d row(s) with an empty text in column %r.", name, dropped, text_column)
    if not any(keep):
        raise DataError(
            format_error(
                f"{name} has no row with a non-blank text.",
                where=f"{name}, task.text_column",
                received=f"{len(table)} rows, all with an empty text",
                expected="at least one row with a text",
                fix="Check that task.text_column names the text column.",
            )
        )
    kept = [i for i, flag in enumerate(keep) if flag]
    return MultiLabeledTexts(
        texts=[texts[i] for i in kept],
        cells={column: [values[i] for i in kept] for column, values in cells.items()},
        rows=kept,
        source=name,
        dropped_empty_texts=dropped,
        stratify_column=_stratify_column(tasks, cells),
    )


def _stratify_column(tasks, cells):
    """Pick the first single-label classification task's column to stratify splits."""
    for task in tasks:
        if task.type in ("multiclass", "binary") and task.label_column in cells:
            return task.label_column
    return None

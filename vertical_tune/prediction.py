"""Batch prediction from a file to a file, in chunks, written atomically."""

import logging
import os
import tempfile
from pathlib import Path

from vertical_tune.data.chunks import iter_table_chunks
from vertical_tune.data.dataset import text_values
from vertical_tune.errors import DataError, format_error
from vertical_tune.run_directory import current_umask

logger = logging.getLogger(__name__)

_OUTPUT_FORMATS = (".csv", ".jsonl")


def predict_file(tuner, input_path, output_path, *, chunk_size=1024, text_column=None, keep_columns=()):
    """Predict every row of `input_path` and write the predictions to `output_path`.

    Every input row gets one output row, in order, starting with `row` (the 0-based
    data row number in the input) and the `keep_columns` copied from the input. Rows
    with an empty text get an empty label and no probabilities. The text written out
    is the normalised text (with the medical profile, personal data is already
    masked). When the input has the label column, it is copied as `true_label`,
    mapped to the label names.

    Args:
        tuner: a trained `FineTuner`.
        input_path: str or PathLike. CSV, TSV, JSONL or Parquet input.
        output_path: str or PathLike. `.csv` or `.jsonl` output, written atomically.
        chunk_size: int. Rows read and predicted at a time.
        text_column: str or None. Input column with the text; default `task.text_column`.
        keep_columns: column names copied from the input to the output.

    Returns:
        int. The number of rows written.
    """
    output_path = Path(output_path)
    _check_output(Path(input_path), output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{output_path.name}.", dir=output_path.parent)
    os.close(handle)
    try:
        rows = _write_predictions(tuner, input_path, temporary, output_path.suffix.lower(), chunk_size, text_column, keep_columns)
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, output_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return rows


def _check_output(input_path, output_path):
    suffix = output_path.suffix.lower()
    if suffix not in _OUTPUT_FORMATS:
        raise DataError(
            format_error(
                "Unsupported predictions file type.",
                where=str(output_path),
                received=suffix or "(no extension)",
                expected=", ".join(_OUTPUT_FORMATS),
                fix="Name the output file predictions.csv or predictions.jsonl.",
            )
        )
    if output_path.resolve() == input_path.resolve():
        raise DataError(
            format_error(
                "The predictions file would overwrite the input file.",
                where=str(output_path),
                fix="Choose another --output path.",
            )
        )


def _write_predictions(tuner, input_path, temporary, suffix, chunk_size, text_column, keep_columns):
    config = tuner.config
    rows, first = 0, True
    chunks = iter_table_chunks(input_path, chunk_size=chunk_size, format=config.data.format, encoding=config.data.encoding)
    for chunk in chunks:
        frame = predict_chunk(
            tuner, chunk, source=str(input_path), first_row=rows, text_column=text_column, keep_columns=keep_columns
        )
        if suffix == ".csv":
            frame.to_csv(temporary, mode="w" if first else "a", header=first, index=False)
        else:
            with open(temporary, "a", encoding="utf-8") as stream:
                frame.to_json(stream, orient="records", lines=True, force_ascii=False)
        rows += len(frame)
        first = False
    if rows == 0:
        logger.warning("%s has no data rows; the predictions file has only a header.", input_path)
        if suffix == ".csv":
            tuner.predict([]).to_csv(temporary, index=False)
    return rows


def predict_chunk(tuner, chunk, *, source, first_row=0, text_column=None, keep_columns=()):
    """Return the predictions table of one chunk of input rows."""
    text_column = text_column or tuner.config.task.text_column
    text_columns = [text_column] if isinstance(text_column, str) else list(text_column)
    for column, key in [(c, "--text-column or task.text_column") for c in text_columns] + [(c, "--keep-columns") for c in keep_columns]:
        if column not in chunk.columns:
            raise DataError(
                format_error(
                    f"Column {column!r} not found.",
                    where=f"{source} ({key})",
                    received=list(chunk.columns),
                    expected=f"a column named {column!r}",
                    fix="Pass the name of an existing column with --text-column, or rename the column.",
                )
            )
    predictions = tuner.predict(text_values(chunk, text_column, source))
    blank = sum(1 for text in predictions["text"] if not str(text).strip())
    if blank:
        logger.warning("%d rows of %s have an empty text; their labels are left empty.", blank, source)
    predictions.insert(0, "row", range(first_row, first_row + len(chunk)))
    for position, column in enumerate(keep_columns, start=1):
        predictions.insert(position, column, list(chunk[column]))
    position = predictions.columns.get_loc("text") + 1
    for name, values in tuner.true_label_columns(chunk, skip=keep_columns).items():
        predictions.insert(position, name, values)
        position += 1
    return predictions

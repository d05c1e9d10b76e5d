"""Batch prediction from a file to a file, in chunks, written atomically."""

import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from vertical_tune.data.chunks import iter_table_chunks
from vertical_tune.errors import DataError, format_error

logger = logging.getLogger(__name__)

_OUTPUT_FORMATS = (".csv", ".jsonl")


def predict_file(tuner, input_path, output_path, *, chunk_size=1024):
    """Predict every row of `input_path` and write the predictions to `output_path`.

    Every input row gets one output row, in order. Rows with an empty text get an
    empty label and no probabilities. The text written out is the normalised text
    (with the medical profile, personal data is already masked). When the input has
    the label column, it is copied as `true_label`.

    Returns:
        int. The number of rows written.
    """
    output_path = Path(output_path)
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
    output_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{output_path.name}.", dir=output_path.parent)
    os.close(handle)
    try:
        rows = _write_predictions(tuner, input_path, temporary, suffix, chunk_size)
        os.replace(temporary, output_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return rows


def _write_predictions(tuner, input_path, temporary, suffix, chunk_size):
    config = tuner.config
    rows, first = 0, True
    chunks = iter_table_chunks(
        input_path, chunk_size=chunk_size, format=config.data.format, encoding=config.data.encoding
    )
    for chunk in chunks:
        frame = predict_chunk(tuner, chunk, source=str(input_path))
        if suffix == ".csv":
            frame.to_csv(temporary, mode="w" if first else "a", header=first, index=False)
        else:
            with open(temporary, "a", encoding="utf-8") as stream:
                frame.to_json(stream, orient="records", lines=True, force_ascii=False)
        rows += len(frame)
        first = False
    if first:
        raise DataError(format_error("The input file has no rows.", where=str(input_path)))
    return rows


def predict_chunk(tuner, chunk, *, source):
    """Return the predictions table of one chunk of input rows."""
    task = tuner.config.task
    if task.text_column not in chunk.columns:
        raise DataError(
            format_error(
                f"Column {task.text_column!r} not found.",
                where=f"{source} (config key task.text_column)",
                received=list(chunk.columns),
                expected=f"a column named {task.text_column!r}",
                fix="Rename the column in the file, or set `task.text_column` when training.",
            )
        )
    texts = chunk[task.text_column].fillna("").astype(str)
    normalised = tuner.normalizer.normalize_all(list(texts))
    present = np.array([bool(t.strip()) for t in normalised])
    probabilities = np.full((len(normalised), tuner.labels.num_classes), np.nan)
    if present.any():
        probabilities[present] = tuner.predict_proba([t for t, p in zip(normalised, present) if p])
    if not present.all():
        logger.warning("%d rows of %s have an empty text; their label is left empty.", (~present).sum(), source)
    frame = tuner.predictions_frame(normalised, np.nan_to_num(probabilities))
    frame.loc[~present, "label"] = ""
    frame.loc[~present, [c for c in frame.columns if c.startswith("prob_") or c == "confidence"]] = np.nan
    if task.label_column in chunk.columns:
        frame.insert(1, "true_label", list(chunk[task.label_column]))
    return frame

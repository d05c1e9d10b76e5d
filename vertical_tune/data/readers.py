"""Read CSV, TSV, JSONL and Parquet files, DataFrames and tfds splits as tables of strings.

Every cell of a returned table is a `str` or `None`. `None` marks a missing value: a JSON
`null` or absent key, a Parquet null, a NaN, `None` or `pd.NA` in a DataFrame. CSV and TSV
have no null marker, so an empty field is returned as `""` and texts such as `NA` or
`None` stay text. Callers treat `None` and blank strings alike.
"""

import codecs
import csv
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from vertical_tune.errors import DataError, format_error

TFDS_PREFIX = "tfds:"
FORMATS = ("auto", "csv", "tsv", "jsonl", "parquet")
FORMAT_BY_EXTENSION = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_SEPARATORS = {"csv": ",", "tsv": "\t"}

# Matches `name[/config][:version][:split]`. A split may contain colons, as in `train[:10%]`.
_TFDS_SOURCE = re.compile(
    r"^(?P<name>[^:\s]+(?::\d+\.(?:\d+|\*)\.(?:\d+|\*))?)(?::(?P<split>.+))?$"
)


def read_table(source, *, format="auto", encoding="utf-8", tfds_data_dir=None):
    """Read a data source into a DataFrame whose cells are `str` or `None`.

    Args:
        source: a path (str or PathLike) to a CSV, TSV, JSONL (`.jsonl`, `.json`,
            `.ndjson`) or Parquet file, or a `pandas.DataFrame`, which is copied. A
            string `"tfds:NAME[:SPLIT]"` reads locally prepared tensorflow-datasets
            data. NAME may carry a config and version (`name/config:1.0.0`), and
            SPLIT defaults to `train`.
        format: one of `auto`, `csv`, `tsv`, `jsonl`, `parquet`. `auto` picks the format
            from the file extension.
        encoding: text encoding of CSV, TSV and JSONL files. With `utf-8`, a BOM is
            removed.
        tfds_data_dir: directory that contains prepared tfds data. `None` means the
            tfds default (`$TFDS_DATA_DIR` or `~/tensorflow_datasets`).

    Returns:
        A DataFrame with a RangeIndex and string column names. Whole-number floats in
        a column whose floats are all whole (an integer column with gaps) are
        written without `.0`.

    Raises:
        DataError: the source is missing, empty, undecodable or malformed.
    """
    if isinstance(source, pd.DataFrame):
        return _to_string_table(source)
    if isinstance(source, str) and source.startswith(TFDS_PREFIX):
        return _read_tfds(source, tfds_data_dir)
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(
            format_error(
                "Unsupported data source type.",
                received=type(source).__name__,
                expected="a file path, a pandas.DataFrame or 'tfds:NAME[:SPLIT]'",
            )
        )

    path = Path(source)
    file_format = _resolve_format(path, format)
    _check_readable_file(path)
    if file_format == "parquet":
        return _to_string_table(_read_parquet(path))
    python_encoding = _python_encoding(encoding)
    if file_format == "jsonl":
        return _to_string_table(_read_json_lines(path, python_encoding))
    return _to_string_table(_read_delimited(path, python_encoding, _SEPARATORS[file_format]))


def _to_string_table(frame):
    """Return a copy of `frame` whose cells are `str` or `None`, with a RangeIndex."""
    columns = {
        position: pd.Series(_column_to_strings(frame.iloc[:, position].tolist()), dtype=object)
        for position in range(frame.shape[1])
    }
    table = pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))
    table.columns = [str(name) for name in frame.columns]
    return table


def _column_to_strings(values):
    present_floats = [
        value
        for value in values
        if isinstance(value, (float, np.floating)) and not math.isnan(value)
    ]
    # pandas upcasts integer columns with gaps to float, so "1" would come back as "1.0".
    whole_numbers = all(float(value).is_integer() for value in present_floats)
    return [_cell_to_string(value, whole_numbers) for value in values]


def _cell_to_string(value, whole_numbers):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        # tfds stores text as UTF-8 bytes. Other byte features are not text, so they are
        # escaped instead of raising an error.
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        return str(int(value)) if whole_numbers else str(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=_json_fallback)
    return str(value)


def _json_fallback(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return str(value)


def _resolve_format(path, format):
    if format not in FORMATS:
        raise DataError(
            format_error(
                "Unknown data format.",
                where="data.format",
                received=format,
                expected=f"one of {', '.join(FORMATS)}",
            )
        )
    if format != "auto":
        return format
    file_format = FORMAT_BY_EXTENSION.get(path.suffix.lower())
    if file_format is None:
        raise DataError(
            format_error(
                "Cannot tell the data format from the file extension.",
                where=str(path),
                received=path.suffix or "(no extension)",
                expected=f"one of the extensions {', '.join(FORMAT_BY_EXTENSION)}",
                fix="Rename the file, or set data.format to csv, tsv, jsonl or parquet.",
            )
        )
    return file_format


def _check_readable_file(path):
    absolute = path.resolve()
    if not absolute.exists():
        raise DataError(
            format_error(
                "Data file not found.",
                where=str(absolute),
                received=str(path),
                fix="Check the path. Relative paths in a config file are relative to that file.",
            )
        )
    if absolute.is_dir():
        raise DataError(
            format_error(
                "Data path is a directory, not a file.",
                where=str(absolute),
                expected="a CSV, TSV, JSONL or Parquet file",
            )
        )
    if absolute.stat().st_size == 0:
        raise _empty_file_error(path)


def _empty_file_error(path):
    return DataError(
        format_error(
            "Data file is empty.",
            where=str(path.resolve()),
            expected="a header row and at least one data row",
        )
    )


def _python_encoding(encoding):
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise DataError(
            format_error(
                "Unknown text encoding.",
                where="data.encoding",
                received=encoding,
                expected="a Python codec name such as utf-8, latin-1 or cp1252",
            )
        ) from None
    # utf-8-sig decodes plain UTF-8 too, and drops a leading BOM instead of keeping it
    # in the first column name.
    return "utf-8-sig" if name == "utf-8" else encoding


def _read_delimited(path, encoding, separator):
    try:
        frame = pd.read_csv(
            path, sep=separator, dtype=str, keep_default_na=False, encoding=encoding
        )
    except UnicodeDecodeError as error:
        raise _decode_error(path, encoding, error) from None
    except pd.errors.EmptyDataError:
        raise _empty_file_error(path) from None
    except pd.errors.ParserError as error:
        raise _parser_error(path, encoding, separator, error) from None

    if not isinstance(frame.index, pd.RangeIndex):
        # pandas silently turns the first column into the index when the first data row
        # has one field more than the header. Every value would shift by one column.
        raise DataError(
            format_error(
                "Rows have more fields than the header.",
                where=f"{path.resolve()}, line 2",
                received=f"{frame.shape[1] + 1} fields",
                expected=f"{frame.shape[1]} fields, as in the header {list(frame.columns)}",
                fix=(
                    "Add the missing column name to the header, "
                    "or quote fields that contain the separator."
                ),
            )
        )
    return frame


def _parser_error(path, encoding, separator, error):
    message = str(error).replace("Error tokenizing data. C error: ", "").strip()
    where = str(path.resolve())
    received, expected = message, "rows with as many fields as the header, and closed double quotes"
    record = None

    # pandas counts records (header = record 1), not lines. Quoted line breaks make them differ.
    field_count = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    open_quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if field_count:
        record = int(field_count.group(2))
        received = f"{field_count.group(3)} fields"
        expected = f"{field_count.group(1)} fields, as in the header"
    elif open_quote:
        record = int(open_quote.group(1)) + 1
        received = "a double quote that is never closed"
        expected = "every quoted field to end with a double quote"
    if record is not None:
        line = _record_start_line(path, encoding, separator, record)
        where += f", line {line}" if line else f", record {record} (the header is record 1)"

    return DataError(
        format_error(
            "Malformed CSV data.",
            where=where,
            received=received,
            expected=expected,
            fix=(
                "Quote fields that contain the separator or line breaks, and double "
                "any quote inside a quoted field. For tab-separated data set data.format: tsv."
            ),
        )
    )


def _record_start_line(path, encoding, separator, record):
    """Return the line number where the 1-based `record` starts, or None if not found."""
    start, number = 1, 0
    with open(path, newline="", encoding=encoding) as file:
        reader = csv.reader(file, delimiter=separator)
        try:
            for number, _ in enumerate(reader, start=1):
                if number == record:
                    return start
                start = reader.line_num + 1
        except (csv.Error, UnicodeDecodeError):
            # Reading the requested record itself failed, e.g. at an unclosed quote.
            if number == record - 1:
                return start
    return None


def _decode_error(path, encoding, error):
    data = path.read_bytes()
    try:
        data.decode(encoding)
        start, end = error.start, error.end
    except UnicodeDecodeError as located:
        start, end = located.start, located.end
    line = data.count(b"\n", 0, start) + 1
    shown_encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    return DataError(
        format_error(
            f"Cannot decode the data file as {shown_encoding}.",
            where=f"{path.resolve()}, line {line}, byte offset {start}",
            received=data[start:end],
            expected=f"text in the {shown_encoding} encoding",
            fix=(
                "Set data.encoding to the file's encoding, e.g. `data.encoding: latin-1` "
                "or `cp1252` for Western European files, or re-save the file as UTF-8."
            ),
        )
    )


def _read_json_lines(path, encoding):
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise _decode_error(path, encoding, error) from None
    if text.lstrip().startswith("["):
        raise DataError(
            format_error(
                "JSON file contains an array; JSON Lines is expected.",
                where=str(path.resolve()),
                expected="one JSON object per line, e.g. {\"text\": \"...\", \"label\": \"...\"}",
                fix=(
                    "Write one object per line, "
                    "e.g. with pandas `to_json(orient='records', lines=True)`."
                ),
            )
        )

    records = []
    # Split on "\n" only: str.splitlines() would also split on U+2028 inside JSON strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            records.append(_parse_json_line(path, number, line))
    if not records:
        raise _empty_file_error(path)

    return _frame_from_records(records)


def _frame_from_records(records, columns=None):
    """Build an object-dtype DataFrame from dicts. A key missing from a dict gives None."""
    if columns is None:
        columns = list(dict.fromkeys(key for record in records for key in record))
    values = {
        column: pd.Series([record.get(column) for record in records], dtype=object)
        for column in columns
    }
    return pd.DataFrame(values, index=pd.RangeIndex(len(records)))


def _parse_json_line(path, number, line):
    where = f"{path.resolve()}, line {number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(
            format_error(
                f"Invalid JSON: {error.msg} at column {error.colno}.",
                where=where,
                received=_shorten(line.rstrip("\r")),
                expected="one JSON object per line",
            )
        ) from None
    if not isinstance(record, dict):
        raise DataError(
            format_error(
                "JSON Lines row is not an object.",
                where=where,
                received=_shorten(line.rstrip("\r")),
                expected="one JSON object per line, e.g. {\"text\": \"...\", \"label\": \"...\"}",
            )
        )
    return record


def _shorten(text, limit=120):
    return text if len(text) <= limit else text[:limit] + "..."


def parquet_error(path, error):
    """Return the `DataError` for a Parquet file that pyarrow cannot read."""
    return DataError(
        format_error(
            "Cannot read the Parquet file.",
            where=str(path.resolve()),
            received=str(error),
            expected="a valid Parquet file",
            fix="Re-export the file, or set data.format if it is not Parquet.",
        )
    )


def _read_parquet(path):
    import pyarrow
    import pyarrow.parquet

    try:
        table = pyarrow.parquet.read_table(path)
    except (pyarrow.ArrowInvalid, OSError) as error:
        raise parquet_error(path, error) from None
    # to_pylist keeps integers as Python ints even when the column has nulls.
    return _frame_from_records(table.to_pylist(), table.column_names)


def parse_tfds_source(source):
    """Split `"tfds:NAME[:SPLIT]"` into `(name, split)`. The split defaults to `train`."""
    match = _TFDS_SOURCE.match(source[len(TFDS_PREFIX):])
    if match is None:
        raise DataError(
            format_error(
                "Invalid tfds data source.",
                received=source,
                expected=(
                    "'tfds:NAME[:SPLIT]', e.g. 'tfds:imdb_reviews:test' "
                    "or 'tfds:name/config:1.0.0:train'"
                ),
            )
        )
    return match.group("name"), match.group("split") or "train"


def _read_tfds(source, data_dir):
    name, split = parse_tfds_source(source)
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise DataError(
            format_error(
                "tensorflow-datasets is not installed.",
                received=source,
                fix="Run `pip install tensorflow-datasets`.",
            )
        ) from None

    directory = str(data_dir) if data_dir is not None else None
    try:
        # download=False because offline, a download attempt retries for minutes before it fails.
        dataset = tfds.load(name, split=split, data_dir=directory, download=False)
    except tfds.core.DatasetNotFoundError:
        raise _tfds_not_prepared_error(source, name, directory) from None
    except AssertionError as error:
        if "could not find data" not in str(error):
            raise
        raise _tfds_not_prepared_error(source, name, directory) from None
    except ValueError as error:
        raise DataError(
            format_error(
                "Cannot load the tfds split.",
                where=source,
                received=split,
                expected=str(error),
            )
        ) from None

    rows = [dict(_flatten_example(example)) for example in tfds.as_numpy(dataset)]
    return _to_string_table(_frame_from_records(rows))


def _flatten_example(example, prefix=""):
    for key, value in example.items():
        if isinstance(value, dict):
            yield from _flatten_example(value, f"{prefix}{key}/")
        else:
            yield f"{prefix}{key}", value


def _tfds_not_prepared_error(source, name, directory):
    import tensorflow_datasets as tfds

    shown_directory = directory or tfds.core.constants.get_default_data_dir()
    return DataError(
        format_error(
            f"tfds data set {name!r} is not prepared in {shown_directory}.",
            where=source,
            received=name,
            expected=f"the output of `tfds build` for {name} in {shown_directory}",
            fix=(
                f"On a machine with network access run `tfds build {name} --data_dir DIR`, "
                "copy DIR to this machine and set data.tfds_data_dir to it."
            ),
        )
    )

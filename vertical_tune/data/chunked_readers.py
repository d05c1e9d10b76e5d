"""Read CSV, TSV, JSONL and Parquet files lazily, a chunk of rows at a time.

Each reader yields `Chunk`s whose tables hold only the requested columns, with cells
converted to `str` or `None` by the same rules as `read_table`. Memory stays bounded
by the chunk size, whatever the size of the file.
"""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vertical_tune.data import readers
from vertical_tune.data.dataset import column_values
from vertical_tune.errors import DataError, format_error

DEFAULT_CHUNK_ROWS = 2048
_DEFAULT_KEY = "task.text_column"


@dataclass
class Chunk:
    """Consecutive data rows of one file.

    Attributes:
        table: pandas.DataFrame. The requested columns; cells are `str` or `None`.
        first_index: int. 0-based index of the first row among the data rows of the
            file (the header and blank JSON lines are not counted).
        positions: list of int. The 1-based number shown in messages for each row:
            the line for JSONL, the data row for CSV, TSV and Parquet.
    """

    table: pd.DataFrame
    first_index: int
    positions: list


POSITION_UNIT = {"csv": "data row", "tsv": "data row", "jsonl": "line", "parquet": "row"}


def read_chunks(path, file_format, columns, *, keys=None, encoding="utf-8", chunk_rows=DEFAULT_CHUNK_ROWS):
    """Yield the rows of one file as `Chunk`s of at most `chunk_rows` rows.

    Args:
        path: str or Path. A CSV, TSV, JSONL or Parquet file.
        file_format: str. `csv`, `tsv`, `jsonl` or `parquet`.
        columns: list of str. Columns to read. Each must exist in the file.
        keys: dict or None. Column -> config key named when the column is missing;
            `task.text_column` by default.
        encoding: str. Text encoding of CSV, TSV and JSONL files.
        chunk_rows: int. Rows per chunk.

    Raises:
        DataError: the file is missing, empty, malformed or undecodable, or lacks one
            of `columns`.
    """
    path = Path(path)
    readers._check_readable_file(path)
    columns = _RequestedColumns(columns, keys or {})
    if file_format == "parquet":
        yield from _parquet_chunks(path, columns, chunk_rows)
    elif file_format == "jsonl":
        yield from _json_lines_chunks(path, columns, readers._python_encoding(encoding), chunk_rows)
    else:
        separator = "\t" if file_format == "tsv" else ","
        yield from _delimited_chunks(path, columns, readers._python_encoding(encoding), separator, chunk_rows)


class _RequestedColumns(list):
    """The columns to read, with the config key that names each one."""

    def __init__(self, columns, keys):
        super().__init__(columns)
        self.keys = keys


def _check_columns(available, columns, path):
    header = pd.DataFrame(columns=[str(name) for name in available])
    for column in columns:
        column_values(header, column, str(path), columns.keys.get(column, _DEFAULT_KEY))


def _delimited_chunks(path, columns, encoding, separator, chunk_rows):
    header = _read_csv(path, encoding, separator, nrows=0)
    _check_columns(header.columns, columns, path)
    first_index = 0
    reader = _read_csv(path, encoding, separator, usecols=list(columns), chunksize=chunk_rows)
    with reader:
        while True:
            try:
                frame = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise _chunk_decode_error(path, encoding, first_index) from None
            except pd.errors.ParserError as error:
                raise readers._parser_error(path, encoding, separator, error) from None
            table = readers._to_string_table(frame[list(columns)])
            positions = list(range(first_index + 1, first_index + len(table) + 1))
            yield Chunk(table, first_index, positions)
            first_index += len(table)


def _read_csv(path, encoding, separator, **options):
    try:
        return pd.read_csv(
            path, sep=separator, dtype=str, keep_default_na=False, encoding=encoding, **options
        )
    except UnicodeDecodeError:
        raise _chunk_decode_error(path, encoding, 0) from None
    except pd.errors.EmptyDataError:
        raise readers._empty_file_error(path) from None
    except pd.errors.ParserError as error:
        raise readers._parser_error(path, encoding, separator, error) from None


def _chunk_decode_error(path, encoding, first_index):
    shown_encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    return DataError(
        format_error(
            f"Cannot decode the data file as {shown_encoding}.",
            where=f"{path.resolve()}, after data row {first_index}",
            received=shown_encoding,
            expected=f"text in the {shown_encoding} encoding",
            fix=(
                "Set data.encoding to the file's encoding, e.g. `data.encoding: latin-1` "
                "or `cp1252` for Western European files, or re-save the file as UTF-8."
            ),
        )
    )


def _json_lines_chunks(path, columns, encoding, chunk_rows):
    records, positions = [], []
    # Every key seen in the file (not only the requested ones), listed when a column is missing.
    first_index, seen = 0, {}
    # newline="\n" splits on "\n" only, so a raw U+2028 or "\r" inside a JSON string
    # stays inside its line, as in `read_table`.
    with open(path, encoding=encoding, newline="\n") as file:
        for number, line in _numbered_lines(file, path, encoding):
            if not line.strip():
                continue
            record = readers._parse_json_line(path, number, line)
            seen.update(dict.fromkeys(record))
            records.append(record)
            positions.append(number)
            if len(records) == chunk_rows:
                yield _json_chunk(records, columns, first_index, positions)
                first_index += len(records)
                records, positions = [], []
    if records:
        yield _json_chunk(records, columns, first_index, positions)
    if first_index == 0 and not records:
        raise readers._empty_file_error(path)
    _check_columns(seen, columns, path)


def _numbered_lines(file, path, encoding):
    number = 0
    while True:
        try:
            line = file.readline()
        except UnicodeDecodeError:
            shown_encoding = "utf-8" if encoding == "utf-8-sig" else encoding
            raise DataError(
                format_error(
                    f"Cannot decode the data file as {shown_encoding}.",
                    where=f"{path.resolve()}, line {number + 1}",
                    received=shown_encoding,
                    expected=f"text in the {shown_encoding} encoding",
                    fix="Set data.encoding to the file's encoding, or re-save the file as UTF-8.",
                )
            ) from None
        if not line:
            return
        number += 1
        yield number, line


def _json_chunk(records, columns, first_index, positions):
    table = readers._to_string_table(readers._frame_from_records(records, list(columns)))
    return Chunk(table, first_index, list(positions))


def _parquet_chunks(path, columns, chunk_rows):
    import pyarrow
    import pyarrow.parquet

    try:
        parquet_file = pyarrow.parquet.ParquetFile(path)
        _check_columns(parquet_file.schema_arrow.names, columns, path)
        first_index = 0
        for batch in parquet_file.iter_batches(batch_size=chunk_rows, columns=list(columns)):
            frame = readers._frame_from_records(batch.to_pylist(), list(columns))
            table = readers._to_string_table(frame)
            positions = list(range(first_index + 1, first_index + len(table) + 1))
            yield Chunk(table, first_index, positions)
            first_index += len(table)
    except (pyarrow.ArrowInvalid, OSError) as error:
        raise readers.parquet_error(path, error) from None


"""Read a data source in chunks of rows, for prediction on files larger than memory."""

from pathlib import Path

import pandas as pd

from vertical_tune.data import readers


def iter_table_chunks(source, *, chunk_size, format="auto", encoding="utf-8", tfds_data_dir=None):
    """Yield DataFrames of at most `chunk_size` rows, cells as `str` or `None`.

    CSV and TSV files are read incrementally. Other sources (JSONL, Parquet,
    DataFrames, `tfds:`) are read whole and then sliced.
    """
    if isinstance(source, (str, Path)) and not str(source).startswith(readers.TFDS_PREFIX):
        path = Path(source)
        file_format = readers._resolve_format(path, format)
        if file_format in readers._SEPARATORS:
            readers._check_readable_file(path)
            yield from _delimited_chunks(path, readers._python_encoding(encoding), readers._SEPARATORS[file_format], chunk_size)
            return
    table = readers.read_table(source, format=format, encoding=encoding, tfds_data_dir=tfds_data_dir)
    for start in range(0, len(table), chunk_size):
        yield table.iloc[start : start + chunk_size].reset_index(drop=True)


def _delimited_chunks(path, encoding, separator, chunk_size):
    try:
        reader = pd.read_csv(
            path, sep=separator, dtype=str, keep_default_na=False, encoding=encoding, chunksize=chunk_size
        )
        for chunk in reader:
            yield chunk.reset_index(drop=True)
    except UnicodeDecodeError as error:
        raise readers._decode_error(path, encoding, error) from None
    except pd.errors.EmptyDataError:
        raise readers._empty_file_error(path) from None
    except pd.errors.ParserError as error:
        raise readers._parser_error(path, encoding, separator, error) from None

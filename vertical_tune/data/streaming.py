"""Stream labelled texts from files larger than memory as a `tf.data` pipeline.

Files are read chunk by chunk (`chunked_readers`), never loaded whole into pandas.
Typical use by a trainer:

```python
files = expand_sources("data/train-*.csv")
stats = count_rows(files, text_column="text", label_column="label", label_names=names)
dataset = stream_examples(
    files, text_column="text", label_column="label", label_names=names,
    batch_size=32, repeat=True, input_context=context,
)
model.fit(dataset, steps_per_epoch=steps_per_epoch(stats.rows, 32), epochs=3)
```
"""

import glob
import logging
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from vertical_tune.data.chunked_readers import DEFAULT_CHUNK_ROWS, POSITION_UNIT, read_chunks
from vertical_tune.data.dataset import column_values, is_filled, text_values
from vertical_tune.data.labels import FROM_DATA, LabelVocabulary
from vertical_tune.data.manifest import MANIFEST_NAME, read_manifest, shard_paths
from vertical_tune.data.readers import FORMAT_BY_EXTENSION
from vertical_tune.errors import ConfigError, DataError, format_error

logger = logging.getLogger(__name__)

STREAM_FORMATS = ("csv", "tsv", "jsonl", "parquet", "tfrecord")
TFRECORD_EXTENSIONS = (".tfrecord", ".tfrecords")
# Files read at the same time by `interleave`. Each open file keeps one chunk in memory.
DEFAULT_CYCLE_LENGTH = 4


@dataclass
class StreamStats:
    """Counts from one streaming pass over the training files.

    Attributes:
        rows: int. Rows with a non-blank text and label: the rows a training epoch reads.
        dropped_empty_texts: int. Rows skipped for a missing or blank text.
        dropped_missing_labels: int. Rows with a text but a missing or blank label.
        label_counts: dict. Raw label value (stripped) -> number of kept rows.
    """

    rows: int = 0
    dropped_empty_texts: int = 0
    dropped_missing_labels: int = 0
    label_counts: dict = field(default_factory=dict)


def expand_sources(pattern, format="auto"):
    """Return the sorted files that a training source names.

    Args:
        pattern: str or Path. A file, a glob such as `data/train-*.csv` (`**` matches
            nested folders), or a folder written by `vtune data prepare`.
        format: str. `auto` (from the file extensions) or one of `STREAM_FORMATS`.

    Returns:
        list of str. Absolute file paths; a prepared folder gives its shards in
        manifest order, anything else is sorted by path.

    Raises:
        DataError: nothing matches, a folder has no manifest, the files mix formats,
            or an extension is unknown while `format` is `auto`.
    """
    text = os.path.expanduser(os.fspath(pattern))
    path = Path(text)
    if path.is_dir():
        if not (path / MANIFEST_NAME).is_file():
            raise _folder_error(path)
        files = shard_paths(path, read_manifest(path))
    elif glob.has_magic(text):
        matches = glob.glob(text, recursive=True)
        files = sorted(str(Path(match).resolve()) for match in matches if Path(match).is_file())
        if not files:
            raise _no_match_error(text)
    elif path.is_file():
        files = [str(path.resolve())]
    else:
        raise DataError(
            format_error(
                "Data file not found.",
                where=str(path.resolve()),
                received=text,
                fix="Check the path. Relative paths in a config file are relative to that file.",
            )
        )
    source_format(files, format, source=text)
    return files


def source_format(files, format="auto", *, source=None):
    """Return the one format of `files`: `format` itself, or the format of their extensions.

    Raises:
        DataError: `format` is unknown, an extension is unknown, or the files mix formats.
    """
    if format != "auto":
        if format not in STREAM_FORMATS:
            raise DataError(
                format_error(
                    "Unknown data format.",
                    where="data.format",
                    received=format,
                    expected=f"auto or one of {', '.join(STREAM_FORMATS)}",
                )
            )
        return format
    formats = {}
    for file in files:
        formats.setdefault(_extension_format(file), file)
    if len(formats) > 1:
        raise DataError(
            format_error(
                "The training files mix several formats.",
                where=source or files[0],
                received={name: example for name, example in formats.items()},
                expected="files of one format",
                fix="Narrow the glob to one extension, e.g. `data/train-*.csv`.",
            )
        )
    return next(iter(formats))


def _extension_format(file):
    suffix = Path(file).suffix.lower()
    if suffix in TFRECORD_EXTENSIONS:
        return "tfrecord"
    if suffix not in FORMAT_BY_EXTENSION:
        extensions = ", ".join(list(FORMAT_BY_EXTENSION) + list(TFRECORD_EXTENSIONS))
        raise DataError(
            format_error(
                "Cannot tell the data format from the file extension.",
                where=str(file),
                received=suffix or "(no extension)",
                expected=f"one of the extensions {extensions}",
                fix="Narrow the glob to data files, or set data.format.",
            )
        )
    return FORMAT_BY_EXTENSION[suffix]


def _folder_error(path):
    return DataError(
        format_error(
            f"The folder has no {MANIFEST_NAME}, so it is not a folder written by `vtune data prepare`.",
            where=str(path.resolve()),
            expected="a file, a glob of files, or a folder written by `vtune data prepare`",
            fix=f"Use a glob such as `{path / '*.csv'}`, or run `vtune data prepare`.",
        )
    )


def _no_match_error(pattern):
    return DataError(
        format_error(
            "No file matches the pattern.",
            where="data.train",
            received=pattern,
            expected="a glob that matches at least one file, e.g. `data/train-*.csv`",
            fix="Check the folder and the pattern. Relative paths in a config file are relative to that file.",
        )
    )


def label_vocabulary(label_names):
    """Build a `LabelVocabulary` from a list of labels, a raw value -> name dict, or a vocabulary.

    Raises:
        ConfigError: `label_names` is `from_data`, which a stream cannot resolve.
    """
    if isinstance(label_names, LabelVocabulary):
        return label_names
    if isinstance(label_names, str):
        raise ConfigError(
            format_error(
                "Streamed training data needs the label set listed in the config.",
                where="task.labels",
                received=label_names,
                expected="a list of labels, or a mapping from label value to name",
                fix=f"List the labels in task.labels. `scan_labels` finds them when it is {FROM_DATA}.",
            )
        )
    return LabelVocabulary.from_spec(label_names, None)


def shard_for_pipeline(files, input_context):
    """Return the files one input pipeline reads and its row shard.

    With at least as many files as pipelines, pipeline `i` of `n` reads `files[i::n]`
    and every row of them. With fewer files it reads every file, but only the rows
    whose 0-based index in their file satisfies `index % n == i`. Either way each row
    is read by exactly one pipeline.

    Returns:
        (list of files, `(n, i)` or None when every row of those files is read).
    """
    if input_context is None or input_context.num_input_pipelines <= 1:
        return list(files), None
    count, index = input_context.num_input_pipelines, input_context.input_pipeline_id
    if len(files) >= count:
        return list(files)[index::count], None
    return list(files), (count, index)


def per_replica_batch_size(batch_size, input_context):
    """Return the batch size of one replica: `batch_size` divided by the replicas in sync.

    Raises:
        ConfigError: `batch_size` is not a multiple of the number of replicas.
    """
    if input_context is None:
        return int(batch_size)
    try:
        return input_context.get_per_replica_batch_size(int(batch_size))
    except ValueError:
        replicas = input_context.num_replicas_in_sync
        raise ConfigError(
            format_error(
                "The global batch size is not a multiple of the number of replicas.",
                where="batch size",
                received=batch_size,
                expected=f"a multiple of {replicas}",
                fix=f"Set the batch size to a multiple of {replicas}.",
            )
        ) from None


def steps_per_epoch(num_rows, batch_size):
    """Return the number of batches of `batch_size` that hold `num_rows` rows (the last may be partial)."""
    return max(1, math.ceil(int(num_rows) / int(batch_size)))


class _RowReader:
    """Reads one file chunk by chunk and keeps the rows with a text and a label."""

    def __init__(self, file_format, text_column, label_column, *, encoding, chunk_rows, row_shard):
        self.file_format = file_format
        self.text_column = text_column
        self.label_column = label_column
        self.encoding = encoding
        self.chunk_rows = chunk_rows
        self.row_shard = row_shard
        columns = [text_column] if isinstance(text_column, str) else list(text_column)
        self.columns = list(dict.fromkeys(columns + [label_column]))
        self.keys = {column: "task.text_column" for column in columns}
        self.keys[label_column] = "task.label_column"

    def chunks(self, path):
        """Yield `(texts, raw labels, positions, dropped empty texts, dropped missing labels)`."""
        for chunk in read_chunks(
            path,
            self.file_format,
            self.columns,
            keys=self.keys,
            encoding=self.encoding,
            chunk_rows=self.chunk_rows,
        ):
            yield self._select(chunk, str(path))

    def _select(self, chunk, source):
        table, positions = chunk.table, chunk.positions
        if self.row_shard is not None:
            count, index = self.row_shard
            mine = [k for k in range(len(table)) if (chunk.first_index + k) % count == index]
            table = table.iloc[mine]
            positions = [positions[k] for k in mine]
        texts = text_values(table, self.text_column, source)
        labels = column_values(table, self.label_column, source, "task.label_column")
        kept_texts, kept_labels, kept_positions = [], [], []
        dropped_texts = dropped_labels = 0
        for text, label, position in zip(texts, labels, positions):
            if not is_filled(text):
                dropped_texts += 1
            elif not is_filled(label):
                dropped_labels += 1
            else:
                kept_texts.append(text)
                kept_labels.append(label.strip())
                kept_positions.append(position)
        return kept_texts, kept_labels, kept_positions, dropped_texts, dropped_labels


def encode_labels(vocabulary, labels, positions, *, source, file_format):
    """Map raw labels to int32 class indices; an unknown label raises `DataError` with its row."""
    try:
        return vocabulary.encode(labels, source=source).astype(np.int32)
    except DataError:
        for label, position in zip(labels, positions):
            try:
                vocabulary.encode([label], source=source)
            except DataError:
                raise DataError(
                    format_error(
                        f"Label {label!r} is not in the label set.",
                        where=f"{source}, {POSITION_UNIT[file_format]} {position}",
                        received=label,
                        expected=f"one of {dict(zip(vocabulary.raw_values, vocabulary.names))}",
                        fix="Add the label to task.labels, or remove the row.",
                    )
                ) from None
        raise


def count_rows(
    files,
    *,
    format="auto",
    text_column,
    label_column,
    label_names=None,
    encoding="utf-8",
    input_context=None,
    chunk_rows=DEFAULT_CHUNK_ROWS,
):
    """Stream the files once and count the rows a training epoch reads.

    Memory stays bounded by one chunk. Dropped rows are logged as warnings.

    Args:
        files: list of str. From `expand_sources`.
        format: str. `auto` or one of `csv`, `tsv`, `jsonl`, `parquet`.
        text_column: str or list of str. `task.text_column`.
        label_column: str. `task.label_column`.
        label_names: list, dict or LabelVocabulary, or None. When given, every label
            is checked against it, so an unknown label fails before training starts.
        encoding: str. Text encoding of CSV, TSV and JSONL files.
        input_context: tf.distribute.InputContext or None. Count only the rows of
            this input pipeline.
        chunk_rows: int. Rows read at a time.

    Returns:
        StreamStats.

    Raises:
        DataError: a file cannot be read, a column is missing, a label is unknown,
            or no row has both a text and a label.
    """
    file_format = _raw_format(files, format)
    vocabulary = None if label_names is None else label_vocabulary(label_names)
    files, row_shard = shard_for_pipeline(files, input_context)
    reader = _RowReader(
        file_format, text_column, label_column, encoding=encoding, chunk_rows=chunk_rows, row_shard=row_shard
    )
    stats, labels = StreamStats(), Counter()
    for path in files:
        for texts, raw_labels, positions, dropped_texts, dropped_labels in reader.chunks(path):
            if vocabulary is not None:
                encode_labels(vocabulary, raw_labels, positions, source=path, file_format=file_format)
            stats.rows += len(texts)
            stats.dropped_empty_texts += dropped_texts
            stats.dropped_missing_labels += dropped_labels
            labels.update(raw_labels)
    stats.label_counts = dict(sorted(labels.items()))
    _log_dropped(stats, files)
    if stats.rows == 0:
        raise _no_rows_error(files, stats)
    return stats


def scan_labels(files, *, format="auto", text_column, label_column, encoding="utf-8"):
    """Return the label set of the files as `task.labels: from_data` defines it, in one pass.

    Returns:
        LabelVocabulary. The sorted distinct labels (numerically sorted when all are
        integers).
    """
    stats = count_rows(
        files, format=format, text_column=text_column, label_column=label_column, encoding=encoding
    )
    return LabelVocabulary.from_spec(FROM_DATA, list(stats.label_counts))


def stream_examples(
    files,
    *,
    format="auto",
    text_column,
    label_column,
    label_names,
    batch_size,
    encoding="utf-8",
    normalizer=None,
    input_context=None,
    seed=0,
    shuffle_buffer=10000,
    repeat=False,
    cycle_length=DEFAULT_CYCLE_LENGTH,
    chunk_rows=DEFAULT_CHUNK_ROWS,
):
    """Build a `tf.data.Dataset` of `(texts, class indices)` batches read lazily from files.

    Files are interleaved `cycle_length` at a time, rows go through a shuffle buffer,
    then are batched and prefetched. Without `repeat` the dataset is one pass over
    the rows of this input pipeline, each row once. With `repeat` it cycles forever,
    reshuffled on each pass, and the caller sets `steps_per_epoch`. The batches never
    cross a pass boundary, so with one pipeline an epoch of
    `steps_per_epoch(count_rows(...).rows, batch_size)` steps is exactly one pass.

    Rows with a blank text or a missing label are skipped; `count_rows` counts them.
    An error in a file (an unknown label, a malformed line) surfaces when the
    pipeline reaches it, as a `tf.errors.OpError` that carries the `DataError`
    message, because tf.data wraps exceptions of Python generators. Run
    `count_rows` with `label_names` first to raise them as `DataError` before
    training.

    Args:
        files: list of str. From `expand_sources`.
        format: str. `auto` or one of `csv`, `tsv`, `jsonl`, `parquet`.
        text_column: str or list of str. Several columns are joined with a blank
            line, skipping blank cells, as in `load_labeled_texts`.
        label_column: str.
        label_names: list of labels in class-index order, a dict mapping the raw
            value to a readable name (as `task.labels`), or a `LabelVocabulary`.
        batch_size: int. The global batch size; with `input_context` each replica
            gets its share.
        encoding: str. Text encoding of CSV, TSV and JSONL files.
        normalizer: TextNormalizer or None. Applied to each text before batching.
        input_context: tf.distribute.InputContext or None. Read only this input
            pipeline's share of the rows (see `shard_for_pipeline`).
        seed: int. Seed of the file order and the shuffle buffer.
        shuffle_buffer: int or None. Rows in the shuffle buffer; 0 or None reads the
            files in order with no shuffling.
        repeat: bool. Repeat the passes forever.
        cycle_length: int. Files read at the same time.
        chunk_rows: int. Rows read from a file at a time.

    Returns:
        tf.data.Dataset of `(tf.string [batch], tf.int32 [batch])`.
    """
    file_format = _raw_format(files, format)
    vocabulary = label_vocabulary(label_names)
    batch = per_replica_batch_size(batch_size, input_context)
    shuffle = bool(shuffle_buffer)
    files, row_shard = shard_for_pipeline(list(map(str, files)), input_context)
    reader = _RowReader(
        file_format, text_column, label_column, encoding=encoding, chunk_rows=chunk_rows, row_shard=row_shard
    )

    def file_batches(path):
        path = path.decode("utf-8")
        for texts, labels, positions, _, _ in reader.chunks(path):
            if not texts:
                continue
            indices = encode_labels(vocabulary, labels, positions, source=path, file_format=file_format)
            if normalizer is not None:
                texts = normalizer.normalize_all(texts)
            yield np.array(texts, dtype=object), indices

    signature = (
        tf.TensorSpec(shape=(None,), dtype=tf.string),
        tf.TensorSpec(shape=(None,), dtype=tf.int32),
    )

    def read_file(path):
        chunks = tf.data.Dataset.from_generator(file_batches, args=(path,), output_signature=signature)
        return chunks.unbatch()

    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        dataset = dataset.shuffle(len(files), seed=seed)
    # A sequential interleave (no num_parallel_calls) gives the same row order on every run.
    dataset = dataset.interleave(read_file, cycle_length=max(1, min(cycle_length, len(files))) if shuffle else 1)
    if shuffle:
        dataset = dataset.shuffle(int(shuffle_buffer), seed=seed)
    dataset = dataset.batch(batch)
    if repeat:
        dataset = dataset.repeat()
    return with_shard_policy(dataset, input_context, fallback=tf.data.experimental.AutoShardPolicy.DATA).prefetch(
        tf.data.AUTOTUNE
    )


def with_shard_policy(dataset, input_context, *, fallback):
    """Turn off tf.distribute auto-sharding when the pipeline already reads only its share."""
    options = tf.data.Options()
    if input_context is not None:
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    else:
        options.experimental_distribute.auto_shard_policy = fallback
    return dataset.with_options(options)


def _raw_format(files, format):
    files = list(files)
    if not files:
        raise DataError(
            format_error(
                "No training files were given.",
                where="data.train",
                expected="at least one file, e.g. from expand_sources",
            )
        )
    file_format = source_format(files, format)
    if file_format == "tfrecord":
        raise DataError(
            format_error(
                "TFRecord shards hold tokenized features, not texts.",
                where=files[0],
                received="tfrecord",
                expected="csv, tsv, jsonl or parquet files",
                fix="Read a prepared folder with `read_prepared`, or point the source at the text files.",
            )
        )
    return file_format


def _log_dropped(stats, files):
    where = files[0] if len(files) == 1 else f"{len(files)} files"
    if stats.dropped_empty_texts:
        logger.warning("%s: skipped %d row(s) with an empty text.", where, stats.dropped_empty_texts)
    if stats.dropped_missing_labels:
        logger.warning("%s: skipped %d row(s) with a missing label.", where, stats.dropped_missing_labels)


def _no_rows_error(files, stats):
    return DataError(
        format_error(
            "The training files have no row with a non-blank text and label.",
            where=", ".join(files[:3]) + (" ..." if len(files) > 3 else ""),
            received=(
                f"{stats.dropped_empty_texts} rows with an empty text, "
                f"{stats.dropped_missing_labels} with a missing label"
            ),
            expected="at least one row with a non-blank text and label",
            fix="Check that task.text_column and task.label_column name the right columns.",
        )
    )

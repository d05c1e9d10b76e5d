"""`vtune data prepare`: tokenize the training data once into TFRecord shards plus a manifest.

Later epochs and runs read the token ids from the shards instead of tokenizing the
texts again. The shards are written into a temporary folder beside the output,
which is renamed to the output only when everything is written, so a failure
leaves no half-written folder.
"""

import json
import logging
import shutil
import tempfile
from pathlib import Path

import tensorflow as tf

from vertical_tune.data.labels import FROM_DATA, LabelVocabulary
from vertical_tune.data.manifest import (
    MANIFEST_KIND,
    MANIFEST_NAME,
    MANIFEST_VERSION,
    preparation_settings,
)
from vertical_tune.data.prepared import serialize_example
from vertical_tune.data.streaming import (
    count_rows,
    expand_sources,
    label_vocabulary,
    source_format,
    stream_examples,
)
from vertical_tune.errors import ConfigError, DataError, format_error

logger = logging.getLogger(__name__)

# Texts tokenized per call of the preprocessor.
_TOKENIZE_BATCH = 256


def shard_name(index, count):
    """Return the file name of shard `index` of `count`, e.g. `train-00000-of-00004.tfrecord`."""
    return f"train-{index:05d}-of-{count:05d}.tfrecord"


def prepare_shards(config, output, *, num_shards=4, source=None, force=False):
    """Tokenize the training data of `config` and write TFRecord shards and `manifest.json`.

    Row `k` of the kept rows (in file order) goes to shard `k % num_shards`, so the
    shards differ in size by at most one row.

    Args:
        config: VTuneConfig. Supplies the data source and columns, the labels, the
            normalization, the backbone and its sequence length.
        output: str or Path. Folder to create.
        num_shards: int. Number of shard files; capped at the number of rows.
        source: str or None. A file or glob that replaces `data.train`.
        force: bool. Replace `output` when it exists.

    Returns:
        dict. The manifest that was written.

    Raises:
        ConfigError: no training source is set, or `num_shards` is below 1.
        DataError: the source cannot be read, a label is not in `task.labels`, or
            `output` exists and `force` is False.
    """
    output = Path(output).expanduser().resolve()
    files, file_format = _training_files(config, source, num_shards)
    _check_output(output, force)
    vocabulary, stats = _labels_and_counts(config, files, file_format)
    num_shards = min(num_shards, stats.rows)

    from vertical_tune.backbones.resolver import resolve_backbone
    from vertical_tune.data.normalize import build_normalizer
    from vertical_tune.modeling.classifier import build_preprocessor

    backbone = resolve_backbone(config.backbone.preset, strip_accents=config.backbone.strip_accents)
    preprocessor = build_preprocessor(backbone, config.backbone.sequence_length)
    examples = stream_examples(
        files,
        format=file_format,
        text_column=config.task.text_column,
        label_column=config.task.label_column,
        label_names=vocabulary,
        batch_size=_TOKENIZE_BATCH,
        encoding=config.data.encoding,
        normalizer=build_normalizer(config.normalization),
        shuffle_buffer=0,
    )
    tokenized = examples.map(lambda texts, labels: (preprocessor(texts), labels))

    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent))
    try:
        shards, features = _write_shards(tokenized, staging, num_shards)
        manifest = _manifest(config, vocabulary, stats, files, shards, features)
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _replace(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("Wrote %d rows in %d shards to %s.", stats.rows, num_shards, output)
    return manifest


def _training_files(config, source, num_shards):
    if num_shards < 1:
        raise ConfigError(
            format_error("The number of shards must be at least 1.", where="--shards", received=num_shards)
        )
    source = source or config.data.train
    if not source:
        raise ConfigError(
            format_error(
                "No training data to prepare.",
                where="data.train",
                fix="Set data.train in the config, or pass --source PATH_OR_GLOB.",
            )
        )
    requested = "auto" if config.data.format == "tfrecord" else config.data.format
    files = expand_sources(source, requested)
    file_format = source_format(files, requested, source=source)
    if file_format == "tfrecord":
        raise DataError(
            format_error(
                "The source is already prepared TFRecord data.",
                where=str(source),
                expected="CSV, TSV, JSONL or Parquet files with texts",
                fix="Pass the text files with --source, e.g. --source 'data/train-*.csv'.",
            )
        )
    return files, file_format


def _check_output(output, force):
    if output.exists() and not force:
        raise DataError(
            format_error(
                "The output folder already exists.",
                where=str(output),
                fix="Choose another --output folder, or pass --force to replace it.",
            )
        )
    if output.exists() and not output.is_dir():
        raise DataError(format_error("The output path is a file, not a folder.", where=str(output)))


def _labels_and_counts(config, files, file_format):
    """Count the rows in one pass, checking each label against `task.labels` when it is listed."""
    listed = config.task.labels != FROM_DATA
    stats = count_rows(
        files,
        format=file_format,
        text_column=config.task.text_column,
        label_column=config.task.label_column,
        label_names=label_vocabulary(config.task.labels) if listed else None,
        encoding=config.data.encoding,
    )
    if listed:
        return label_vocabulary(config.task.labels), stats
    return LabelVocabulary.from_spec(FROM_DATA, list(stats.label_counts)), stats


def _write_shards(tokenized, folder, num_shards):
    """Write the examples round-robin into `num_shards` files; return shard entries and feature specs."""
    names = [shard_name(index, num_shards) for index in range(num_shards)]
    rows = [0] * num_shards
    features, position = None, 0
    writers = [tf.io.TFRecordWriter(str(folder / name)) for name in names]
    try:
        for batch, labels in tokenized.as_numpy_iterator():
            if features is None:
                features = {
                    name: {"dtype": array.dtype.name, "shape": list(array.shape[1:])}
                    for name, array in batch.items()
                }
            for row, label in enumerate(labels):
                shard = position % num_shards
                example = {name: array[row] for name, array in batch.items()}
                writers[shard].write(serialize_example(example, label))
                rows[shard] += 1
                position += 1
    finally:
        for writer in writers:
            writer.close()
    return [{"file": name, "rows": count} for name, count in zip(names, rows)], features


def _manifest(config, vocabulary, stats, files, shards, features):
    from vertical_tune import __version__

    return {
        "kind": MANIFEST_KIND,
        "manifest_version": MANIFEST_VERSION,
        "vertical_tune_version": __version__,
        **preparation_settings(config),
        "labels": vocabulary.to_dict(),
        "text_column": config.task.text_column,
        "label_column": config.task.label_column,
        "features": features,
        "num_rows": stats.rows,
        "label_counts": {str(raw): int(count) for raw, count in stats.label_counts.items()},
        "dropped_empty_texts": stats.dropped_empty_texts,
        "dropped_missing_labels": stats.dropped_missing_labels,
        "shards": shards,
        "sources": [{"path": path, "bytes": Path(path).stat().st_size} for path in files],
    }


def _replace(staging, output):
    """Move the finished `staging` folder to `output`, replacing an old `output` last."""
    if not output.exists():
        staging.rename(output)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".old", dir=output.parent))
    retired.rmdir()
    output.rename(retired)
    staging.rename(output)
    shutil.rmtree(retired, ignore_errors=True)

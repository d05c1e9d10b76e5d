"""Training on a stream (`data.streaming`): files read batch by batch, never loaded whole.

The training rows come from `vertical_tune.data.streaming` (CSV, TSV, JSONL or
Parquet shards, tokenized on the fly) or from the TFRecord shards of `vtune data
prepare` (already tokenized). Under a multi-replica strategy each input pipeline
reads its own share of the files through `distribute_datasets_from_function`.
Validation data is small and stays in memory, as in the in-memory path.
"""

import contextlib
import dataclasses
import functools
import logging
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from vertical_tune.data.labels import LabelVocabulary
from vertical_tune.data.manifest import MANIFEST_NAME, manifest_vocabulary, read_manifest
from vertical_tune.data.prepared import prepared_row_count, read_prepared, without_preprocessor
from vertical_tune.data.streaming import count_rows, expand_sources, scan_labels, steps_per_epoch, stream_examples
from vertical_tune.errors import ConfigError, format_error
from vertical_tune.training.callbacks import EpochTimer, ValidationMetrics
from vertical_tune.training.pipeline import make_dataset
from vertical_tune.training.trainer import selection_callbacks

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainStream:
    """The streamed training set of one run.

    Attributes:
        source: str. `data.train` as given.
        files: list of str. The files or shards read.
        prepared: bool. True for TFRecord shards of `vtune data prepare`.
        labels: LabelVocabulary.
        rows: int. Rows of one epoch, over all workers.
        label_counts: dict raw label -> rows (raw files only; None for shards).
        dropped: (empty texts, missing labels) skipped in one epoch.
    """

    source: str
    files: list
    prepared: bool
    labels: LabelVocabulary
    rows: int
    label_counts: dict | None
    dropped: tuple = (0, 0)

    def summary(self):
        """Return the `data.train` entry of metrics.json."""
        summary = {
            "source": self.source,
            "files": len(self.files),
            "rows": self.rows,
            "streamed": True,
            "dropped_empty_texts": self.dropped[0],
            "dropped_missing_labels": self.dropped[1],
        }
        if self.label_counts:
            names = dict(zip(self.labels.raw_values, self.labels.names))
            summary["label_counts"] = {names.get(str(k), str(k)): int(v) for k, v in self.label_counts.items()}
        return summary


def open_stream(config):
    """Find the files of `data.train`, resolve the labels and count the rows of one epoch.

    Raises:
        ConfigError: `data.validation` is missing, or a setting that needs the whole
            training set in memory is set.
        DataError: no file matches, or a row has a label outside `task.labels`.
    """
    data, task = config.data, config.task
    if data.validation is None:
        raise ConfigError(
            format_error(
                "Streamed training needs its own validation data: it cannot split a stream.",
                where="data.validation",
                received=None,
                fix="Set `data.validation` to a file of labelled rows, or `data.streaming: false`.",
            )
        )
    if data.max_train_rows is not None:
        raise ConfigError(
            format_error(
                "`data.max_train_rows` samples rows in memory, which a stream does not allow.",
                where="data.max_train_rows",
                received=data.max_train_rows,
                fix="Remove `data.max_train_rows`, or pass a smaller file as `data.train`.",
            )
        )
    files = expand_sources(data.train, data.format)
    prepared = data.format == "tfrecord" or (Path(data.train).is_dir() and (Path(data.train) / MANIFEST_NAME).is_file())
    if prepared:
        manifest = read_manifest(data.train)
        labels = manifest_vocabulary(manifest)
        # Manifests of earlier versions have no label counts; class weights then need the raw files.
        counts = manifest.get("label_counts") or None
        return TrainStream(data.train, files, True, labels, prepared_row_count(manifest), counts)

    columns = {"text_column": task.text_column, "label_column": task.label_column, "encoding": data.encoding}
    if task.labels == "from_data":
        labels = scan_labels(files, format=data.format, **columns)
    else:
        labels = LabelVocabulary.from_spec(task.labels, [])
    stats = count_rows(files, format=data.format, label_names=labels, **columns)
    dropped = (stats.dropped_empty_texts, stats.dropped_missing_labels)
    return TrainStream(data.train, files, False, labels, stats.rows, dict(stats.label_counts), dropped)


def training_dataset(stream, config, placement, normalizer, preprocessor, class_weight=None):
    """Return the dataset `fit` reads, repeated, and whether it yields token ids.

    With several replicas every input pipeline builds its own share of the files
    (`distribute_datasets_from_function`) and tokenizes them with `preprocessor`
    itself, because keras-hub's `fit` maps its preprocessor over plain datasets
    only. Class weights become per-example weights inside the pipeline, which
    Keras accepts for distributed datasets too.

    Returns:
        (dataset, tokenized): `tokenized` is True when the batches hold token ids,
        so `fit` must run without the model's preprocessor.
    """
    training, data, task = placement.training, config.data, config.task
    weights = None if class_weight is None else tf.constant([class_weight[i] for i in range(len(class_weight))], tf.float32)

    def build(input_context=None):
        if stream.prepared:
            dataset = read_prepared(
                stream.source,
                config,
                batch_size=training.batch_size,
                input_context=input_context,
                seed=training.seed,
                shuffle_buffer=data.shuffle_buffer,
                repeat=True,
            )
        else:
            dataset = stream_examples(
                stream.files,
                format=data.format,
                text_column=task.text_column,
                label_column=task.label_column,
                label_names=stream.labels,
                batch_size=training.batch_size,
                encoding=data.encoding,
                normalizer=normalizer,
                input_context=input_context,
                seed=training.seed,
                shuffle_buffer=data.shuffle_buffer,
                repeat=True,
            )
        if weights is not None:
            dataset = dataset.map(lambda x, y: (x, y, tf.gather(weights, y)))
        if distributed and not stream.prepared:
            dataset = dataset.map(lambda *batch: preprocessor(*batch), num_parallel_calls=tf.data.AUTOTUNE)
        return dataset

    distributed = placement.strategy.num_replicas_in_sync > 1
    if distributed:
        return placement.strategy.distribute_datasets_from_function(build), True
    return build(), stream.prepared


def epoch_steps(stream, placement):
    """Return the training steps of one epoch: every row once, in global batches."""
    return steps_per_epoch(stream.rows, placement.training.batch_size)


def stream_class_weights(stream, mode):
    """Return {class index: weight} for `training.class_weight: balanced`, from the row counts."""
    if mode == "none":
        return None
    if not stream.label_counts:
        raise ConfigError(
            format_error(
                "`training.class_weight: balanced` needs the label counts, which these prepared shards lack.",
                where="training.class_weight",
                received=mode,
                fix="Run `vtune data prepare` again (its manifest now keeps the counts), set "
                "`training.class_weight: none`, or stream the raw files.",
            )
        )
    index = {raw: i for i, raw in enumerate(stream.labels.raw_values)}
    counts = np.zeros(stream.labels.num_classes)
    for raw, count in stream.label_counts.items():
        counts[index[str(raw)]] = count
    present = counts > 0
    weights = np.ones_like(counts)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return {i: float(w) for i, w in enumerate(weights)}


def fit_stream(model, dataset, steps, validation, label_names, training, *, tokenized, workdir, verbose, json_lines, callbacks):
    """Fit on a streamed dataset and restore the weights of the best validation epoch.

    Returns:
        (history dict, validation history list, epoch seconds list).
    """
    val_texts, val_y = validation
    val_ds = make_dataset(val_texts, batch_size=training.batch_size)
    preprocessing = contextlib.nullcontext()
    if tokenized:
        # The model reads token ids during this fit, so validation texts are tokenized up front.
        preprocessor = model.preprocessor
        val_ds = val_ds.map(preprocessor, num_parallel_calls=tf.data.AUTOTUNE)
        preprocessing = without_preprocessor(model)
    validation_metrics = ValidationMetrics(val_ds, val_y, label_names)
    mode = "min" if training.selection_metric == "loss" else "max"
    timer = EpochTimer()
    built_in = [timer, validation_metrics] + selection_callbacks(
        f"val_{training.selection_metric}", mode, training, workdir, json_lines
    )
    # keras-hub's `fit` accepts only plain datasets. These batches hold token ids already,
    # so Keras' own `fit` takes them, distributed or not.
    fit = functools.partial(keras.Model.fit, model) if tokenized else model.fit
    with preprocessing:
        history = fit(
            dataset,
            epochs=training.epochs,
            steps_per_epoch=steps,
            callbacks=built_in + list(callbacks),
            verbose=verbose,
        )
    logs = {key: [float(v) for v in values] for key, values in history.history.items()}
    return logs, validation_metrics.history, timer.seconds

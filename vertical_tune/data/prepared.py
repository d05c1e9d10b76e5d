"""Read tokenized TFRecord shards written by `vtune data prepare`, and train on them.

Each record is a `tf.train.Example` with one int64 list per preprocessor output
(`token_ids`, `padding_mask`, ... of `sequence_length` values) and an int64 `label`.
The manifest stores the original dtype of each feature, which reading restores.
"""

import contextlib

import numpy as np
import tensorflow as tf

from vertical_tune.data.manifest import check_manifest, read_manifest, shard_paths
from vertical_tune.data.streaming import (
    DEFAULT_CYCLE_LENGTH,
    per_replica_batch_size,
    shard_for_pipeline,
    with_shard_policy,
)

LABEL_FEATURE = "label"


def serialize_example(features, label):
    """Encode one example as a serialized `tf.train.Example`.

    Args:
        features: dict of feature name -> 1-D numpy array (integers or booleans).
        label: int. Class index.

    Returns:
        bytes.
    """
    values = {
        name: tf.train.Feature(int64_list=tf.train.Int64List(value=np.asarray(array, dtype=np.int64)))
        for name, array in features.items()
    }
    values[LABEL_FEATURE] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)]))
    return tf.train.Example(features=tf.train.Features(feature=values)).SerializeToString()


def parse_batch(serialized, feature_specs):
    """Decode a batch of serialized examples into `(features dict, int32 class indices)`.

    Args:
        serialized: tf.string tensor of shape [batch].
        feature_specs: dict of name -> {"dtype": str, "shape": list of int}, as in
            the manifest's `features`.
    """
    spec = {
        name: tf.io.FixedLenFeature(shape=described["shape"], dtype=tf.int64)
        for name, described in feature_specs.items()
    }
    spec[LABEL_FEATURE] = tf.io.FixedLenFeature(shape=[], dtype=tf.int64)
    parsed = tf.io.parse_example(serialized, spec)
    labels = tf.cast(parsed.pop(LABEL_FEATURE), tf.int32)
    features = {
        name: tf.cast(parsed[name], tf.as_dtype(described["dtype"]))
        for name, described in feature_specs.items()
    }
    return features, labels


def prepared_row_count(manifest, input_context=None):
    """Return the number of rows that one input pipeline reads per pass over the shards."""
    rows = [shard["rows"] for shard in manifest["shards"]]
    if input_context is None or input_context.num_input_pipelines <= 1:
        return sum(rows)
    count, index = input_context.num_input_pipelines, input_context.input_pipeline_id
    if len(rows) >= count:
        return sum(rows[index::count])
    return sum(len(range(index, shard_rows, count)) for shard_rows in rows)


def read_prepared(
    directory,
    config,
    *,
    batch_size,
    input_context=None,
    seed=0,
    shuffle_buffer=10000,
    repeat=False,
    cycle_length=DEFAULT_CYCLE_LENGTH,
):
    """Build a `tf.data.Dataset` of `(features dict, class indices)` from prepared shards.

    The shards are checked against `config` first. Sharding across input pipelines
    follows `shard_for_pipeline`: whole shard files when there are at least as many
    shards as pipelines, else every n-th record of each shard. Without
    `input_context`, tf.distribute may auto-shard the dataset by file, because it
    starts from the list of shard files.

    Args:
        directory: str or Path. Folder written by `vtune data prepare`.
        config: VTuneConfig. Its backbone, sequence length, normalization and labels
            must match the manifest.
        batch_size: int. The global batch size; with `input_context` each replica
            gets its share.
        input_context: tf.distribute.InputContext or None.
        seed: int. Seed of the shard order and the shuffle buffer.
        shuffle_buffer: int or None. Records in the shuffle buffer; 0 or None reads
            the shards in order.
        repeat: bool. Repeat the passes forever; the caller sets `steps_per_epoch`
            from `prepared_row_count`.
        cycle_length: int. Shards read at the same time.

    Returns:
        tf.data.Dataset of `(dict of feature tensors [batch, sequence_length], tf.int32 [batch])`.

    Raises:
        DataError: the manifest is missing or invalid, or it was prepared with other
            settings than `config`.
    """
    manifest = read_manifest(directory)
    check_manifest(manifest, config, directory)
    files, row_shard = shard_for_pipeline(shard_paths(directory, manifest), input_context)
    batch = per_replica_batch_size(batch_size, input_context)
    shuffle = bool(shuffle_buffer)

    def read_shard(path):
        records = tf.data.TFRecordDataset(path)
        if row_shard is not None:
            records = records.shard(*row_shard)
        return records

    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        dataset = dataset.shuffle(len(files), seed=seed)
    dataset = dataset.interleave(
        read_shard,
        cycle_length=max(1, min(cycle_length, len(files))) if shuffle else 1,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    if shuffle:
        dataset = dataset.shuffle(int(shuffle_buffer), seed=seed)
    feature_specs = manifest["features"]
    dataset = dataset.batch(batch).map(
        lambda serialized: parse_batch(serialized, feature_specs), num_parallel_calls=tf.data.AUTOTUNE
    )
    if repeat:
        dataset = dataset.repeat()
    policy = tf.data.experimental.AutoShardPolicy.AUTO
    return with_shard_policy(dataset, input_context, fallback=policy).prefetch(tf.data.AUTOTUNE)


@contextlib.contextmanager
def without_preprocessor(model):
    """Detach a keras-hub task's preprocessor while the block runs, so it takes features.

    keras-hub's `Task.fit`, `evaluate` and `predict` map `model.preprocessor` over
    their input; with `preprocessor = None` (keras-hub 0.32) they pass the input to
    the model unchanged. Use this to train on `read_prepared` batches. The
    preprocessor is restored on exit, also after an exception.

    Args:
        model: keras_hub.models.Task, e.g. a TextClassifier.

    Yields:
        The model.
    """
    preprocessor = model.preprocessor
    model.preprocessor = None
    try:
        yield model
    finally:
        model.preprocessor = preprocessor

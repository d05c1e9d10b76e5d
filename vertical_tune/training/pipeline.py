"""tf.data input pipelines of raw texts; the classifier's preprocessor tokenizes them."""

import numpy as np
import tensorflow as tf


def make_dataset(texts, labels=None, *, batch_size, shuffle=False, seed=0):
    """Batch texts (and targets) into a `tf.data.Dataset`.

    `labels` is an array of class indices, or a dict of per-task target arrays for
    a multi-task model.

    Tokenization happens inside `fit`/`predict`, which map the keras-hub
    preprocessor over the batches in parallel, exactly as for a bare keras-hub model.
    """
    texts = np.asarray(list(texts), dtype=object)
    if labels is None:
        dataset = tf.data.Dataset.from_tensor_slices(texts)
    else:
        if isinstance(labels, dict):
            targets = {name: np.asarray(values) for name, values in labels.items()}
        else:
            targets = np.asarray(labels, dtype="int32")
        dataset = tf.data.Dataset.from_tensor_slices((texts, targets))
    if shuffle:
        dataset = dataset.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)

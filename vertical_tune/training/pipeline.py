"""tf.data input pipelines of raw texts; the classifier's preprocessor tokenizes them."""

import numpy as np
import tensorflow as tf


def make_dataset(texts, labels=None, *, batch_size, shuffle=False, seed=0):
    """Batch texts (and class indices) into a `tf.data.Dataset`.

    Tokenization happens inside `fit`/`predict`, which map the keras-hub
    preprocessor over the batches in parallel, exactly as for a bare keras-hub model.
    """
    texts = np.asarray(list(texts), dtype=object)
    if labels is None:
        dataset = tf.data.Dataset.from_tensor_slices(texts)
    else:
        dataset = tf.data.Dataset.from_tensor_slices((texts, np.asarray(labels, dtype="int32")))
    if shuffle:
        dataset = dataset.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)

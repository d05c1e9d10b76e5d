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
        dataset = tf.data.Dataset.from_tensor_slices((texts, _targets(labels)))
    if shuffle:
        dataset = dataset.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _targets(labels):
    if isinstance(labels, dict):
        return {name: np.asarray(values) for name, values in labels.items()}
    return np.asarray(labels, dtype="int32")


class EpochFeed:
    """Training batches whose order depends only on the seed and the epoch number.

    A resumed run must see the batches an uninterrupted run would see, and may
    start in the middle of an epoch. `tf.data`'s reshuffling depends on how many
    times the dataset was iterated, so it cannot do that. Here each epoch is a
    stateless shuffle keyed by (seed, epoch). `set_position(epoch, batch)` chooses
    what the next iteration of `dataset` yields; Keras starts a new iterator for
    every epoch of `fit`, which reads the position at that moment.

    The dataset always has `steps_per_epoch` elements, so Keras reads the epoch
    length. Started at batch `b`, its first `steps_per_epoch - b` batches are the
    rest of the epoch; `ResumedEpochEnd` ends that epoch there.

    Args:
        texts: sequence of str.
        labels: array of class indices, or dict of per-task target arrays.
        batch_size: int.
        seed: int.
    """

    def __init__(self, texts, labels, *, batch_size, seed):
        self.batch_size = int(batch_size)
        self.num_examples = len(texts)
        self.steps_per_epoch = -(-self.num_examples // self.batch_size)
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._skip = tf.Variable(0, dtype=tf.int64, trainable=False)
        texts = tf.constant(np.asarray(list(texts), dtype=object), dtype=tf.string)
        targets = tf.nest.map_structure(tf.constant, _targets(labels))
        seed = tf.constant(int(seed) % (2**31), dtype=tf.int64)
        size, steps = self.num_examples, self.steps_per_epoch

        def one_epoch(_):
            order = tf.random.experimental.stateless_shuffle(
                tf.range(size, dtype=tf.int64), seed=tf.stack([seed, self._epoch])
            )
            # Batches past the end (when started mid-epoch) repeat the last one; never used.
            numbers = tf.minimum(tf.range(steps, dtype=tf.int64) + self._skip, steps - 1)

            def batch(number):
                index = order[number * self.batch_size : (number + 1) * self.batch_size]
                return tf.gather(texts, index), tf.nest.map_structure(lambda t: tf.gather(t, index), targets)

            return tf.data.Dataset.from_tensor_slices(numbers).map(batch)

        dataset = tf.data.Dataset.range(1).flat_map(one_epoch)
        self.dataset = dataset.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(tf.data.AUTOTUNE)

    def set_position(self, epoch, batch=0):
        """Make the next iteration yield epoch `epoch` (0-based) from batch `batch` on."""
        self._epoch.assign(int(epoch))
        self._skip.assign(int(batch))

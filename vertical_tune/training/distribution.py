"""Pick a tf.distribute strategy; scale-out always goes through TensorFlow's own strategies."""

import tensorflow as tf


def get_strategy(name="auto"):
    """Return the strategy for `distribution.strategy`.

    `auto` mirrors over all local GPUs when there are two or more, and otherwise
    uses the default strategy (one device).
    """
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()

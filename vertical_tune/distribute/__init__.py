"""Training beyond one device: tf.distribute strategies, batch-size rules and precision."""

from vertical_tune.distribute.cluster import ClusterTask, read_tf_config
from vertical_tune.distribute.precision import apply_precision, device_type, precision_policy
from vertical_tune.distribute.strategy import (
    build_strategy,
    describe,
    global_batch_size,
    is_chief,
    replica_count,
    scaled_learning_rate,
)

__all__ = [
    "ClusterTask",
    "apply_precision",
    "build_strategy",
    "describe",
    "device_type",
    "global_batch_size",
    "is_chief",
    "precision_policy",
    "read_tf_config",
    "replica_count",
    "scaled_learning_rate",
]

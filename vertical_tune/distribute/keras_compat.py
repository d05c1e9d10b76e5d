"""Make Keras `fit` work under mirrored and multi-worker strategies (Keras 3.15, TensorFlow backend).

Keras 3.15's TensorFlow trainer fails in two places:

- Before the first step, `_maybe_symbolic_build` averages a distributed input batch with
  `strategy.reduce`. MirroredStrategy cannot average boolean tensors, such as the
  `padding_mask` of keras-hub preprocessors ("Value for attr 'T' of bool is not in the
  list of allowed values"), and CollectiveAllReduceStrategy cannot reduce a tuple of
  per-replica values ("Attempt to convert a value (PerReplica ...) to a Tensor").
- With several workers, after each step, `reduce_per_replica` averages the scalar loss and metric values with
  `strategy.reduce("MEAN", value, axis=0)`, which fails on a scalar ("Invalid reduction
  dimension 0 for input with 0 dimensions").

`patch_keras_for_distribution` wraps both: the symbolic build gets this worker's first
local replica batch (only its shapes and dtypes matter), and scalars are averaged over
all replicas with `axis=None`. Without a strategy scope, Keras' own code runs.
"""

import tensorflow as tf
from keras.src import tree
from keras.src.backend.tensorflow import trainer as tf_trainer

# TODO: remove once Keras' TensorFlow trainer passes a two-process
# MultiWorkerMirroredStrategy fit and a mirrored keras-hub classifier fit without it.
_PATCHED = "_vertical_tune_multi_worker_patch"


def patch_keras_for_distribution():
    """Wrap the two Keras functions that fail with several workers; calling it again does nothing."""
    if getattr(tf_trainer, _PATCHED, False):
        return
    original_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    original_reduce = tf_trainer.reduce_per_replica

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is None or strategy is None:
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            local_batch = tree.map_structure(lambda value: _first_local_value(strategy, value), next(batches))
            return original_build(self, data_batch=local_batch)
        return original_build(self)

    def reduce_per_replica(values, strategy, reduction):
        if not _is_multi_worker(strategy) or reduction not in ("auto", "mean"):
            return original_reduce(values, strategy, reduction)
        return tree.map_structure(lambda value: _mean_over_replicas(strategy, value), values)

    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    setattr(tf_trainer, _PATCHED, True)


def _is_multi_worker(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


def _first_local_value(strategy, value):
    if isinstance(value, tf.distribute.DistributedValues):
        return strategy.experimental_local_results(value)[0]
    return value


def _mean_over_replicas(strategy, value):
    rank = value.values[0].shape.rank if isinstance(value, tf.distribute.DistributedValues) else value.shape.rank
    return strategy.reduce("MEAN", value, axis=None if rank == 0 else 0)

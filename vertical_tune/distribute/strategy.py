"""Build the tf.distribute strategy of `distribution:` and apply its batch-size rules.

Every scale-out path goes through TensorFlow's own strategies: one device, mirrored
replicas on local GPUs or logical CPUs, MultiWorkerMirroredStrategy over `TF_CONFIG`,
or TPUStrategy.
"""

import logging
import math
import signal

import tensorflow as tf

from vertical_tune.distribute import devices
from vertical_tune.distribute.cluster import read_tf_config
from vertical_tune.distribute.keras_compat import patch_keras_for_distribution
from vertical_tune.errors import ConfigError, format_error

logger = logging.getLogger(__name__)


def build_strategy(settings):
    """Create the strategy named by `distribution.strategy`.

    Args:
        settings: DistributionConfig.

    Returns:
        tf.distribute.Strategy.

    Raises:
        ConfigError: when the strategy does not fit this machine (`mirrored` with no GPU
            and no `cpu_devices`, `tpu` with no TPU), when `TF_CONFIG` is invalid, or
            when TensorFlow has already started and can no longer be reconfigured.
    """
    name = settings.strategy
    patch_keras_for_distribution()
    if name == "auto":
        # `cpu_devices` only applies to an explicit `mirrored`.
        return tf.distribute.MirroredStrategy() if devices.gpu_count() >= 2 else tf.distribute.get_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return _mirrored(settings)
    if name == "multi_worker":
        return _multi_worker()
    return _tpu(settings.tpu)


def _mirrored(settings):
    if settings.cpu_devices is not None:
        return tf.distribute.MirroredStrategy(devices=devices.logical_cpu_devices(settings.cpu_devices))
    if devices.gpu_count() == 0:
        raise ConfigError(
            format_error(
                "distribution.strategy `mirrored` does not fit the hardware: this machine has no GPU.",
                where="distribution.strategy",
                received="mirrored",
                expected="one or more GPUs, or `distribution.cpu_devices` set to split the CPU",
                fix="Set `distribution.cpu_devices: 2` to test on logical CPU devices, or "
                "`distribution.strategy: default`.",
            )
        )
    return tf.distribute.MirroredStrategy()


def _multi_worker():
    task = read_tf_config()
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except tf.errors.OpError as error:
        address = task.cluster[task.task_type][task.task_index]
        raise ConfigError(
            format_error(
                f"distribution.strategy `multi_worker` cannot start this worker's server at {address}.",
                where=f"TF_CONFIG cluster.{task.task_type}[{task.task_index}]",
                received=str(error).splitlines()[0] if str(error) else type(error).__name__,
                expected="a free port on this machine's own address",
                fix="Stop the process that holds the port (an earlier worker still running?), or give this "
                "task another free port in `TF_CONFIG` on every worker.",
            )
        ) from error
    except RuntimeError as error:
        raise ConfigError(
            format_error(
                "distribution.strategy `multi_worker` cannot start: TensorFlow has already "
                "started its runtime in this process.",
                where="distribution.strategy",
                received="multi_worker",
                expected="MultiWorkerMirroredStrategy created before any other TensorFlow op",
                fix="Build the strategy before anything else runs TensorFlow, or start a fresh process.",
            )
        ) from error
    _restore_sigterm()
    return strategy


def _restore_sigterm():
    """Let SIGTERM end the process again, as it does without a strategy.

    Starting MultiWorkerMirroredStrategy installs TensorFlow's own SIGTERM handler,
    which ignores the signal, so `kill PID` and a scheduler's stop request would not
    stop the worker. A worker stopped this way resumes from the chief's checkpoint.
    """
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # not the main thread: signals cannot be set there
        logger.warning("SIGTERM does not stop this multi-worker process; stop it with SIGKILL.")


def _tpu(tpu):
    # NOTE: never run on a TPU; only the checks for a missing TPU are tested.
    if not devices.tpu_visible(tpu):
        raise _no_tpu_error(tpu, "no TPU device was found on this host")
    # TensorFlow raises several unrelated types when no TPU responds (NotFoundError,
    # ValueError, RuntimeError). All of them mean the same thing to the user.
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (tf.errors.OpError, ValueError, RuntimeError) as error:
        raise _no_tpu_error(tpu, str(error).splitlines()[0] if str(error) else type(error).__name__) from error
    return tf.distribute.TPUStrategy(resolver)


def _no_tpu_error(tpu, reason):
    return ConfigError(
        format_error(
            f"distribution.strategy `tpu` does not fit the hardware: {reason}.",
            where="distribution.tpu",
            received=tpu,
            expected="`local` on a TPU VM, a TPU name on Google Cloud, or a `grpc://host:port` address",
            fix="Run on a TPU VM, set `distribution.tpu` to your TPU, or use `strategy: default`.",
        )
    )


def is_chief(strategy=None):
    """Tell whether this process writes the run directory, checkpoints and registry entries.

    Args:
        strategy: tf.distribute.Strategy or None. None means the strategy in scope.

    Returns:
        bool. True for single-process strategies. Under MultiWorkerMirroredStrategy,
        True for task type `chief`, or for worker 0 when the cluster has no chief.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    resolver = strategy.cluster_resolver
    cluster = resolver.cluster_spec().as_dict()
    if not cluster or resolver.task_type is None:
        return True
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in cluster


def replica_count(strategy):
    """Return the number of replicas that take one step together, over all workers."""
    return int(strategy.num_replicas_in_sync)


def global_batch_size(settings, batch_size, replicas):
    """Return the examples per step over all replicas, following `distribution.batch_size`.

    Args:
        settings: DistributionConfig.
        batch_size: int. `training.batch_size`.
        replicas: int. `replica_count(strategy)`.

    Returns:
        int. `batch_size` for `global`; `batch_size * replicas` for `per_replica`.

    Raises:
        ConfigError: when a `global` batch is smaller than the number of replicas, so
            some replicas would get no examples.
    """
    if settings.batch_size == "per_replica":
        return batch_size * replicas
    if batch_size < replicas:
        raise ConfigError(
            format_error(
                f"training.batch_size {batch_size} is split between {replicas} replicas, so some get no examples.",
                where="training.batch_size",
                received=batch_size,
                expected=f"at least {replicas}, one example per replica",
                fix=f"Raise `training.batch_size` to {replicas} or more, or set `distribution.batch_size: per_replica`.",
            )
        )
    return batch_size


def scaled_learning_rate(settings, learning_rate, batch_size, replicas):
    """Return the learning rate for the global batch, following `distribution.learning_rate_scaling`.

    The reference batch is `training.batch_size`: with `distribution.batch_size:
    global` the global batch equals it, so every rule keeps `learning_rate`.

    Args:
        settings: DistributionConfig.
        learning_rate: float. `training.learning_rate`.
        batch_size: int. `training.batch_size`.
        replicas: int. `replica_count(strategy)`.

    Returns:
        float. `learning_rate` times global / `batch_size` for `linear`, times its
        square root for `sqrt`, unchanged for `none`.
    """
    ratio = global_batch_size(settings, batch_size, replicas) / batch_size
    if settings.learning_rate_scaling == "linear":
        return learning_rate * ratio
    if settings.learning_rate_scaling == "sqrt":
        return learning_rate * math.sqrt(ratio)
    return learning_rate


def describe(strategy):
    """Return a short summary of `strategy` for logs and metrics.json.

    Returns:
        dict with `strategy` (class name), `replicas`, `devices` (list of str),
        `worker_index` (int, 0 outside multi-worker) and `workers` (int).
    """
    worker_index, workers = 0, 1
    resolver = getattr(strategy, "cluster_resolver", None)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and resolver is not None:
        cluster = resolver.cluster_spec().as_dict()
        workers = max(1, len(cluster.get("chief", [])) + len(cluster.get("worker", [])))
        worker_index = _worker_index(resolver.task_type, resolver.task_id or 0, cluster)
    return {
        "strategy": _STRATEGY_NAMES.get(type(strategy).__name__, type(strategy).__name__),
        "replicas": replica_count(strategy),
        "devices": devices.worker_devices(strategy),
        "worker_index": worker_index,
        "workers": workers,
    }


# TensorFlow exports MultiWorkerMirroredStrategy under this class name.
_STRATEGY_NAMES = {"CollectiveAllReduceStrategy": "MultiWorkerMirroredStrategy", "_DefaultDistributionStrategy": "DefaultStrategy"}


def _worker_index(task_type, task_id, cluster):
    # Chief first, then workers: the order MultiWorkerMirroredStrategy numbers them in.
    if task_type == "worker":
        return len(cluster.get("chief", [])) + task_id
    return task_id

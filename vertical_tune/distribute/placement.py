"""One run's placement: its strategy, the batch and learning rate it trains with, and who writes.

`FineTuner`, `MultiTaskTuner` and distillation build their models through
`Placement.building()`, so they run inside the strategy's scope with the configured
precision, and write files only on the chief. Compression fine-tunes on one device.
"""

import contextlib
import dataclasses


from vertical_tune.distribute.precision import check_precision, precision_policy
from vertical_tune.distribute.strategy import (
    build_strategy,
    describe,
    is_chief,
    replica_count,
    global_batch_size,
    scaled_learning_rate,
)

# MultiWorkerMirroredStrategy can be created once per process, so every run of a
# process shares the strategy built for the same settings.
_STRATEGIES = {}


@dataclasses.dataclass
class Placement:
    """The devices, global batch and learning rate of one run, and whether it writes files.

    Attributes:
        settings: DistributionConfig.
        strategy: tf.distribute.Strategy.
        training: TrainingConfig with `batch_size` and `learning_rate` set to the
            global batch and the scaled rate that the optimizer and datasets use.
        chief: bool. True in the process that writes the run directory,
            checkpoints and registry entries.
    """

    settings: object
    strategy: object
    training: object
    chief: bool

    @contextlib.contextmanager
    def building(self):
        """Build and compile models inside this block; yields the `jit_compile` value for `compile`."""
        with precision_policy(self.settings, self.strategy) as jit_compile, self.strategy.scope():
            yield jit_compile

    def describe(self):
        """Return the strategy summary with the global batch and learning rate, for metrics.json."""
        return {
            **describe(self.strategy),
            "global_batch_size": self.training.batch_size,
            "learning_rate": self.training.learning_rate,
            "mixed_precision": self.settings.mixed_precision,
            "jit_compile": self.settings.jit_compile,
        }


def strategy_for(settings):
    """Return the strategy of `distribution` settings, built once per process."""
    key = (settings.strategy, settings.cpu_devices, settings.tpu)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = build_strategy(settings)
    return _STRATEGIES[key]


def place(config, training=None):
    """Return the `Placement` of `config`.

    Args:
        config: VTuneConfig. Its `distribution` section chooses the strategy.
        training: TrainingConfig or None. The settings to scale; defaults to
            `config.training` (distillation and compression pass their own).

    Raises:
        ConfigError: the strategy, precision or batch size does not fit this machine.
    """
    settings = config.distribution
    strategy = strategy_for(settings)
    # Checked here, before any data is read, so a wrong switch fails at once.
    check_precision(settings, strategy)
    training = training or config.training
    replicas = replica_count(strategy)
    effective = training.model_copy(
        update={
            "batch_size": global_batch_size(settings, training.batch_size, replicas),
            "learning_rate": scaled_learning_rate(settings, training.learning_rate, training.batch_size, replicas),
        }
    )
    return Placement(settings=settings, strategy=strategy, training=effective, chief=is_chief(strategy))



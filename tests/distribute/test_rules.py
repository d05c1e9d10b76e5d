"""Batch-size and learning-rate rules, precision switches and strategy summaries."""

import math

import keras
import pytest
import tensorflow as tf

from vertical_tune.config.schema import DistributionConfig
from vertical_tune.distribute import (
    build_strategy,
    describe,
    global_batch_size,
    is_chief,
    precision_policy,
    replica_count,
    scaled_learning_rate,
)
from vertical_tune.errors import ConfigError


def test_global_batch_is_split():
    settings = DistributionConfig(batch_size="global")
    assert global_batch_size(settings, 32, 4) == 32


def test_per_replica_batch_is_multiplied():
    settings = DistributionConfig(batch_size="per_replica")
    assert global_batch_size(settings, 32, 4) == 128


def test_global_batch_smaller_than_replicas():
    with pytest.raises(ConfigError) as raised:
        global_batch_size(DistributionConfig(), 2, 4)
    assert "Where: training.batch_size" in str(raised.value)
    assert "per_replica" in str(raised.value)


@pytest.mark.parametrize(
    "batch_mode, scaling, expected",
    [
        ("per_replica", "linear", 4e-5 * 4),
        ("per_replica", "sqrt", 4e-5 * 2),
        ("per_replica", "none", 4e-5),
        ("global", "linear", 4e-5),
        ("global", "sqrt", 4e-5),
    ],
)
def test_learning_rate_scaling(batch_mode, scaling, expected):
    settings = DistributionConfig(batch_size=batch_mode, learning_rate_scaling=scaling)
    assert math.isclose(scaled_learning_rate(settings, 4e-5, 32, 4), expected)


def test_default_strategy_summary():
    strategy = build_strategy(DistributionConfig(strategy="default"))
    summary = describe(strategy)
    assert summary["strategy"] == "DefaultStrategy"
    assert summary["replicas"] == 1
    assert summary["worker_index"] == 0
    assert replica_count(strategy) == 1
    assert is_chief(strategy)
    assert is_chief()


def test_auto_without_gpus_is_default():
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    strategy = build_strategy(DistributionConfig(strategy="auto"))
    assert strategy is tf.distribute.get_strategy()


def test_precision_policy_restored():
    before = keras.config.dtype_policy().name
    with precision_policy(DistributionConfig(mixed_precision="mixed_bfloat16")) as jit_compile:
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        assert jit_compile == "auto"
    assert keras.config.dtype_policy().name == before


def test_jit_compile_passed_through():
    with precision_policy(DistributionConfig(jit_compile=True)) as jit_compile:
        assert jit_compile is True
        assert keras.config.dtype_policy().name == "float32"

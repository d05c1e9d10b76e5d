"""Clear errors for a bad `TF_CONFIG` or a strategy that does not fit the hardware."""

import json

import pytest

from vertical_tune.config.schema import DistributionConfig
from vertical_tune.distribute import apply_precision, build_strategy, read_tf_config
from vertical_tune.distribute import devices
from vertical_tune.errors import ConfigError

CLUSTER = {"chief": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223"]}

BAD_TF_CONFIGS = [
    ("missing", None, "TF_CONFIG environment variable, which is not set"),
    ("not_json", "{cluster: 1}", "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
    ("not_object", "[1, 2]", "must be a JSON object"),
    ("no_cluster", json.dumps({"task": {"type": "worker", "index": 0}}), "has no `cluster` key"),
    ("no_task", json.dumps({"cluster": CLUSTER}), "has no `task` key"),
    ("unknown_type", json.dumps({"cluster": CLUSTER, "task": {"type": "ps", "index": 0}}), "`task.type` is not a task type"),
    ("index_out_of_range", json.dumps({"cluster": CLUSTER, "task": {"type": "worker", "index": 1}}), "`task.index` is not a position"),
    ("address_without_port", json.dumps({"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}), "is not `host:port`"),
    ("port_out_of_range", json.dumps({"cluster": {"worker": ["host:70000"]}, "task": {"type": "worker", "index": 0}}), "is not `host:port`"),
]


@pytest.mark.parametrize("case, value, problem", BAD_TF_CONFIGS, ids=[case[0] for case in BAD_TF_CONFIGS])
def test_bad_tf_config_names_key_and_fix(case, value, problem):
    environ = {} if value is None else {"TF_CONFIG": value}
    with pytest.raises(ConfigError) as raised:
        read_tf_config(environ)
    message = str(raised.value)
    assert problem in message
    assert "Where: TF_CONFIG" in message
    assert "Fix:" in message
    assert '"task": {"type": "chief", "index": 0}' in message  # the worked example


def test_bad_tf_config_checked_before_strategy(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="TF_CONFIG"):
        build_strategy(DistributionConfig(strategy="multi_worker"))


def test_valid_tf_config_chief_rules():
    chief = read_tf_config({"TF_CONFIG": json.dumps({"cluster": CLUSTER, "task": {"type": "chief", "index": 0}})})
    worker = read_tf_config({"TF_CONFIG": json.dumps({"cluster": CLUSTER, "task": {"type": "worker", "index": 0}})})
    no_chief = {"worker": ["[::1]:2222", "localhost:2223"]}
    first = read_tf_config({"TF_CONFIG": json.dumps({"cluster": no_chief, "task": {"type": "worker", "index": 0}})})
    second = read_tf_config({"TF_CONFIG": json.dumps({"cluster": no_chief, "task": {"type": "worker", "index": 1}})})
    assert chief.is_chief
    assert not worker.is_chief
    assert first.is_chief
    assert not second.is_chief
    assert chief.worker_count == 2


def test_mirrored_without_gpu_names_fix():
    if devices.gpu_count():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError) as raised:
        build_strategy(DistributionConfig(strategy="mirrored"))
    message = str(raised.value)
    assert "does not fit the hardware" in message
    assert "Where: distribution.strategy" in message
    assert "cpu_devices: 2" in message
    assert "strategy: default" in message


def test_tpu_without_tpu_fails_fast(monkeypatch):
    monkeypatch.setattr(devices, "_TPU_DEVICE_PATTERNS", ("/nonexistent/accel*",))
    with pytest.raises(ConfigError) as raised:
        build_strategy(DistributionConfig(strategy="tpu"))
    message = str(raised.value)
    assert "no TPU device was found" in message
    assert "Where: distribution.tpu" in message
    assert "strategy: default" in message


def test_tpu_name_off_google_cloud_fails_fast(monkeypatch):
    monkeypatch.setattr(devices, "running_on_google_cloud", lambda: False)
    with pytest.raises(ConfigError, match="distribution.tpu"):
        build_strategy(DistributionConfig(strategy="tpu", tpu="my-tpu"))


def test_late_cpu_devices_names_fresh_process():
    import tensorflow as tf

    tf.constant(1.0) + 1.0  # starts the runtime with its default device list
    if len(tf.config.list_logical_devices("CPU")) == 3:
        pytest.skip("another test split the CPU into 3 devices")
    with pytest.raises(ConfigError) as raised:
        build_strategy(DistributionConfig(strategy="mirrored", cpu_devices=3))
    message = str(raised.value)
    assert "TensorFlow has already started" in message
    assert "fresh process" in message


def test_mixed_float16_on_cpu_names_fix():
    if devices.gpu_count():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError) as raised:
        apply_precision(DistributionConfig(strategy="default", mixed_precision="mixed_float16"))
    message = str(raised.value)
    assert "needs a GPU" in message
    assert "Where: distribution.mixed_precision" in message
    assert "mixed_bfloat16" in message


def test_jit_false_with_tpu_names_fix():
    with pytest.raises(ConfigError) as raised:
        apply_precision(DistributionConfig(strategy="tpu", jit_compile=False))
    message = str(raised.value)
    assert "Where: distribution.jit_compile" in message
    assert "jit_compile: true" in message


def test_fit_checks_precision_before_reading_any_data(tmp_path):
    from vertical_tune import FineTuner

    tuner = FineTuner.from_preset(
        "finance",
        data={"train": str(tmp_path / "not-there.csv")},
        distribution={"mixed_precision": "mixed_float16"},
    )
    with pytest.raises(ConfigError, match="needs a GPU") as error:
        tuner.fit(verbose=0)
    assert "distribution.mixed_precision" in str(error.value)

"""`vtune train --strategy multi_worker`: two worker processes on loopback, one run directory."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.distribute.test_processes import _environment, _free_ports
from tests.helpers import sentiment_frame

TIMEOUT_SECONDS = 240


def start_workers(folder, preset, cluster, *extra):
    """Start one `vtune train --strategy multi_worker` process per worker of `cluster`."""
    workers = []
    for index in range(len(cluster["worker"])):
        command = [
            sys.executable, "-m", "vertical_tune.cli.main", "train", "--preset", "finance",
            "--backbone", str(preset), "--train", "train.csv", "--validation", "validation.csv",
            "--batch-size", "16", "--strategy", "multi_worker",
            "--set", "task.labels=from_data", "--set", "backbone.sequence_length=16",
            "--set", "output.compare_baseline=false", "--run-dir", f"runs/worker-{index}", *extra,
        ]
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        workers.append(
            subprocess.Popen(
                command, cwd=folder, env=_environment(TF_CONFIG=tf_config),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        )
    return workers


def finish(workers):
    """Wait for the workers (killing them by PID after the timeout); return their stderr."""
    try:
        outputs = [worker.communicate(timeout=TIMEOUT_SECONDS) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGKILL)
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-3000:]
    return [err for _, err in outputs]


@pytest.fixture
def data(tmp_path):
    sentiment_frame(60, seed=0).to_csv(tmp_path / "train.csv", index=False)
    sentiment_frame(10, seed=1).to_csv(tmp_path / "validation.csv", index=False)
    return tmp_path


@pytest.mark.slow
def test_two_workers_train_and_only_the_chief_writes(tiny_preset, data):
    tmp_path = data
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    errors = finish(start_workers(tmp_path, tiny_preset, cluster, "--epochs", "2", "--quiet"))
    outputs = [(None, err) for err in errors]

    chief = tmp_path / "runs" / "worker-0"
    assert (chief / "model.keras").is_file()
    assert not (tmp_path / "runs" / "worker-1").exists()
    assert not (tmp_path / "runs" / "worker-1.checkpoint").exists()
    assert "not the chief" in outputs[1][1]
    metrics = json.loads((chief / "metrics.json").read_text())
    assert metrics["training"]["distribution"]["workers"] == 2
    # Every validation row is predicted once, not once per worker.
    assert metrics["validation"]["n_examples"] == 30


@pytest.mark.slow
def test_both_workers_resume_from_the_chiefs_checkpoint(tiny_preset, data):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    settings = ("--epochs", "30", "--set", "training.checkpoint_every_steps=3", "--set", "output.checkpoint_dir=ckpt")
    state_file = data / "ckpt" / "state.json"
    workers = start_workers(data, tiny_preset, cluster, *settings)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline and all(worker.poll() is None for worker in workers):
        if state_file.is_file() and json.loads(state_file.read_text())["epoch"] >= 2:
            break
        time.sleep(0.05)
    for worker in workers:
        assert worker.poll() is None, "training ended before it could be killed"
        os.kill(worker.pid, signal.SIGKILL)
        worker.communicate()
    killed_at = json.loads(state_file.read_text())

    errors = finish(start_workers(data, tiny_preset, cluster, *settings, "--set", "training.epochs=" + str(killed_at["epoch"] + 1), "--resume"))

    resumed = f"Resumed from ckpt: epoch {killed_at['epoch'] + 1}, batch {killed_at['batch']}"
    assert all(resumed in err for err in errors), errors[1][-2000:]
    metrics = json.loads((data / "runs" / "worker-0" / "metrics.json").read_text())
    assert metrics["training"]["epochs_run"] == killed_at["epoch"] + 1
    assert not (data / "runs" / "worker-1").exists()


def test_busy_port_is_a_clear_error(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    tf_config = json.dumps({"cluster": {"worker": [f"127.0.0.1:{port}"]}, "task": {"type": "worker", "index": 0}})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "vertical_tune.cli.main", "train", "--preset", "finance", "--strategy", "multi_worker"],
            cwd=tmp_path, env=_environment(TF_CONFIG=tf_config), capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
        )
    finally:
        listener.close()
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"cannot start this worker's server at 127.0.0.1:{port}" in done.stderr
    assert "TF_CONFIG cluster.worker[0]" in done.stderr
    assert "Traceback" not in done.stderr


def test_sigterm_stops_a_worker(tiny_preset, data):
    """TensorFlow's multi-worker runtime ignores SIGTERM; a scheduler's stop request must still work."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(1)]}
    state_file = data / "ckpt" / "state.json"
    settings = ("--epochs", "200", "--set", "training.checkpoint_every_steps=2", "--set", "output.checkpoint_dir=ckpt")
    (worker,) = start_workers(data, tiny_preset, cluster, *settings)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline and worker.poll() is None and not state_file.is_file():
        time.sleep(0.05)
    assert worker.poll() is None, "training ended before the signal"
    os.kill(worker.pid, signal.SIGTERM)
    try:
        worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
    assert worker.returncode == -signal.SIGTERM

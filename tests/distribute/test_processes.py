"""Strategies that need a fresh process: mirrored on logical CPUs and two-process multi-worker."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 120


def _environment(**extra):
    environment = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2", **extra)
    environment.pop("TF_CONFIG", None)
    environment.update(extra)
    return environment


def _result(output):
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert lines, f"worker printed no result:\n{output[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def _run_worker(*arguments):
    completed = subprocess.run(
        [sys.executable, "-m", "tests.distribute.worker", *arguments],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return _result(completed.stdout)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def test_mirrored_small_model_matches_default():
    result = _run_worker("mirrored_small", "unused")
    assert result["replicas"] == 2
    assert result["mirrored"] == pytest.approx(result["default"], rel=1e-6)
    assert result["mirrored_after_step"] == pytest.approx(result["default_after_step"], rel=1e-5)


@pytest.mark.slow
def test_mirrored_classifier_matches_default(tiny_preset):
    result = _run_worker("mirrored_classifier", tiny_preset)
    assert result["replicas"] == 2
    assert result["mirrored"] == pytest.approx(result["default"], rel=1e-5)
    assert result["mirrored_after_step"] == pytest.approx(result["default_after_step"], rel=1e-4)


def test_two_workers_agree_and_only_chief_writes(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.distribute.worker", "multi_worker", str(tmp_path / f"chief_{index}.txt")],
                cwd=ROOT,
                env=_environment(TF_CONFIG=tf_config),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
            assert process.returncode == 0, stderr[-3000:]
            outputs.append(_result(stdout))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    first, second = outputs
    assert first["describe"]["replicas"] == 2
    assert first["loss"] == pytest.approx(second["loss"], rel=1e-6)
    assert first["weights"] == pytest.approx(second["weights"], rel=1e-6)
    assert first["chief"] is True
    assert second["chief"] is False
    assert (tmp_path / "chief_0.txt").is_file()
    assert not (tmp_path / "chief_1.txt").exists()

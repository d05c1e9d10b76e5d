"""`vtune train --strategy multi_worker`: two worker processes on loopback, one run directory."""

import json
import os
import subprocess
import sys

import pytest

from tests.distribute.test_processes import _environment, _free_ports
from tests.helpers import sentiment_frame

TIMEOUT_SECONDS = 240


@pytest.mark.slow
def test_two_workers_train_and_only_the_chief_writes(tiny_preset, tmp_path):
    sentiment_frame(60, seed=0).to_csv(tmp_path / "train.csv", index=False)
    sentiment_frame(10, seed=1).to_csv(tmp_path / "validation.csv", index=False)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workers = []
    for index in range(2):
        command = [
            sys.executable, "-m", "vertical_tune.cli.main", "train", "--preset", "finance",
            "--backbone", str(tiny_preset), "--train", "train.csv", "--validation", "validation.csv",
            "--epochs", "2", "--batch-size", "16", "--strategy", "multi_worker",
            "--set", "task.labels=from_data", "--set", "backbone.sequence_length=16",
            "--set", "output.compare_baseline=false", "--run-dir", f"runs/worker-{index}", "--quiet",
        ]
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        workers.append(
            subprocess.Popen(
                command, cwd=tmp_path, env=_environment(TF_CONFIG=tf_config),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        )
    try:
        outputs = [worker.communicate(timeout=TIMEOUT_SECONDS) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.kill(worker.pid, 9)
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-3000:]

    chief = tmp_path / "runs" / "worker-0"
    assert (chief / "model.keras").is_file()
    assert not (tmp_path / "runs" / "worker-1").exists()
    assert not (tmp_path / "runs" / "worker-1.checkpoint").exists()
    assert "not the chief" in outputs[1][1]
    metrics = json.loads((chief / "metrics.json").read_text())
    assert metrics["training"]["distribution"]["workers"] == 2
    # Every validation row is predicted once, not once per worker.
    assert metrics["validation"]["n_examples"] == 30

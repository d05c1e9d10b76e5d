"""`vtune train --resume` after the job was killed with SIGKILL in the middle of an epoch."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.helpers import TINY_TRAINING, sentiment_frame
from vertical_tune.training.checkpoint import STATE_FILE


@pytest.fixture
def project(tiny_preset, tmp_path):
    sentiment_frame(30, seed=0).to_csv(tmp_path / "train.csv", index=False)
    sentiment_frame(6, seed=1).to_csv(tmp_path / "validation.csv", index=False)
    config = {
        "industry": "finance",
        "task": {"labels": "from_data"},
        "data": {"train": "train.csv", "validation": "validation.csv"},
        "backbone": {"preset": tiny_preset, "sequence_length": 16},
        "normalization": {"profile": "general"},
        # Enough epochs that the kill lands while training runs.
        "training": {**TINY_TRAINING, "epochs": 30, "checkpoint_every_steps": 2},
        "output": {"run_dir": "runs/model", "compare_baseline": False},
    }
    (tmp_path / "vtune.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return tmp_path


def _train(project, *extra):
    command = [sys.executable, "-m", "vertical_tune.cli.main", "train", "--config", "vtune.yaml", "--quiet", *extra]
    return subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


MIRRORED = ("--strategy", "mirrored", "--set", "distribution.cpu_devices=2")


@pytest.mark.parametrize(
    "strategy", [(), pytest.param(MIRRORED, marks=pytest.mark.slow, id="mirrored")], ids=lambda s: "default" if not s else "mirrored"
)
def test_sigkill_then_resume_finishes_the_run(project, strategy):
    state_file = project / "runs" / "model.checkpoint" / STATE_FILE
    job = _train(project, *strategy)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and job.poll() is None:
        if state_file.is_file() and json.loads(state_file.read_text())["epoch"] >= 2:
            break
        time.sleep(0.05)
    assert job.poll() is None, "training ended before it could be killed"
    os.kill(job.pid, signal.SIGKILL)
    job.communicate()
    killed_at = json.loads(state_file.read_text())
    assert not (project / "runs" / "model").exists()

    resumed = _train(project, "--resume", *strategy)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    metrics = json.loads((project / "runs" / "model" / "metrics.json").read_text())
    training = metrics["training"]
    assert training["distribution"]["replicas"] == (2 if strategy else 1)
    assert training["epochs_run"] >= killed_at["epoch"]
    assert len(training["epoch_seconds"]) == training["epochs_run"]
    assert not state_file.parent.exists(), "the checkpoint must go once the run is saved"

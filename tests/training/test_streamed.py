"""`data.streaming`: training read from file shards or prepared TFRecord shards, never loaded whole."""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import TINY_TRAINING, sentiment_frame
from vertical_tune import FineTuner
from vertical_tune.data.prepare import prepare_shards
from vertical_tune.errors import ConfigError

LABELS = ["negative", "neutral", "positive"]


@pytest.fixture
def shards(tmp_path):
    frame = sentiment_frame(40, seed=0)
    for index in range(3):
        frame.iloc[index::3].to_csv(tmp_path / f"train-{index}.csv", index=False)
    sentiment_frame(10, seed=1).to_csv(tmp_path / "validation.csv", index=False)
    return tmp_path, len(frame)


def streaming_tuner(preset, folder, **data):
    settings = {"train": str(folder / "train-*.csv"), "validation": str(folder / "validation.csv"), "streaming": True}
    settings.update(data)
    return FineTuner.from_preset(
        "finance",
        task={"labels": LABELS},
        backbone={"preset": preset, "sequence_length": 16},
        normalization={"profile": "general"},
        training={**TINY_TRAINING, "epochs": 2},
        data=settings,
        output={"run_dir": str(folder / "run"), "compare_baseline": False},
    )


def test_streamed_training_reads_every_shard(tiny_preset, shards):
    folder, rows = shards
    tuner = streaming_tuner(tiny_preset, folder)
    result = tuner.fit(verbose=0)

    assert result.epochs_run == 2
    assert tuner.data_summary["train"]["rows"] == rows
    assert tuner.data_summary["train"]["files"] == 3
    assert tuner.data_summary["validation"]["rows"] == 30
    run = tuner.save()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"]["train"]["streamed"] is True
    assert metrics["validation"]["n_examples"] == 30
    assert list(tuner.predict(["good great"])["label"])[0] in LABELS
    # Distillation loads its data in memory: a clear error, not a glob read as a file name.
    with pytest.raises(ConfigError, match="data.streaming") as error:
        tuner.distill(student_layers=1)
    assert "Fix:" in str(error.value)


def test_streamed_training_on_prepared_shards(tiny_preset, shards):
    folder, rows = shards
    tuner = streaming_tuner(tiny_preset, folder)
    manifest = prepare_shards(tuner.config, folder / "prepared", num_shards=2)
    assert sum(shard["rows"] for shard in manifest["shards"]) == rows

    prepared = streaming_tuner(tiny_preset, folder, train=str(folder / "prepared"))
    # The manifest keeps the label counts, so balanced class weights work on shards too.
    prepared.config.training.class_weight = "balanced"
    prepared.fit(verbose=0)

    assert prepared.data_summary["train"]["rows"] == rows
    # The model keeps its preprocessor for prediction on raw texts.
    assert prepared.model.preprocessor is not None
    assert len(prepared.predict(["good great", "bad awful"])) == 2


@pytest.mark.parametrize(
    ("data", "key"),
    [({"validation": None}, "data.validation"), ({"max_train_rows": 10}, "data.max_train_rows")],
)
def test_streamed_training_rejects_in_memory_settings(tiny_preset, shards, data, key):
    folder, _ = shards
    tuner = streaming_tuner(tiny_preset, folder, **data)
    with pytest.raises(ConfigError) as error:
        tuner.fit(verbose=0)
    assert key in str(error.value)
    assert "Fix:" in str(error.value)
    assert not (folder / "run").exists()


def test_streamed_training_cannot_resume(tiny_preset, shards):
    folder, _ = shards
    with pytest.raises(ConfigError, match="cannot resume"):
        streaming_tuner(tiny_preset, folder).fit(verbose=0, resume=True)


def test_mirrored_streamed_training_over_two_logical_cpus(tiny_preset, shards):
    """Each replica gets half of every global batch; the run writes its strategy to metrics.json."""
    folder, rows = shards
    command = [
        sys.executable, "-m", "vertical_tune.cli.main", "train", "--preset", "finance",
        "--backbone", str(tiny_preset), "--train", str(folder / "train-*.csv"),
        "--validation", str(folder / "validation.csv"), "--epochs", "1", "--batch-size", "16",
        "--set", "task.labels=[negative,neutral,positive]", "--set", "data.streaming=true",
        "--set", "backbone.sequence_length=16", "--set", "output.compare_baseline=false",
        "--strategy", "mirrored", "--set", "distribution.cpu_devices=2",
        "--run-dir", str(folder / "run"), "--quiet",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env={**os.environ, "CI": "true"})
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    distribution = metrics["training"]["distribution"]
    assert distribution["strategy"] == "MirroredStrategy"
    assert distribution["replicas"] == 2
    assert metrics["data"]["train"]["rows"] == rows

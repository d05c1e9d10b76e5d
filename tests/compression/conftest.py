"""A tiny 3-layer run trained once and shared by the compression tests."""

import pytest

from tests.helpers import save_tiny_bert_preset, sentiment_frame
from vertical_tune import FineTuner

TRAINING = {
    "epochs": 3,
    "batch_size": 16,
    "learning_rate": 5e-3,
    "dropout": 0.0,
    "schedule": "constant",
    "warmup_ratio": 0.0,
    "early_stopping_patience": None,
}


@pytest.fixture(scope="package")
def data_files(tmp_path_factory):
    """Train and validation CSV files of the synthetic 3-class sentiment task."""
    root = tmp_path_factory.mktemp("compression_data")
    train, validation = root / "train.csv", root / "validation.csv"
    sentiment_frame(30, seed=0).to_csv(train, index=False)
    sentiment_frame(6, seed=1).to_csv(validation, index=False)
    return train, validation


@pytest.fixture(scope="package")
def trained_run(tmp_path_factory, data_files):
    """A trained classifier on a 3-layer backbone (hidden size 32) and its run directory."""
    root = tmp_path_factory.mktemp("compression")
    preset = save_tiny_bert_preset(root / "preset", num_layers=3)
    train, validation = data_files
    tuner = FineTuner.from_preset(
        "finance",
        task={"labels": "from_data"},
        data={"train": str(train), "validation": str(validation)},
        backbone={"preset": preset, "sequence_length": 16},
        normalization={"profile": "general"},
        training=TRAINING,
        output={"run_dir": str(root / "runs" / "original"), "compare_baseline": False},
    )
    tuner.fit(verbose=0)
    run_dir = tuner.save()
    return tuner, run_dir

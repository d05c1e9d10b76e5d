"""Fixtures shared by all tests."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests never reach a hub: a hub name must fail at once.
os.environ.setdefault("VTUNE_OFFLINE", "1")

from tests.helpers import save_tiny_bert_preset, sentiment_frame  # noqa: E402

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: real pretrained backbone or real data training (minutes)")


@pytest.fixture(scope="session")
def tiny_preset(tmp_path_factory):
    """A tiny random BERT saved as a local keras-hub preset (hidden size 16, 2 layers)."""
    return save_tiny_bert_preset(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture
def sentiment_csvs(tmp_path):
    """Train and validation CSV files of a small, learnable 3-class task."""
    train, validation = tmp_path / "train.csv", tmp_path / "validation.csv"
    sentiment_frame(40, seed=0).to_csv(train, index=False)
    sentiment_frame(10, seed=1).to_csv(validation, index=False)
    return train, validation


@pytest.fixture
def shared_datasets():
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"shared data sets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS

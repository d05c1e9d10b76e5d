"""A tiny 3-layer teacher trained once and shared by the distillation tests."""

import pytest

from tests.helpers import TINY_TRAINING, save_tiny_bert_preset, sentiment_frame
from vertical_tune import FineTuner


@pytest.fixture(scope="package")
def frames():
    """Train and validation frames of the synthetic 3-class sentiment task."""
    return sentiment_frame(30, seed=0), sentiment_frame(5, seed=1)


@pytest.fixture(scope="package")
def teacher_run(tmp_path_factory, frames):
    """A trained 3-layer teacher (hidden size 32) and the run directory it is saved in.

    The backbone keeps its default dropout of 0.1, so a teacher called in training
    mode gives different logits on every call.
    """
    root = tmp_path_factory.mktemp("distillation")
    preset = save_tiny_bert_preset(root / "teacher_preset", num_layers=3)
    run_dir = root / "runs" / "teacher"
    teacher = FineTuner.from_preset(
        "finance",
        task={"labels": "from_data"},
        backbone={"preset": preset, "sequence_length": 16},
        normalization={"profile": "general"},
        training=TINY_TRAINING,
        output={"run_dir": str(run_dir), "compare_baseline": False},
    )
    train, validation = frames
    teacher.fit(train, validation, verbose=0)
    teacher.save()
    return teacher, run_dir

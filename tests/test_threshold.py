"""`task.threshold`: a binary decision threshold chosen on validation data, saved and used by `predict`."""

import json

import pytest

from tests.helpers import TINY_TRAINING, sentiment_frame
from vertical_tune import FineTuner, load
from vertical_tune.errors import ConfigError


def binary_frame(rows, seed):
    frame = sentiment_frame(rows, seed=seed)
    return frame[frame["label"] != "neutral"].reset_index(drop=True)


def make_tuner(preset, run_dir, threshold):
    return FineTuner.from_preset(
        "finance",
        task={"labels": "from_data", "threshold": threshold},
        backbone={"preset": preset, "sequence_length": 16},
        normalization={"profile": "general"},
        training={**TINY_TRAINING, "epochs": 2},
        output={"run_dir": str(run_dir), "compare_baseline": False},
    )


def test_min_recall_threshold_saved_and_used(tiny_preset, tmp_path):
    tuner = make_tuner(tiny_preset, tmp_path / "run", {"rule": "min_recall", "target": 0.9, "positive_label": "negative"})
    tuner.fit(binary_frame(30, 0), binary_frame(10, 1), verbose=0)
    point = tuner.decision_threshold
    assert point["positive_label"] == "negative"
    assert point["recall"] >= 0.9
    run = tuner.save()
    assert json.loads((run / "threshold.json").read_text())["threshold"] == pytest.approx(point["threshold"])

    loaded = load(run)
    texts = list(binary_frame(10, 2)["text"])
    frame = loaded.predict(texts)
    positive = frame["prob_negative"].to_numpy() >= point["threshold"]
    assert list(frame["label"]) == ["negative" if p else "positive" for p in positive]


def test_threshold_rule_on_three_labels_is_rejected(tiny_preset, tmp_path):
    tuner = make_tuner(tiny_preset, tmp_path / "run", {"rule": "f1"})
    with pytest.raises(ConfigError, match="needs a binary task") as error:
        tuner.fit(sentiment_frame(10, 0), sentiment_frame(4, 1), verbose=0)
    assert "task.threshold.rule" in str(error.value)


def test_threshold_unknown_positive_label(tiny_preset, tmp_path):
    tuner = make_tuner(tiny_preset, tmp_path / "run", {"rule": "f1", "positive_label": "fraud"})
    with pytest.raises(ConfigError, match="Unknown positive label") as error:
        tuner.fit(binary_frame(10, 0), binary_frame(4, 1), verbose=0)
    assert "'fraud'" in str(error.value)


def test_threshold_target_required():
    with pytest.raises(ConfigError, match="needs a `target`"):
        FineTuner.from_preset("finance", task={"threshold": {"rule": "min_precision"}})

"""`task.threshold`: a decision threshold chosen on validation data, saved and used by `predict` and the metrics."""

import json

import numpy as np
import pytest
from sklearn.metrics import recall_score

from tests.helpers import TINY_TRAINING, sentiment_frame
from vertical_tune import FineTuner, load
from vertical_tune.errors import ConfigError
from vertical_tune.reporting.run_view import load_run_view


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


def test_threshold_on_three_labels_needs_the_positive_label(tiny_preset, tmp_path):
    tuner = make_tuner(tiny_preset, tmp_path / "run", {"rule": "f1"})
    with pytest.raises(ConfigError, match="needs the label it applies to") as error:
        tuner.fit(sentiment_frame(10, 0), sentiment_frame(4, 1), verbose=0)
    message = str(error.value)
    assert "task.threshold.positive_label" in message
    assert "negative or neutral or positive" in message


def test_one_vs_rest_threshold_reaches_the_recall_target(tiny_preset, tmp_path):
    settings = {"rule": "min_recall", "target": 0.95, "positive_label": "neutral"}
    tuner = make_tuner(tiny_preset, tmp_path / "run", settings)
    validation = sentiment_frame(12, 1)
    tuner.fit(sentiment_frame(20, 0), validation, verbose=0)
    point = tuner.decision_threshold
    assert point["one_vs_rest"] is True
    assert point["recall"] >= 0.95

    # `predict` and the validation metrics follow the threshold, not the argmax.
    frame = tuner.predict(list(validation["text"]))
    predicted_neutral = frame["label"] == "neutral"
    chosen = [frame.loc[row, f"prob_{label}"] for row, label in frame["label"].items()]
    assert frame["confidence"].tolist() == chosen
    assert list(predicted_neutral) == list(frame["prob_neutral"] >= point["threshold"])
    recall = recall_score(validation["label"] == "neutral", predicted_neutral)
    assert recall == pytest.approx(point["recall"])
    assert tuner.validation_report["per_class"]["neutral"]["recall"] == pytest.approx(point["recall"])
    others = frame[~predicted_neutral]
    probabilities = others[["prob_negative", "prob_positive"]].to_numpy()
    assert list(others["label"]) == [("negative", "positive")[i] for i in np.argmax(probabilities, axis=1)]

    # The report reads the saved predictions back and must count exactly what training counted.
    run = tuner.save()
    view = load_run_view(run, intervals=False)
    np.testing.assert_array_equal(view["probabilities"], tuner.validation_predictions["probabilities"])
    assert view["metrics"]["per_class"] == tuner.validation_report["per_class"]
    assert view["metrics"]["confusion_matrix"] == tuner.validation_report["confusion_matrix"]


def test_threshold_unknown_positive_label(tiny_preset, tmp_path):
    tuner = make_tuner(tiny_preset, tmp_path / "run", {"rule": "f1", "positive_label": "fraud"})
    with pytest.raises(ConfigError, match="Unknown positive label") as error:
        tuner.fit(binary_frame(10, 0), binary_frame(4, 1), verbose=0)
    assert "'fraud'" in str(error.value)


def test_threshold_target_required():
    with pytest.raises(ConfigError, match="needs a `target`"):
        FineTuner.from_preset("finance", task={"threshold": {"rule": "min_precision"}})

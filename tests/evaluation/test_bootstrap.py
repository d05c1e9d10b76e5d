import time

import numpy as np
import pytest

from vertical_tune.evaluation.bootstrap import (
    BOOTSTRAP_METRICS,
    _resample_counts,
    _weighted_scores,
    bootstrap_intervals,
)
from vertical_tune.evaluation.metrics import classification_metrics


def tilted_predictions(seed, num_classes, num_examples):
    """Return labels and Dirichlet probabilities tilted towards the true class, rounded to create ties."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, num_classes, num_examples)
    probabilities = rng.dirichlet(np.ones(num_classes), size=num_examples)
    probabilities[np.arange(num_examples), y_true] += 0.5
    probabilities = np.round(probabilities, 1) + 1e-3
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return y_true, probabilities


@pytest.mark.parametrize("num_classes", [2, 3])
def test_point_values_match_classification_metrics(num_classes):
    y_true, probabilities = tilted_predictions(0, num_classes, 300)
    labels = [f"class_{index}" for index in range(num_classes)]

    intervals = bootstrap_intervals(y_true, probabilities, labels, n_resamples=50)
    expected = classification_metrics(y_true, probabilities, labels)

    for name in BOOTSTRAP_METRICS:
        assert intervals[name]["value"] == pytest.approx(expected[name], abs=1e-12), name


@pytest.mark.parametrize("num_classes", [2, 4])
def test_resample_scores_match_sklearn(num_classes):
    y_true, probabilities = tilted_predictions(1, num_classes, 200)
    counts = _resample_counts(np.random.default_rng(5), len(y_true), 4)
    scores = _weighted_scores(counts, y_true, probabilities.argmax(axis=1), probabilities, BOOTSTRAP_METRICS)
    labels = [str(index) for index in range(num_classes)]

    for resample in range(len(counts)):
        rows = np.repeat(np.arange(len(y_true)), counts[resample].astype(int))
        expected = classification_metrics(y_true[rows], probabilities[rows], labels)
        for name in BOOTSTRAP_METRICS:
            assert scores[name][resample] == pytest.approx(expected[name], abs=1e-12), name


def test_given_predictions_replace_the_argmax():
    y_true, probabilities = tilted_predictions(3, 3, 200)
    labels = ["a", "b", "c"]
    y_pred = np.where(probabilities[:, 1] >= 0.2, 1, probabilities.argmax(axis=1))

    intervals = bootstrap_intervals(y_true, probabilities, labels, n_resamples=50, y_pred=y_pred)
    expected = classification_metrics(y_true, probabilities, labels, y_pred=y_pred)

    assert expected["per_class"]["b"]["recall"] != classification_metrics(y_true, probabilities, labels)["per_class"]["b"]["recall"]
    for name in BOOTSTRAP_METRICS:
        assert intervals[name]["value"] == pytest.approx(expected[name], abs=1e-12), name


def test_same_seed_gives_same_intervals():
    y_true, probabilities = tilted_predictions(2, 3, 150)
    labels = ["a", "b", "c"]

    first = bootstrap_intervals(y_true, probabilities, labels, n_resamples=200, seed=7)
    second = bootstrap_intervals(y_true, probabilities, labels, n_resamples=200, seed=7)
    other = bootstrap_intervals(y_true, probabilities, labels, n_resamples=200, seed=8)

    assert first == second
    assert first["macro_f1"]["low"] != other["macro_f1"]["low"]


def test_interval_brackets_value_and_narrows():
    y_true, probabilities = tilted_predictions(3, 3, 400)
    labels = ["a", "b", "c"]

    wide = bootstrap_intervals(y_true, probabilities, labels, n_resamples=300, confidence=0.99)
    narrow = bootstrap_intervals(y_true, probabilities, labels, n_resamples=300, confidence=0.5)

    for name in BOOTSTRAP_METRICS:
        assert wide[name]["low"] <= wide[name]["value"] <= wide[name]["high"], name
        assert wide[name]["n_valid"] == 300, name
        assert wide[name]["low"] < narrow[name]["low"], name
        assert narrow[name]["high"] < wide[name]["high"], name


def test_undefined_roc_auc_resamples_are_skipped():
    # One positive in 30 examples: about 36% of resamples leave it out.
    y_true = np.zeros(30, dtype=int)
    y_true[0] = 1
    probabilities = np.full((30, 2), 0.5)
    probabilities[0] = [0.2, 0.8]

    intervals = bootstrap_intervals(y_true, probabilities, ["no", "yes"], n_resamples=500)

    assert intervals["roc_auc"]["value"] == 1.0
    assert 200 < intervals["roc_auc"]["n_valid"] < 500
    assert intervals["roc_auc"]["low"] == 1.0
    assert intervals["accuracy"]["n_valid"] == 500


def test_roc_auc_undefined_on_full_data():
    y_true = np.zeros(10, dtype=int)
    probabilities = np.tile([0.7, 0.3], (10, 1))

    intervals = bootstrap_intervals(y_true, probabilities, ["no", "yes"], n_resamples=20)

    assert intervals["roc_auc"] == {"value": None, "low": None, "high": None, "n_valid": 0}
    assert intervals["accuracy"]["value"] == 1.0


def test_metric_subset_keeps_requested_names():
    y_true, probabilities = tilted_predictions(4, 2, 50)

    intervals = bootstrap_intervals(
        y_true, probabilities, ["a", "b"], metrics=["roc_auc", "accuracy"], n_resamples=20
    )

    assert list(intervals) == ["roc_auc", "accuracy"]


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("metrics", ["accuracy", "loss"], "supported metric names"),
        ("metrics", [], "supported metric names"),
        ("n_resamples", 0, "n_resamples must be an integer >= 1"),
        ("n_resamples", 10.5, "n_resamples must be an integer >= 1"),
        ("confidence", 1.0, "confidence must lie strictly between 0 and 1"),
        ("confidence", 95, "confidence must lie strictly between 0 and 1"),
    ],
)
def test_invalid_arguments_raise(keyword, value, message):
    y_true, probabilities = tilted_predictions(5, 2, 20)

    with pytest.raises(ValueError, match=message):
        bootstrap_intervals(y_true, probabilities, ["a", "b"], **{keyword: value})


def test_thousand_resamples_run_quickly():
    y_true, probabilities = tilted_predictions(6, 3, 2000)

    start = time.perf_counter()
    bootstrap_intervals(y_true, probabilities, ["a", "b", "c"], n_resamples=1000)
    elapsed = time.perf_counter() - start

    # Measured at about 0.5 s on a shared 2-core machine. The bound leaves room for slower ones.
    assert elapsed < 5.0

import numpy as np
import pytest
from sklearn import metrics as sk

from vertical_tune.evaluation.thresholds import (
    OperatingPoint,
    apply_decision,
    choose_threshold,
    one_vs_rest_points,
    predict_with_threshold,
)


def noisy_scores(seed, num_examples=300):
    """Return binary labels and scores that overlap, rounded to 2 decimals to create ties."""
    rng = np.random.default_rng(seed)
    y_true = (rng.random(num_examples) < 0.3).astype(int)
    scores = np.clip(rng.normal(0.35 + 0.3 * y_true, 0.2), 0, 1).round(2)
    return y_true, scores


def scores_at_every_threshold(y_true, scores):
    """Return (threshold, precision, recall, f1) for each distinct score, by brute force."""
    rows = []
    for threshold in np.unique(scores):
        y_pred = (scores >= threshold).astype(int)
        rows.append(
            (
                threshold,
                sk.precision_score(y_true, y_pred, zero_division=0),
                sk.recall_score(y_true, y_pred),
                sk.f1_score(y_true, y_pred, zero_division=0),
            )
        )
    return rows


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_max_f1_matches_brute_force(seed):
    y_true, scores = noisy_scores(seed)

    point = choose_threshold(y_true, scores)
    best_f1 = max(f1 for _, _, _, f1 in scores_at_every_threshold(y_true, scores))

    assert point.rule == "max_f1"
    assert point.f1 == pytest.approx(best_f1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_min_recall_matches_brute_force(seed):
    y_true, scores = noisy_scores(seed)

    point = choose_threshold(y_true, scores, min_recall=0.9)
    eligible = [row for row in scores_at_every_threshold(y_true, scores) if row[2] >= 0.9]
    best_precision = max(precision for _, precision, _, _ in eligible)

    assert point.rule == "min_recall=0.9"
    assert point.recall >= 0.9
    assert point.precision == pytest.approx(best_precision)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_min_precision_matches_brute_force(seed):
    y_true, scores = noisy_scores(seed)

    point = choose_threshold(y_true, scores, min_precision=0.7)
    eligible = [row for row in scores_at_every_threshold(y_true, scores) if row[1] >= 0.7]
    best_recall = max(recall for _, _, recall, _ in eligible)

    assert point.rule == "min_precision=0.7"
    assert point.precision >= 0.7
    assert point.recall == pytest.approx(best_recall)


@pytest.mark.parametrize(
    "rule", [{}, {"min_recall": 0.8}, {"min_recall": 1.0}, {"min_precision": 0.6}]
)
def test_reported_scores_match_thresholded_predictions(rule):
    y_true, scores = noisy_scores(3)

    point = choose_threshold(y_true, scores, **rule)
    y_pred = (scores >= point.threshold).astype(int)

    assert point.precision == pytest.approx(sk.precision_score(y_true, y_pred))
    assert point.recall == pytest.approx(sk.recall_score(y_true, y_pred))
    assert point.f1 == pytest.approx(sk.f1_score(y_true, y_pred))
    assert point.support == int(y_true.sum())
    assert point.n == len(y_true)


def test_recall_rule_prefers_precision_over_highest_threshold():
    # Recall >= 0.3 is first met at 0.8 (precision 1/2), but 0.5 reaches precision 3/5.
    y_true = [0, 1, 0, 1, 1, 0]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.1]

    point = choose_threshold(y_true, scores, min_recall=0.3)

    assert point.threshold == 0.5
    assert point.precision == pytest.approx(3 / 5)
    assert point.recall == 1.0


def test_unreachable_precision_names_target_and_best():
    y_true = [0, 1, 0, 1]
    scores = [0.9, 0.1, 0.8, 0.2]

    with pytest.raises(ValueError, match=r"precision >= 0\.9") as raised:
        choose_threshold(y_true, scores, min_precision=0.9)

    assert "maximum precision of any threshold is 0.5" in str(raised.value)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"min_recall": 0.9, "min_precision": 0.9}, "at most one of min_recall and min_precision"),
        ({"target": "accuracy"}, "target must be 'f1'"),
        ({"min_recall": 1.5}, r"min_recall must be a number in \[0, 1\]"),
        ({"min_precision": -0.1}, r"min_precision must be a number in \[0, 1\]"),
    ],
)
def test_invalid_rule_raises(arguments, message):
    with pytest.raises(ValueError, match=message):
        choose_threshold([0, 1], [0.2, 0.8], **arguments)


@pytest.mark.parametrize(
    ("y_true", "scores", "message"),
    [
        ([0, 0, 0], [0.1, 0.2, 0.3], "no positive example"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "only 0 and 1"),
        ([0, 1], [0.1, 0.2, 0.3], "same length"),
        ([0, 1], [0.1, np.nan], "NaN or infinite"),
    ],
)
def test_invalid_inputs_raise(y_true, scores, message):
    with pytest.raises(ValueError, match=message):
        choose_threshold(y_true, scores)


def test_to_dict_has_every_field():
    point = choose_threshold([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])

    assert point.to_dict() == {
        "threshold": 0.4,
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "rule": "max_f1",
        "support": 2,
        "n": 4,
    }
    assert isinstance(point, OperatingPoint)


@pytest.mark.parametrize("positive_index", [0, 1])
def test_predict_with_threshold_matches_comparison(positive_index):
    rng = np.random.default_rng(4)
    positive = rng.random(50).round(1)
    columns = [1 - positive, positive] if positive_index == 1 else [positive, 1 - positive]
    probabilities = np.stack(columns, axis=1)

    predicted = predict_with_threshold(probabilities, positive_index=positive_index, threshold=0.3)
    expected = [positive_index if value >= 0.3 else 1 - positive_index for value in positive]

    assert predicted.tolist() == expected


@pytest.mark.parametrize(
    ("probabilities", "positive_index", "threshold", "message"),
    [
        ([0.2, 0.3, 0.5], 1, 0.5, r"shape \(n, k\) with k >= 2"),
        ([[1.0]], 0, 0.5, r"shape \(n, k\) with k >= 2"),
        ([[0.2, 0.8]], 2, 0.5, "positive_index must be a column index"),
        ([[0.2, 0.8]], 1, float("nan"), "threshold must be a finite number"),
    ],
)
def test_predict_with_threshold_rejects_invalid(probabilities, positive_index, threshold, message):
    with pytest.raises(ValueError, match=message):
        predict_with_threshold(probabilities, positive_index=positive_index, threshold=threshold)


def test_multiclass_threshold_falls_back_to_argmax():
    probabilities = np.array(
        [
            [0.50, 0.30, 0.20],  # class 1 below the threshold: the best other class, 0
            [0.10, 0.25, 0.65],  # class 1 below: 2
            [0.60, 0.35, 0.05],  # class 1 at or above 0.35 although 0 is more probable: 1
            [0.05, 0.90, 0.05],
        ]
    )

    predicted = predict_with_threshold(probabilities, positive_index=1, threshold=0.35)

    assert predicted.tolist() == [0, 2, 1, 1]


def test_thresholded_recall_matches_operating_point():
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 4, 300)
    probabilities = rng.dirichlet(np.ones(4), size=300)
    probabilities[np.arange(300), y_true] += 0.4
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    point = choose_threshold(y_true == 2, probabilities[:, 2], min_recall=0.95)

    predicted = apply_decision(probabilities, {"positive_index": 2, "threshold": point.threshold})

    assert sk.recall_score(y_true == 2, predicted == 2) == pytest.approx(point.recall)
    assert sk.precision_score(y_true == 2, predicted == 2) == pytest.approx(point.precision)
    assert point.recall >= 0.95
    assert apply_decision(probabilities, None).tolist() == probabilities.argmax(axis=1).tolist()


def test_one_vs_rest_points_per_class():
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 3, 120)
    probabilities = rng.dirichlet(np.ones(3), size=120)
    probabilities[np.arange(120), y_true] += 0.6
    probabilities /= probabilities.sum(axis=1, keepdims=True)

    points = one_vs_rest_points(y_true, probabilities, ["a", "b", "c"], min_recall=0.8)

    assert list(points) == ["a", "b", "c"]
    for index, name in enumerate(["a", "b", "c"]):
        expected = choose_threshold(y_true == index, probabilities[:, index], min_recall=0.8)
        assert points[name] == expected, name


def test_one_vs_rest_error_names_class():
    y_true = [0, 0, 1, 1]
    probabilities = [[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.3, 0.7, 0.0], [0.4, 0.6, 0.0]]

    with pytest.raises(ValueError, match=r"Class 'c' \(index 2\): .*no positive example"):
        one_vs_rest_points(y_true, probabilities, ["a", "b", "c"])

import numpy as np
import pytest

from vertical_tune.reporting.calibration import expected_calibration_error, reliability_bins

# Confidences are 0.95 (correct), 0.95 (incorrect), 0.9 (correct), 0.65 (correct) and
# 0.6 (incorrect, because the last row's true class is 2). Bin (0.9, 1.0] contains two
# rows with accuracy 0.5, and bins (0.8, 0.9], (0.6, 0.7] and (0.5, 0.6] one row each.
Y_TRUE = [1, 0, 0, 1, 2]
PROBABILITIES = [
    [0.05, 0.95, 0.0],
    [0.05, 0.95, 0.0],
    [0.9, 0.1, 0.0],
    [0.35, 0.65, 0.0],
    [0.6, 0.1, 0.3],
]


def test_ece_matches_hand_computation():
    expected = (2 / 5) * abs(0.5 - 0.95) + (1 / 5) * abs(1 - 0.9) + (1 / 5) * abs(1 - 0.65) + (1 / 5) * abs(0 - 0.6)

    assert expected_calibration_error(Y_TRUE, PROBABILITIES) == pytest.approx(expected)
    assert expected == pytest.approx(0.39)


def test_bins_match_hand_computation():
    table = reliability_bins(Y_TRUE, PROBABILITIES)

    assert table["count"].tolist() == [0, 0, 0, 0, 0, 1, 1, 0, 1, 2]
    assert table["accuracy"][9] == pytest.approx(0.5)
    assert table["confidence"][9] == pytest.approx(0.95)
    assert table["accuracy"][5] == 0.0
    assert np.isnan(table["accuracy"][0])
    assert table["edges"][0] == 0.0
    assert table["edges"][-1] == 1.0


def test_confidence_on_edge_goes_to_lower_bin():
    table = reliability_bins([0, 0], [[0.5, 0.5], [1.0, 0.0]], bins=2)

    assert table["count"].tolist() == [1, 1]


def test_perfect_calibration_gives_zero():
    y_true = [0, 0, 1, 1]
    probabilities = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]

    assert expected_calibration_error(y_true, probabilities) == 0.0


@pytest.mark.parametrize(
    ("y_true", "probabilities", "bins"),
    [
        ([0, 1], [[0.5, 0.5]], 10),
        ([0], [0.5, 0.5], 10),
        ([0], [[0.5, 0.5]], 0),
    ],
)
def test_invalid_inputs_raise(y_true, probabilities, bins):
    with pytest.raises(ValueError):
        reliability_bins(y_true, probabilities, bins)

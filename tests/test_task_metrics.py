import json
import math
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as sk

from vertical_tune.evaluation.metrics import UndefinedAUCWarning
from vertical_tune.evaluation.task_metrics import multilabel_metrics, regression_metrics

Y_TRUE_VALUES = [3.0, -1.0, 2.5, 7.0, 0.0]
Y_PRED_VALUES = [2.5, 0.0, 2.0, 8.0, -0.5]

LABELS = ["billing", "fraud", "urgent"]
# "urgent" is positive in every row, so its ROC-AUC is undefined.
Y_TRUE_LABELS = np.array(
    [
        [1, 0, 1],
        [0, 1, 1],
        [1, 1, 1],
        [0, 0, 1],
        [1, 0, 1],
    ]
)
PROBABILITIES = np.array(
    [
        [0.9, 0.2, 0.6],
        [0.4, 0.7, 0.8],
        [0.3, 0.5, 0.4],
        [0.6, 0.1, 0.9],
        [0.8, 0.45, 0.2],
    ]
)


def compute_multilabel(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAUCWarning)
        return multilabel_metrics(*args, **kwargs)


def test_regression_matches_sklearn_and_scipy():
    metrics = regression_metrics(Y_TRUE_VALUES, Y_PRED_VALUES)

    assert metrics["n_examples"] == 5
    assert metrics["mae"] == pytest.approx(sk.mean_absolute_error(Y_TRUE_VALUES, Y_PRED_VALUES))
    assert metrics["rmse"] == pytest.approx(math.sqrt(sk.mean_squared_error(Y_TRUE_VALUES, Y_PRED_VALUES)))
    assert metrics["r2"] == pytest.approx(sk.r2_score(Y_TRUE_VALUES, Y_PRED_VALUES))
    assert metrics["mean_true"] == pytest.approx(np.mean(Y_TRUE_VALUES))
    assert metrics["mean_pred"] == pytest.approx(np.mean(Y_PRED_VALUES))
    assert metrics["spearman"] == pytest.approx(stats.spearmanr(Y_TRUE_VALUES, Y_PRED_VALUES)[0])


def test_regression_hand_computed_values():
    metrics = regression_metrics([1.0, 2.0, 4.0], [1.5, 2.0, 3.0])

    assert metrics["mae"] == pytest.approx(0.5)
    assert metrics["rmse"] == pytest.approx(math.sqrt(1.25 / 3))
    assert metrics["spearman"] == pytest.approx(1.0)


def test_regression_result_is_plain_json():
    metrics = regression_metrics(np.array(Y_TRUE_VALUES, dtype=np.float32), np.array(Y_PRED_VALUES))

    assert json.loads(json.dumps(metrics)) == metrics
    for key in ("mae", "rmse", "r2", "mean_true", "mean_pred", "spearman"):
        assert type(metrics[key]) is float
    assert type(metrics["n_examples"]) is int


def test_regression_accepts_column_vectors():
    column = regression_metrics(np.array(Y_TRUE_VALUES)[:, None], np.array(Y_PRED_VALUES)[:, None])

    assert column == regression_metrics(Y_TRUE_VALUES, Y_PRED_VALUES)


def test_regression_constant_true_has_no_r2():
    metrics = regression_metrics([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])

    assert metrics["r2"] is None
    assert metrics["spearman"] is None
    assert metrics["mae"] == pytest.approx(sk.mean_absolute_error([2.0] * 3, [1.0, 2.0, 3.0]))


def test_regression_constant_prediction_has_no_spearman():
    metrics = regression_metrics([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])

    assert metrics["spearman"] is None
    assert metrics["r2"] == pytest.approx(sk.r2_score([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]))


def test_regression_single_row_has_no_r2():
    metrics = regression_metrics([1.0], [3.0])

    assert metrics["n_examples"] == 1
    assert metrics["r2"] is None
    assert metrics["spearman"] is None
    assert metrics["mae"] == pytest.approx(2.0)


@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        ([1.0, 2.0], [1.0], "different lengths: 2 and 1"),
        ([], [], "y_true is empty"),
        ([1.0, float("nan")], [1.0, 2.0], "y_true contains NaN or infinite values"),
        ([1.0, 2.0], [1.0, float("inf")], "y_pred contains NaN or infinite values"),
        (["a", "b"], [1.0, 2.0], "y_true must contain numbers"),
        ([[1.0, 2.0]], [[1.0, 2.0]], "must have shape (n,) or (n, 1)"),
    ],
)
def test_regression_invalid_input_raises(y_true, y_pred, message):
    with pytest.raises(ValueError) as error:
        regression_metrics(y_true, y_pred)

    assert message in str(error.value)


def test_multilabel_matches_sklearn():
    metrics = compute_multilabel(Y_TRUE_LABELS, PROBABILITIES, LABELS)
    y_pred = (PROBABILITIES >= 0.5).astype(int)

    assert metrics["n_examples"] == 5
    assert metrics["threshold"] == 0.5
    assert metrics["labels"] == LABELS
    assert metrics["subset_accuracy"] == pytest.approx(sk.accuracy_score(Y_TRUE_LABELS, y_pred))
    assert metrics["hamming_loss"] == pytest.approx(sk.hamming_loss(Y_TRUE_LABELS, y_pred))
    for average in ("micro", "macro"):
        precision, recall, f1, _ = sk.precision_recall_fscore_support(
            Y_TRUE_LABELS, y_pred, average=average, zero_division=0
        )
        assert metrics[f"{average}_precision"] == pytest.approx(precision)
        assert metrics[f"{average}_recall"] == pytest.approx(recall)
        assert metrics[f"{average}_f1"] == pytest.approx(f1)
    expected_samples_f1 = sk.f1_score(Y_TRUE_LABELS, y_pred, average="samples", zero_division=0)
    assert metrics["samples_f1"] == pytest.approx(expected_samples_f1)


def test_multilabel_per_label_matches_sklearn():
    metrics = compute_multilabel(Y_TRUE_LABELS, PROBABILITIES, LABELS)
    y_pred = (PROBABILITIES >= 0.5).astype(int)

    for index, name in enumerate(LABELS):
        scores = metrics["per_label"][name]
        column_true, column_pred = Y_TRUE_LABELS[:, index], y_pred[:, index]
        assert scores["precision"] == pytest.approx(sk.precision_score(column_true, column_pred, zero_division=0))
        assert scores["recall"] == pytest.approx(sk.recall_score(column_true, column_pred, zero_division=0))
        assert scores["f1"] == pytest.approx(sk.f1_score(column_true, column_pred, zero_division=0))
        assert scores["support"] == int(column_true.sum())


def test_multilabel_undefined_auc_warns():
    with pytest.warns(UndefinedAUCWarning, match="urgent"):
        metrics = multilabel_metrics(Y_TRUE_LABELS, PROBABILITIES, LABELS)

    billing_auc = sk.roc_auc_score(Y_TRUE_LABELS[:, 0], PROBABILITIES[:, 0])
    fraud_auc = sk.roc_auc_score(Y_TRUE_LABELS[:, 1], PROBABILITIES[:, 1])
    assert metrics["per_label"]["billing"]["roc_auc"] == pytest.approx(billing_auc)
    assert metrics["per_label"]["fraud"]["roc_auc"] == pytest.approx(fraud_auc)
    assert metrics["per_label"]["urgent"]["roc_auc"] is None
    assert metrics["roc_auc"] == pytest.approx((billing_auc + fraud_auc) / 2)


def test_multilabel_auc_all_undefined():
    y_true = [[1, 0], [1, 0]]
    metrics = compute_multilabel(y_true, [[0.7, 0.2], [0.4, 0.6]], ["a", "b"])

    assert metrics["roc_auc"] is None
    assert metrics["per_label"]["a"]["roc_auc"] is None
    assert metrics["per_label"]["b"]["roc_auc"] is None


def test_multilabel_threshold_changes_predictions():
    metrics = compute_multilabel(Y_TRUE_LABELS, PROBABILITIES, LABELS, threshold=0.3)
    y_pred = (PROBABILITIES >= 0.3).astype(int)

    assert metrics["threshold"] == 0.3
    assert metrics["micro_f1"] == pytest.approx(sk.f1_score(Y_TRUE_LABELS, y_pred, average="micro"))
    assert metrics["subset_accuracy"] == pytest.approx(sk.accuracy_score(Y_TRUE_LABELS, y_pred))


def test_multilabel_result_is_plain_json():
    metrics = compute_multilabel(Y_TRUE_LABELS.astype(bool), PROBABILITIES.astype(np.float32), LABELS)

    assert json.loads(json.dumps(metrics)) == metrics
    assert type(metrics["per_label"]["billing"]["support"]) is int


@pytest.mark.parametrize(
    "y_true, probabilities, names, message",
    [
        (Y_TRUE_LABELS[:, :2], PROBABILITIES, LABELS, "y_true has shape (5, 2)"),
        (Y_TRUE_LABELS, PROBABILITIES[:, :2], LABELS, "probabilities has shape (5, 2)"),
        (Y_TRUE_LABELS, PROBABILITIES, LABELS[:2], "shape (n, 2)"),
        (Y_TRUE_LABELS[:3], PROBABILITIES, LABELS, "different numbers of rows: 3 and 5"),
        (Y_TRUE_LABELS[:0], PROBABILITIES[:0], LABELS, "y_true is empty"),
        (Y_TRUE_LABELS * 2, PROBABILITIES, LABELS, "only 0 and 1"),
        (Y_TRUE_LABELS, PROBABILITIES + 1.0, LABELS, "must lie in [0, 1]"),
        (Y_TRUE_LABELS, PROBABILITIES * np.nan, LABELS, "NaN or infinite"),
        (Y_TRUE_LABELS, PROBABILITIES, ["a", "a", "b"], "must be distinct"),
        (Y_TRUE_LABELS[:, :0], PROBABILITIES[:, :0], [], "label_names is empty"),
    ],
)
def test_multilabel_invalid_input_raises(y_true, probabilities, names, message):
    with pytest.raises(ValueError) as error:
        compute_multilabel(y_true, probabilities, names)

    assert message in str(error.value)


@pytest.mark.parametrize("threshold", [1.5, -0.1, float("nan"), "0.5", True])
def test_multilabel_invalid_threshold_raises(threshold):
    with pytest.raises(ValueError, match="threshold"):
        compute_multilabel(Y_TRUE_LABELS, PROBABILITIES, LABELS, threshold=threshold)

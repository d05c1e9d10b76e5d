import json
import typing
import warnings

import numpy as np
import pytest
from sklearn import metrics as sk
from sklearn.exceptions import UndefinedMetricWarning

from vertical_tune.config.schema import TrainingConfig
from vertical_tune.evaluation.metrics import (
    SELECTION_METRICS,
    UndefinedAUCWarning,
    classification_metrics,
)

TOP_LEVEL_KEYS = [
    "n_examples",
    "accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "weighted_precision",
    "weighted_recall",
    "weighted_f1",
    "roc_auc",
    "pr_auc",
    "loss",
    "per_class",
    "confusion_matrix",
    "labels",
]


def random_predictions(seed, num_classes, num_examples=60):
    """Return labels that contain every class and Dirichlet probabilities tilted towards them."""
    rng = np.random.default_rng(seed)
    y_true = np.concatenate([np.arange(num_classes), rng.integers(0, num_classes, num_examples - num_classes)])
    rng.shuffle(y_true)
    probabilities = rng.dirichlet(np.ones(num_classes), size=num_examples)
    probabilities[np.arange(num_examples), y_true] += rng.uniform(0, 1, num_examples)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return y_true, probabilities


def sklearn_reference(y_true, probabilities):
    """Compute every metric directly with scikit-learn, the way a reviewer would check it."""
    num_classes = probabilities.shape[1]
    labels = list(range(num_classes))
    y_pred = probabilities.argmax(axis=1)
    reference = {"accuracy": sk.accuracy_score(y_true, y_pred)}
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = sk.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        reference[f"{average}_precision"] = precision
        reference[f"{average}_recall"] = recall
        reference[f"{average}_f1"] = f1

    if num_classes == 2:
        reference["roc_auc"] = sk.roc_auc_score(y_true, probabilities[:, 1])
    else:
        reference["roc_auc"] = sk.roc_auc_score(
            y_true, probabilities, multi_class="ovr", average="macro", labels=labels
        )
    one_hot = np.eye(num_classes, dtype=int)[y_true]
    reference["pr_auc"] = sk.average_precision_score(one_hot, probabilities, average="macro")
    reference["loss"] = sk.log_loss(y_true, probabilities, labels=labels)
    reference["confusion_matrix"] = sk.confusion_matrix(y_true, y_pred, labels=labels).tolist()
    return reference


def assert_json_safe(value):
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str
            assert_json_safe(item)
    elif isinstance(value, list):
        for item in value:
            assert_json_safe(item)
    else:
        assert value is None or type(value) in (int, float, str), type(value)


@pytest.mark.parametrize("num_classes", [2, 3, 5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_predictions_match_sklearn(seed, num_classes):
    y_true, probabilities = random_predictions(seed, num_classes)
    names = [f"class_{index}" for index in range(num_classes)]

    result = classification_metrics(y_true, probabilities, names)
    reference = sklearn_reference(y_true, probabilities)

    assert result["n_examples"] == len(y_true)
    for key in ("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_precision",
                "weighted_recall", "weighted_f1", "roc_auc", "pr_auc", "loss"):
        assert result[key] == pytest.approx(reference[key], rel=1e-12, abs=1e-12), key
    assert result["confusion_matrix"] == reference["confusion_matrix"]
    assert result["labels"] == names


@pytest.mark.parametrize("num_classes", [2, 3, 5])
@pytest.mark.parametrize("seed", [3, 4])
def test_per_class_values_match_sklearn(seed, num_classes):
    y_true, probabilities = random_predictions(seed, num_classes)
    names = [f"class_{index}" for index in range(num_classes)]
    y_pred = probabilities.argmax(axis=1)

    result = classification_metrics(y_true, probabilities, names)
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        y_true, y_pred, labels=list(range(num_classes)), average=None, zero_division=0
    )

    for index, name in enumerate(names):
        scores = result["per_class"][name]
        is_positive = y_true == index
        assert scores["precision"] == pytest.approx(precision[index])
        assert scores["recall"] == pytest.approx(recall[index])
        assert scores["f1"] == pytest.approx(f1[index])
        assert scores["support"] == support[index]
        assert scores["roc_auc"] == pytest.approx(sk.roc_auc_score(is_positive, probabilities[:, index]))
        assert scores["pr_auc"] == pytest.approx(
            sk.average_precision_score(is_positive, probabilities[:, index])
        )


def test_fixed_example_values():
    y_true = [0, 0, 1, 1, 2, 2]
    probabilities = [
        [0.7, 0.2, 0.1],
        [0.2, 0.6, 0.2],
        [0.1, 0.8, 0.1],
        [0.3, 0.4, 0.3],
        [0.1, 0.1, 0.8],
        [0.5, 0.2, 0.3],
    ]

    result = classification_metrics(y_true, probabilities, ["low", "medium", "high"])

    assert result["n_examples"] == 6
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert result["per_class"]["medium"]["precision"] == pytest.approx(2 / 3)
    assert result["per_class"]["medium"]["recall"] == pytest.approx(1.0)
    assert result["per_class"]["high"]["precision"] == pytest.approx(1.0)
    assert result["per_class"]["high"]["recall"] == pytest.approx(0.5)
    assert result["per_class"]["low"]["support"] == 2
    expected_loss = -np.mean(np.log([0.7, 0.2, 0.8, 0.4, 0.8, 0.3]))
    assert result["loss"] == pytest.approx(expected_loss)


def test_keys_and_json_safe_types():
    y_true, probabilities = random_predictions(0, 3)

    result = classification_metrics(y_true, probabilities.astype(np.float32), ["a", "b", "c"])

    assert list(result) == TOP_LEVEL_KEYS
    assert set(result["per_class"]["a"]) == {"precision", "recall", "f1", "support", "roc_auc", "pr_auc"}
    assert_json_safe(result)
    json.dumps(result, allow_nan=False)


def test_binary_auc_is_positive_class_auc():
    y_true = np.array([0, 0, 0, 1, 1, 0, 1, 0])
    positive = np.array([0.1, 0.4, 0.35, 0.8, 0.3, 0.2, 0.9, 0.6])
    probabilities = np.column_stack([1 - positive, positive])

    result = classification_metrics(y_true, probabilities, ["legit", "fraud"])

    assert result["roc_auc"] == pytest.approx(sk.roc_auc_score(y_true, positive))
    assert result["per_class"]["fraud"]["roc_auc"] == pytest.approx(result["roc_auc"])
    assert result["per_class"]["legit"]["roc_auc"] == pytest.approx(result["roc_auc"])
    assert result["per_class"]["fraud"]["pr_auc"] == pytest.approx(sk.average_precision_score(y_true, positive))


def test_absent_class_auc_none_and_warns():
    rng = np.random.default_rng(7)
    y_true = rng.choice([0, 2], size=40)
    y_true[:2] = [0, 2]
    probabilities = rng.dirichlet(np.ones(3), size=40)

    with pytest.warns(UndefinedAUCWarning, match="'cardiology'") as records:
        result = classification_metrics(y_true, probabilities, ["oncology", "cardiology", "neurology"])

    assert len(records) == 1
    assert issubclass(records[0].category, UndefinedMetricWarning)
    absent = result["per_class"]["cardiology"]
    assert absent["roc_auc"] is None
    assert absent["pr_auc"] is None
    assert absent["support"] == 0
    assert absent["recall"] == 0.0

    present = [0, 2]
    roc_auc = [sk.roc_auc_score(y_true == index, probabilities[:, index]) for index in present]
    pr_auc = [sk.average_precision_score(y_true == index, probabilities[:, index]) for index in present]
    assert result["roc_auc"] == pytest.approx(np.mean(roc_auc))
    assert result["pr_auc"] == pytest.approx(np.mean(pr_auc))
    assert result["per_class"]["neurology"]["roc_auc"] == pytest.approx(roc_auc[1])
    assert result["confusion_matrix"][1] == [0, 0, 0]
    assert len(result["confusion_matrix"]) == 3


def test_absent_class_keeps_sklearn_f1():
    rng = np.random.default_rng(8)
    y_true = np.array([0, 1, 0, 1, 0, 1])
    probabilities = rng.dirichlet(np.ones(3), size=6)
    y_pred = probabilities.argmax(axis=1)

    with pytest.warns(UndefinedAUCWarning):
        result = classification_metrics(y_true, probabilities, ["a", "b", "c"])

    expected = sk.f1_score(y_true, y_pred, labels=[0, 1, 2], average="macro", zero_division=0)
    assert result["macro_f1"] == pytest.approx(expected)
    assert result["loss"] == pytest.approx(sk.log_loss(y_true, probabilities, labels=[0, 1, 2]))


def test_single_class_roc_auc_none():
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]])

    with pytest.warns(UndefinedAUCWarning) as records:
        result = classification_metrics([0, 0, 0], probabilities, ["benign", "malignant"])

    messages = [str(record.message) for record in records]
    assert any("'malignant'" in message for message in messages)
    assert any("Only class 'benign'" in message for message in messages)
    assert result["roc_auc"] is None
    assert result["per_class"]["benign"]["roc_auc"] is None
    assert result["per_class"]["benign"]["pr_auc"] == pytest.approx(1.0)
    assert result["accuracy"] == pytest.approx(2 / 3)


def test_all_classes_present_no_warning():
    y_true, probabilities = random_predictions(5, 4)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        classification_metrics(y_true, probabilities, list("abcd"))


def test_row_count_mismatch_shows_shapes():
    with pytest.raises(ValueError) as error:
        classification_metrics(np.zeros(10, dtype=int), np.full((9, 3), 1 / 3), ["a", "b", "c"])

    assert "(10,)" in str(error.value)
    assert "(9, 3)" in str(error.value)


def test_class_count_mismatch_shows_shapes():
    with pytest.raises(ValueError) as error:
        classification_metrics(np.zeros(4, dtype=int), np.full((4, 3), 1 / 3), ["a", "b"])

    assert "(4, 3)" in str(error.value)
    assert "2 names" in str(error.value)


@pytest.mark.parametrize(
    ("y_true", "probabilities", "message"),
    [
        ([0, 1], [0.5, 0.5], "shape (2,)"),
        ([[0, 1], [1, 0]], [[0.5, 0.5], [0.5, 0.5]], "shape (2, 2)"),
        ([], np.zeros((0, 2)), "empty"),
        ([0, 2], [[0.5, 0.5], [0.5, 0.5]], "outside [0, 2)"),
        ([0, -1], [[0.5, 0.5], [0.5, 0.5]], "outside [0, 2)"),
        (["a", "b"], [[0.5, 0.5], [0.5, 0.5]], "integer class indices"),
        ([0, 1], [[2.0, -1.0], [0.5, 0.5]], "[0, 1]"),
        ([0, 1], [[0.2, 0.2], [0.5, 0.5]], "sum to 1"),
        ([0, 1], [[np.nan, 0.5], [0.5, 0.5]], "NaN"),
    ],
)
def test_invalid_inputs_raise(y_true, probabilities, message):
    with pytest.raises(ValueError) as error:
        classification_metrics(y_true, probabilities, ["a", "b"])

    assert message in str(error.value)


def test_label_names_validated():
    probabilities = [[0.5, 0.5], [0.5, 0.5]]

    with pytest.raises(ValueError, match="distinct"):
        classification_metrics([0, 1], probabilities, ["a", "a"])
    with pytest.raises(ValueError, match="at least 2"):
        classification_metrics([0, 0], [[1.0], [1.0]], ["a"])


def test_integral_float_labels_accepted():
    probabilities = [[0.8, 0.2], [0.3, 0.7]]

    result = classification_metrics(np.array([0.0, 1.0]), probabilities, [0, 1])

    assert result["accuracy"] == 1.0
    assert result["labels"] == ["0", "1"]


def test_selection_metrics_cover_schema():
    schema_names = set(typing.get_args(TrainingConfig.model_fields["selection_metric"].annotation))

    assert set(SELECTION_METRICS) == schema_names
    assert SELECTION_METRICS["loss"] is False
    for name in schema_names - {"loss"}:
        assert SELECTION_METRICS[name] is True, name


def test_selection_metrics_are_result_keys():
    y_true, probabilities = random_predictions(0, 3)

    result = classification_metrics(y_true, probabilities, ["a", "b", "c"])

    for name in SELECTION_METRICS:
        assert isinstance(result[name], float), name

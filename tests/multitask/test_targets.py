"""`TaskTarget`: per-task label encoding with missing-label sentinels, class weights, errors."""

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.class_weight import compute_class_weight

from vertical_tune.config.schema import TaskSpec
from vertical_tune.data.multitask import load_multitask_texts
from vertical_tune.data.targets import TaskTarget
from vertical_tune.errors import DataError


def load(frame, *specs, text_column="text"):
    return load_multitask_texts(frame, text_column=text_column, tasks=list(specs))


def fitted(frame, spec, index=0):
    data = load(frame, spec)
    return TaskTarget.fit(spec, index, data), data


def data_error(frame, spec, *, encode=None):
    """Fit `spec` on `frame`, encode `frame` and `encode` as training does, and return the DataError message."""
    with pytest.raises(DataError) as error:
        target, data = fitted(frame, spec)
        target.encode(data)
        if encode is not None:
            target.encode(load(encode, spec))
    return str(error.value)


def test_multiclass_blank_label_is_minus_one():
    spec = TaskSpec(name="topic", label_column="topic")
    frame = pd.DataFrame({"text": ["a", "b", "c", "d"], "topic": ["news", "", "sport", "news"]})

    target, data = fitted(frame, spec)
    y = target.encode(data)

    assert target.names == ["news", "sport"]
    assert target.units == 2
    assert y.tolist() == [0, -1, 1, 0]
    assert y.dtype == np.int64
    assert target.labelled(y).tolist() == [True, False, True, True]


def test_multiclass_label_map_accepts_raw_values_and_names():
    spec = TaskSpec(name="stars", label_column="stars", labels={"1": "low", "2": "high"})
    frame = pd.DataFrame({"text": ["a", "b", "c"], "stars": ["2", "low", None]})

    target, data = fitted(frame, spec)

    assert target.names == ["low", "high"]
    assert target.encode(data).tolist() == [1, 0, -1]


def test_binary_task_encodes_two_classes():
    spec = TaskSpec(name="spam", type="binary", label_column="spam")
    frame = pd.DataFrame({"text": ["a", "b", "c"], "spam": ["yes", "no", " "]})

    target, data = fitted(frame, spec)

    assert target.names == ["no", "yes"]
    assert target.encode(data).tolist() == [1, 0, -1]


def test_multilabel_delimited_column():
    spec = TaskSpec(name="tags", type="multilabel", label_column="tags", delimiter="|")
    frame = pd.DataFrame({"text": ["a", "b", "c", "d"], "tags": ["fit | colour", "", "price", "|"]})

    target, data = fitted(frame, spec)
    y = target.encode(data)

    assert target.names == ["colour", "fit", "price"]
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [[1, 1, 0], [-1, -1, -1], [0, 0, 1], [0, 0, 0]])
    assert target.labelled(y).tolist() == [True, False, True, True]


def test_multilabel_label_list_sets_output_order():
    spec = TaskSpec(name="tags", type="multilabel", label_column="tags", delimiter=";", labels=["price", "fit"])
    frame = pd.DataFrame({"text": ["a", "b"], "tags": ["fit;price", "fit"]})

    target, data = fitted(frame, spec)

    assert target.names == ["price", "fit"]
    np.testing.assert_array_equal(target.encode(data), [[1, 1], [0, 1]])


def test_multilabel_indicator_columns():
    spec = TaskSpec(name="flags", type="multilabel", label_columns=["urgent", "refund"])
    frame = pd.DataFrame(
        {"text": ["a", "b", "c"], "urgent": ["1", "0", "yes"], "refund": ["false", "", "1.0"]}
    )

    target, data = fitted(frame, spec)
    y = target.encode(data)

    assert target.names == ["urgent", "refund"]
    np.testing.assert_array_equal(y, [[1, 0], [0, -1], [1, 1]])
    # A row with any blank cell counts as unlabelled in the task's metrics.
    assert target.labelled(y).tolist() == [True, False, True]


def test_regression_blank_is_nan_and_stats_skip_it():
    spec = TaskSpec(name="rating", type="regression", label_column="rating")
    frame = pd.DataFrame({"text": ["a", "b", "c", "d"], "rating": ["1", "", "4.5", "10"]})

    target, data = fitted(frame, spec)
    y = target.encode(data)

    assert y.dtype == np.float32
    assert math.isnan(y[1])
    np.testing.assert_array_equal(y[[0, 2, 3]], [1.0, 4.5, 10.0])
    assert target.labelled(y).tolist() == [True, False, True, True]
    assert target.mean == pytest.approx(np.mean([1.0, 4.5, 10.0]))
    assert target.std == pytest.approx(np.std([1.0, 4.5, 10.0]))
    assert target.names is None
    assert target.units == 1


def test_regression_constant_target_has_unit_std():
    spec = TaskSpec(name="rating", type="regression", label_column="rating")
    frame = pd.DataFrame({"text": ["a", "b"], "rating": ["3", "3"]})

    target, _ = fitted(frame, spec)

    assert target.std == 1.0


def test_balanced_class_weights_match_sklearn():
    spec = TaskSpec(name="topic", label_column="topic", class_weight="balanced")
    topics = ["a"] * 6 + ["b"] * 3 + ["c"] * 1 + [""] * 4
    frame = pd.DataFrame({"text": ["x"] * len(topics), "topic": topics})

    target, data = fitted(frame, spec)
    y = target.encode(data)
    expected = compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=y[y >= 0])

    np.testing.assert_allclose(target.class_weights(y), expected, rtol=1e-6)


def test_balanced_weight_of_absent_class():
    spec = TaskSpec(name="topic", label_column="topic", labels=["a", "b", "c"], class_weight="balanced")
    frame = pd.DataFrame({"text": ["x"] * 4, "topic": ["a", "a", "a", "b"]})

    target, data = fitted(frame, spec)
    y = target.encode(data)
    expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)

    np.testing.assert_allclose(target.class_weights(y), [*expected, 1.0], rtol=1e-6)


def test_balanced_multilabel_weights_per_label():
    spec = TaskSpec(name="flags", type="multilabel", label_columns=["urgent", "refund"], class_weight="balanced")
    frame = pd.DataFrame(
        {"text": ["x"] * 5, "urgent": ["1", "0", "0", "0", ""], "refund": ["1", "1", "1", "1", "1"]}
    )

    target, data = fitted(frame, spec)
    weights = target.class_weights(target.encode(data))

    # urgent has 4 labelled cells and 1 positive. `balanced` gives n / (2 * count) to each side.
    np.testing.assert_allclose(weights[0], [4 / (2 * 3), 4 / (2 * 1)])
    # refund has no negative cell, so its weights stay 1.
    np.testing.assert_allclose(weights[1], [1.0, 1.0])


def test_no_class_weights_by_default():
    spec = TaskSpec(name="topic", label_column="topic")
    frame = pd.DataFrame({"text": ["x", "y"], "topic": ["a", "b"]})

    target, data = fitted(frame, spec)

    assert target.class_weights(target.encode(data)) is None


def test_regression_non_number_cell():
    spec = TaskSpec(name="rating", type="regression", label_column="stars")
    frame = pd.DataFrame({"text": ["a", "b", "c"], "stars": ["4", "", "five"]})

    message = data_error(frame, spec)

    assert "Task 'rating'" in message
    assert "column 'stars'" in message
    assert "'five'" in message
    assert "data row 2" in message
    assert "tasks[0] (rating)" in message


def test_regression_rejects_infinity():
    spec = TaskSpec(name="rating", type="regression", label_column="stars")
    frame = pd.DataFrame({"text": ["a", "b"], "stars": ["4", "inf"]})

    message = data_error(frame, spec)

    assert "'inf'" in message
    assert "a finite number" in message


def test_multilabel_unknown_value_mentions_delimiter():
    spec = TaskSpec(name="tags", type="multilabel", label_column="tags", delimiter="|", labels=["fit", "price"])
    frame = pd.DataFrame({"text": ["a", "b"], "tags": ["fit|price", "fit,price"]})

    message = data_error(frame, spec)

    assert "Task 'tags'" in message
    assert "column 'tags'" in message
    assert "'fit,price'" in message
    assert "data row 1" in message
    assert "separated by '|'" in message
    assert "tasks[0] (tags).delimiter" in message


def test_multilabel_value_unseen_in_training():
    spec = TaskSpec(name="tags", type="multilabel", label_column="tags", delimiter="|")
    train = pd.DataFrame({"text": ["a", "b"], "tags": ["fit|price", "fit"]})
    validation = pd.DataFrame({"text": ["a", "b"], "tags": ["fit", "fit;colour"]})

    message = data_error(train, spec, encode=validation)

    assert "'fit;colour'" in message
    assert "separated by '|'" in message


def test_indicator_column_rejects_maybe():
    spec = TaskSpec(name="flags", type="multilabel", label_columns=["urgent", "refund"])
    frame = pd.DataFrame({"text": ["a", "b"], "urgent": ["1", "0"], "refund": ["0", "maybe"]})

    message = data_error(frame, spec)

    assert "Task 'flags'" in message
    assert "column 'refund'" in message
    assert "'maybe'" in message
    assert "0 or 1" in message


def test_binary_task_with_three_labels():
    spec = TaskSpec(name="spam", type="binary", label_column="spam")
    frame = pd.DataFrame({"text": ["a", "b", "c"], "spam": ["yes", "no", "unsure"]})

    message = data_error(frame, spec)

    assert "Binary task 'spam' needs exactly 2 labels" in message
    assert "column 'spam'" in message
    assert "'unsure'" in message
    assert "`multiclass`" in message


def test_task_without_labelled_training_rows():
    spec = TaskSpec(name="topic", label_column="topic")
    frame = pd.DataFrame({"text": ["a", "b"], "topic": ["", None]})

    message = data_error(frame, spec)

    assert "Task 'topic' has no labelled row in the training data" in message
    assert "'topic'" in message
    assert "2 rows, every label cell blank" in message


def test_unknown_class_in_evaluation_data():
    spec = TaskSpec(name="topic", label_column="topic_col")
    train = pd.DataFrame({"text": ["a", "b"], "topic_col": ["news", "sport"]})
    validation = pd.DataFrame({"text": ["a"], "topic_col": ["weather"]})

    message = data_error(train, spec, encode=validation)

    assert "Task 'topic', column 'topic_col'" in message
    assert "'weather'" in message


@pytest.mark.parametrize(
    "spec, column, cells",
    [
        (TaskSpec(name="topic", label_column="c", labels={"1": "news", "2": "sport"}), "c", ["1", "2", ""]),
        (TaskSpec(name="tags", type="multilabel", label_column="c", delimiter="|"), "c", ["x|y", "y", ""]),
        (TaskSpec(name="flags", type="multilabel", label_columns=["c"]), "c", ["1", "0", ""]),
        (TaskSpec(name="rating", type="regression", label_column="c"), "c", ["1.5", "3", ""]),
    ],
    ids=["multiclass", "multilabel_delimited", "multilabel_columns", "regression"],
)
def test_to_dict_round_trip_encodes_the_same(spec, column, cells):
    frame = pd.DataFrame({"text": ["a", "b", "c"], column: cells})
    target, data = fitted(frame, spec, index=3)

    restored = TaskTarget.from_dict(spec, 3, target.to_dict())

    assert restored.key == "tasks[3] (%s)" % spec.name
    assert restored.names == target.names
    assert restored.mean == target.mean
    assert restored.std == target.std
    np.testing.assert_array_equal(restored.encode(data), target.encode(data))


def test_text_column_list_is_joined():
    spec = TaskSpec(name="topic", label_column="topic")
    frame = pd.DataFrame(
        {
            "title": ["Great fit", "", None],
            "body": [" Runs small. ", "Lovely colour", None],
            "topic": ["fit", "colour", "fit"],
        }
    )

    data = load(frame, spec, text_column=["title", "body"])

    assert data.texts == ["Great fit\n\nRuns small.", "Lovely colour"]
    assert data.rows == [0, 1]
    assert data.dropped_empty_texts == 1


def test_rows_with_blank_labels_are_kept():
    first = TaskSpec(name="topic", label_column="topic")
    second = TaskSpec(name="rating", type="regression", label_column="rating")
    frame = pd.DataFrame({"text": ["a", "b", "c"], "topic": ["x", "", "y"], "rating": ["", "2", "3"]})

    data = load(frame, first, second)

    assert len(data) == 3
    assert data.cells == {"topic": ["x", None, "y"], "rating": [None, "2", "3"]}
    assert data.stratify_column == "topic"
    assert data.labels == ["x", "(no label)", "y"]


def test_missing_label_column_names_task():
    spec = TaskSpec(name="rating", type="regression", label_column="Rating")
    frame = pd.DataFrame({"text": ["a"], "rating": ["3"]})

    with pytest.raises(DataError) as error:
        load(frame, spec)

    message = str(error.value)
    assert "Column 'Rating' not found" in message
    assert "tasks[0] (rating).label_column" in message
    assert "Did you mean 'rating'?" in message

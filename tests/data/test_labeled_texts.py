import logging

import pandas as pd
import pytest

from vertical_tune.data.dataset import LabeledTexts, load_labeled_texts
from vertical_tune.errors import DataError


def test_load_drops_empty_texts_and_labels(tmp_path, caplog):
    path = tmp_path / "train.csv"
    path.write_text("text,label\nhello, pos \n   ,neg\n,neg\nworld,\nagain,neg\n", encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="vertical_tune.data.dataset"):
        data = load_labeled_texts(path, text_column="text", label_column="label")

    assert data.texts == ["hello", "again"]
    assert data.labels == ["pos", "neg"]
    assert data.dropped_empty_texts == 2
    assert data.dropped_missing_labels == 1
    assert data.source == str(path)
    assert f"{path}: dropped 2 row(s) with an empty text in column 'text'." in caplog.text
    assert f"{path}: dropped 1 row(s) with a missing label in column 'label'." in caplog.text


def test_load_dataframe_with_missing_values():
    frame = pd.DataFrame({"body": ["a", None, "c", "d"], "label": [1, 0, None, 1]})

    data = load_labeled_texts(frame, text_column="body", label_column="label")

    assert data.source == "DataFrame"
    assert data.texts == ["a", "d"]
    assert data.labels == ["1", "1"]
    assert data.dropped_empty_texts == 1
    assert data.dropped_missing_labels == 1


def test_load_without_label_column():
    frame = pd.DataFrame({"text": ["a", " ", "b"]})

    data = load_labeled_texts(frame, text_column="text")

    assert data.labels is None
    assert data.texts == ["a", "b"]
    assert len(data) == 2


def test_missing_column_suggests_nearest(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("Review Text,Rating\ngood,5\n", encoding="utf-8")

    with pytest.raises(DataError) as error:
        load_labeled_texts(path, text_column="review_text", label_column="Rating")

    message = str(error.value)
    assert f"Column 'review_text' not found in {path}." in message
    assert "task.text_column" in message
    assert "['Review Text', 'Rating']" in message
    assert "Did you mean 'Review Text'?" in message


def test_missing_label_column_error(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,stars\ngood,5\n", encoding="utf-8")

    with pytest.raises(DataError) as error:
        load_labeled_texts(path, text_column="text", label_column="label")

    message = str(error.value)
    assert "task.label_column" in message
    assert "Received: 'label'" in message
    assert "Set task.label_column to one of the available columns." in message


def test_no_usable_rows_error(tmp_path):
    path = tmp_path / "empty_texts.csv"
    path.write_text("text,label\n,a\n  ,b\n", encoding="utf-8")

    with pytest.raises(DataError) as error:
        load_labeled_texts(path, text_column="text", label_column="label")

    message = str(error.value)
    assert f"{path} has no row with a non-blank text and label." in message
    assert "2 rows: 2 with an empty text, 0 with a missing label" in message


def test_subset_keeps_source_and_counts():
    data = LabeledTexts(["a", "b", "c"], ["x", "y", "x"], "train.csv", dropped_empty_texts=4)

    part = data.subset([2, 0])

    assert part.texts == ["c", "a"]
    assert part.labels == ["x", "x"]
    assert part.source == "train.csv"
    assert part.dropped_empty_texts == 4


def test_mismatched_lengths_rejected():
    with pytest.raises(ValueError):
        LabeledTexts(["a", "b"], ["x"], "DataFrame")


def test_header_only_file_error(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("text,label\n", encoding="utf-8")

    with pytest.raises(DataError) as error:
        load_labeled_texts(path, text_column="text", label_column="label")

    assert f"{path} has no row with a non-blank text and label." in str(error.value)
    assert "0 rows" in str(error.value)

import json

import pytest

from vertical_tune.data.labels import LabelVocabulary
from vertical_tune.errors import DataError


def test_from_data_sorts_integers_numerically():
    vocabulary = LabelVocabulary.from_spec("from_data", ["10", "2", "1", "2", "10"])

    assert vocabulary.raw_values == ["1", "2", "10"]
    assert vocabulary.names == ["1", "2", "10"]
    assert vocabulary.num_classes == 3


def test_from_data_sorts_text_lexicographically():
    vocabulary = LabelVocabulary.from_spec("from_data", ["Neutral", "Bearish", "Bullish", "10"])

    assert vocabulary.raw_values == ["10", "Bearish", "Bullish", "Neutral"]


def test_from_data_single_label_error():
    with pytest.raises(DataError) as error:
        LabelVocabulary.from_spec("from_data", ["spam", "spam"])

    message = str(error.value)
    assert "1 distinct label(s), but classification needs at least 2" in message
    assert "task.labels: from_data" in message
    assert "Received: ['spam']" in message


def test_list_spec_keeps_order():
    spec = ["neutral", "negative", "positive"]

    vocabulary = LabelVocabulary.from_spec(spec, ["positive", "neutral"])

    assert vocabulary.raw_values == ["neutral", "negative", "positive"]
    assert vocabulary.encode(["positive", "neutral"], source="train.csv").tolist() == [2, 0]


def test_list_spec_unknown_training_labels_error():
    labels = ["a"] * 3 + ["b"] + ["c"] * 5 + ["d"] * 2

    with pytest.raises(DataError) as error:
        LabelVocabulary.from_spec(["a", "b"], labels)

    message = str(error.value)
    assert "2 label(s) that are not in task.labels" in message
    assert "Received: {'c': 5, 'd': 2}" in message
    assert "['a', 'b']" in message
    assert "task.labels: from_data" in message


def test_unknown_labels_shows_at_most_ten():
    labels = ["known", "other"] + [f"extra{index:02d}" for index in range(12)]

    with pytest.raises(DataError) as error:
        LabelVocabulary.from_spec(["known", "other"], labels, key="heads.sentiment.labels")

    message = str(error.value)
    assert "extra09" in message
    assert "extra10" not in message
    assert "'... 2 more': 2" in message
    assert "heads.sentiment.labels" in message


def test_dict_spec_accepts_names_and_raw_values():
    spec = {"0": "Bearish", "1": "Bullish", "2": "Neutral"}

    vocabulary = LabelVocabulary.from_spec(spec, ["0", "Bullish", " 2 "])

    assert vocabulary.raw_values == ["0", "1", "2"]
    assert vocabulary.names == ["Bearish", "Bullish", "Neutral"]
    encoded = vocabulary.encode(["Neutral", "0", "1", "Bearish"], source="valid.csv")
    assert encoded.tolist() == [2, 0, 1, 0]
    assert vocabulary.decode([2, 0]) == ["Neutral", "Bearish"]


def test_dict_spec_ambiguous_name_error():
    with pytest.raises(DataError) as error:
        LabelVocabulary.from_spec({"0": "1", "1": "0"}, None)

    assert "A label name equals the raw value of a different label." in str(error.value)
    assert "task.labels" in str(error.value)


def test_duplicate_labels_error():
    with pytest.raises(DataError) as error:
        LabelVocabulary.from_spec(["yes", "no", "yes"], None)

    assert "Received: ['yes']" in str(error.value)


def test_invalid_spec_string_error():
    with pytest.raises(DataError) as error:
        LabelVocabulary.from_spec("from-data", ["a", "b"])

    assert "Received: 'from-data'" in str(error.value)


def test_encode_unseen_labels_error():
    vocabulary = LabelVocabulary.from_spec("from_data", ["neg", "pos"])

    with pytest.raises(DataError) as error:
        vocabulary.encode(["pos", "neutral", "neutral", "mixed"], source="data/valid.csv")

    message = str(error.value)
    assert "data/valid.csv contains 2 label(s) that the model was not trained on." in message
    assert "Received: {'neutral': 2, 'mixed': 1}" in message
    assert "['neg', 'pos']" in message
    assert "Remove these rows from data/valid.csv" in message


def test_dict_round_trip_through_json():
    vocabulary = LabelVocabulary.from_spec({"1": "neoplasms", "2": "digestive"}, ["1", "2"])

    restored = LabelVocabulary.from_dict(json.loads(json.dumps(vocabulary.to_dict())))

    assert restored == vocabulary
    assert restored.names == ["neoplasms", "digestive"]


def test_from_dict_invalid_error():
    with pytest.raises(DataError) as error:
        LabelVocabulary.from_dict({"labels": ["a"]}, source="runs/x/label_map.json")

    assert "Invalid label map." in str(error.value)
    assert "runs/x/label_map.json" in str(error.value)

from collections import Counter

import pytest

from vertical_tune.data.dataset import LabeledTexts
from vertical_tune.data.split import stratified_sample, stratified_split
from vertical_tune.errors import DataError


def make_data(counts):
    labels = [label for label, count in counts.items() for _ in range(count)]
    texts = [f"text {index}" for index in range(len(labels))]
    return LabeledTexts(texts, labels, "train.csv")


def test_split_is_stratified_and_complete():
    data = make_data({"a": 60, "b": 30, "c": 10})

    train, validation, test = stratified_split(data, validation=0.2, test=0.1, seed=3)

    assert (len(train), len(validation), len(test)) == (70, 20, 10)
    assert Counter(validation.labels) == {"a": 12, "b": 6, "c": 2}
    assert Counter(test.labels) == {"a": 6, "b": 3, "c": 1}
    assert sorted(train.texts + validation.texts + test.texts) == sorted(data.texts)


def test_split_without_test_part():
    data = make_data({"a": 20, "b": 20})

    train, validation, test = stratified_split(data, validation=0.25)

    assert test is None
    assert (len(train), len(validation)) == (30, 10)


def test_split_deterministic_for_seed():
    data = make_data({"a": 50, "b": 50})

    first = stratified_split(data, validation=0.2, seed=7)
    second = stratified_split(data, validation=0.2, seed=7)
    other = stratified_split(data, validation=0.2, seed=8)

    assert first[1].texts == second[1].texts
    assert first[1].texts != other[1].texts


def test_split_every_label_in_every_part_at_minimum():
    # 10 is the minimum for validation 0.1: every part must still get each label.
    data = make_data({"big": 200, "small": 10})

    for seed in range(20):
        train, validation, _ = stratified_split(data, validation=0.1, seed=seed)
        assert set(validation.labels) == {"big", "small"}
        assert set(train.labels) == {"big", "small"}


def test_split_too_few_examples_error():
    data = make_data({"common": 100, "rare": 3, "rarer": 1})

    with pytest.raises(DataError) as error:
        stratified_split(data, validation=0.1, test=0.1)

    message = str(error.value)
    assert "2 label(s) have too few examples to appear in every split." in message
    assert "Received: {'rare': 3, 'rarer': 1}" in message
    assert "at least 10 examples per label" in message
    assert "data.validation" in message
    assert "merge" in message


def test_split_invalid_fractions_error():
    with pytest.raises(DataError) as error:
        stratified_split(make_data({"a": 10, "b": 10}), validation=0.6, test=0.4)

    assert "Invalid split fractions." in str(error.value)
    assert "{'validation': 0.6, 'test': 0.4}" in str(error.value)


def test_split_unlabelled_error():
    data = LabeledTexts(["a", "b"], None, "predict.csv")

    with pytest.raises(DataError) as error:
        stratified_split(data, validation=0.5)

    assert "predict.csv" in str(error.value)


def test_sample_keeps_every_label():
    data = make_data({"a": 900, "b": 95, "c": 5})

    sample = stratified_sample(data, 100, seed=1)

    assert len(sample) == 100
    assert Counter(sample.labels) == {"a": 90, "b": 9, "c": 1}


def test_sample_rare_labels_get_one_row():
    data = make_data({"a": 1000, "b": 1, "c": 1, "d": 1})

    sample = stratified_sample(data, 10, seed=0)

    assert len(sample) == 10
    assert Counter(sample.labels) == {"a": 7, "b": 1, "c": 1, "d": 1}


def test_sample_unchanged_when_small():
    data = make_data({"a": 3, "b": 2})

    assert stratified_sample(data, 5) is data


def test_sample_deterministic_and_ordered():
    data = make_data({"a": 50, "b": 50})

    first = stratified_sample(data, 10, seed=4)
    second = stratified_sample(data, 10, seed=4)

    assert first.texts == second.texts
    assert first.texts == sorted(first.texts, key=lambda text: int(text.split()[1]))


def test_sample_too_many_labels_error():
    data = make_data({"a": 5, "b": 5, "c": 5})

    with pytest.raises(DataError) as error:
        stratified_sample(data, 2)

    message = str(error.value)
    assert "data.max_train_rows" in message
    assert "Received: 2" in message
    assert "at least 3" in message

"""Read the published data sets kept beside the repository; counts are from their SOURCE.md."""

from collections import Counter

import pytest

from vertical_tune.data.dataset import load_labeled_texts
from vertical_tune.data.readers import read_table

@pytest.mark.parametrize(
    ("name", "rows", "label_counts", "line_feeds"),
    [
        ("sent_train.csv", 9543, {"0": 1442, "1": 1923, "2": 6178}, 395),
        ("sent_valid.csv", 2388, {"0": 347, "1": 475, "2": 1566}, 98),
    ],
)
def test_finance_tweets(shared_datasets, name, rows, label_counts, line_feeds):
    data = load_labeled_texts(
        shared_datasets / "twitter_financial_news_sentiment" / name,
        text_column="text",
        label_column="label",
    )

    assert len(data) == rows
    assert Counter(data.labels) == label_counts
    # Records end in CRLF while quoted tweets contain bare LF: the LFs stay, the CRs go.
    assert sum(text.count("\n") for text in data.texts) == line_feeds
    assert not any("\r" in text for text in data.texts)


def test_womens_clothing_empty_texts_dropped(shared_datasets, caplog):
    path = shared_datasets / "womens_clothing_reviews" / "Womens Clothing E-Commerce Reviews.csv"

    data = load_labeled_texts(path, text_column="Review Text", label_column="Rating")

    assert data.dropped_empty_texts == 845
    assert data.dropped_missing_labels == 0
    assert len(data) == 22641
    assert Counter(data.labels) == {"5": 12540, "4": 4908, "3": 2823, "2": 1549, "1": 821}
    assert f"{path}: dropped 845 row(s) with an empty text" in caplog.text


def test_womens_clothing_index_column_and_crlf(shared_datasets):
    path = shared_datasets / "womens_clothing_reviews" / "Womens Clothing E-Commerce Reviews.csv"

    table = read_table(path)

    assert table.columns[0] == "Unnamed: 0"
    assert table["Unnamed: 0"].tolist()[:3] == ["0", "1", "2"]
    assert sum(text.count("\r\n") for text in table["Review Text"]) == 3212


def test_medical_integer_labels(shared_datasets):
    data = load_labeled_texts(
        shared_datasets / "medical_abstracts" / "medical_tc_test.csv",
        text_column="medical_abstract",
        label_column="condition_label",
    )

    assert len(data) == 2888
    assert Counter(data.labels) == {"1": 633, "2": 299, "3": 385, "4": 610, "5": 961}


def test_chinese_hotel_reviews(shared_datasets):
    data = load_labeled_texts(
        shared_datasets / "chnsenticorp_htl" / "ChnSentiCorp_htl_all.csv",
        text_column="review",
        label_column="label",
    )

    assert len(data) == 7765
    assert data.dropped_empty_texts == 1
    assert Counter(data.labels) == {"1": 5322, "0": 2443}
    assert data.texts[1] == "商务大床房，房间很大，床有2M宽，整体感觉经济实惠不错!"


@pytest.mark.parametrize(
    ("name", "rows", "effectiveness"),
    [("drugLibTrain_raw.tsv", 3107, 1330), ("drugLibTest_raw.tsv", 1036, 411)],
)
def test_druglib_tsv(shared_datasets, name, rows, effectiveness):
    table = read_table(shared_datasets / "druglib_reviews" / name)

    assert len(table) == rows
    assert Counter(table["effectiveness"])["Highly Effective"] == effectiveness
    # "None" is review text here (no side effects), not a missing value.
    assert "None" in set(table["sideEffectsReview"])


def test_druglib_bare_cr_inside_quotes(shared_datasets):
    table = read_table(shared_datasets / "druglib_reviews" / "drugLibTest_raw.tsv")

    review_columns = ["benefitsReview", "sideEffectsReview", "commentsReview"]
    bare_returns = sum(
        text.count("\r") - text.count("\r\n") for column in review_columns for text in table[column]
    )
    assert bare_returns == 481

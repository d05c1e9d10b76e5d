import json

import pytest
from scipy import stats

from vertical_tune.config.schema import DriftConfig
from vertical_tune.retrain.drift import drift_markdown, drift_report, words

# Hotel reviews in English and Chinese. Word counts per text are in the comments.
TRAIN_TEXTS = [
    "The room was clean.",  # the room was clean: 4
    "Staff were rude!",  # staff were rude: 3
    "房间很干净",  # 房 间 很 干 净: 5
    "Clean room, friendly staff",  # clean room friendly staff: 4
]
TRAIN_LABELS = ["pos", "neg", "pos", "pos"]
# Training vocabulary (13 words): the room was clean staff were rude friendly 房 间 很 干 净.

REFERENCE_TEXTS = [
    "The staff was friendly",  # 4 words, all seen in training
    "房间很脏",  # 房 间 很 脏: 4 words, 脏 unseen
]
REFERENCE_LABELS = ["pos", "neg"]

NEW_TEXTS = [
    "The WiFi was slow and the room was noisy",  # 9 words, unseen: wifi slow and noisy
    "服务很差",  # 服 务 很 差: 4 words, unseen: 服 务 差
    "Rude staff.",  # 2 words, none unseen
]
NEW_LABELS = ["neg", "neg", "refund"]

# Thresholds high enough that only the always-on unseen-label warning remains.
QUIET = DriftConfig(label_shift=1.0, length_shift=10.0, oov_increase=1.0)


def fixture_report(thresholds=None):
    return drift_report(
        TRAIN_TEXTS,
        TRAIN_LABELS,
        REFERENCE_TEXTS,
        REFERENCE_LABELS,
        NEW_TEXTS,
        NEW_LABELS,
        thresholds=thresholds or DriftConfig(),
    )


def assert_plain_json_types(value, path="report"):
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str, f"{path} has key {key!r} of type {type(key).__name__}"
            assert_plain_json_types(item, f"{path}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_plain_json_types(item, f"{path}[{index}]")
    else:
        assert type(value) in (str, int, float, bool, type(None)), f"{path} is a {type(value).__name__}"


def test_words_lowercase_without_punctuation():
    assert words("The room, was CLEAN!!") == ["the", "room", "was", "clean"]
    assert words("snake_case e-mail don't 3.5%") == ["snake", "case", "e", "mail", "don", "t", "3", "5"]
    assert words(" ... !? ") == []
    assert words("") == []


def test_words_cjk_characters_are_words():
    assert words("房间很干净。服务好！") == ["房", "间", "很", "干", "净", "服", "务", "好"]
    assert words("iPhone很好") == ["iphone", "很", "好"]
    assert words("カタ・カナー") == ["カ", "タ", "カ", "ナ", "ー"]


def test_words_unicode_normalization():
    # Full-width Latin and half-width katakana map to their usual forms (NFKC).
    assert words("ＡＢＣ ｶﾅ") == ["abc", "カ", "ナ"]
    # A decomposed accent is one word with the precomposed spelling.
    assert words("cafe\u0301 Café") == ["café", "café"]
    assert words("STRASSE Straße") == ["strasse", "strasse"]


def test_words_combining_marks_and_hangul():
    # The vowel signs and virama of Devanagari are combining marks.
    assert words("हिन्दी भाषा") == ["हिन्दी", "भाषा"]
    # Korean separates words with spaces, so Hangul is not split per character.
    assert words("한국어 문장") == ["한국어", "문장"]


def test_drift_sizes():
    assert fixture_report()["sizes"] == {"training": 4, "reference": 2, "new": 3}


def test_drift_label_distribution():
    labels = fixture_report()["labels"]

    assert labels["names"] == ["neg", "pos", "refund"]
    assert labels["training"]["counts"] == {"neg": 1, "pos": 3, "refund": 0}
    assert labels["training"]["shares"] == {"neg": 0.25, "pos": 0.75, "refund": 0.0}
    assert labels["new"]["counts"] == {"neg": 2, "pos": 0, "refund": 1}
    assert labels["new"]["shares"] == pytest.approx({"neg": 2 / 3, "pos": 0.0, "refund": 1 / 3})
    assert labels["reference"]["counts"] == {"neg": 1, "pos": 1, "refund": 0}
    assert labels["unseen_in_training"] == ["refund"]


def test_drift_total_variation_distance():
    # 0.5 * (|0.25 - 2/3| + |0.75 - 0| + |0 - 1/3|) = 0.5 * 1.5
    assert fixture_report()["labels"]["total_variation"] == pytest.approx(0.75)


def test_drift_length_statistics():
    length = fixture_report()["length"]

    # Training lengths 4 3 5 4, new lengths 9 4 2.
    assert length["training"] == pytest.approx({"mean": 4.0, "median": 4.0, "p95": 4.85})
    assert length["new"] == pytest.approx({"mean": 5.0, "median": 4.0, "p95": 8.5})
    assert length["relative_change"] == pytest.approx(0.25)


def test_drift_kolmogorov_smirnov():
    length = fixture_report()["length"]

    # The empirical CDFs differ most at 2 (0 vs 1/3) and at 5 (1 vs 2/3).
    assert length["ks_statistic"] == pytest.approx(1 / 3)
    assert length["ks_pvalue"] == pytest.approx(stats.ks_2samp([4, 3, 5, 4], [9, 4, 2]).pvalue)


def test_drift_oov_rates():
    oov = fixture_report()["oov"]

    assert oov["training_vocabulary"] == 13
    assert oov["new_words"] == 15
    assert oov["reference_words"] == 8
    assert oov["new_rate"] == pytest.approx(7 / 15)
    assert oov["reference_rate"] == pytest.approx(1 / 8)
    assert oov["increase"] == pytest.approx(7 / 15 - 1 / 8)


def test_drift_top_unseen_words():
    top_unseen = fixture_report()["oov"]["top_unseen"]

    # All counts are 1, so the order is the code point order of the words.
    assert [item["word"] for item in top_unseen] == ["and", "noisy", "slow", "wifi", "务", "差", "服"]
    assert {item["count"] for item in top_unseen} == {1}


def test_drift_top_unseen_most_frequent_first():
    report = drift_report(
        ["a"], ["x"], ["a"], ["x"], ["b c c d d d" + " e" * 11], ["x"], thresholds=DriftConfig()
    )

    top_unseen = report["oov"]["top_unseen"]
    assert top_unseen[:3] == [{"word": "e", "count": 11}, {"word": "d", "count": 3}, {"word": "c", "count": 2}]


def test_drift_default_thresholds_warn():
    report = fixture_report()

    assert report["labels"]["warn"] is True
    assert report["oov"]["warn"] is True
    # The mean length changed by exactly 25%, which equals the threshold and does not warn.
    assert report["length"]["warn"] is False
    assert report["warnings"] == [
        "The label distribution shifted: the total variation distance between training and new "
        "data is 0.7500, above the threshold 0.1000.",
        "The new data contains labels never seen in training: 'refund' (1 of 3 rows).",
        "The out-of-vocabulary rate is 0.4667 on the new data and 0.1250 on the evaluation set, "
        "so it rose by 0.3417, more than the threshold 0.0500.",
    ]


def test_drift_length_warning_above_threshold():
    report = fixture_report(DriftConfig(length_shift=0.2))

    assert report["length"]["warn"] is True
    assert (
        "The mean text length changed by +25.0%, from 4.00 words in training to 5.00 in the new data, "
        "more than the threshold 20.0%."
    ) in report["warnings"]


def test_drift_length_warning_on_shorter_texts():
    report = drift_report(
        ["one two three four"], ["x"], ["one"], ["x"], ["one"], ["x"], thresholds=DriftConfig()
    )

    assert report["length"]["relative_change"] == pytest.approx(-0.75)
    assert report["length"]["warn"] is True
    assert report["warnings"][0].startswith("The mean text length changed by -75.0%")


def test_drift_high_thresholds_silence_warnings():
    report = fixture_report(QUIET)

    assert report["labels"]["warn"] is False
    assert report["length"]["warn"] is False
    assert report["oov"]["warn"] is False
    assert report["warnings"] == ["The new data contains labels never seen in training: 'refund' (1 of 3 rows)."]


def test_drift_value_at_threshold_no_warning():
    thresholds = DriftConfig(label_shift=0.75, length_shift=0.25, oov_increase=0.9)
    report = fixture_report(thresholds)

    assert report["labels"]["warn"] is False
    assert report["length"]["warn"] is False


def test_drift_same_data_has_no_drift():
    report = drift_report(
        TRAIN_TEXTS, TRAIN_LABELS, TRAIN_TEXTS, TRAIN_LABELS, TRAIN_TEXTS, TRAIN_LABELS, thresholds=DriftConfig()
    )

    assert report["labels"]["total_variation"] == 0.0
    assert report["labels"]["unseen_in_training"] == []
    assert report["length"]["relative_change"] == 0.0
    assert report["length"]["ks_statistic"] == 0.0
    assert report["oov"]["new_rate"] == 0.0
    assert report["oov"]["increase"] == 0.0
    assert report["oov"]["top_unseen"] == []
    assert report["warnings"] == []


def test_drift_new_data_without_words():
    report = drift_report(TRAIN_TEXTS, TRAIN_LABELS, ["clean"], ["pos"], ["!!", ""], ["pos", "neg"], thresholds=QUIET)

    assert report["length"]["new"] == {"mean": 0.0, "median": 0.0, "p95": 0.0}
    assert report["oov"]["new_words"] == 0
    assert report["oov"]["new_rate"] is None
    assert report["oov"]["increase"] is None
    assert report["oov"]["warn"] is False


def test_drift_training_without_words():
    report = drift_report(["?"], ["x"], ["a"], ["x"], ["a b"], ["x"], thresholds=DriftConfig())

    assert report["length"]["relative_change"] is None
    assert report["length"]["warn"] is False


def test_drift_labels_converted_to_strings():
    report = drift_report(["a", "b"], [0, 1], ["a"], [0], ["a"], [1], thresholds=QUIET)

    assert report["labels"]["names"] == ["0", "1"]
    assert report["labels"]["new"]["counts"] == {"0": 0, "1": 1}


def test_drift_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="The new data has 2 texts but 1 labels"):
        drift_report(["a"], ["x"], ["a"], ["x"], ["a", "b"], ["x"], thresholds=DriftConfig())


def test_drift_rejects_empty_data():
    with pytest.raises(ValueError, match="The reference data is empty"):
        drift_report(["a"], ["x"], [], [], ["a"], ["x"], thresholds=DriftConfig())


def test_drift_rejects_non_string_text():
    with pytest.raises(ValueError, match="Text 1 of the training data is not a string") as raised:
        drift_report(["a", float("nan")], ["x", "y"], ["a"], ["x"], ["a"], ["x"], thresholds=DriftConfig())

    assert "Received: nan" in str(raised.value)


def test_drift_report_json_round_trip():
    report = fixture_report()

    assert_plain_json_types(report)
    restored = json.loads(json.dumps(report, allow_nan=False, ensure_ascii=False))
    assert restored == report


def test_drift_markdown_sections():
    text = drift_markdown(fixture_report())

    assert text.startswith("## Data drift\n")
    assert "New data (3 rows) compared with the training data (4 rows)." in text
    assert "- The label distribution shifted" in text
    assert "| pos | 3 | 75.0% | 0 | 0.0% | 1 | 50.0% |" in text
    assert "Total variation distance, training vs new: 0.7500 (warning above 0.1000)." in text
    assert "| Mean | 4.0000 | 5.0000 |" in text
    assert "Change of the mean: +25.0% (warning above ±25.0%)." in text
    assert "| OOV rate, new data | 0.4667 |" in text
    assert "Most frequent in the new data: and (1), noisy (1), slow (1), wifi (1), 务 (1), 差 (1), 服 (1)." in text


def test_drift_markdown_without_warnings():
    report = drift_report(["a b"], ["x"], ["a"], ["x"], ["b a"], ["x"], thresholds=DriftConfig())

    text = drift_markdown(report)

    assert "No measure exceeds its threshold." in text
    assert "New data (1 row) compared with the training data (1 row)." in text
    assert "| OOV rate, evaluation set | 0.0000 |" in text

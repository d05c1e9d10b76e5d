import json

import numpy as np
import pandas as pd
import pytest

from vertical_tune.data.readers import parse_tfds_source, read_table
from vertical_tune.errors import DataError


def write_bytes(path, data):
    path.write_bytes(data)
    return path


def test_csv_cells_are_strings(tmp_path):
    path = write_bytes(tmp_path / "data.csv", b"text,label\nhello,0\nNA,007\n,1\n")

    table = read_table(path)

    assert table.to_dict("list") == {"text": ["hello", "NA", ""], "label": ["0", "007", "1"]}
    assert all(dtype == object for dtype in table.dtypes)


def test_csv_utf8_bom_removed(tmp_path):
    path = write_bytes(tmp_path / "bom.csv", "\ufefftext,label\nbonjour,1\n".encode("utf-8"))

    table = read_table(path)

    assert list(table.columns) == ["text", "label"]
    assert table["text"].tolist() == ["bonjour"]


def test_csv_crlf_and_quoted_newlines(tmp_path):
    data = b'text,label\r\n"first line\nsecond line",a\r\n"crlf\r\ninside",b\r\nplain,c\r\n'
    path = write_bytes(tmp_path / "crlf.csv", data)

    table = read_table(path)

    assert table["text"].tolist() == ["first line\nsecond line", "crlf\r\ninside", "plain"]
    assert table["label"].tolist() == ["a", "b", "c"]


def test_csv_latin1_with_encoding(tmp_path):
    path = write_bytes(tmp_path / "latin.csv", "text,label\ncafé crème,1\n".encode("latin-1"))

    table = read_table(path, encoding="latin-1")

    assert table["text"].tolist() == ["café crème"]


def test_csv_latin1_read_as_utf8_error(tmp_path):
    path = write_bytes(tmp_path / "latin.csv", "text,label\nok,0\ncafé,1\n".encode("latin-1"))

    with pytest.raises(DataError) as error:
        read_table(path)

    message = str(error.value)
    assert "Cannot decode the data file as utf-8." in message
    assert f"{path.resolve()}, line 3, byte offset 19" in message
    assert "b'\\xe9'" in message
    assert "data.encoding: latin-1" in message


def test_tsv_with_quoted_tab(tmp_path):
    path = write_bytes(tmp_path / "data.tsv", b'text\tlabel\n"a\tb"\tx\n"multi\nline"\ty\n')

    table = read_table(path)

    assert table.to_dict("list") == {"text": ["a\tb", "multi\nline"], "label": ["x", "y"]}


def test_format_option_overrides_extension(tmp_path):
    path = write_bytes(tmp_path / "data.txt", b"text\tlabel\nhello\t1\n")

    table = read_table(path, format="tsv")

    assert table.to_dict("list") == {"text": ["hello"], "label": ["1"]}


def test_jsonl_values_become_strings(tmp_path):
    lines = [
        {"text": "a", "label": 1, "score": 0.5},
        {"text": "b", "label": None, "score": 2},
        {"text": "c", "label": 3},
    ]
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")

    table = read_table(path)

    assert table["label"].tolist() == ["1", None, "3"]
    assert table["score"].tolist() == ["0.5", "2", None]


def test_json_extension_reads_lines(tmp_path):
    path = tmp_path / "data.json"
    lines = '{"text": "a", "label": "x"}\r\n{"text": "b", "label": "y"}\r\n'
    path.write_text(lines, encoding="utf-8")

    table = read_table(path)

    assert table.to_dict("list") == {"text": ["a", "b"], "label": ["x", "y"]}


def test_jsonl_invalid_line_error(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a", "label": 1}\n\n{"text": "b", "label": }\n', encoding="utf-8")

    with pytest.raises(DataError) as error:
        read_table(path)

    message = str(error.value)
    assert "Invalid JSON" in message
    assert f"{path.resolve()}, line 3" in message
    assert '\'{"text": "b", "label": }\'' in message


def test_jsonl_line_not_object_error(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a"}\n["b", 1]\n', encoding="utf-8")

    with pytest.raises(DataError) as error:
        read_table(path)

    assert "JSON Lines row is not an object." in str(error.value)
    assert f"{path.resolve()}, line 2" in str(error.value)


def test_json_array_error(tmp_path):
    path = tmp_path / "array.json"
    path.write_text('[{"text": "a", "label": 1}]', encoding="utf-8")

    with pytest.raises(DataError) as error:
        read_table(path)

    assert "JSON file contains an array; JSON Lines is expected." in str(error.value)
    assert str(path.resolve()) in str(error.value)


def test_parquet_ints_with_nulls(tmp_path):
    path = tmp_path / "data.parquet"
    frame = pd.DataFrame(
        {
            "text": ["a", "b", None],
            "label": pd.array([1, None, 3], dtype="Int64"),
            "whole": [1.0, np.nan, 3.0],
            "ratio": [0.25, 1.0, np.nan],
        }
    )
    frame.to_parquet(path)

    table = read_table(path)

    assert table["text"].tolist() == ["a", "b", None]
    assert table["label"].tolist() == ["1", None, "3"]
    assert table["whole"].tolist() == ["1", None, "3"]
    assert table["ratio"].tolist() == ["0.25", "1.0", None]


def test_dataframe_input_copied(tmp_path):
    frame = pd.DataFrame(
        {"text": ["a", "b", "c"], "label": [0, 1, np.nan], "flag": [True, False, True]}
    )
    frame.index = [10, 11, 12]

    table = read_table(frame)

    assert table.to_dict("list") == {
        "text": ["a", "b", "c"],
        "label": ["0", "1", None],
        "flag": ["True", "False", "True"],
    }
    assert list(table.index) == [0, 1, 2]
    assert frame["label"].tolist()[:2] == [0.0, 1.0]


def test_chinese_text_round_trip(tmp_path):
    texts = ["房间很大，床有2M宽，整体感觉经济实惠不错!", "早餐太差，“服务”一般……"]
    pd.DataFrame({"label": ["1", "0"], "review": texts}).to_csv(tmp_path / "zh.csv", index=False)
    lines = [json.dumps({"review": text}, ensure_ascii=False) for text in texts]
    (tmp_path / "zh.jsonl").write_text("\n".join(lines), encoding="utf-8")

    assert read_table(tmp_path / "zh.csv")["review"].tolist() == texts
    assert read_table(tmp_path / "zh.jsonl")["review"].tolist() == texts


def test_missing_file_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(DataError) as error:
        read_table("missing/train.csv")

    message = str(error.value)
    assert "Data file not found." in message
    assert str(tmp_path.resolve() / "missing" / "train.csv") in message


def test_unknown_extension_error(tmp_path):
    path = write_bytes(tmp_path / "data.xlsx", b"binary")

    with pytest.raises(DataError) as error:
        read_table(path)

    message = str(error.value)
    assert "Received: '.xlsx'" in message
    assert ".csv, .tsv, .tab, .jsonl, .json, .ndjson, .parquet, .pq" in message
    assert "data.format" in message


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.csv", b""),
        ("blank.csv", b"\n\n"),
        ("blank.jsonl", b"\n  \n"),
        ("empty.parquet", b""),
    ],
)
def test_empty_file_error(tmp_path, name, data):
    path = write_bytes(tmp_path / name, data)

    with pytest.raises(DataError) as error:
        read_table(path)

    assert "Data file is empty." in str(error.value)
    assert str(path.resolve()) in str(error.value)


def test_malformed_csv_error_names_line(tmp_path):
    # The bad row starts on line 4 because the quoted text above spans two lines.
    path = write_bytes(tmp_path / "bad.csv", b'text,label\n"two\nlines",a\nb,c,d\n')

    with pytest.raises(DataError) as error:
        read_table(path)

    message = str(error.value)
    assert "Malformed CSV data." in message
    assert f"{path.resolve()}, line 4" in message
    assert "Received: '3 fields'" in message
    assert "2 fields, as in the header" in message


def test_unclosed_quote_error(tmp_path):
    path = write_bytes(tmp_path / "quote.csv", b'text,label\nok,1\n"never closed,2\nmore,3\n')

    with pytest.raises(DataError) as error:
        read_table(path)

    assert f"{path.resolve()}, line 3" in str(error.value)
    assert "a double quote that is never closed" in str(error.value)


def test_extra_field_in_first_row_error(tmp_path):
    path = write_bytes(tmp_path / "extra.csv", b"text,label\nhello,1,x\nworld,0,y\n")

    with pytest.raises(DataError) as error:
        read_table(path)

    message = str(error.value)
    assert "Rows have more fields than the header." in message
    assert f"{path.resolve()}, line 2" in message
    assert "['text', 'label']" in message


def test_unknown_encoding_error(tmp_path):
    path = write_bytes(tmp_path / "data.csv", b"text,label\na,1\n")

    with pytest.raises(DataError) as error:
        read_table(path, encoding="latin-99")

    assert "data.encoding" in str(error.value)
    assert "'latin-99'" in str(error.value)


def test_invalid_format_error(tmp_path):
    path = write_bytes(tmp_path / "data.csv", b"text,label\na,1\n")

    with pytest.raises(DataError) as error:
        read_table(path, format="xml")

    assert "data.format" in str(error.value)
    assert "'xml'" in str(error.value)


def test_corrupt_parquet_error(tmp_path):
    path = write_bytes(tmp_path / "data.parquet", b"text,label\na,1\n")

    with pytest.raises(DataError) as error:
        read_table(path)

    assert "Cannot read the Parquet file." in str(error.value)
    assert str(path.resolve()) in str(error.value)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("tfds:imdb_reviews", ("imdb_reviews", "train")),
        ("tfds:imdb_reviews:test", ("imdb_reviews", "test")),
        ("tfds:glue/sst2:2.0.0", ("glue/sst2:2.0.0", "train")),
        ("tfds:glue/sst2:2.0.0:validation", ("glue/sst2:2.0.0", "validation")),
        ("tfds:ag_news_subset:train[:10%]", ("ag_news_subset", "train[:10%]")),
    ],
)
def test_tfds_source_parsing(source, expected):
    assert parse_tfds_source(source) == expected


def test_tfds_source_invalid():
    with pytest.raises(DataError) as error:
        parse_tfds_source("tfds:")

    assert "Received: 'tfds:'" in str(error.value)

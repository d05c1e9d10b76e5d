"""Tests for streamed training data: file expansion, readers, sharding and counting."""

from collections import Counter

import pandas as pd
import pytest
import tensorflow as tf

from vertical_tune.data.labels import LabelVocabulary
from vertical_tune.data.streaming import (
    count_rows,
    expand_sources,
    scan_labels,
    shard_for_pipeline,
    steps_per_epoch,
    stream_examples,
)
from vertical_tune.errors import ConfigError, DataError

LABELS = ["negative", "positive", "neutral"]


def _frame(start, count):
    return pd.DataFrame(
        {
            "id": range(start, start + count),
            "text": [f"row {index} 房间很干净" for index in range(start, start + count)],
            "label": [LABELS[index % 3] for index in range(start, start + count)],
        }
    )


def _write_files(folder, num_files, rows_per_file=7, extension="csv"):
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(num_files):
        frame = _frame(number * rows_per_file, rows_per_file)
        _write(frame, folder / f"train-{number}.{extension}")
    return num_files * rows_per_file


def _write(frame, path):
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, index=False)


def _stream(files, **options):
    settings = dict(text_column="text", label_column="label", label_names=LABELS, batch_size=4)
    settings.update(options)
    return stream_examples(files, **settings)


def _rows(dataset):
    rows = []
    for texts, labels in dataset:
        rows.extend(zip((text.decode("utf-8") for text in texts.numpy()), labels.numpy().tolist()))
    return rows


@pytest.mark.parametrize("num_files", [1, 2, 5])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_stream_every_row_once_across_workers(tmp_path, num_files, workers):
    total = _write_files(tmp_path, num_files)
    files = expand_sources(tmp_path / "train-*.csv")

    seen = Counter()
    counted = 0
    for worker in range(workers):
        context = tf.distribute.InputContext(num_input_pipelines=workers, input_pipeline_id=worker)
        seen.update(text for text, _ in _rows(_stream(files, input_context=context)))
        counted += count_rows(files, text_column="text", label_column="label", input_context=context).rows

    expected = {f"row {index} 房间很干净" for index in range(total)}
    assert set(seen) == expected
    assert max(seen.values()) == 1
    assert counted == total


def test_shard_for_pipeline_splits_files_or_rows():
    files = ["a", "b", "c", "d", "e"]
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1)
    assert shard_for_pipeline(files, context) == (["b", "d"], None)
    assert shard_for_pipeline(files[:1], context) == (["a"], (2, 1))
    assert shard_for_pipeline(files, None) == (files, None)


def test_stream_labels_match_rows(tmp_path):
    _write_files(tmp_path, 2)
    rows = _rows(_stream(expand_sources(tmp_path / "*.csv")))
    for text, index in rows:
        number = int(text.split()[1])
        assert index == number % 3


def test_stream_same_seed_same_order(tmp_path):
    _write_files(tmp_path, 3)
    files = expand_sources(tmp_path / "*.csv")
    first = _rows(_stream(files, seed=3, shuffle_buffer=5))
    second = _rows(_stream(files, seed=3, shuffle_buffer=5))
    assert first == second


def test_stream_without_shuffle_keeps_file_order(tmp_path):
    _write_files(tmp_path, 2)
    rows = _rows(_stream(expand_sources(tmp_path / "*.csv"), shuffle_buffer=0))
    assert [text for text, _ in rows] == [f"row {index} 房间很干净" for index in range(14)]


def test_stream_repeat_reads_each_row_once_per_epoch(tmp_path):
    total = _write_files(tmp_path, 2, rows_per_file=5)
    files = expand_sources(tmp_path / "*.csv")
    steps = steps_per_epoch(total, 4)
    dataset = _stream(files, repeat=True)
    epochs = [Counter(), Counter()]
    for step, (texts, _) in enumerate(dataset.take(2 * steps)):
        epochs[step // steps].update(texts.numpy().tolist())
    for epoch in epochs:
        assert len(epoch) == total
        assert max(epoch.values()) == 1


def test_stream_per_replica_batch(tmp_path):
    _write_files(tmp_path, 1, rows_per_file=16)
    context = tf.distribute.InputContext(num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=2)
    sizes = [int(texts.shape[0]) for texts, _ in _stream(expand_sources(tmp_path / "*.csv"), batch_size=8, input_context=context)]
    assert sizes == [4, 4, 4, 4]


def test_stream_batch_not_multiple_of_replicas(tmp_path):
    _write_files(tmp_path, 1)
    context = tf.distribute.InputContext(num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=3)
    with pytest.raises(ConfigError, match="multiple of 3"):
        _stream(expand_sources(tmp_path / "*.csv"), batch_size=8, input_context=context)


@pytest.mark.parametrize("extension", ["csv", "tsv", "jsonl", "parquet"])
def test_stream_reads_each_format(tmp_path, extension):
    total = _write_files(tmp_path, 2, extension=extension)
    files = expand_sources(tmp_path / f"*.{extension}")
    rows = _rows(_stream(files, shuffle_buffer=0))
    assert len(rows) == total
    assert rows[0] == ("row 0 房间很干净", 0)
    assert rows[-1] == (f"row {total - 1} 房间很干净", (total - 1) % 3)


@pytest.mark.parametrize("extension", ["csv", "jsonl", "parquet"])
def test_stream_multi_column_text(tmp_path, extension):
    frame = pd.DataFrame(
        {
            "title": ["Profit rises", None if extension != "csv" else "", "  ", "股价"],
            "body": ["Shares up.", "Only body.", "", "上涨"],
            "label": ["positive", "neutral", "negative", "positive"],
        }
    )
    path = tmp_path / f"news.{extension}"
    _write(frame, path)
    rows = _rows(_stream([str(path)], text_column=["title", "body"], shuffle_buffer=0))
    assert rows == [("Profit rises\n\nShares up.", 1), ("Only body.", 2), ("股价\n\n上涨", 1)]


def test_stream_normalizer_applied(tmp_path):
    from vertical_tune.data.normalize import TextNormalizer

    path = tmp_path / "train.csv"
    pd.DataFrame({"text": ["\u201cgood\u201d  news\u2026"], "label": ["positive"]}).to_csv(path, index=False)
    rows = _rows(_stream([str(path)], normalizer=TextNormalizer("general")))
    assert rows == [('"good" news...', 1)]


def test_stream_label_mapping(tmp_path):
    path = tmp_path / "train.jsonl"
    pd.DataFrame({"text": ["a", "b", "c"], "label": [0, 1, 1]}).to_json(path, orient="records", lines=True)
    rows = _rows(_stream([str(path)], label_names={"0": "negative", "1": "positive"}, shuffle_buffer=0))
    assert [index for _, index in rows] == [0, 1, 1]


def test_stream_accepts_label_vocabulary(tmp_path):
    path = tmp_path / "train.csv"
    pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]}).to_csv(path, index=False)
    vocabulary = LabelVocabulary(["y", "x"])
    assert _rows(_stream([str(path)], label_names=vocabulary, shuffle_buffer=0)) == [("a", 1), ("b", 0)]


def test_count_rows_drops_blank_rows(tmp_path):
    path = tmp_path / "train.csv"
    pd.DataFrame(
        {"text": ["good", "", "   ", "bad", "fine"], "label": ["positive", "negative", "neutral", "", "neutral"]}
    ).to_csv(path, index=False)
    stats = count_rows([str(path)], text_column="text", label_column="label", label_names=LABELS)
    assert stats.rows == 2
    assert stats.dropped_empty_texts == 2
    assert stats.dropped_missing_labels == 1
    assert stats.label_counts == {"neutral": 1, "positive": 1}
    assert _rows(_stream([str(path)], shuffle_buffer=0)) == [("good", 1), ("fine", 2)]


def test_count_rows_no_usable_row(tmp_path):
    path = tmp_path / "train.csv"
    pd.DataFrame({"text": ["", "x"], "label": ["positive", ""]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="no row with a non-blank text and label"):
        count_rows([str(path)], text_column="text", label_column="label")


def test_scan_labels_sorts_distinct_labels(tmp_path):
    _write_files(tmp_path, 2)
    vocabulary = scan_labels(expand_sources(tmp_path / "*.csv"), text_column="text", label_column="label")
    assert vocabulary.raw_values == sorted(LABELS)


def test_scan_labels_integers_sorted_numerically(tmp_path):
    path = tmp_path / "train.csv"
    pd.DataFrame({"text": ["a", "b", "c"], "label": [10, 2, 1]}).to_csv(path, index=False)
    vocabulary = scan_labels([str(path)], text_column="text", label_column="label")
    assert vocabulary.raw_values == ["1", "2", "10"]


def test_count_rows_unknown_label_names_row(tmp_path):
    path = tmp_path / "train.csv"
    pd.DataFrame({"text": ["a", "b", "c"], "label": ["positive", "negative", "bullish"]}).to_csv(path, index=False)
    with pytest.raises(DataError) as error:
        count_rows([str(path)], text_column="text", label_column="label", label_names=LABELS)
    message = str(error.value)
    assert "'bullish'" in message
    assert f"{path}, data row 3" in message


def test_stream_unknown_label_names_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "a", "label": "positive"}\n\n{"text": "b", "label": "bullish"}\n', encoding="utf-8")
    # Errors raised inside a tf.data generator reach the caller as tf.errors with the message.
    with pytest.raises(tf.errors.OpError) as error:
        _rows(_stream([str(path)]))
    assert f"{path}, line 3" in str(error.value)
    assert "'bullish'" in str(error.value)


def test_count_rows_missing_column(tmp_path):
    path = tmp_path / "train.parquet"
    pd.DataFrame({"body": ["a"], "label": ["positive"]}).to_parquet(path)
    with pytest.raises(DataError, match="Column 'text' not found"):
        count_rows([str(path)], text_column="text", label_column="label")


@pytest.mark.parametrize("extension", ["csv", "jsonl"])
def test_count_rows_missing_label_column(tmp_path, extension):
    path = tmp_path / f"train.{extension}"
    _write(pd.DataFrame({"text": ["a"], "Label": ["positive"]}), path)
    with pytest.raises(DataError) as error:
        count_rows([str(path)], text_column="text", label_column="label")
    assert "Column 'label' not found" in str(error.value)
    assert "Did you mean 'Label'?" in str(error.value)


def test_count_rows_invalid_json_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "a", "label": "positive"}\n{"text": "b",\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2"):
        count_rows([str(path)], text_column="text", label_column="label")


def test_count_rows_undecodable_file(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes("text,label\ncaf\u00e9,positive\n".encode("latin-1"))
    with pytest.raises(DataError, match="Cannot decode the data file as utf-8"):
        count_rows([str(path)], text_column="text", label_column="label")
    stats = count_rows([str(path)], text_column="text", label_column="label", encoding="latin-1")
    assert stats.rows == 1


def test_count_rows_empty_file(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="Data file is empty"):
        count_rows([str(path)], text_column="text", label_column="label")


def test_stream_labels_from_data_rejected(tmp_path):
    _write_files(tmp_path, 1)
    with pytest.raises(ConfigError, match="needs the label set listed"):
        _stream(expand_sources(tmp_path / "*.csv"), label_names="from_data")


def test_stream_rejects_tfrecord_files(tmp_path):
    path = tmp_path / "train-00000-of-00001.tfrecord"
    path.write_bytes(b"x")
    with pytest.raises(DataError, match="read_prepared"):
        _stream([str(path)])


def test_expand_sources_single_file(tmp_path):
    _write_files(tmp_path, 1)
    assert expand_sources(tmp_path / "train-0.csv") == [str((tmp_path / "train-0.csv").resolve())]


def test_expand_sources_glob_sorted(tmp_path):
    _write_files(tmp_path, 3)
    files = expand_sources(str(tmp_path / "train-*.csv"))
    assert [name.rsplit("/", 1)[-1] for name in files] == ["train-0.csv", "train-1.csv", "train-2.csv"]


def test_expand_sources_no_match(tmp_path):
    with pytest.raises(DataError) as error:
        expand_sources(str(tmp_path / "train-*.csv"))
    assert "No file matches" in str(error.value)
    assert "train-*.csv" in str(error.value)


def test_expand_sources_missing_file(tmp_path):
    with pytest.raises(DataError, match="Data file not found"):
        expand_sources(tmp_path / "train.csv")


def test_expand_sources_folder_without_manifest(tmp_path):
    _write_files(tmp_path, 1)
    with pytest.raises(DataError) as error:
        expand_sources(tmp_path)
    assert "has no manifest.json" in str(error.value)
    assert "*.csv" in str(error.value)


def test_expand_sources_mixed_formats(tmp_path):
    _write_files(tmp_path, 1, extension="csv")
    _write_files(tmp_path / "more", 1, extension="jsonl")
    (tmp_path / "more" / "train-0.jsonl").rename(tmp_path / "train-9.jsonl")
    with pytest.raises(DataError) as error:
        expand_sources(tmp_path / "train-*")
    assert "mix several formats" in str(error.value)
    assert "'csv'" in str(error.value)
    assert "'jsonl'" in str(error.value)


def test_expand_sources_unknown_extension(tmp_path):
    (tmp_path / "train-0.txt").write_text("text,label\na,positive\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        expand_sources(tmp_path / "train-*")
    assert "Cannot tell the data format" in str(error.value)
    assert "train-0.txt" in str(error.value)


def test_expand_sources_format_overrides_extension(tmp_path):
    path = tmp_path / "train-0.txt"
    path.write_text("text,label\na,positive\n", encoding="utf-8")
    files = expand_sources(tmp_path / "train-*", format="csv")
    assert _rows(_stream(files, format="csv")) == [("a", 1)]


def test_expand_sources_unknown_format(tmp_path):
    _write_files(tmp_path, 1)
    with pytest.raises(DataError, match="Unknown data format"):
        expand_sources(tmp_path / "train-0.csv", format="xml")

"""Tests for `prepare_shards`, `read_prepared` and `without_preprocessor`."""

import json
from collections import Counter

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tests.helpers import sentiment_frame
from vertical_tune.config.loader import load_config
from vertical_tune.data import prepare as prepare_module
from vertical_tune.data.manifest import MANIFEST_NAME
from vertical_tune.data.normalize import build_normalizer
from vertical_tune.data.prepare import prepare_shards
from vertical_tune.data.prepared import prepared_row_count, read_prepared, without_preprocessor
from vertical_tune.data.streaming import expand_sources
from vertical_tune.errors import ConfigError, DataError

LABELS = ["negative", "positive", "neutral"]
SEQUENCE_LENGTH = 16


def _config(tmp_path, tiny_preset, **overrides):
    train = tmp_path / "train.csv"
    if not train.exists():
        frame = sentiment_frame(10, seed=0)
        frame.loc[0, "text"] = "房 间 很 干 净"
        frame.to_csv(train, index=False)
    settings = {
        "task.labels": LABELS,
        "data.train": str(train),
        "data.validation": str(train),
        "data.streaming": True,
        "backbone.preset": tiny_preset,
        "backbone.sequence_length": SEQUENCE_LENGTH,
    }
    settings.update(overrides)
    return load_config(preset="finance", overrides=settings)


def _preprocessor(config):
    from vertical_tune.backbones.resolver import resolve_backbone
    from vertical_tune.modeling.classifier import build_preprocessor

    backbone = resolve_backbone(config.backbone.preset, strip_accents=config.backbone.strip_accents)
    return build_preprocessor(backbone, config.backbone.sequence_length)


def _token_rows(dataset):
    rows = []
    for features, labels in dataset:
        for index, label in enumerate(labels.numpy().tolist()):
            rows.append((tuple(features["token_ids"][index].numpy().tolist()), label))
    return rows


def test_prepare_writes_shards_and_manifest(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset)
    output = tmp_path / "prepared"
    manifest = prepare_shards(config, output, num_shards=4)

    names = sorted(path.name for path in output.iterdir())
    assert names == [MANIFEST_NAME] + [f"train-0000{index}-of-00004.tfrecord" for index in range(4)]
    assert json.loads((output / MANIFEST_NAME).read_text(encoding="utf-8")) == manifest
    assert manifest["num_rows"] == 30
    assert [shard["rows"] for shard in manifest["shards"]] == [8, 8, 7, 7]
    assert manifest["backbone"]["preset"] == tiny_preset
    assert manifest["sequence_length"] == SEQUENCE_LENGTH
    assert manifest["labels"]["raw_values"] == LABELS
    assert manifest["features"]["token_ids"] == {"dtype": "int32", "shape": [SEQUENCE_LENGTH]}
    assert manifest["features"]["padding_mask"]["dtype"] == "bool"
    assert manifest["sources"] == [{"path": config.data.train, "bytes": (tmp_path / "train.csv").stat().st_size}]
    assert manifest["vertical_tune_version"]
    assert not list(tmp_path.glob(".prepared.*"))


def test_prepared_features_match_preprocessor(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset)
    prepare_shards(config, tmp_path / "prepared", num_shards=1)
    frame = pd.read_csv(tmp_path / "train.csv")
    normalized = build_normalizer(config.normalization).normalize_all(frame["text"].tolist())
    expected = _preprocessor(config)(tf.constant(normalized))

    features, labels = next(iter(read_prepared(tmp_path / "prepared", config, batch_size=64, shuffle_buffer=0)))
    for name, values in expected.items():
        assert features[name].dtype == values.dtype
        np.testing.assert_array_equal(features[name].numpy(), values.numpy())
    assert labels.numpy().tolist() == [LABELS.index(label) for label in frame["label"]]
    # The CJK row is tokenized into known characters, not [UNK] (id 1).
    assert 1 not in features["token_ids"][0].numpy().tolist()[1:6]


@pytest.mark.parametrize("num_shards", [2, 5])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_read_prepared_every_row_once_across_workers(tmp_path, tiny_preset, num_shards, workers):
    config = _config(tmp_path, tiny_preset)
    manifest = prepare_shards(config, tmp_path / "prepared", num_shards=num_shards)
    everything = Counter(_token_rows(read_prepared(tmp_path / "prepared", config, batch_size=8)))

    seen = Counter()
    counted = 0
    for worker in range(workers):
        context = tf.distribute.InputContext(num_input_pipelines=workers, input_pipeline_id=worker)
        seen.update(_token_rows(read_prepared(tmp_path / "prepared", config, batch_size=8, input_context=context)))
        counted += prepared_row_count(manifest, context)

    assert sum(everything.values()) == 30
    assert seen == everything
    assert counted == 30


def test_read_prepared_repeat(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset)
    prepare_shards(config, tmp_path / "prepared", num_shards=2)
    batches = list(read_prepared(tmp_path / "prepared", config, batch_size=8, repeat=True).take(8))
    assert sum(int(labels.shape[0]) for _, labels in batches) == 60


def test_expand_sources_reads_manifest(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset)
    prepare_shards(config, tmp_path / "prepared", num_shards=3)
    files = expand_sources(tmp_path / "prepared")
    assert [path.rsplit("/", 1)[-1] for path in files] == [f"train-0000{i}-of-00003.tfrecord" for i in range(3)]


def test_prepare_labels_from_data(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset, **{"task.labels": "from_data"})
    manifest = prepare_shards(config, tmp_path / "prepared", num_shards=2)
    assert manifest["labels"]["raw_values"] == sorted(LABELS)


def test_prepare_label_mapping(tmp_path, tiny_preset):
    path = tmp_path / "codes.csv"
    pd.DataFrame({"text": ["good", "bad", "fine"], "label": [2, 0, 1]}).to_csv(path, index=False)
    mapping = {"0": "negative", "1": "neutral", "2": "positive"}
    config = _config(tmp_path, tiny_preset, **{"task.labels": mapping, "data.train": str(path)})
    manifest = prepare_shards(config, tmp_path / "prepared", num_shards=1)
    assert manifest["labels"] == {"raw_values": ["0", "1", "2"], "names": ["negative", "neutral", "positive"]}
    _, labels = next(iter(read_prepared(tmp_path / "prepared", config, batch_size=8, shuffle_buffer=0)))
    assert labels.numpy().tolist() == [2, 0, 1]


def test_prepare_caps_shards_at_rows(tmp_path, tiny_preset):
    path = tmp_path / "small.jsonl"
    pd.DataFrame({"text": ["good", "bad"], "label": ["positive", "negative"]}).to_json(path, orient="records", lines=True)
    config = _config(tmp_path, tiny_preset, **{"data.train": str(path)})
    manifest = prepare_shards(config, tmp_path / "prepared", num_shards=4)
    assert [shard["file"] for shard in manifest["shards"]] == ["train-00000-of-00002.tfrecord", "train-00001-of-00002.tfrecord"]


def test_prepare_source_glob(tmp_path, tiny_preset):
    for number in range(2):
        sentiment_frame(3, seed=number).to_parquet(tmp_path / f"part-{number}.parquet")
    config = _config(tmp_path, tiny_preset)
    manifest = prepare_shards(config, tmp_path / "prepared", num_shards=2, source=str(tmp_path / "part-*.parquet"))
    assert manifest["num_rows"] == 18
    assert len(manifest["sources"]) == 2


def test_prepare_output_exists(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset)
    (tmp_path / "prepared").mkdir()
    with pytest.raises(DataError) as error:
        prepare_shards(config, tmp_path / "prepared")
    assert "already exists" in str(error.value)
    assert "--force" in str(error.value)


def test_prepare_force_replaces_output(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset)
    (tmp_path / "prepared").mkdir()
    (tmp_path / "prepared" / "old.txt").write_text("old", encoding="utf-8")
    prepare_shards(config, tmp_path / "prepared", num_shards=2, force=True)
    assert not (tmp_path / "prepared" / "old.txt").exists()
    assert (tmp_path / "prepared" / MANIFEST_NAME).is_file()
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".")) == []


def test_prepare_failure_leaves_nothing(tmp_path, tiny_preset, monkeypatch):
    config = _config(tmp_path, tiny_preset)
    calls = []

    def failing(features, label):
        calls.append(label)
        if len(calls) > 3:
            raise OSError("disk full")
        return b""

    monkeypatch.setattr(prepare_module, "serialize_example", failing)
    with pytest.raises(OSError, match="disk full"):
        prepare_shards(config, tmp_path / "prepared", num_shards=2)
    assert not (tmp_path / "prepared").exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".prepared")]


def test_prepare_unknown_label(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset, **{"task.labels": ["negative", "positive"]})
    with pytest.raises(DataError, match="'neutral' is not in the label set"):
        prepare_shards(config, tmp_path / "prepared")
    assert not (tmp_path / "prepared").exists()


def test_prepare_without_training_source(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset, **{"data.train": None})
    with pytest.raises(ConfigError, match="No training data to prepare"):
        prepare_shards(config, tmp_path / "prepared")


def test_prepare_rejects_prepared_source(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset)
    prepare_shards(config, tmp_path / "prepared", num_shards=1)
    with pytest.raises(DataError, match="already prepared"):
        prepare_shards(config, tmp_path / "again", source=str(tmp_path / "prepared"))


@pytest.mark.parametrize(
    "override, key",
    [
        ({"backbone.sequence_length": 32}, "sequence_length"),
        ({"task.labels": ["positive", "negative", "neutral"]}, "labels"),
        ({"normalization.profile": "none"}, "normalization"),
        ({"backbone.strip_accents": True}, "backbone"),
    ],
)
def test_read_prepared_rejects_other_settings(tmp_path, tiny_preset, override, key):
    prepare_shards(_config(tmp_path, tiny_preset), tmp_path / "prepared", num_shards=1)
    other = _config(tmp_path, tiny_preset, **override)
    with pytest.raises(DataError) as error:
        read_prepared(tmp_path / "prepared", other, batch_size=8)
    message = str(error.value)
    assert "prepared with other settings" in message
    assert f"'{key}'" in message
    assert "vtune data prepare" in message


def test_read_prepared_other_backbone(tmp_path, tiny_preset):
    prepare_shards(_config(tmp_path, tiny_preset), tmp_path / "prepared", num_shards=1)
    other = _config(tmp_path, tiny_preset, **{"backbone.preset": "minilm_l6_offline"})
    with pytest.raises(DataError, match="minilm_l6_offline"):
        read_prepared(tmp_path / "prepared", other, batch_size=8)


def test_read_prepared_missing_shard(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset)
    prepare_shards(config, tmp_path / "prepared", num_shards=2)
    (tmp_path / "prepared" / "train-00001-of-00002.tfrecord").unlink()
    with pytest.raises(DataError, match="A shard named in the manifest is missing"):
        read_prepared(tmp_path / "prepared", config, batch_size=8)


def test_read_prepared_invalid_manifest(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset)
    (tmp_path / "prepared").mkdir()
    (tmp_path / "prepared" / MANIFEST_NAME).write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="Invalid manifest"):
        read_prepared(tmp_path / "prepared", config, batch_size=8)


def test_read_prepared_folder_without_manifest(tmp_path, tiny_preset):
    config = _config(tmp_path, tiny_preset)
    (tmp_path / "prepared").mkdir()
    with pytest.raises(DataError, match="has no manifest.json"):
        read_prepared(tmp_path / "prepared", config, batch_size=8)


def _one_step_loss(model, dataset):
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(dataset, epochs=1, verbose=0)
    return history.history["loss"][0]


def test_training_on_prepared_features_matches_texts(tmp_path, tiny_preset):
    from vertical_tune.backbones.resolver import resolve_backbone
    from vertical_tune.modeling.classifier import build_text_classifier

    config = _config(tmp_path, tiny_preset)
    prepare_shards(config, tmp_path / "prepared", num_shards=1)
    frame = pd.read_csv(tmp_path / "train.csv").head(16)
    normalized = build_normalizer(config.normalization).normalize_all(frame["text"].tolist())
    texts = tf.data.Dataset.from_tensor_slices(
        (normalized, [LABELS.index(label) for label in frame["label"]])
    ).batch(16)
    features = read_prepared(tmp_path / "prepared", config, batch_size=16, shuffle_buffer=0).take(1)

    keras.utils.set_random_seed(0)
    model = build_text_classifier(
        resolve_backbone(tiny_preset), num_classes=3, sequence_length=SEQUENCE_LENGTH, dropout=0.0
    )
    # The backbone's own dropout layers would make the two steps differ.
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0
    initial = [weight.numpy() for weight in model.weights]
    text_loss = _one_step_loss(model, texts)
    text_weights = [weight.numpy() for weight in model.weights]

    model.set_weights(initial)
    preprocessor = model.preprocessor
    with without_preprocessor(model):
        assert model.preprocessor is None
        feature_loss = _one_step_loss(model, features)
    feature_weights = [weight.numpy() for weight in model.weights]

    assert model.preprocessor is preprocessor
    assert feature_loss == pytest.approx(text_loss, rel=1e-5)
    for after_texts, after_features in zip(text_weights, feature_weights):
        np.testing.assert_allclose(after_features, after_texts, rtol=1e-4, atol=1e-6)


def test_without_preprocessor_restores_after_error(tiny_preset):
    from vertical_tune.backbones.resolver import resolve_backbone
    from vertical_tune.modeling.classifier import build_text_classifier

    model = build_text_classifier(resolve_backbone(tiny_preset), num_classes=2, sequence_length=8, dropout=0.0)
    preprocessor = model.preprocessor
    with pytest.raises(RuntimeError):
        with without_preprocessor(model):
            raise RuntimeError("stop")
    assert model.preprocessor is preprocessor
    assert model.predict(["good stock"], verbose=0).shape == (1, 2)

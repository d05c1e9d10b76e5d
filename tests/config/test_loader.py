import pytest

from vertical_tune.config.loader import load_config, parse_override
from vertical_tune.config.presets import list_presets
from vertical_tune.errors import ConfigError


def write(tmp_path, text, name="vtune.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_presets_are_listed():
    assert list_presets() == ["finance", "medical", "retail"]


@pytest.mark.parametrize("name", ["finance", "medical", "retail"])
def test_every_preset_resolves(name):
    config = load_config(preset=name)
    assert config.industry == name
    assert config.backbone.preset == "minilm_l6_offline"
    assert config.backbone.hub_preset


def test_preset_selection_metrics():
    assert load_config(preset="finance").training.selection_metric == "macro_f1"
    assert load_config(preset="medical").training.selection_metric == "macro_recall"
    assert load_config(preset="retail").training.selection_metric == "macro_f1"


def test_file_overrides_preset_and_overrides_win(tmp_path):
    path = write(tmp_path, "industry: finance\ntraining:\n  epochs: 7\n  batch_size: 8\n")
    config = load_config(path, overrides={"training.epochs": 2})
    assert config.training.epochs == 2
    assert config.training.batch_size == 8
    assert config.normalization.profile == "finance"


def test_relative_paths_resolve_against_config_folder(tmp_path):
    path = write(tmp_path, "data:\n  train: data/train.csv\n  validation: tfds:imdb_reviews\n")
    config = load_config(path)
    assert config.data.train == str(tmp_path / "data" / "train.csv")
    assert config.data.validation == "tfds:imdb_reviews"
    assert config.output.run_dir.startswith(str(tmp_path))


def test_unknown_key_suggests_nearest(tmp_path):
    path = write(tmp_path, "training:\n  epoch: 3\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "Unknown config key `training.epoch`" in message
    assert "line 2, column 3" in message
    assert "Did you mean `training.epochs`?" in message


@pytest.mark.parametrize(
    ("key", "new_key"),
    [("training.mixed_precision=true", "distribution.mixed_precision"), ("training.distribution=mirrored", "distribution.strategy")],
)
def test_moved_key_names_its_new_place(key, new_key):
    with pytest.raises(ConfigError) as error:
        load_config(preset="finance", overrides=dict([parse_override(key)]))
    message = str(error.value)
    assert "This key moved" in message
    assert new_key in message


def test_unknown_section_suggests_nearest(tmp_path):
    path = write(tmp_path, "trainig:\n  epochs: 3\n")
    with pytest.raises(ConfigError, match="Did you mean `training`"):
        load_config(path)


def test_invalid_value_names_key_value_and_rule(tmp_path):
    path = write(tmp_path, "training:\n  learning_rate: -0.1\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "`training.learning_rate`" in message
    assert "Received: -0.1" in message
    assert "greater than 0" in message


def test_invalid_choice_lists_allowed(tmp_path):
    path = write(tmp_path, "training:\n  mode: partial\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "'full', 'frozen' or 'lora'" in str(error.value)
    assert "'partial'" in str(error.value)


def test_binary_task_needs_two_labels(tmp_path):
    path = write(tmp_path, "task:\n  type: binary\n  labels: [a, b, c]\n")
    with pytest.raises(ConfigError, match="exactly 2 labels"):
        load_config(path)


def test_yaml_syntax_error_gives_position(tmp_path):
    path = write(tmp_path, "training:\n  epochs: [1, 2\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "not valid YAML" in str(error.value)
    assert "line 3" in str(error.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="Config file not found"):
        load_config(tmp_path / "missing.yaml")


def test_top_level_must_be_mapping(tmp_path):
    path = write(tmp_path, "- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)


def test_unknown_preset_lists_known():
    with pytest.raises(ConfigError) as error:
        load_config(preset="insurance")
    assert "finance, medical, retail" in str(error.value)


def test_parse_override_reads_yaml_values():
    assert parse_override("training.epochs=3") == ("training.epochs", 3)
    assert parse_override("distribution.jit_compile=true") == ("distribution.jit_compile", True)
    assert parse_override("backbone.preset=hf://a/b") == ("backbone.preset", "hf://a/b")


def test_parse_override_rejects_missing_equals():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("training.epochs")


@pytest.mark.parametrize(
    "block, expected",
    [
        ("retrain:\n  gate:\n    metric: f1\n", "unknown metric 'f1'"),
        ("retrain:\n  gate:\n    floors: {recall: 0.5}\n", "unknown metric 'recall' in floors"),
        ("retrain:\n  gate:\n    floors: {macro_f1: 75}\n", "between 0 and 1"),
        ("retrain:\n  holdout: 1.5\n", "retrain.holdout"),
        ("retrain:\n  start_from: scratch\n", "retrain.start_from"),
        ("training:\n  checkpoint_every_steps: 0\n", "training.checkpoint_every_steps"),
    ],
)
def test_retrain_settings_invalid(tmp_path, block, expected):
    path = write(tmp_path, block)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert expected in message
    assert "line " in message

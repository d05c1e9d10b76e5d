"""The shipped industry presets: valid partial configs with the intended settings."""

import pytest
import yaml

from vertical_tune.config.presets import list_presets, load_preset_dict, load_preset_text
from vertical_tune.config.schema import VTuneConfig

INDUSTRIES = ["finance", "medical", "retail"]

EXPECTED = {
    "finance": {
        "text_column": "text",
        "label_column": "label",
        "labels": {"0": "Bearish", "1": "Bullish", "2": "Neutral"},
        "hub_preset": "hf://ProsusAI/finbert",
        "sequence_length": 64,
        "selection_metric": "macro_f1",
        "profile": "finance",
    },
    "medical": {
        "text_column": "medical_abstract",
        "label_column": "condition_label",
        "labels": {
            "1": "neoplasms",
            "2": "digestive system diseases",
            "3": "nervous system diseases",
            "4": "cardiovascular diseases",
            "5": "general pathological conditions",
        },
        "hub_preset": "hf://microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext",
        "sequence_length": 256,
        "selection_metric": "macro_recall",
        "profile": "medical",
    },
    "retail": {
        "text_column": "Review Text",
        "label_column": "Recommended IND",
        "labels": {"0": "not_recommended", "1": "recommended"},
        "hub_preset": "bert_base_en_uncased",
        "sequence_length": 128,
        "selection_metric": "macro_f1",
        "profile": "general",
    },
}


def test_presets_list_all_industries():
    assert list_presets() == INDUSTRIES


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_preset_validates(industry):
    config = VTuneConfig.model_validate(load_preset_dict(industry))

    assert config.industry == industry
    assert config.description


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_preset_sets_intended_values(industry):
    config = VTuneConfig.model_validate(load_preset_dict(industry))
    expected = EXPECTED[industry]

    assert config.task.text_column == expected["text_column"]
    assert config.task.label_column == expected["label_column"]
    assert config.task.labels == expected["labels"]
    assert config.backbone.preset == "minilm_l6_offline"
    assert config.backbone.hub_preset == expected["hub_preset"]
    assert config.backbone.sequence_length == expected["sequence_length"]
    assert config.training.selection_metric == expected["selection_metric"]
    assert config.training.learning_rate == 2e-4
    assert config.normalization.profile == expected["profile"]


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_preset_leaves_data_paths_unset(industry):
    preset = load_preset_dict(industry)

    assert "data" not in preset
    assert "output" not in preset


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_preset_sets_training_keys_explicitly(industry):
    training = load_preset_dict(industry)["training"]

    for key in ("batch_size", "learning_rate", "schedule", "warmup_ratio", "epochs", "class_weight"):
        assert key in training, f"{industry} preset does not set training.{key}"


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_preset_label_keys_are_strings(industry):
    # Unquoted keys would load as ints and no longer match the raw values as text.
    labels = load_preset_dict(industry)["task"]["labels"]

    assert all(isinstance(key, str) for key in labels)


def test_retail_preset_is_binary():
    config = VTuneConfig.model_validate(load_preset_dict("retail"))

    assert config.task.type == "binary"

import json
import time

import pytest

from vertical_tune.backbones import hub
from vertical_tune.backbones.resolver import resolve_backbone
from vertical_tune.errors import BackboneError


def test_offline_name_resolves_to_package_directory():
    resolved = resolve_backbone("minilm_l6_offline")
    assert resolved.kind == "offline"
    assert resolved.strip_accents is True
    assert resolved.handle.endswith("model")


def test_local_keras_hub_preset(tiny_preset):
    resolved = resolve_backbone(tiny_preset)
    assert resolved.kind == "keras_hub_directory"


def test_hf_handle_fails_fast_offline(monkeypatch):
    monkeypatch.setenv("VTUNE_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(BackboneError) as error:
        resolve_backbone("hf://ProsusAI/finbert")
    assert time.perf_counter() - started < 10
    message = str(error.value)
    assert "huggingface.co is not reachable" in message
    assert "--local-dir" in message
    assert "backbone.preset: DIR" in message


def test_keras_hub_name_fails_fast_when_unreachable(monkeypatch):
    monkeypatch.delenv("VTUNE_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "_probe", lambda host: "connection refused")
    with pytest.raises(BackboneError, match="www.kaggle.com is not reachable"):
        resolve_backbone("bert_base_en_uncased")


def test_unknown_name_lists_accepted_forms():
    with pytest.raises(BackboneError) as error:
        resolve_backbone("no_such_backbone_xyz")
    message = str(error.value)
    assert "minilm_l6_offline" in message
    assert "hf://ORG/NAME" in message


def test_missing_directory():
    with pytest.raises(BackboneError, match="does not exist"):
        resolve_backbone("./no/such/dir")


def test_hf_directory_without_safetensors(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(BackboneError) as error:
        resolve_backbone(str(tmp_path))
    assert "model.safetensors" in str(error.value)
    assert "pytorch_model.bin" in str(error.value)


def test_hf_directory_with_unsupported_type(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "electra"}))
    with pytest.raises(BackboneError) as error:
        resolve_backbone(str(tmp_path))
    assert "'electra'" in str(error.value)


def test_directory_without_config(tmp_path):
    with pytest.raises(BackboneError, match="no `config.json`"):
        resolve_backbone(str(tmp_path))


def test_hf_directory_missing_do_lower_case(tmp_path):
    from vertical_tune.modeling.classifier import build_text_classifier

    source = resolve_backbone("minilm_l6_offline").handle
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        (tmp_path / name).symlink_to(f"{source}/{name}")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 512}))
    resolved = resolve_backbone(str(tmp_path))
    assert resolved.kind == "hf_directory"
    with pytest.raises(BackboneError) as error:
        build_text_classifier(resolved, num_classes=2, sequence_length=16, dropout=0.1)
    assert "do_lower_case" in str(error.value)
    assert str(tmp_path) in str(error.value)


def test_misspelled_offline_name_gets_suggestion():
    with pytest.raises(BackboneError, match="Did you mean 'minilm_l6_offline'"):
        resolve_backbone("minilm_l6_ofline")


def test_offline_tokenizer_strips_accents():
    from vertical_tune.modeling.classifier import load_tokenizer

    tokenizer = load_tokenizer(resolve_backbone("minilm_l6_offline"))
    assert tokenizer.strip_accents is True
    # "café" and "cafe" get the same ids; without accent stripping "café" is [UNK].
    assert tokenizer.tokenize(["café"]) == tokenizer.tokenize(["cafe"])

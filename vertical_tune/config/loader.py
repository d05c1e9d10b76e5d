"""Build a `VTuneConfig` from a preset, a YAML file and overrides, in that order.

Later layers win: the user's `vtune.yaml` overrides the preset, and CLI or Python
overrides win over both. Validation errors name the key, the file position, the
value and what is allowed.
"""

import difflib
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from vertical_tune.config.merge import deep_merge
from vertical_tune.config.presets import load_preset_dict, split_preset_name
from vertical_tune.config.schema import VTuneConfig
from vertical_tune.errors import ConfigError, format_error


def load_config(path=None, *, preset=None, overrides=None):
    """Resolve the configuration of a job.

    Args:
        path: str, PathLike or None. A `vtune.yaml` file. Relative data paths and
            `output.run_dir` in it are resolved against its folder.
        preset: str or None. An industry preset name. When None, the `industry`
            key of the file selects the preset, if present.
        overrides: dict or None. Nested or dotted keys, e.g.
            `{"training": {"epochs": 1}}` or `{"training.epochs": 1}`.

    Returns:
        VTuneConfig.
    """
    user_dict, positions, source = {}, {}, "<overrides>"
    if path is not None:
        user_dict, positions = read_yaml_with_positions(path)
        source = str(path)

    preset_name = preset or user_dict.get("industry")
    merged = load_preset_dict(preset_name) if preset_name else {}
    if preset_name:
        merged["industry"] = split_preset_name(preset_name)[0]
    merged = deep_merge(merged, user_dict)
    override_dict = expand_dotted_keys(overrides or {})
    merged = deep_merge(merged, override_dict)
    for key_path in _key_paths(override_dict):
        positions[key_path] = f"override `{'.'.join(key_path)}` (command line or Python call)"

    config = validate_config(merged, source=source, positions=positions)
    if path is not None:
        config = resolve_relative_paths(config, Path(path).resolve().parent)
    return config


def read_yaml_with_positions(path):
    """Read a YAML mapping and the line and column of every key path in it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            format_error(
                "Config file not found.",
                received=str(path.resolve()),
                fix="Pass an existing file, or run `vtune init --industry NAME DIR` to create one.",
            )
        )
    text = path.read_text(encoding="utf-8-sig")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        raise ConfigError(
            format_error(
                "Config file is not valid YAML.",
                where=where,
                received=getattr(error, "problem", str(error)),
                fix="Fix the YAML syntax at that position (indentation, a missing colon or quote).",
            )
        ) from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(
            format_error(
                "Config file must contain a mapping of sections at the top level.",
                where=str(path),
                received=type(data).__name__,
                expected="keys such as `task:`, `data:`, `training:`",
            )
        )
    positions = {}
    _collect_positions(node, (), positions, path)
    return data, positions


def _collect_positions(node, prefix, positions, path):
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        key_path = prefix + (str(key_node.value),)
        mark = key_node.start_mark
        positions[key_path] = f"{path}, line {mark.line + 1}, column {mark.column + 1}"
        _collect_positions(value_node, key_path, positions, path)


def expand_dotted_keys(overrides):
    """Turn `{"training.epochs": 1}` into `{"training": {"epochs": 1}}`."""
    nested = {}
    for key, value in overrides.items():
        if isinstance(value, BaseModel):
            value = value.model_dump()
        parts = str(key).split(".")
        if isinstance(value, dict):
            value = expand_dotted_keys(value)
        nested = deep_merge(nested, _nest(parts, value))
    return nested


def _key_paths(nested, prefix=()):
    """Yield every key path of a nested dict, sections included (an unknown section is an error too)."""
    for key, value in nested.items():
        yield prefix + (key,)
        if isinstance(value, dict):
            yield from _key_paths(value, prefix + (key,))


def _nest(parts, value):
    for part in reversed(parts):
        value = {part: value}
    return value


def parse_override(text):
    """Parse a CLI `KEY=VALUE` override; the value is read as YAML (`3`, `true`, `[a, b]`)."""
    key, sep, raw_value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            format_error(
                "Invalid override.",
                received=text,
                expected="KEY=VALUE with a dotted key, e.g. `training.epochs=3`",
                fix="Run `vtune config keys` to list every key.",
            )
        )
    try:
        value = yaml.safe_load(raw_value) if raw_value.strip() else None
    except yaml.YAMLError:
        value = raw_value
    return key.strip(), value


def validate_config(data, *, source="<config>", positions=None):
    """Validate a merged dict into a `VTuneConfig`, raising `ConfigError` on the first problems."""
    try:
        return VTuneConfig.model_validate(data)
    except ValidationError as error:
        messages = [
            _describe_error(item, data, source, positions or {}) for item in error.errors()
        ]
        raise ConfigError("\n".join(messages)) from None


def _describe_error(item, data, source, positions):
    loc = tuple(str(part) for part in item["loc"])
    key = ".".join(loc) or "<top level>"
    where = positions.get(loc, f"{source}, key `{key}`") if loc else source
    if item["type"] == "extra_forbidden":
        return _unknown_key_message(loc, item.get("input"), where)
    return format_error(
        f"Invalid value for `{key}`.",
        where=where,
        received=_lookup(data, loc, item.get("input")),
        expected=_expected_text(item, loc),
        fix=f"Change `{key}` in the config, or run `vtune config keys` to see what it accepts.",
    )


# Keys of earlier versions, and where their setting lives now.
MOVED_KEYS = {
    "training.mixed_precision": "Set `distribution.mixed_precision` to `mixed_float16`, `mixed_bfloat16` or `none`.",
    "training.distribution": "Set `distribution.strategy` instead.",
}


def _unknown_key_message(loc, value, where):
    section_keys = _valid_keys(loc[:-1])
    close = difflib.get_close_matches(loc[-1], section_keys, n=1)
    fix = f"Did you mean `{'.'.join(loc[:-1] + (close[0],))}`?" if close else "Remove the key."
    if ".".join(loc) in MOVED_KEYS:
        fix = "This key moved. " + MOVED_KEYS[".".join(loc)]
    return format_error(
        f"Unknown config key `{'.'.join(loc)}`.",
        where=where,
        received=value,
        expected=f"one of {', '.join(section_keys)}",
        fix=fix + " Run `vtune config keys` to list every key.",
    )


def _valid_keys(section_path):
    model = VTuneConfig
    for part in section_path:
        if part.isdigit():  # an index into a list of sections, e.g. `tasks.0`
            continue
        field = model.model_fields.get(part)
        model = _section_model(getattr(field, "annotation", None))
        if model is None:
            return []
    return list(model.model_fields)


def _section_model(annotation):
    """Return the section model in a field annotation, looking inside Optional and list, or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        model = _section_model(argument)
        if model is not None:
            return model
    return None


def _expected_text(item, loc):
    message = item.get("msg", "")
    field = _field_info(loc)
    allowed = ""
    if field is not None and field.description:
        allowed = f" ({field.description})"
    return f"{message}{allowed}"


def _field_info(loc):
    model = VTuneConfig
    field = None
    for part in loc:
        if part.isdigit():
            continue
        if model is None:
            return field
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _section_model(field.annotation)
    return field


def _lookup(data, loc, fallback):
    value = data
    for part in loc:
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return fallback
    return value


def resolve_relative_paths(config, base_dir):
    """Make relative data paths and the run directory absolute, relative to `base_dir`."""
    updated = config.model_copy(deep=True)
    for name in ("train", "validation", "test", "tfds_data_dir"):
        value = getattr(updated.data, name)
        if value and not value.startswith("tfds:") and not Path(value).is_absolute():
            setattr(updated.data, name, str(base_dir / value))
    if not Path(updated.output.run_dir).is_absolute():
        updated.output.run_dir = str(base_dir / updated.output.run_dir)
    for section, names in (
        (updated.distillation, ("teacher", "unlabelled")),
        (updated.output, ("checkpoint_dir",)),
        (updated.registry, ("path",)),
        (updated.retrain, ("incoming", "evaluation", "log_file", "decision_log")),
    ):
        for name in names:
            value = getattr(section, name)
            if value and not Path(value).is_absolute():
                setattr(section, name, str(base_dir / value))
    return updated

"""Describe every config key from the config model: used by `vtune config keys` and docs/config.md."""

import collections
import json
import typing

from pydantic import BaseModel

from vertical_tune.config.schema import VTuneConfig

FieldRow = collections.namedtuple("FieldRow", "key default choices description")

# The `default` of a key that has none and must be set.
REQUIRED = "(required)"


def iter_fields(model=VTuneConfig, prefix=""):
    """Yield a `FieldRow` for every leaf key of the config model, depth first."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from iter_fields(annotation, prefix=f"{key}.")
            continue
        item = _list_item_model(annotation)
        if item is not None:
            yield FieldRow(key, field.get_default(call_default_factory=True), [], field.description or "")
            yield from iter_fields(item, prefix=f"{key}[].")
            continue
        default = REQUIRED if field.is_required() else field.get_default(call_default_factory=True)
        yield FieldRow(key, default, _choices(annotation), field.description or "")


def _list_item_model(annotation):
    """Return M for an annotation `list[M]` or `Optional[list[M]]` with M a model, else None."""
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        return item if isinstance(item, type) and issubclass(item, BaseModel) else None
    for argument in typing.get_args(annotation):
        found = _list_item_model(argument)
        if found is not None:
            return found
    return None


def _choices(annotation):
    """Return the allowed values of a `Literal` (also inside Optional or Union), else []."""
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    choices = []
    for argument in typing.get_args(annotation):
        choices += _choices(argument)
    return choices


def render_markdown():
    """Return docs/config.md: one table row per key."""
    lines = [
        "# Configuration keys",
        "",
        "Generated from `vertical_tune/config/schema.py` by `python -m vertical_tune.config.docs`.",
        "Presets set some of these; `vtune.yaml` and `--set KEY=VALUE` override them.",
        "",
        "| key | default | allowed | description |",
        "|---|---|---|---|",
    ]
    for row in iter_fields():
        description = row.description.replace("|", "\\|")
        allowed = ", ".join(f"`{choice}`" for choice in row.choices)
        default = "required" if row.default is REQUIRED else f"`{json.dumps(row.default)}`"
        lines.append(f"| `{row.key}` | {default} | {allowed} | {description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")

"""Describe every config key from the config model: used by `vtune config keys` and docs/config.md."""

import collections
import json

from pydantic import BaseModel

from vertical_tune.config.schema import VTuneConfig

FieldRow = collections.namedtuple("FieldRow", "key default description")


def iter_fields(model=VTuneConfig, prefix=""):
    """Yield a `FieldRow` for every leaf key of the config model, depth first."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from iter_fields(annotation, prefix=f"{key}.")
            continue
        default = field.get_default(call_default_factory=True)
        yield FieldRow(key, json.dumps(default), field.description or "")


def render_markdown():
    """Return docs/config.md: one table row per key."""
    lines = [
        "# Configuration keys",
        "",
        "Generated from `vertical_tune/config/schema.py` by `python -m vertical_tune.config.docs`.",
        "Presets set some of these; `vtune.yaml` and `--set KEY=VALUE` override them.",
        "",
        "| key | default | description |",
        "|---|---|---|",
    ]
    for row in iter_fields():
        description = row.description.replace("|", "\\|")
        lines.append(f"| `{row.key}` | `{row.default}` | {description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")

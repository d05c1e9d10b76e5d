"""Write a resolved config as commented YAML that lists every key of the schema.

The comments come from the pydantic field descriptions and, for sections, from the
section class docstrings, so the file a user edits documents itself and cannot
drift from the schema.
"""

import math
import textwrap

import yaml
from pydantic import BaseModel

from vertical_tune.config.schema import VTuneConfig

_INDENT = 2
_LINE_WIDTH = 88

_HEADER = (
    "Every key of the schema is listed here with its value. Edit any of them.\n\n"
    "`vtune config show --config FILE` prints the resolved config."
)


def render_config_yaml(config: VTuneConfig) -> str:
    """Render `config` as YAML with a `#` comment above every key.

    The output round-trips: `VTuneConfig.model_validate(yaml.safe_load(output))`
    equals `config`.

    Args:
        config: VTuneConfig. The resolved configuration to write.

    Returns:
        str. The YAML text, ending in a newline.
    """
    lines = _comment_lines(_section_doc(type(config)), indent=0)
    lines += _comment_lines(_HEADER, indent=0)
    values = config.model_dump(mode="json")
    _render_section(config, values, indent=0, lines=lines)
    return "\n".join(lines) + "\n"


def _render_section(section, values, *, indent, lines):
    """Append the keys of one section model, recursing into nested sections."""
    after_section = False
    for name, field in type(section).model_fields.items():
        value = getattr(section, name)

        if isinstance(value, BaseModel):
            # Blank lines set each section apart, as in a hand-written file.
            lines.append("")
            comment = field.description or _section_doc(type(value))
            lines += _comment_lines(comment, indent=indent)
            lines.append(" " * indent + f"{name}:")
            _render_section(value, values[name], indent=indent + _INDENT, lines=lines)
            after_section = True
            continue

        if indent == 0 or after_section:
            lines.append("")
        after_section = False
        lines += _comment_lines(field.description, indent=indent)
        if value and isinstance(value, list) and all(isinstance(item, BaseModel) for item in value):
            lines.append(" " * indent + f"{name}:")
            for position, item in enumerate(value):
                lines += _list_item_lines(item, values[name][position], indent=indent, commented=position == 0)
            continue
        lines += _dump_key(name, values[name], indent=indent)


def _list_item_lines(item, values, *, indent, commented):
    """Return the lines of one section model in a list; only the first item keeps its comments."""
    item_lines = []
    _render_section(item, values, indent=indent + _INDENT, lines=item_lines)
    if not commented:
        item_lines = [line for line in item_lines if not line.lstrip().startswith("#")]
    item_lines = [line for line in item_lines if line.strip()]
    first = item_lines[0]
    item_lines[0] = " " * indent + "- " + first[indent + _INDENT:]
    return item_lines


def _dump_key(name, value, *, indent):
    """Return the YAML lines of one key and its value, quoted where YAML needs it.

    `yaml.safe_dump` decides the quoting, so strings such as "yes", "0" or "1e-4"
    stay strings when the file is read back.
    """
    text = yaml.safe_dump(
        {name: value},
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=math.inf,
    )
    return [" " * indent + line for line in text.splitlines()]


def _comment_lines(text, *, indent):
    """Return `text` as `#` comment lines wrapped to the line width."""
    if not text:
        return []
    prefix = " " * indent + "# "
    width = max(_LINE_WIDTH - len(prefix), 40)
    lines = []
    for paragraph in text.strip().split("\n\n"):
        wrapped = textwrap.wrap(
            " ".join(paragraph.split()),
            width=width,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines += [prefix + line for line in wrapped]
    return lines


def _section_doc(model_class):
    # `__doc__` of the class itself, because `inspect.getdoc` would fall back to the
    # long docstring of pydantic's BaseModel for a section without one.
    return model_class.__dict__.get("__doc__") or ""

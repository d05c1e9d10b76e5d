"""`render_config_yaml`: commented YAML that lists every key and round-trips."""

import re

import pytest
import yaml
from pydantic import BaseModel

from vertical_tune.config.presets import load_preset_dict
from vertical_tune.config.schema import VTuneConfig
from vertical_tune.project.config_yaml import render_config_yaml

KEY_LINE = re.compile(r"^( *)([A-Za-z_][A-Za-z0-9_]*):")


def schema_field_paths(model_class, prefix=""):
    """Return the dotted path of every field of the schema, sections included."""
    paths = []
    for name, field in model_class.model_fields.items():
        path = prefix + name
        paths.append(path)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += schema_field_paths(annotation, prefix=path + ".")
    return paths


def key_line_numbers(text):
    """Map the dotted path of every key line to its line number, from indentation."""
    found, stack = {}, []
    for number, line in enumerate(text.splitlines()):
        match = KEY_LINE.match(line)
        if not match:
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group(2)))
        found[".".join(key for _, key in stack)] = number
    return found


def count_comment_blocks(text):
    """Count runs of consecutive `#` lines that end directly above a key line."""
    lines = text.splitlines()
    return sum(
        1
        for number in range(1, len(lines))
        if lines[number - 1].lstrip().startswith("#") and KEY_LINE.match(lines[number])
    )


def preset_config(industry):
    return VTuneConfig.model_validate(load_preset_dict(industry))


@pytest.mark.parametrize("industry", ["finance", "medical", "retail"])
def test_render_round_trips_preset(industry):
    config = preset_config(industry)

    output = render_config_yaml(config)

    assert VTuneConfig.model_validate(yaml.safe_load(output)) == config


def test_render_round_trips_defaults():
    config = VTuneConfig()

    output = render_config_yaml(config)

    assert VTuneConfig.model_validate(yaml.safe_load(output)) == config


def test_render_round_trips_strings_yaml_would_misread():
    config = VTuneConfig.model_validate(
        {
            "description": "yes",
            "task": {
                "text_column": "null",
                "label_column": "0x1F",
                "labels": {"1": "on", "2": "no: really", "10": "# not a comment"},
            },
            "data": {"train": "data/my file #1.csv", "encoding": "latin-1"},
            "backbone": {"preset": "- 1e-4", "hub_preset": "~"},
            "output": {"run_dir": "runs/2024-01-01"},
        }
    )

    output = render_config_yaml(config)

    assert VTuneConfig.model_validate(yaml.safe_load(output)) == config


def test_render_round_trips_multiline_and_unicode():
    config = VTuneConfig.model_validate(
        {"description": "Crème brûlée reviews 数据\nsecond line: 'quoted' \"too\""}
    )

    output = render_config_yaml(config)

    assert VTuneConfig.model_validate(yaml.safe_load(output)) == config
    assert "数据" in output


def test_render_lists_every_schema_key():
    expected = schema_field_paths(VTuneConfig)
    found = key_line_numbers(render_config_yaml(preset_config("finance")))

    missing = [path for path in expected if path not in found]
    assert missing == []


def test_render_comments_every_key():
    output = render_config_yaml(preset_config("medical"))
    lines = output.splitlines()
    found = key_line_numbers(output)

    uncommented = [
        path
        for path in schema_field_paths(VTuneConfig)
        if not lines[found[path] - 1].lstrip().startswith("#")
    ]
    assert uncommented == []


def test_render_comment_count_matches_schema():
    config = preset_config("retail")
    # Entries of a list of sections repeat their fields' comments once per entry.
    config.model_card.data_sources = []
    output = render_config_yaml(config)

    assert count_comment_blocks(output) == len(schema_field_paths(VTuneConfig))


def test_render_uses_field_descriptions():
    output = render_config_yaml(VTuneConfig())

    learning_rate = VTuneConfig.model_fields["training"].annotation.model_fields["learning_rate"]
    assert f"# {learning_rate.description}" in output


def test_render_uses_section_docstrings():
    output = render_config_yaml(VTuneConfig())

    for name in ("task", "data", "backbone", "training", "output"):
        section_class = VTuneConfig.model_fields[name].annotation
        first_line = section_class.__doc__.strip().splitlines()[0]
        assert f"# {first_line}" in output, name


def test_render_keeps_comment_lines_short():
    output = render_config_yaml(VTuneConfig())

    long_comments = [line for line in output.splitlines() if line.lstrip().startswith("#") and len(line) > 88]
    assert long_comments == []


def test_render_quotes_label_keys():
    output = render_config_yaml(preset_config("finance"))

    assert "'0': Bearish" in output

"""Reusable CLI options whose help text comes from the config model's field descriptions."""

from pathlib import Path
from typing import Optional

import typer

from vertical_tune.config.schema import VTuneConfig


def describe(key):
    """Return the description of a dotted config key, e.g. `training.epochs`."""
    model, field = VTuneConfig, None
    for part in key.split("."):
        field = model.model_fields[part]
        model = field.annotation
    return f"{field.description} (config key: {key})"


ConfigOption = typer.Option(
    None, "--config", "-c", help="A vtune.yaml file (default: ./vtune.yaml when it exists).", exists=False, dir_okay=False
)
PresetOption = typer.Option(
    None, "--preset", help="Industry preset to start from (default: the `industry` key of the config)."
)
SetOption = typer.Option(
    None, "--set", help="Override any key: KEY=VALUE, repeatable (e.g. --set training.seed=1)."
)
QuietOption = typer.Option(False, "--quiet", "-q", help="Print only warnings, errors and results.")
JsonOption = typer.Option(False, "--json", help="Print the result as JSON on stdout.")
TrainJsonOption = typer.Option(
    False, "--json", help="Print one JSON line per epoch and a final JSON line with the metrics on stdout."
)


def collect_overrides(set_values, **typed):
    """Merge `--set KEY=VALUE` pairs and typed options (dotted key -> value, None = not given)."""
    from vertical_tune.config.loader import parse_override

    overrides = dict(parse_override(item) for item in (set_values or []))
    overrides.update({key: value for key, value in typed.items() if value is not None})
    return overrides


OptionalPath = Optional[Path]

DEFAULT_CONFIG = "vtune.yaml"


def default_config(config):
    """Return `config`, or `./vtune.yaml` when no --config was given and that file exists."""
    if config is None and Path(DEFAULT_CONFIG).is_file():
        import logging

        logging.getLogger("vertical_tune").info("Using ./%s (pass --config to choose another file).", DEFAULT_CONFIG)
        return Path(DEFAULT_CONFIG)
    return config


def absolute_path(value):
    """Resolve a path given on the command line against the current directory.

    Paths inside a config file are relative to that file; paths typed in the shell
    are relative to where the user is. `tfds:` names are left as they are.
    """
    if value is None or value.startswith("tfds:"):
        return value
    return str(Path(value).expanduser().resolve())

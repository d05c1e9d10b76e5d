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
    None, "--config", "-c", help="A vtune.yaml file.", exists=False, dir_okay=False
)
PresetOption = typer.Option(
    None, "--preset", help="Industry preset to start from (default: the `industry` key of the config)."
)
SetOption = typer.Option(
    None, "--set", help="Override any key: KEY=VALUE, repeatable (e.g. --set training.seed=1)."
)
QuietOption = typer.Option(False, "--quiet", "-q", help="Print only warnings, errors and results.")
JsonOption = typer.Option(False, "--json", help="Print results (and epochs) as JSON on stdout.")


def collect_overrides(set_values, **typed):
    """Merge `--set KEY=VALUE` pairs and typed options (dotted key -> value, None = not given)."""
    from vertical_tune.config.loader import parse_override

    overrides = dict(parse_override(item) for item in (set_values or []))
    overrides.update({key: value for key, value in typed.items() if value is not None})
    return overrides


OptionalPath = Optional[Path]

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


StrategyOption = typer.Option(None, "--strategy", help=describe("distribution.strategy"))

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
ResumeOption = typer.Option(
    False,
    "--resume",
    help=(
        "Continue an interrupted run from its last checkpoint (weights, optimizer, epoch, "
        "early-stopping state); starts from the beginning when there is none."
    ),
)
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


def run_config_with_overrides(run_config, overrides, *, run_dir):
    """Return a loaded run's config with command-line overrides applied and validated.

    The run's config already contains absolute data paths, so it is the base when no
    vtune.yaml is given; errors name the override as coming from the command line.
    """
    from vertical_tune.config.loader import expand_dotted_keys, validate_config
    from vertical_tune.config.merge import deep_merge

    base = run_config.model_dump(mode="json")
    positions = {tuple(key.split(".")): f"option for `{key}` (command line)" for key in overrides}
    return validate_config(
        deep_merge(base, expand_dotted_keys(overrides)), source=f"{run_dir}/config.yaml", positions=positions
    )


def split_list(values):
    """Flatten repeated and comma-separated option values: ["a,b", "c"] -> ["a", "b", "c"]."""
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]

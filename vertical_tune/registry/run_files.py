"""Read the files of a run directory that the registry stores in its database."""

import json

import yaml

from vertical_tune.errors import RegistryError, format_error


def read_run_config(path):
    """Return the run's `config.yaml` as a dict."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise RegistryError(
            format_error(
                "The run's config.yaml is not valid YAML.",
                where=str(path),
                received=str(error),
                fix="Register a run directory written by `vtune train` or `FineTuner.save`.",
            )
        ) from error


def read_run_metrics(path):
    """Return the run's `metrics.json` as a dict, or `{}` when the run has none."""
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RegistryError(
            format_error(
                "The run's metrics.json is not valid JSON.",
                where=str(path),
                received=str(error),
                fix="Register a run directory written by `vtune train`, or pass `metrics=` explicitly.",
            )
        ) from error

"""`vtune config`: show the resolved configuration and the keys it accepts."""

from pathlib import Path
from typing import List, Optional

import typer

import json

from vertical_tune.cli import options
from vertical_tune.cli.output import print_json, stdout

app = typer.Typer(help="Show the resolved configuration and every key.", no_args_is_help=True)


@app.command("show")
def show(
    config: Optional[Path] = options.ConfigOption,
    preset: Optional[str] = options.PresetOption,
    set_values: Optional[List[str]] = options.SetOption,
    as_json: bool = options.JsonOption,
):
    """Print the configuration after merging preset, file and overrides."""
    import yaml

    from vertical_tune.config.loader import load_config

    resolved = load_config(options.default_config(config), preset=preset, overrides=options.collect_overrides(set_values))
    data = resolved.model_dump(mode="json")
    if as_json:
        print_json(data)
    else:
        stdout.print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), markup=False, highlight=False)


@app.command("keys")
def keys(as_json: bool = options.JsonOption):
    """List every config key with its default, allowed values and description."""
    from vertical_tune.config.docs import iter_fields

    rows = list(iter_fields())
    if as_json:
        print_json([row._asdict() for row in rows])
        return
    from rich.table import Table

    table = Table("key", "default", "allowed", "description")
    for row in rows:
        table.add_row(row.key, json.dumps(row.default), ", ".join(map(str, row.choices)), row.description)
    stdout.print(table)


@app.command("schema")
def schema():
    """Print the JSON schema of vtune.yaml (for editors and validators)."""
    from vertical_tune.config.schema import VTuneConfig

    print_json(VTuneConfig.model_json_schema())

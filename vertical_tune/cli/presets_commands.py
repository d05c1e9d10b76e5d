"""`vtune presets`: list and show the industry presets."""

import typer

from vertical_tune.cli.output import stdout

app = typer.Typer(help="List and show industry presets.", no_args_is_help=True)


@app.command("list")
def list_command():
    """List the industry presets and their variants, with their backbones."""
    from rich.table import Table

    from vertical_tune.config.presets import list_presets, load_preset_dict

    table = Table("preset", "description", "offline backbone", "hub backbone", "selection metric")
    for name in list_presets(variants=True):
        preset = load_preset_dict(name)
        backbone = preset.get("backbone", {})
        table.add_row(
            name,
            str(preset.get("description", "")),
            str(backbone.get("preset", "")),
            str(backbone.get("hub_preset", "")),
            _selection(preset),
        )
    stdout.print(table)


def _selection(preset):
    if preset.get("tasks"):
        return str(preset.get("multitask", {}).get("selection", "mean")) + " of the tasks"
    return str(preset.get("training", {}).get("selection_metric", ""))


@app.command("show")
def show_command(name: str = typer.Argument(..., help="Preset name, e.g. finance.")):
    """Print a preset's YAML as shipped."""
    from vertical_tune.config.presets import load_preset_text

    stdout.print(load_preset_text(name), markup=False, highlight=False)

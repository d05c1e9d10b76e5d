"""`vtune data prepare`: tokenize training data once into TFRecord shards."""

from pathlib import Path
from typing import List, Optional

import typer

from vertical_tune.cli import options
from vertical_tune.cli.output import configure_logging, print_json, stdout

app = typer.Typer(help="Prepare training data for streamed training.", no_args_is_help=True)


@app.command("prepare")
def prepare(
    target: Path = typer.Argument(..., help="A vtune.yaml file, or a project folder that contains one."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write the shards and manifest.json to."),
    shards: int = typer.Option(4, "--shards", min=1, help="Number of TFRecord shard files."),
    source: Optional[str] = typer.Option(
        None, "--source", help="A file or glob of text data to prepare instead of data.train."
    ),
    preset: Optional[str] = options.PresetOption,
    set_values: Optional[List[str]] = options.SetOption,
    force: bool = typer.Option(False, "--force", help="Replace the output folder when it exists."),
    quiet: bool = options.QuietOption,
    as_json: bool = options.JsonOption,
):
    """Tokenize the training data with the backbone's preprocessor into TFRecord shards.

    To train on the shards, point data.train at the output folder and set
    data.streaming: true. Reading them fails when the backbone, sequence length,
    normalization or labels of the config differ from those of the shards.

    Example: vtune data prepare vtune.yaml --output data/prepared --shards 8
    """
    configure_logging(quiet or as_json)
    from vertical_tune.config.loader import load_config
    from vertical_tune.data.prepare import prepare_shards

    config_path = _config_file(target)
    overrides = options.collect_overrides(set_values)
    config = load_config(config_path, preset=preset, overrides=overrides)
    manifest = prepare_shards(
        config,
        options.absolute_path(str(output)),
        num_shards=shards,
        source=options.absolute_path(source),
        force=force,
    )
    written = Path(output).expanduser().resolve()
    if as_json:
        print_json({"output": str(written), "rows": manifest["num_rows"], "shards": len(manifest["shards"])})
        return
    stdout.print(
        f"Wrote {manifest['num_rows']} rows in {len(manifest['shards'])} shards to {written}",
        highlight=False,
    )


def _config_file(target):
    from vertical_tune.errors import ConfigError, format_error

    path = target / options.DEFAULT_CONFIG if target.is_dir() else target
    if not path.is_file():
        raise ConfigError(
            format_error(
                "Config file not found.",
                where=str(path.resolve()),
                received=str(target),
                expected="a vtune.yaml file, or a project folder that contains vtune.yaml",
                fix="Pass the path of vtune.yaml, or the folder created by `vtune init`.",
            )
        )
    return path

"""The `vtune` command: one module per command group, heavy imports inside the commands."""

import os
import sys

import typer

from vertical_tune.cli import (
    compress_command,
    config_commands,
    data_command,
    distill_command,
    export_command,
    init_command,
    presets_commands,
    registry_commands,
    report_command,
    retrain_command,
    run_commands,
    schedule_command,
)
from vertical_tune.cli.output import print_error

app = typer.Typer(
    name="vtune",
    help="Fine-tune a pretrained Transformer into a domain model for one industry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
def _print_version(value: bool):
    if value:
        from vertical_tune import __version__

        print(f"vertical_tune {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
):
    """Fine-tune a pretrained Transformer into a domain model for one industry."""


app.command("init")(init_command.init)
app.command("train")(run_commands.train)
app.command("evaluate")(run_commands.evaluate)
app.command("predict")(run_commands.predict)
app.command("distill")(distill_command.distill)
app.command("export")(export_command.export)
app.command("compress")(compress_command.compress)
app.command("retrain")(retrain_command.retrain)
app.command("report")(report_command.report)
app.command("schedule")(schedule_command.schedule)
app.add_typer(config_commands.app, name="config")
app.add_typer(data_command.app, name="data")
app.add_typer(presets_commands.app, name="presets")
app.add_typer(registry_commands.app, name="registry")


def main(argv=None):
    """Run the CLI; user errors print a message (no traceback) and exit with code 2.

    Set `VTUNE_DEBUG=1` to see the traceback of any error.
    """
    from vertical_tune.errors import VTuneError

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        app(args=argv, standalone_mode=True)
    except VTuneError as error:
        if os.environ.get("VTUNE_DEBUG"):
            raise
        print_error(str(error))
        sys.exit(2)


if __name__ == "__main__":
    main()

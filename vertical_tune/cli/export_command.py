"""`vtune export`: write a run's model as Keras, SavedModel, LiteRT and ONNX files, each checked against Keras."""

from pathlib import Path
from typing import List, Optional

import typer

from vertical_tune.cli import options
from vertical_tune.cli.output import configure_logging, print_json, stdout


def export(
    run: Path = typer.Argument(..., help="Run directory written by `vtune train`."),
    formats: Optional[List[str]] = typer.Option(
        None,
        "--format",
        "-f",
        help="Format to write: keras, saved_model, litert or onnx. Repeatable or comma-separated (default: all).",
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Export folder to write (default: RUN/export). An earlier export there is replaced."
    ),
    check_rows: int = typer.Option(
        200, "--check-rows", min=0, help="Validation texts each exported model is run on and compared with Keras."
    ),
    calibration_rows: int = typer.Option(
        200, "--calibration-rows", min=1, help="Training texts that calibrate the int8 LiteRT model."
    ),
    validation_data: Optional[str] = typer.Option(
        None,
        "--validation",
        help="File with the texts for the check; no label column needed (default: the run's data.validation).",
    ),
    quiet: bool = options.QuietOption,
    as_json: bool = options.JsonOption,
):
    """Export a trained run for deployment and report agreement, size and latency per file.

    Example: vtune export runs/finance --format litert,onnx --check-rows 200
    """
    configure_logging(quiet or as_json)
    from vertical_tune.finetuner import load

    tuner = load(run)
    target = output if output is not None else run / "export"
    manifest = tuner.export(
        target,
        formats,
        validation=options.absolute_path(validation_data),
        check_rows=check_rows,
        calibration_rows=calibration_rows,
        run_dir=run,
    )
    if as_json:
        print_json(manifest)
        return
    _print_table(manifest)
    stdout.print(f"Export written to {Path(target).resolve()}")


def _print_table(manifest):
    from rich.table import Table

    table = Table(title=f"Exported models, checked on {manifest['check']['texts']} texts")
    for column in ("File", "Input", "Size (KiB)", "Agreement", "Max prob. diff.", "ms/example b1", "ms/example b32"):
        table.add_column(column, justify="left" if column in ("File", "Input") else "right")
    for entry in manifest["artifacts"]:
        table.add_row(
            entry["path"],
            "strings" if entry["text_input"] else "token ids",
            f"{entry['size_bytes'] / 1024:.1f}",
            _number(entry.get("label_agreement"), 4),
            _number(entry.get("max_abs_probability_difference"), 4),
            _number(entry.get("latency_ms_batch_1"), 3),
            _number(entry.get("latency_ms_batch_32"), 3),
        )
    stdout.print(table)
    for item in manifest["skipped"]:
        stdout.print(f"Skipped {item['format']}: {item['reason']}.")


def _number(value, digits):
    return "n/a" if value is None else f"{value:.{digits}f}"

"""`vtune train`, `vtune evaluate` and `vtune predict`: thin wrappers over `FineTuner`."""

import contextlib
import sys

from pathlib import Path
from typing import List, Optional

import typer

from vertical_tune.cli import options
from vertical_tune.cli.output import configure_logging, print_json, stderr, stdout


def train(
    config: Optional[Path] = options.ConfigOption,
    preset: Optional[str] = options.PresetOption,
    backbone: Optional[str] = typer.Option(
        None, "--backbone", help=options.describe("backbone.preset") + " `hub` selects backbone.hub_preset."
    ),
    train_data: Optional[str] = typer.Option(None, "--train", help=options.describe("data.train")),
    validation_data: Optional[str] = typer.Option(None, "--validation", help=options.describe("data.validation")),
    epochs: Optional[int] = typer.Option(None, "--epochs", help=options.describe("training.epochs")),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help=options.describe("training.batch_size")),
    learning_rate: Optional[float] = typer.Option(
        None, "--learning-rate", help=options.describe("training.learning_rate")
    ),
    mode: Optional[str] = typer.Option(None, "--mode", help=options.describe("training.mode")),
    max_train_rows: Optional[int] = typer.Option(
        None, "--max-train-rows", help=options.describe("data.max_train_rows")
    ),
    run_dir: Optional[str] = typer.Option(None, "--run-dir", help=options.describe("output.run_dir")),
    strategy: Optional[str] = options.StrategyOption,
    set_values: Optional[List[str]] = options.SetOption,
    resume: bool = options.ResumeOption,
    quiet: bool = options.QuietOption,
    as_json: bool = options.TrainJsonOption,
):
    """Fine-tune a backbone and write a run directory (model, metrics, report).

    The training state is saved after every epoch (and every
    `training.checkpoint_every_steps` steps); after a crash or a kill, the same
    command with --resume continues where it stopped.

    Example: vtune train --config vtune.yaml --epochs 1 --set training.seed=1
    """
    configure_logging(quiet or as_json)
    from vertical_tune.config.loader import load_config

    overrides = options.collect_overrides(
        set_values,
        **{
            "data.train": options.absolute_path(train_data),
            "data.validation": options.absolute_path(validation_data),
            "training.epochs": epochs,
            "training.batch_size": batch_size,
            "training.learning_rate": learning_rate,
            "training.mode": mode,
            "data.max_train_rows": max_train_rows,
            "distribution.strategy": strategy,
            "output.run_dir": options.absolute_path(run_dir),
        },
    )
    resolved = load_config(options.default_config(config), preset=preset, overrides=overrides)
    if backbone is not None:
        resolved = _select_backbone(resolved, backbone)

    from vertical_tune.finetuner import FineTuner

    tuner = FineTuner(resolved)
    # Keras prints epoch lines on stdout; results alone belong there, so they go to stderr.
    with contextlib.redirect_stdout(sys.stdout if as_json else sys.stderr):
        tuner.fit(verbose=0 if quiet or as_json else "auto", json_lines=as_json, checkpoint=True, resume=resume)
    path = tuner.save()
    if path is None:
        stderr.print("Training done. This worker is not the chief, so it wrote nothing; the chief writes the run.")
        return
    write_run_report(path)
    _print_result(tuner, path, as_json, quiet)


def write_run_report(run_dir):
    """Write RUN/report/ and RUN/MODEL_CARD.md; a failure is logged, and the saved run stays."""
    import logging

    from vertical_tune.reporting.api import write_run_documents

    try:
        write_run_documents(run_dir)
    except Exception as error:  # the run is saved; a broken figure must not hide that
        logging.getLogger("vertical_tune").warning("The report of %s could not be written: %s", run_dir, error)


def write_evaluation_report(run_dir, tuner, target, data_name):
    """Write TARGET/report/ for an evaluation on other data; a failure is logged, and the metrics stay."""
    import logging

    from vertical_tune.reporting import Report
    from vertical_tune.reporting.run_view import load_run_view
    from vertical_tune.run_summary import write_predictions

    try:
        predictions = Path(target) / "predictions.parquet"
        write_predictions(predictions, tuner.evaluation_predictions, tuner.labels.names)
        view = load_run_view(run_dir, predictions=predictions, evaluated_on=data_name)
        Report([view]).save(Path(target) / "report")
    except Exception as error:  # the metrics are written; a broken figure must not hide them
        logging.getLogger("vertical_tune").warning("The HTML report of %s could not be written: %s", target, error)


def _select_backbone(config, backbone):
    from vertical_tune.errors import ConfigError, format_error

    if backbone == "hub":
        if not config.backbone.hub_preset:
            raise ConfigError(
                format_error(
                    "`--backbone hub` needs `backbone.hub_preset`, which is empty.",
                    where="backbone.hub_preset",
                    fix="Set `backbone.hub_preset` in vtune.yaml or pass a backbone name.",
                )
            )
        backbone = config.backbone.hub_preset
    updated = config.model_copy(deep=True)
    updated.backbone.preset = backbone
    return updated


def _print_result(tuner, path, as_json, quiet):
    report = tuner.validation_report
    if as_json:
        print_json({"event": "done", "run_dir": str(path), "validation": report.to_dict()}, indent=None)
        return
    if not quiet:
        for table in report.rich_tables():
            stdout.print(table)
    metric, value = tuner.selection_summary()
    stdout.print(f"Validation {metric}: {value:.4f}. Run written to {path}")


def evaluate(
    run: Path = typer.Argument(..., help="Run directory written by `vtune train`."),
    data: str = typer.Option(..., "--data", "-d", help="Labelled data file (same columns as training)."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Folder for metrics.json, report.md and the plot (default RUN/evaluations/NAME)."
    ),
    quiet: bool = options.QuietOption,
    as_json: bool = options.JsonOption,
):
    """Evaluate a trained run on labelled data: accuracy, P/R/F1, ROC-AUC, PR-AUC, confusion matrix.

    Example: vtune evaluate runs/finance --data data/validation.csv
    """
    configure_logging(quiet or as_json)
    from vertical_tune.finetuner import load

    tuner = load(run)
    report = tuner.evaluate(data, title=f"Evaluation on {Path(data).name}")
    target = output or run / "evaluations" / Path(data).stem
    report.save(target)
    write_evaluation_report(run, tuner, target, Path(data).name)
    if as_json:
        print_json(report.to_dict())
        return
    for table in report.rich_tables():
        stdout.print(table)
    stderr.print(f"Wrote {target}/metrics.json, report.md and report/ (HTML report and figures)")


def predict(
    run: Path = typer.Argument(..., help="Run directory written by `vtune train`."),
    input_file: str = typer.Option(..., "--input", "-i", help="File with a text column (CSV, TSV, JSONL, Parquet)."),
    output_file: Path = typer.Option(..., "--output", "-o", help="Predictions file to write (.csv or .jsonl)."),
    batch_size: int = typer.Option(1024, "--batch-size", help="Rows read and predicted per chunk."),
    text_column: Optional[str] = typer.Option(
        None, "--text-column", help="Input column with the text (default: the task.text_column used in training)."
    ),
    keep_columns: Optional[str] = typer.Option(
        None, "--keep-columns", help="Comma-separated input columns to copy into the output, e.g. id,date."
    ),
    quiet: bool = options.QuietOption,
):
    """Predict labels and per-class probabilities, streaming the input in chunks.

    Example: vtune predict runs/finance --input new.csv --output predictions.csv
    """
    configure_logging(quiet)
    from vertical_tune.finetuner import load
    from vertical_tune.prediction import predict_file

    tuner = load(run)
    keep = [c.strip() for c in keep_columns.split(",") if c.strip()] if keep_columns else []
    rows = predict_file(
        tuner, input_file, output_file, chunk_size=batch_size, text_column=text_column, keep_columns=keep
    )
    stderr.print(f"Wrote {rows} predictions to {output_file}")

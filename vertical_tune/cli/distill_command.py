"""`vtune distill`: train a smaller student on a fine-tuned teacher run."""

import contextlib
import sys
from pathlib import Path
from typing import List, Optional

import typer

from vertical_tune.cli import options
from vertical_tune.cli.run_commands import write_run_report
from vertical_tune.cli.output import configure_logging, print_json, stdout


def distill(
    teacher: Optional[str] = typer.Option(None, "--teacher", help=options.describe("distillation.teacher")),
    student: Optional[str] = typer.Option(None, "--student", help=options.describe("distillation.student")),
    student_layers: Optional[int] = typer.Option(
        None, "--student-layers", help=options.describe("distillation.student_layers")
    ),
    unlabelled: Optional[str] = typer.Option(None, "--unlabelled", help=options.describe("distillation.unlabelled")),
    temperature: Optional[float] = typer.Option(None, "--temperature", help=options.describe("distillation.temperature")),
    alpha: Optional[float] = typer.Option(None, "--alpha", help=options.describe("distillation.alpha")),
    config: Optional[Path] = typer.Option(
        None,
        "--config",
        "-c",
        help="A vtune.yaml for the student (default: ./vtune.yaml when it exists, else the teacher's config).",
        dir_okay=False,
    ),
    train_data: Optional[str] = typer.Option(None, "--train", help=options.describe("data.train")),
    validation_data: Optional[str] = typer.Option(None, "--validation", help=options.describe("data.validation")),
    epochs: Optional[int] = typer.Option(None, "--epochs", help=options.describe("training.epochs")),
    run_dir: Optional[str] = typer.Option(
        None, "--run-dir", help="Run directory of the student (default: the teacher's run directory + `-student`)."
    ),
    strategy: Optional[str] = options.StrategyOption,
    set_values: Optional[List[str]] = options.SetOption,
    quiet: bool = options.QuietOption,
    as_json: bool = options.TrainJsonOption,
):
    """Distil a fine-tuned teacher run into a smaller, faster student run.

    Example: vtune distill --teacher runs/finance --student-layers 2 --unlabelled data/unlabelled.csv
    """
    configure_logging(quiet or as_json)
    from vertical_tune.config.loader import load_config
    from vertical_tune.errors import ConfigError, format_error
    from vertical_tune.finetuner import load

    overrides = options.collect_overrides(
        set_values,
        **{
            "distillation.teacher": options.absolute_path(teacher),
            "distribution.strategy": strategy,
            "distillation.student": student,
            "distillation.student_layers": student_layers,
            "distillation.unlabelled": options.absolute_path(unlabelled),
            "distillation.temperature": temperature,
            "distillation.alpha": alpha,
            "data.train": options.absolute_path(train_data),
            "data.validation": options.absolute_path(validation_data),
            "training.epochs": epochs,
        },
    )
    # A student chosen on the command line replaces the other kind set in vtune.yaml.
    if student is not None and student_layers is None:
        overrides["distillation.student_layers"] = None
    elif student_layers is not None and student is None:
        overrides["distillation.student"] = None
    config_path = options.default_config(config)
    resolved = load_config(config_path, overrides=overrides) if config_path else None
    teacher_run = (resolved.distillation.teacher if resolved else None) or overrides.get("distillation.teacher")
    if not teacher_run:
        raise ConfigError(
            format_error(
                "No teacher run given.",
                where="distillation.teacher",
                fix="Pass --teacher RUN (a run directory written by `vtune train`).",
            )
        )
    teacher_tuner = load(teacher_run)
    if resolved is None:
        resolved = options.run_config_with_overrides(teacher_tuner.config, overrides, run_dir=teacher_run)
    settings = {key: value for key, value in resolved.distillation.model_dump().items() if key != "teacher"}
    settings = {key: value for key, value in settings.items() if value is not None}
    target = Path(options.absolute_path(run_dir) if run_dir else f"{Path(teacher_run).resolve()}-student")

    with contextlib.redirect_stdout(sys.stdout if as_json else sys.stderr):
        student_tuner = teacher_tuner.distill(
            config=resolved, verbose=0 if quiet or as_json else "auto", json_lines=as_json, **settings
        )
    path = student_tuner.save(target)
    write_run_report(path)
    summary = student_tuner.distillation_summary
    if as_json:
        print_json({"event": "done", "run_dir": str(path), "distillation": summary}, indent=None)
        return
    teacher_f1, student_f1 = summary["teacher"]["metrics"]["macro_f1"], summary["student"]["metrics"]["macro_f1"]
    stdout.print(
        f"Student macro-F1 {student_f1:.4f} (teacher {teacher_f1:.4f}); "
        f"{summary['speedup_batch_32']:.2f}x faster at batch 32. Run written to {path}"
    )

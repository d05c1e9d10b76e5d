"""`vtune compress`: make a smaller, faster copy of a fine-tuned run."""

import contextlib
import sys
from pathlib import Path
from typing import List, Optional

import typer

from vertical_tune.cli import options
from vertical_tune.cli.run_commands import write_run_report
from vertical_tune.cli.output import configure_logging, print_json, stdout


def compress(
    run: Path = typer.Argument(..., help="Run directory written by `vtune train` (or by an earlier `vtune compress`)."),
    methods: Optional[List[str]] = typer.Option(
        None,
        "--method",
        "-m",
        help=options.describe("compression.methods") + " Repeat the option or separate methods with commas.",
    ),
    keep_layers: Optional[int] = typer.Option(None, "--keep-layers", help=options.describe("compression.keep_layers")),
    rank: Optional[int] = typer.Option(None, "--rank", help=options.describe("compression.rank")),
    energy: Optional[float] = typer.Option(None, "--energy", help=options.describe("compression.energy")),
    parameter_fraction: Optional[float] = typer.Option(
        None, "--parameter-fraction", help=options.describe("compression.parameter_fraction")
    ),
    sparsity: Optional[float] = typer.Option(None, "--sparsity", help=options.describe("compression.sparsity")),
    epochs: Optional[int] = typer.Option(None, "--epochs", help=options.describe("compression.epochs")),
    learning_rate: Optional[float] = typer.Option(
        None, "--learning-rate", help=options.describe("compression.learning_rate")
    ),
    config: Optional[Path] = typer.Option(
        None,
        "--config",
        "-c",
        help="A vtune.yaml whose settings replace the run's own (default: ./vtune.yaml when it exists, else the run's config).",
        dir_okay=False,
    ),
    train_data: Optional[str] = typer.Option(None, "--train", help=options.describe("data.train")),
    validation_data: Optional[str] = typer.Option(None, "--validation", help=options.describe("data.validation")),
    run_dir: Optional[str] = typer.Option(
        None, "--run-dir", help="Run directory of the compressed model (default: RUN-<methods>, e.g. runs/finance-prune-int8)."
    ),
    set_values: Optional[List[str]] = options.SetOption,
    quiet: bool = options.QuietOption,
    as_json: bool = options.TrainJsonOption,
):
    """Compress a fine-tuned run (trim, lowrank, prune, int8, in the given order) into a new run.

    Every step is evaluated against the original on the same validation rows, and the
    new run's report has the comparison table.

    Example: vtune compress runs/finance --method prune,int8 --sparsity 0.5
    """
    configure_logging(quiet or as_json)
    from vertical_tune.config.loader import load_config
    from vertical_tune.finetuner import load

    overrides = options.collect_overrides(
        set_values,
        **{
            "compression.methods": options.split_list(methods) or None,
            "compression.keep_layers": keep_layers,
            "compression.rank": rank,
            "compression.energy": energy,
            "compression.parameter_fraction": parameter_fraction,
            "compression.sparsity": sparsity,
            "compression.epochs": epochs,
            "compression.learning_rate": learning_rate,
            "data.train": options.absolute_path(train_data),
            "data.validation": options.absolute_path(validation_data),
        },
    )
    original = load(run)
    config_path = options.default_config(config)
    if config_path:
        resolved = load_config(config_path, overrides=overrides)
    else:
        resolved = options.run_config_with_overrides(original.config, overrides, run_dir=run)
    chosen = resolved.compression.methods
    target = Path(options.absolute_path(run_dir) if run_dir else f"{Path(run).resolve()}-{'-'.join(chosen) or 'compressed'}")

    with contextlib.redirect_stdout(sys.stdout if as_json else sys.stderr):
        compressed = original.compress(config=resolved, verbose=0 if quiet or as_json else "auto", json_lines=as_json)
    path = compressed.save(target)
    write_run_report(path)
    summary = compressed.compression_summary
    if as_json:
        print_json({"event": "done", "run_dir": str(path), "compression": summary}, indent=None)
        return
    first, last = summary["stages"][0], summary["stages"][-1]
    stdout.print(
        f"macro-F1 {last['metrics']['macro_f1']:.4f} (original {first['metrics']['macro_f1']:.4f}); "
        f"size {100 * summary['size_ratio']:.0f}% of the original; throughput at batch 32 "
        f"{summary['throughput_ratio_batch_32']:.2f}x. Run written to {path}"
    )

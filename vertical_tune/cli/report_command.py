"""`vtune report`: the self-contained HTML, Markdown or PDF evaluation report of runs."""

from pathlib import Path
from typing import List, Optional

import typer

from vertical_tune.cli import options
from vertical_tune.cli.output import configure_logging, stderr


def report(
    runs: List[Path] = typer.Argument(..., help="Run directories; two or more are compared side by side."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Folder to write into (default RUN/report, or ./report-comparison for several runs)."
    ),
    formats: str = typer.Option("html,md", "--format", help="Comma-separated formats: html, md, pdf (A4 pages)."),
    no_intervals: bool = typer.Option(False, "--no-intervals", help="Skip the bootstrap confidence intervals."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap confidence intervals."),
    quiet: bool = options.QuietOption,
):
    """Write the evaluation report: curves, confusion matrix, calibration, mistakes, comparison.

    Example: vtune report runs/finance runs/finance-prune-int8 --output reports/march
    """
    configure_logging(quiet)
    from vertical_tune.reporting.api import default_output, parse_formats
    from vertical_tune.reporting.api import report as build_report

    requested = parse_formats(formats)
    written = build_report(*runs, intervals=not no_intervals, seed=seed).save(
        output or default_output(runs), formats=requested
    )
    for path in written.values():
        stderr.print(f"Wrote {path}", highlight=False, markup=False)

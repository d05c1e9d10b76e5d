"""`vertical_tune.report(...)`: the evaluation report of one or several runs, in Python and on disk."""

from pathlib import Path

from vertical_tune.errors import ConfigError, format_error

FORMATS = ("html", "md", "pdf")


def report(*runs, intervals=True, seed=0):
    """Build the evaluation report of one run, or a side-by-side comparison of several.

    Args:
        *runs: run directories (str or Path).
        intervals: bool. Add bootstrap confidence intervals of the headline metrics.
        seed: int. Seed of the bootstrap.

    Returns:
        Report. It renders inline in Jupyter; `save(directory)` writes
        `report.html` (self-contained), `report.md` and the figures as PNG, and
        `save(directory, formats=["pdf"])` writes `report.pdf` on A4 pages.

    Example:

    ```python
    import vertical_tune
    vertical_tune.report("runs/finance", "runs/finance-prune-int8")
    ```
    """
    from vertical_tune.reporting import Report
    from vertical_tune.reporting.run_view import load_run_view

    if not runs:
        raise ConfigError(format_error("No run given to report on.", fix="Pass one or more run directories."))
    return Report([load_run_view(run, intervals=intervals, seed=seed) for run in runs])


def parse_formats(value):
    """Return the requested formats from a comma-separated string, checking each one."""
    requested = [item.strip().lower() for item in str(value).split(",") if item.strip()]
    unknown = [item for item in requested if item not in FORMATS]
    if unknown or not requested:
        raise ConfigError(
            format_error(
                "Unknown report format.",
                where="--format",
                received=value,
                expected=", ".join(FORMATS),
                fix="Pass --format html, md, pdf, or several of them separated by commas, e.g. html,md,pdf.",
            )
        )
    return tuple(dict.fromkeys(requested))


def default_output(runs):
    """Return where a report goes: `RUN/report` for one run, `report-comparison` for several."""
    if len(runs) == 1:
        return Path(runs[0]) / "report"
    return Path("report-comparison")


def write_run_documents(run_dir, *, seed=0):
    """Write a run's `report/` folder (HTML, Markdown, figures) and its `MODEL_CARD.md`.

    Returns:
        dict: `html`, `md` and `model_card` paths.
    """
    import yaml

    from vertical_tune.reporting.model_card import render_model_card

    run_dir = Path(run_dir)
    built = report(run_dir, seed=seed)
    written = built.save(run_dir / "report")
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    card = run_dir / "MODEL_CARD.md"
    card.write_text(render_model_card(built.runs[0], config), encoding="utf-8")
    return {**written, "model_card": card}

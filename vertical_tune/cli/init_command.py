"""`vtune init`: scaffold a project for one industry."""

from pathlib import Path

import typer

from vertical_tune.cli.output import stdout


def init(
    industry: str = typer.Option(..., "--industry", "-i", help="Industry preset: run `vtune presets list`."),
    directory: Path = typer.Argument(Path("."), help="Project folder to create or fill."),
    force: bool = typer.Option(False, "--force", help="Overwrite files that already exist."),
    multitask: bool = typer.Option(
        False, "--multitask", help="Use the preset's multi-task variant: one head per label column."
    ),
):
    """Create vtune.yaml, sample data, a notebook and a README for an industry.

    Example: vtune init --industry finance my-project
    """
    from vertical_tune.project.init import init_project

    written = init_project(industry, directory, force=force, variant="multitask" if multitask else None)
    stdout.print(f"Created {len(written)} files in {directory.resolve()}:")
    for path in written:
        stdout.print(f"  {path}")
    stdout.print(f"\nNext: cd {directory} && vtune train --config vtune.yaml")

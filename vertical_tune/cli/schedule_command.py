"""`vtune schedule`: render, write or install the job that runs `vtune retrain` on a schedule."""

import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from vertical_tune.cli import options
from vertical_tune.cli.output import stderr, stdout

_TARGET_CHOICES = ("cron", "systemd", "kubernetes", "airflow", "all")
_LEXERS = {".service": "ini", ".timer": "ini", ".yaml": "yaml", ".py": "python"}


def schedule(
    config: Optional[Path] = options.ConfigOption,
    cron: str = typer.Option(
        ...,
        "--cron",
        help='When to retrain: a five-field cron expression in quotes, e.g. "0 2 * * 0" (Sundays at 02:00).',
    ),
    target: str = typer.Option(
        "all", "--target", "-t", help="Scheduler to write the job for: cron, systemd, kubernetes, airflow or all."
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Folder to write the job files to (default with --install: PROJECT/schedule)."
    ),
    install: bool = typer.Option(
        False,
        "--install",
        help=(
            "Install the job: add it to your crontab, or enable a systemd user timer. For kubernetes "
            "and airflow, write the files and print the command that installs them."
        ),
    ),
    image: Optional[str] = typer.Option(
        None,
        "--image",
        help="Container image with vertical_tune installed, for kubernetes (default: vertical-tune:VERSION).",
    ),
    volume_claim: Optional[str] = typer.Option(
        None,
        "--volume-claim",
        help="PersistentVolumeClaim that contains the project folder, for kubernetes (default: vtune-project).",
    ),
):
    """Write the job files that run `vtune retrain` on a cron schedule.

    Without --install, the files are printed (and written to --output when given).
    Every job counts the exit codes 0, 10, 11 and 75 of `vtune retrain` as success.

    Example: vtune schedule --config vtune.yaml --cron "0 2 * * 0" --target systemd --install
    """
    from vertical_tune.config.loader import load_config
    from vertical_tune.schedule.render import TARGETS, render_schedule, schedule_context

    targets = _targets(target, install)
    config_path = _config_path(config)
    resolved = load_config(config_path)
    context = schedule_context(
        config_path,
        cron,
        log_file=resolved.retrain.log_file,
        image=image,
        volume_claim=volume_claim,
    )
    if target == "all":
        targets = _drop_systemd_if_inexpressible(context, TARGETS)
    files = render_schedule(context, targets)

    if install:
        _install(context, targets[0], files, output)
        return

    _print_files(files)
    if output is not None:
        from vertical_tune.schedule.install import write_files

        written = write_files(files, output)
        stderr.print(f"Wrote {len(written)} files to {output.resolve()}", highlight=False)
    example_target = "systemd" if "systemd" in targets and len(targets) > 1 else targets[0]
    stderr.print(
        f"Install with: vtune schedule --config {shlex.quote(str(context.config_path))} "
        f"--cron {shlex.quote(context.cron)} --target {example_target} --install",
        highlight=False,
        markup=False,
    )


def _targets(target, install):
    from vertical_tune.errors import ConfigError, format_error

    if target not in _TARGET_CHOICES:
        raise ConfigError(
            format_error(
                f"Unknown schedule target {target!r}.",
                where="--target",
                received=target,
                expected=", ".join(_TARGET_CHOICES),
            )
        )
    if install and target == "all":
        raise ConfigError(
            format_error(
                "--install needs one --target, because each scheduler would run its own copy of the job.",
                where="--target",
                received=target,
                expected="cron, systemd, kubernetes or airflow",
                fix='Add --target, e.g. vtune schedule --cron "0 2 * * 0" --target systemd --install',
            )
        )
    return [target] if target != "all" else list(_TARGET_CHOICES[:-1])


def _config_path(config):
    from vertical_tune.errors import ConfigError, format_error

    config = options.default_config(config)
    if config is None:
        raise ConfigError(
            format_error(
                "No config file was given, and the job needs the project's vtune.yaml.",
                where="--config",
                fix="Pass --config PATH, or run the command in the project folder.",
            )
        )
    return Path(config)


def _drop_systemd_if_inexpressible(context, targets):
    """Skip systemd with a warning when its calendar cannot express the cron expression."""
    from vertical_tune.errors import ConfigError

    try:
        context.on_calendar
    except ConfigError as error:
        stderr.print(f"Warning: skipped the systemd files.\n{error}", highlight=False, markup=False)
        return [target for target in targets if target != "systemd"]
    return list(targets)


def _install(context, target, files, output):
    from vertical_tune.schedule import install
    from vertical_tune.schedule.render import target_files

    names = target_files(context)[target]
    if output is not None and target in ("cron", "systemd"):
        install.write_files(files, output)

    if target == "cron":
        replaced = install.install_cron(files[names[0]])
        note = " It replaced the earlier line of this project." if replaced else ""
        stdout.print(f"Added the retrain job to your crontab.{note}", highlight=False)
        stdout.print("Check it with: crontab -l", highlight=False, markup=False)
    elif target == "systemd":
        service, timer = (files[name] for name in names)
        written = install.install_systemd(context.job_name, service, timer)
        stdout.print(f"Enabled {context.job_name}.timer. The units are in {written[0].parent}", highlight=False)
        check = f"Check it with: systemctl --user list-timers {context.job_name}.timer"
        stdout.print(check, highlight=False, markup=False)
        stdout.print(
            "A user timer runs only while you are logged in, unless lingering is on: loginctl enable-linger $USER",
            highlight=False,
            markup=False,
        )
    else:
        folder = output if output is not None else context.project_dir / "schedule"
        path = install.write_files(files, folder)[0]
        stdout.print(f"Wrote {path}", highlight=False)
        quoted = shlex.quote(str(path))
        if target == "kubernetes":
            stdout.print(f"Next: kubectl apply -f {quoted}", highlight=False, markup=False)
        else:
            next_step = f'Next: cp {quoted} "$AIRFLOW_HOME/dags/"  (or your dags_folder)'
            stdout.print(next_step, highlight=False, markup=False)


def _print_files(files):
    """Print each file: highlighted on a terminal, plain text (with a header per file) otherwise."""
    if sys.stdout.isatty():
        from rich.syntax import Syntax

        for name, text in files.items():
            stdout.rule(name)
            stdout.print(Syntax(text, _LEXERS.get(Path(name).suffix, "bash"), word_wrap=True))
        return

    for index, (name, text) in enumerate(files.items()):
        if len(files) > 1:
            sys.stdout.write(("\n" if index else "") + f"# ==> {name} <==\n")
        sys.stdout.write(text)
    sys.stdout.flush()

"""Install rendered retrain jobs: a crontab line, systemd user units, or files in a folder.

The `crontab` and `systemctl` commands, and the systemd unit folder, are parameters,
so tests run these functions against fakes instead of the user's real crontab and
units.
"""

import os
import subprocess
import tempfile
from pathlib import Path

from vertical_tune.errors import VTuneError, format_error
from vertical_tune.schedule.render import CRON_MARKER


_SYSTEMD_FIX = (
    "Check that systemd runs a manager for your user with `systemctl --user status`. "
    "Where none runs, as in many containers, use --target cron instead."
)


class ScheduleError(VTuneError):
    """A retrain job cannot be installed or its files cannot be written."""


def default_unit_dir():
    """Return the folder of systemd user units: `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`."""
    config_home = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config_home) / "systemd" / "user"


def install_cron(line, crontab_cmd="crontab"):
    """Add a job line to the user's crontab, replacing the earlier line of the same job.

    The line must end with the marker comment that `render_schedule` writes
    (`# vtune-retrain CONFIG`). Lines that end with the same marker are removed, so
    installing twice leaves one line. Every other line is kept as it was.

    Args:
        line: str. The crontab line, as rendered for the `cron` target.
        crontab_cmd: str. The `crontab` command to run. Defaults to `"crontab"`.

    Returns:
        int. The number of earlier lines of this job that were replaced.

    Raises:
        ScheduleError: the line has no marker, or `crontab` is missing or fails.
    """
    line = line.strip()
    if CRON_MARKER not in line or "\n" in line:
        raise ScheduleError(
            format_error(
                "The crontab entry must be one line that ends with the vtune marker comment.",
                received=line,
                expected=(
                    "a line rendered by `vtune schedule --target cron`, ending in "
                    f"{CRON_MARKER.strip()!r} and the config path"
                ),
            )
        )
    marker = line[line.index(CRON_MARKER):]

    current = _read_crontab(crontab_cmd)
    other_lines = [existing for existing in current.splitlines() if not existing.rstrip().endswith(marker)]
    replaced = len(current.splitlines()) - len(other_lines)
    # cron ignores a last line that lacks a line break.
    _run([crontab_cmd, "-"], "write the crontab", input_text="\n".join(other_lines + [line]) + "\n")
    return replaced


def install_systemd(name, service, timer, *, unit_dir=None, systemctl="systemctl"):
    """Write a systemd user service and timer, then enable and start the timer.

    Runs `systemctl --user daemon-reload` and `systemctl --user enable --now NAME.timer`.

    Args:
        name: str. Unit name without suffix, e.g. `"vtune-retrain-finance"`.
        service: str. Text of `NAME.service`.
        timer: str. Text of `NAME.timer`.
        unit_dir: str, os.PathLike or None. Folder of user units. Defaults to
            `default_unit_dir()`.
        systemctl: str. The `systemctl` command to run. Defaults to `"systemctl"`.

    Returns:
        list of pathlib.Path. The service and timer files written.

    Raises:
        ScheduleError: a unit file cannot be written, or `systemctl` is missing or fails.
    """
    unit_dir = Path(unit_dir) if unit_dir is not None else default_unit_dir()
    written = write_files({f"{name}.service": service, f"{name}.timer": timer}, unit_dir)
    _run([systemctl, "--user", "daemon-reload"], "reload the systemd user units", fix=_SYSTEMD_FIX)
    _run([systemctl, "--user", "enable", "--now", f"{name}.timer"], f"enable {name}.timer", fix=_SYSTEMD_FIX)
    return written


def write_files(files, directory):
    """Write `files` (name to text) into `directory`, each replaced atomically.

    Returns:
        list of pathlib.Path. The files written, in the order of `files`.

    Raises:
        ScheduleError: the folder cannot be created or a file cannot be written.
    """
    directory = Path(directory)
    written = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = directory / name
            # Write beside the target and rename, so a reader never sees half a file.
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=directory, prefix=f".{name}.", delete=False
            ) as handle:
                handle.write(text)
            os.replace(handle.name, path)
            written.append(path)
    except OSError as error:
        raise ScheduleError(
            format_error(
                f"Writing the job files failed: {error.strerror or error}.",
                where=str(error.filename or directory),
                fix="Choose a folder you can write to (--output), and run again.",
            )
        ) from error
    return written


def _read_crontab(crontab_cmd):
    """Return the current crontab, or "" when the user has none."""
    try:
        result = subprocess.run([crontab_cmd, "-l"], capture_output=True, text=True, check=False)
    except OSError as error:
        raise _missing_command(crontab_cmd, error) from error
    if result.returncode == 0:
        return result.stdout
    # cronie and Vixie cron exit with 1 and print "no crontab for USER".
    # NOTE: other implementations may word this differently, and then reading fails with their message.
    if "no crontab" in result.stderr.lower():
        return ""
    raise _command_failed([crontab_cmd, "-l"], "read the crontab", result)


def _run(command, action, *, fix=None, input_text=None):
    try:
        result = subprocess.run(command, input=input_text, capture_output=True, text=True, check=False)
    except OSError as error:
        raise _missing_command(command[0], error, fix) from error
    if result.returncode != 0:
        raise _command_failed(command, action, result, fix)
    return result


def _missing_command(command, error, fix=None):
    return ScheduleError(
        format_error(
            f"Cannot run {command!r}: {error.strerror or error}.",
            received=command,
            fix=fix
            or (
                "Install it or put it on PATH, or print the job files with `vtune schedule` "
                "(without --install) and install them by hand."
            ),
        )
    )


def _command_failed(command, action, result, fix=None):
    output = (result.stderr or result.stdout).strip() or "no output"
    fix = fix or "Fix the cause named in the output, then run `vtune schedule --install` again."
    return ScheduleError(
        format_error(
            f"Failed to {action}: `{' '.join(map(str, command))}` exited with code {result.returncode}.",
            received=output,
            fix=fix,
        )
    )

"""Render the job files that run `vtune retrain` on a schedule.

Four targets are supported: a crontab line, a systemd user service and timer, a
Kubernetes CronJob and an Airflow DAG. Every job changes into the project folder and
runs `vtune retrain --config CONFIG` with the absolute config path. It appends the
output to the retrain log file. The exit codes in `SUCCESS_CODES` (nothing to do,
promoted, kept the champion, locked by another job) count as success.
"""

import dataclasses
import json
import re
import shlex
import shutil
import sys
from pathlib import Path

import jinja2

from vertical_tune import __version__
from vertical_tune.errors import ConfigError, format_error
from vertical_tune.resources import package_folder
from vertical_tune.retrain.exit_codes import SUCCESS_CODES
from vertical_tune.schedule.cron import cron_to_on_calendar, validate_cron

TARGETS = ("cron", "systemd", "kubernetes", "airflow")
DEFAULT_CRON = "0 2 * * 0"
DEFAULT_LOG_FILE = "logs/retrain.log"
DEFAULT_IMAGE = f"vertical-tune:{__version__}"
DEFAULT_VOLUME_CLAIM = "vtune-project"

# The crontab line ends with this comment and the config path, so `install_cron` can
# find and replace the line of the same project.
CRON_MARKER = "# vtune-retrain "
# Kubernetes limits a CronJob name to 52 characters, because each Job it creates adds 11 to the name.
_MAX_JOB_NAME = 52
# Mount path of the project's volume claim in the Kubernetes container.
CONTAINER_PROJECT_DIR = "/project"

# `case` pattern and systemd `SuccessExitStatus=` value built from the same codes.
SUCCESS_PATTERN = "|".join(str(int(code)) for code in SUCCESS_CODES)
SYSTEMD_SUCCESS_STATUS = " ".join(str(int(code)) for code in SUCCESS_CODES if code != 0)
_MAP_EXIT_CODE = f'rc=$?; case $rc in {SUCCESS_PATTERN}) exit 0;; esac; exit "$rc"'

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclasses.dataclass(frozen=True)
class ScheduleContext:
    """The values every job file is rendered from.

    Attributes:
        project_dir: Path. Absolute project folder, where the job runs.
        config_path: Path. Absolute path of the project's `vtune.yaml`.
        log_file: Path. Absolute file the job's console output is appended to
            (`console_log` of `retrain.log_file`).
        cron: str. Five-field cron expression.
        job_name: str. Name of the units, the CronJob and the DAG.
        vtune_command: tuple of str. The command that starts `vtune` on this machine.
        image: str. Container image of the Kubernetes job, with vertical_tune installed.
        volume_claim: str. PersistentVolumeClaim that contains the project folder.
    """

    project_dir: Path
    config_path: Path
    log_file: Path
    cron: str
    job_name: str
    vtune_command: tuple
    image: str = DEFAULT_IMAGE
    volume_claim: str = DEFAULT_VOLUME_CLAIM

    @property
    def on_calendar(self):
        """The systemd `OnCalendar=` value of `cron`. Raises `ConfigError` where systemd cannot express it."""
        return cron_to_on_calendar(self.cron, where="--cron")


def schedule_context(
    config_path,
    cron=DEFAULT_CRON,
    *,
    log_file=DEFAULT_LOG_FILE,
    image=None,
    volume_claim=None,
    vtune_command=None,
):
    """Build the context of a project's retrain job.

    The project folder is the folder of the config file, because paths inside the
    config are relative to it.

    Args:
        config_path: str or os.PathLike. The project's `vtune.yaml`. It need not exist yet.
        cron: str. Cron expression. Defaults to `"0 2 * * 0"` (Sundays at 02:00).
        log_file: str or os.PathLike. Log file, relative to the project folder or
            absolute. Defaults to `"logs/retrain.log"`, as `retrain.log_file` does.
        image: str or None. Kubernetes container image. Defaults to `DEFAULT_IMAGE`.
        volume_claim: str or None. Kubernetes PersistentVolumeClaim with the project.
            Defaults to `"vtune-project"`.
        vtune_command: sequence of str or None. How to start `vtune`. Defaults to
            `default_vtune_command()`.

    Returns:
        ScheduleContext.

    Raises:
        ConfigError: the cron expression, the image or the claim name is invalid,
            or a path contains a line break.
    """
    config_path = Path(config_path).expanduser().resolve()
    project_dir = config_path.parent
    log_path = Path(log_file).expanduser()
    log_path = console_log(log_path if log_path.is_absolute() else project_dir / log_path)
    for name, path in (("config file", config_path), ("log file", log_path)):
        if "\n" in str(path) or "\r" in str(path):
            raise ConfigError(
                format_error(
                    f"The {name} path contains a line break, which a job file cannot hold.",
                    received=str(path),
                    fix="Rename the folder or file so that the path has no line break.",
                )
            )

    return ScheduleContext(
        project_dir=project_dir,
        config_path=config_path,
        log_file=log_path,
        cron=validate_cron(cron, where="--cron"),
        job_name=job_name(project_dir),
        vtune_command=tuple(vtune_command or default_vtune_command()),
        image=_check_image(DEFAULT_IMAGE if image is None else image),
        volume_claim=_check_volume_claim(DEFAULT_VOLUME_CLAIM if volume_claim is None else volume_claim),
    )


def job_name(project_dir):
    """Return the job name of a project: `vtune-retrain-` and the folder name, DNS-safe.

    Example:
    >>> job_name("/srv/Finance Models")
    'vtune-retrain-finance-models'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", Path(project_dir).name.lower()).strip("-") or "project"
    return f"vtune-retrain-{slug}"[:_MAX_JOB_NAME].rstrip("-")


def default_vtune_command():
    """Return the command that starts `vtune`: its path on PATH, else this Python with `-m`."""
    executable = shutil.which("vtune")
    if executable:
        return [str(Path(executable).resolve())]
    return [sys.executable, "-m", "vertical_tune.cli.main"]


def render_schedule(context, targets=TARGETS):
    """Render the job files of `targets`.

    Args:
        context: ScheduleContext.
        targets: iterable of str. Some of `TARGETS`. Defaults to all of them.

    Returns:
        dict mapping each file name to its text, in the order of `targets`. The
        systemd target has two files, the service and the timer.

    Raises:
        ConfigError: a target is unknown, systemd cannot express the cron expression,
            or the Kubernetes job cannot reach the log file.
    """
    renderers = {
        "cron": _render_cron,
        "systemd": _render_systemd,
        "kubernetes": _render_kubernetes,
        "airflow": _render_airflow,
    }
    files = {}
    for target in targets:
        if target not in renderers:
            raise ConfigError(
                format_error(
                    f"Unknown schedule target {target!r}.",
                    where="--target",
                    received=target,
                    expected=", ".join(TARGETS) + " or all",
                )
            )
        files.update(renderers[target](context))
    return files


def target_files(context):
    """Return the file names each target renders, keyed by target."""
    return {
        "cron": ["crontab"],
        "systemd": [f"{context.job_name}.service", f"{context.job_name}.timer"],
        "kubernetes": ["cronjob.yaml"],
        "airflow": [f"{context.job_name.replace('-', '_')}.py"],
    }


def cron_marker(context):
    """Return the comment that ends the project's crontab line."""
    return f"{CRON_MARKER}{context.config_path}"


def _render_cron(context):
    script = f"cd {_quote(context.project_dir)} && {_run_with_log(context)}; {_MAP_EXIT_CODE}"
    # cron turns an unescaped `%` in the command into a line break.
    command = f"{script} {cron_marker(context)}".replace("%", "\\%")
    text = _render("crontab.j2", cron=context.cron, command=command)
    return {target_files(context)["cron"][0]: text}


def _render_systemd(context):
    # `exec` hands the exit code of `vtune retrain` to systemd, which reads it
    # against SuccessExitStatus=.
    script = f"cd {_quote(context.project_dir)} && {_run_with_log(context, exec_job=True)}"
    service_name, timer_name = target_files(context)["systemd"]
    values = {
        "context": context,
        "exec_start": f"/bin/sh -c {_systemd_quote(script)}",
        "success_status": SYSTEMD_SUCCESS_STATUS,
        "on_calendar": context.on_calendar,
        "service_name": service_name,
    }
    return {
        service_name: _render("vtune-retrain.service.j2", **values),
        timer_name: _render("vtune-retrain.timer.j2", **values),
    }


def _render_kubernetes(context):
    config = f"{CONTAINER_PROJECT_DIR}/{_inside_project(context, context.config_path, 'config file')}"
    log_file = f"{CONTAINER_PROJECT_DIR}/{_inside_project(context, context.log_file, 'log file')}"
    status_file = "/tmp/vtune-retrain.status"
    # A POSIX shell has no `pipefail`, so the exit code of `vtune retrain` travels
    # through a file past `tee`, which copies the output to the pod log and the log file.
    script = "\n".join(
        [
            f"mkdir -p {_quote(str(Path(log_file).parent))} || exit 1",
            f"cd {CONTAINER_PROJECT_DIR} || exit 1",
            f"{{ vtune retrain --config {_quote(config)}; echo $? > {status_file}; }} 2>&1 | tee -a {_quote(log_file)}",
            f"rc=$(cat {status_file} 2>/dev/null || echo 1)",
            f"case $rc in {SUCCESS_PATTERN}) exit 0;; esac",
            'exit "$rc"',
        ]
    )
    text = _render(
        "cronjob.yaml.j2",
        context=context,
        script=script,
        mount_path=CONTAINER_PROJECT_DIR,
        log_file=log_file,
    )
    return {target_files(context)["kubernetes"][0]: text}


def _render_airflow(context):
    # The DAG builds its bash command from constants at its top, so a user can edit
    # the paths for a worker whose file system differs from this machine's.
    text = _render("airflow_dag.py.j2", context=context, success_pattern=SUCCESS_PATTERN)
    return {target_files(context)["airflow"][0]: text}


def console_log(log_file):
    """Return the file for a job's console output, beside `retrain.log_file`.

    `vtune retrain` writes its own log to `retrain.log_file`. The console output
    (the same messages plus Keras' epoch lines and any traceback) goes to a second
    file, `NAME-console.SUFFIX`, so no line is written twice into one file.
    """
    log_file = Path(log_file)
    return log_file.with_name(f"{log_file.stem}-console{log_file.suffix}")


def _run_with_log(context, *, exec_job=False):
    """Return the shell command that creates the log folder and runs the job into the log."""
    command = shlex.join([*context.vtune_command, "retrain", "--config", str(context.config_path)])
    if exec_job:
        command = f"exec {command}"
    return f"mkdir -p {_quote(context.log_file.parent)} && {command} >> {_quote(context.log_file)} 2>&1"


def _inside_project(context, path, name):
    """Return `path` relative to the project folder, which Kubernetes mounts from the claim."""
    try:
        return path.relative_to(context.project_dir).as_posix()
    except ValueError:
        raise ConfigError(
            format_error(
                f"The Kubernetes job cannot reach the {name}, because it is outside the "
                "project folder that the job mounts from the volume claim.",
                where=str(context.project_dir),
                received=str(path),
                fix=(
                    f"Move the {name} into the project folder (for the log file, set "
                    "`retrain.log_file` to a relative path), or use another --target."
                ),
            )
        ) from None


def _check_image(image):
    if not image or any(character.isspace() for character in image):
        raise ConfigError(
            format_error(
                "Invalid container image.",
                where="--image",
                received=image,
                expected="an image reference without spaces, e.g. registry.example.com/vtune:0.1.0",
            )
        )
    return image


def _check_volume_claim(name):
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise ConfigError(
            format_error(
                "Invalid PersistentVolumeClaim name.",
                where="--volume-claim",
                received=name,
                expected=(
                    "a Kubernetes object name: lowercase letters, digits, '-' and '.', starting "
                    "and ending with a letter or digit, e.g. vtune-project"
                ),
            )
        )
    return name


def _quote(path):
    return shlex.quote(str(path))


def _systemd_quote(text):
    """Quote one `ExecStart=` argument: systemd reads C escapes, `$VAR` and `%` specifiers in it."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$").replace("%", "%%")
    return f'"{escaped}"'


def _systemd_text(text):
    """Escape `%` in a unit setting, where systemd would expand it as a specifier."""
    return str(text).replace("%", "%%")


def _render(name, **context):
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    environment.filters["py"] = repr
    environment.filters["systemd"] = _systemd_text
    environment.filters["json"] = json.dumps
    source = (package_folder("templates") / "schedule" / name).read_text("utf-8")
    return environment.from_string(source).render(context)

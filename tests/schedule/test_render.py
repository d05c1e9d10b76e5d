"""Rendered job files: valid syntax for each scheduler, and the shell they run maps exit codes."""

import configparser
import os
import py_compile
import runpy
import shlex
import shutil
import subprocess
import sys
import types

import pytest
import yaml

from vertical_tune.errors import ConfigError
from vertical_tune.retrain.exit_codes import SUCCESS_CODES, RetrainExit
from vertical_tune.schedule.cron import validate_cron
from vertical_tune.schedule.render import (
    CRON_MARKER,
    SUCCESS_PATTERN,
    TARGETS,
    default_vtune_command,
    job_name,
    render_schedule,
    schedule_context,
    target_files,
)

SUCCESS = [int(code) for code in SUCCESS_CODES]
FAILURE = [int(RetrainExit.FAILED), int(RetrainExit.BAD_INPUT), 3]
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def run_shell(script, code, shell="/bin/sh", path=None):
    env = {**os.environ, "FAKE_VTUNE_EXIT": str(code)}
    if path is not None:
        env["PATH"] = f"{path}{os.pathsep}{env['PATH']}"
    return subprocess.run([shell, "-c", script], env=env, capture_output=True, text=True, timeout=30)


def crontab_command(context):
    line = render_schedule(context, ["cron"])["crontab"]
    # cron passes `\%` to the shell as `%`.
    return line.split(" ", 5)[5].replace("\\%", "%")


def unit(text):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    return parser


def exec_start_script(service_text):
    """Return the script of `ExecStart=/bin/sh -c "..."`, unquoted as systemd does for these escapes."""
    exec_start = unit(service_text)["Service"]["ExecStart"]
    program, flag, script = shlex.split(exec_start)
    assert (program, flag) == ("/bin/sh", "-c")
    return script.replace("$$", "$").replace("%%", "%")


def test_pattern_matches_exit_codes():
    assert SUCCESS_PATTERN == "0|10|11|75"
    assert SUCCESS == [0, 10, 11, 75]


def test_render_all_targets_file_names(context):
    files = render_schedule(context)

    assert list(files) == [
        "crontab",
        "vtune-retrain-finance-project.service",
        "vtune-retrain-finance-project.timer",
        "cronjob.yaml",
        "vtune_retrain_finance_project.py",
    ]
    assert [name for target in TARGETS for name in target_files(context)[target]] == list(files)


def test_crontab_is_one_valid_line(context):
    text = render_schedule(context, ["cron"])["crontab"]

    assert text.endswith("\n")
    assert text.count("\n") == 1
    fields = text.split(" ", 5)
    assert validate_cron(" ".join(fields[:5])) == "0 2 * * 0"
    command = fields[5]
    assert command.rstrip().endswith(f"{CRON_MARKER}{context.config_path}")
    assert f"--config {shlex.quote(str(context.config_path))}" in command
    assert f"cd {shlex.quote(str(context.project_dir))} &&" in command
    assert f">> {shlex.quote(str(context.log_file))} 2>&1" in command
    assert "case $rc in 0|10|11|75) exit 0;; esac" in command


@pytest.mark.parametrize("code", SUCCESS + FAILURE)
def test_crontab_command_maps_exit_codes(context, tmp_path, code):
    result = run_shell(crontab_command(context), code)

    assert result.returncode == (0 if code in SUCCESS else code)
    log = context.log_file.read_text("utf-8")
    assert f"args: retrain --config {context.config_path}" in log
    assert f"cwd: {context.project_dir}" in log
    assert "a diagnostic line" in log


def test_crontab_command_fails_without_project(context):
    shutil.rmtree(context.project_dir)

    result = run_shell(crontab_command(context), 0)

    # `cd` fails with 1 or 2, depending on the shell.
    assert result.returncode not in SUCCESS
    assert not context.log_file.exists()


def test_systemd_units_have_expected_keys(context):
    files = render_schedule(context, ["systemd"])
    service = unit(files["vtune-retrain-finance-project.service"])
    timer = unit(files["vtune-retrain-finance-project.timer"])

    assert set(service.sections()) == {"Unit", "Service"}
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["SuccessExitStatus"] == "10 11 75"
    assert service["Service"]["TimeoutStartSec"] == "infinity"
    assert "Description" in service["Unit"]
    assert set(timer.sections()) == {"Unit", "Timer", "Install"}
    assert timer["Timer"]["OnCalendar"] == "Sun *-*-* 02:00:00"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "vtune-retrain-finance-project.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.parametrize("code", SUCCESS + FAILURE)
def test_systemd_exec_start_keeps_exit_code(context, code):
    # systemd reads SuccessExitStatus=, so the script hands on the real exit code.
    service = render_schedule(context, ["systemd"])["vtune-retrain-finance-project.service"]

    result = run_shell(exec_start_script(service), code)

    assert result.returncode == code
    log = context.log_file.read_text("utf-8")
    assert f"args: retrain --config {context.config_path}" in log
    assert f"cwd: {context.project_dir}" in log


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed, so the units cannot be verified")
def test_systemd_analyze_verifies_units(context, tmp_path):
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    paths = []
    for name, text in render_schedule(context, ["systemd"]).items():
        paths.append(unit_dir / name)
        paths[-1].write_text(text, encoding="utf-8")

    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", *map(str, paths)], capture_output=True, text=True, timeout=60
    )

    output = result.stdout + result.stderr
    if "Failed to initialize manager" in output:
        pytest.skip(f"systemd-analyze verify cannot run here: {output.strip()}")
    assert result.returncode == 0, output
    assert "ignoring" not in output.lower(), output


def test_special_characters_are_escaped(tmp_path, fake_vtune):
    project = tmp_path / "50% $HOME"
    project.mkdir()
    context = schedule_context(project / "vtune.yaml", "@daily", vtune_command=[str(fake_vtune)])
    files = render_schedule(context, ["cron", "systemd"])
    service_name = f"{context.job_name}.service"

    assert "50\\% $HOME" in files["crontab"]
    assert unit(files[service_name])["Unit"]["Description"].endswith("50%% $HOME")
    assert "$$HOME" in unit(files[service_name])["Service"]["ExecStart"]
    for script in (crontab_command(context), exec_start_script(files[service_name])):
        result = run_shell(script, 10)
        assert result.returncode in (0, 10)
        assert f"cwd: {project}" in context.log_file.read_text("utf-8")


def test_kubernetes_manifest_loads(context):
    manifest = yaml.safe_load(render_schedule(context, ["kubernetes"])["cronjob.yaml"])

    assert manifest["apiVersion"] == "batch/v1"
    assert manifest["kind"] == "CronJob"
    assert manifest["metadata"]["name"] == "vtune-retrain-finance-project"
    spec = manifest["spec"]
    assert spec["schedule"] == "0 2 * * 0"
    assert spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    container = pod["containers"][0]
    assert container["image"] == "registry.example.com/vtune:1"
    assert container["volumeMounts"] == [{"name": "project", "mountPath": "/project"}]
    assert pod["volumes"] == [{"name": "project", "persistentVolumeClaim": {"claimName": "finance-data"}}]
    assert container["command"] == ["/bin/sh", "-c"]
    script = container["args"][0]
    assert "vtune retrain --config /project/vtune.yaml" in script
    assert "case $rc in 0|10|11|75) exit 0;; esac" in script
    assert "tee -a /project/logs/retrain-console.log" in script


@pytest.mark.parametrize("code", SUCCESS + FAILURE)
def test_kubernetes_script_maps_exit_codes(context, fake_vtune, tmp_path, code):
    manifest = yaml.safe_load(render_schedule(context, ["kubernetes"])["cronjob.yaml"])
    script = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][0]
    # Run the container's script on this machine, with the project folder in place of the mount.
    script = script.replace("/tmp/vtune-retrain.status", shlex.quote(str(tmp_path / "status")))
    script = script.replace("/project", shlex.quote(str(context.project_dir)))

    result = run_shell(script, code, path=fake_vtune.parent)

    assert result.returncode == (0 if code in SUCCESS else code)
    assert f"cwd: {context.project_dir}" in result.stdout
    assert "a diagnostic line" in result.stdout
    assert "a diagnostic line" in context.log_file.read_text("utf-8")


def test_kubernetes_rejects_log_outside_project(project_dir, tmp_path):
    context = schedule_context(project_dir / "vtune.yaml", log_file=tmp_path / "elsewhere.log")

    with pytest.raises(ConfigError) as raised:
        render_schedule(context, ["kubernetes"])

    message = str(raised.value)
    assert str(tmp_path / "elsewhere-console.log") in message
    assert "retrain.log_file" in message
    assert render_schedule(context, ["cron"])


def test_airflow_dag_compiles(context, tmp_path):
    path = tmp_path / "dag.py"
    path.write_text(render_schedule(context, ["airflow"])["vtune_retrain_finance_project.py"], encoding="utf-8")

    py_compile.compile(str(path), doraise=True)


@pytest.fixture
def airflow_stub(monkeypatch):
    """Fake `airflow` modules that record the DAG and operator arguments."""
    calls = {}

    class DAG:
        def __init__(self, **kwargs):
            calls["dag"] = kwargs

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            return False

    def bash_operator(**kwargs):
        calls["operator"] = kwargs

    airflow = types.ModuleType("airflow")
    airflow.DAG = DAG
    operators = types.ModuleType("airflow.operators")
    bash = types.ModuleType("airflow.operators.bash")
    bash.BashOperator = bash_operator
    for name, module in (("airflow", airflow), ("airflow.operators", operators), ("airflow.operators.bash", bash)):
        monkeypatch.setitem(sys.modules, name, module)
    return calls


def load_dag(context, tmp_path):
    path = tmp_path / "dag.py"
    path.write_text(render_schedule(context, ["airflow"])["vtune_retrain_finance_project.py"], encoding="utf-8")
    return runpy.run_path(str(path))


def test_airflow_dag_arguments(context, tmp_path, airflow_stub):
    module = load_dag(context, tmp_path)

    dag = airflow_stub["dag"]
    assert dag["dag_id"] == "vtune-retrain-finance-project"
    assert dag["schedule"] == "0 2 * * 0"
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert airflow_stub["operator"]["task_id"] == "retrain"
    assert airflow_stub["operator"]["bash_command"] == module["BASH_COMMAND"]
    assert module["SUCCESS_CODES"] == "0|10|11|75"
    assert "{{" not in module["BASH_COMMAND"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize("code", SUCCESS + FAILURE)
def test_airflow_command_maps_exit_codes(context, tmp_path, airflow_stub, code):
    command = load_dag(context, tmp_path)["BASH_COMMAND"]

    result = run_shell(command, code, shell=shutil.which("bash"))

    assert result.returncode == (0 if code in SUCCESS else code)
    assert result.stdout.rstrip().endswith(f"vtune retrain exited with code {code}")
    assert f"cwd: {context.project_dir}" in context.log_file.read_text("utf-8")


def test_each_file_maps_exit_codes(context):
    files = render_schedule(context)

    for name in ("crontab", "cronjob.yaml", "vtune_retrain_finance_project.py"):
        assert "0|10|11|75" in files[name], name
    assert "SuccessExitStatus=10 11 75" in files["vtune-retrain-finance-project.service"]


def test_unknown_target_rejected(context):
    with pytest.raises(ConfigError) as raised:
        render_schedule(context, ["launchd"])

    assert "'launchd'" in str(raised.value)
    assert "kubernetes" in str(raised.value)


def test_systemd_rejects_day_or_weekday(project_dir):
    context = schedule_context(project_dir / "vtune.yaml", "0 0 1 * 1")

    with pytest.raises(ConfigError):
        render_schedule(context, ["systemd"])
    assert render_schedule(context, ["cron", "kubernetes", "airflow"])


@pytest.mark.parametrize(
    "folder, expected",
    [
        ("finance", "vtune-retrain-finance"),
        ("Finance Models", "vtune-retrain-finance-models"),
        ("__data__", "vtune-retrain-data"),
        ("金融", "vtune-retrain-project"),
        ("x" * 80, "vtune-retrain-" + "x" * 38),
        ("a" * 37 + "-b", "vtune-retrain-" + "a" * 37),
    ],
)
def test_job_name_is_dns_label(folder, expected):
    name = job_name(f"/srv/{folder}")

    assert name == expected
    assert len(name) <= 52


@pytest.mark.parametrize(
    "option, value, fragment",
    [
        ("image", "", "--image"),
        ("image", "my image", "--image"),
        ("volume_claim", "Finance_Data", "--volume-claim"),
        ("volume_claim", "-data", "--volume-claim"),
    ],
)
def test_invalid_kubernetes_options(project_dir, option, value, fragment):
    with pytest.raises(ConfigError) as raised:
        schedule_context(project_dir / "vtune.yaml", **{option: value})

    assert fragment in str(raised.value)
    assert repr(value) in str(raised.value)


def test_context_defaults(project_dir):
    context = schedule_context(project_dir / "vtune.yaml")

    assert context.cron == "0 2 * * 0"
    assert context.project_dir == project_dir
    # `vtune retrain` writes logs/retrain.log itself; the console output goes beside it.
    assert context.log_file == project_dir / "logs" / "retrain-console.log"
    assert context.image.startswith("vertical-tune:")
    assert context.volume_claim == "vtune-project"


def test_context_rejects_line_break_in_path(tmp_path):
    with pytest.raises(ConfigError) as raised:
        schedule_context(tmp_path / "bad\nname" / "vtune.yaml")

    assert "line break" in str(raised.value)


def test_vtune_command_prefers_path(monkeypatch, tmp_path):
    executable = tmp_path / "vtune"
    executable.write_text("", encoding="utf-8")
    monkeypatch.setattr("vertical_tune.schedule.render.shutil.which", lambda name: str(executable))

    assert default_vtune_command() == [str(executable)]


def test_vtune_command_falls_back_to_module(monkeypatch):
    monkeypatch.setattr("vertical_tune.schedule.render.shutil.which", lambda name: None)

    assert default_vtune_command() == [sys.executable, "-m", "vertical_tune.cli.main"]

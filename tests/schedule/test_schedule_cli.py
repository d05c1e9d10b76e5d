"""`vtune schedule` through the CLI entry point: output, files, install and exit codes."""

import functools

import pytest
import yaml

from tests.helpers import run_cli
from tests.schedule.test_install import FAKE_CRONTAB, FAKE_SYSTEMCTL
from tests.schedule.conftest import write_script
from vertical_tune.schedule import install



@pytest.fixture
def config(project_dir):
    return project_dir / "vtune.yaml"


def test_schedule_prints_crontab_line(capsys, config):
    code, out, err = run_cli(capsys, "schedule", "--config", config, "--cron", "0 2 * * 0", "--target", "cron")

    assert code == 0, err
    assert out.startswith("0 2 * * 0 cd ")
    assert out.count("\n") == 1
    assert f"--config '{config}'" in out
    assert "--target cron --install" in err


def test_schedule_prints_all_files(capsys, config):
    code, out, err = run_cli(capsys, "schedule", "--config", config, "--cron", "30 4 * * 1-5")

    assert code == 0, err
    for name in (
        "crontab",
        "vtune-retrain-finance-project.service",
        "vtune-retrain-finance-project.timer",
        "cronjob.yaml",
        "vtune_retrain_finance_project.py",
    ):
        assert f"# ==> {name} <==" in out
    assert "OnCalendar=Mon..Fri *-*-* 04:30:00" in out


def test_schedule_writes_output_folder(capsys, config, tmp_path):
    output = tmp_path / "jobs"

    code, _, err = run_cli(
        capsys, "schedule", "--config", config, "--cron", "@daily", "--output", output, "--image", "reg/vtune:2"
    )

    assert code == 0, err
    assert sorted(path.name for path in output.iterdir()) == [
        "cronjob.yaml",
        "crontab",
        "vtune-retrain-finance-project.service",
        "vtune-retrain-finance-project.timer",
        "vtune_retrain_finance_project.py",
    ]
    manifest = yaml.safe_load((output / "cronjob.yaml").read_text("utf-8"))
    assert manifest["spec"]["schedule"] == "0 0 * * *"
    assert manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == "reg/vtune:2"
    assert f"Wrote 5 files to {output}" in err


def test_schedule_uses_config_log_file(capsys, config):
    config.write_text("industry: finance\nretrain:\n  log_file: var/jobs.log\n", encoding="utf-8")

    code, out, err = run_cli(capsys, "schedule", "--config", config, "--cron", "0 2 * * 0", "--target", "cron")

    assert code == 0, err
    assert f">> '{config.parent}/var/jobs-console.log' 2>&1" in out


def test_schedule_defaults_to_local_config(capsys, config, monkeypatch):
    monkeypatch.chdir(config.parent)

    code, out, err = run_cli(capsys, "schedule", "--cron", "0 2 * * 0", "--target", "cron")

    assert code == 0, err
    assert f"--config '{config}'" in out


@pytest.mark.parametrize(
    "cron, fragment",
    [
        ("0 2 * *", "4 fields"),
        ("0 25 * * *", "hour value 25 is out of range"),
        ("0 0 L * *", "invalid value 'L'"),
    ],
)
def test_schedule_bad_cron_exits_2(capsys, config, cron, fragment):
    code, out, err = run_cli(capsys, "schedule", "--config", config, "--cron", cron)

    assert code == 2
    assert out == ""
    assert fragment in err
    assert f"Received: {cron!r}" in err
    assert "Where: --cron" in err


def test_schedule_unknown_target_exits_2(capsys, config):
    code, _, err = run_cli(capsys, "schedule", "--config", config, "--cron", "@daily", "--target", "launchd")

    assert code == 2
    assert "'launchd'" in err
    assert "kubernetes" in err


def test_schedule_without_config_exits_2(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    code, _, err = run_cli(capsys, "schedule", "--cron", "@daily")

    assert code == 2
    assert "--config" in err


def test_schedule_all_skips_inexpressible_systemd(capsys, config):
    code, out, err = run_cli(capsys, "schedule", "--config", config, "--cron", "0 0 1 * 1")

    assert code == 0, err
    assert "skipped the systemd files" in err
    assert ".service" not in out
    assert "# ==> cronjob.yaml <==" in out


def test_schedule_inexpressible_systemd_exits_2(capsys, config):
    code, _, err = run_cli(capsys, "schedule", "--config", config, "--cron", "0 0 1 * 1", "--target", "systemd")

    assert code == 2
    assert "systemd cannot express" in err


def test_install_needs_one_target(capsys, config):
    code, _, err = run_cli(capsys, "schedule", "--config", config, "--cron", "@daily", "--install")

    assert code == 2
    assert "--install needs one --target" in err


def test_install_cron_through_cli(capsys, config, tmp_path, monkeypatch):
    crontab = write_script(tmp_path / "fake-cron" / "crontab", FAKE_CRONTAB)
    monkeypatch.setattr(install, "install_cron", functools.partial(install.install_cron, crontab_cmd=str(crontab)))
    args = ["schedule", "--config", config, "--cron", "0 2 * * 0", "--target", "cron", "--install"]

    first = run_cli(capsys, *args)
    second = run_cli(capsys, *args)

    assert first[0] == 0, first[2]
    assert "Added the retrain job to your crontab." in first[1]
    assert "replaced the earlier line" in second[1]
    stored = (crontab.parent / "crontab.txt").read_text("utf-8")
    assert stored.count("\n") == 1
    assert stored.startswith("0 2 * * 0 cd ")


def test_install_systemd_through_cli(capsys, config, tmp_path, monkeypatch):
    systemctl = write_script(tmp_path / "fake-systemd" / "systemctl", FAKE_SYSTEMCTL)
    unit_dir = tmp_path / "units"
    monkeypatch.setattr(
        install,
        "install_systemd",
        functools.partial(install.install_systemd, unit_dir=unit_dir, systemctl=str(systemctl)),
    )

    code, out, err = run_cli(
        capsys, "schedule", "--config", config, "--cron", "0 2 * * 0", "--target", "systemd", "--install"
    )

    assert code == 0, err
    assert "Enabled vtune-retrain-finance-project.timer" in out
    assert "loginctl enable-linger" in out
    assert (unit_dir / "vtune-retrain-finance-project.timer").is_file()
    calls = (systemctl.parent / "calls.txt").read_text("utf-8").splitlines()
    assert calls[-1] == "--user enable --now vtune-retrain-finance-project.timer"


def test_install_systemd_failure_exits_2(capsys, config, tmp_path, monkeypatch):
    systemctl = write_script(tmp_path / "fake-systemd" / "systemctl", FAKE_SYSTEMCTL)
    monkeypatch.setenv("FAKE_SYSTEMCTL_EXIT", "1")
    monkeypatch.setattr(
        install,
        "install_systemd",
        functools.partial(install.install_systemd, unit_dir=tmp_path / "units", systemctl=str(systemctl)),
    )

    code, _, err = run_cli(
        capsys, "schedule", "--config", config, "--cron", "0 2 * * 0", "--target", "systemd", "--install"
    )

    assert code == 2
    assert "Failed to connect to bus" in err


@pytest.mark.parametrize(
    "target, name, next_command",
    [
        ("kubernetes", "cronjob.yaml", "kubectl apply -f"),
        ("airflow", "vtune_retrain_finance_project.py", "$AIRFLOW_HOME/dags/"),
    ],
)
def test_install_prints_next_command(capsys, config, target, name, next_command):
    code, out, err = run_cli(
        capsys, "schedule", "--config", config, "--cron", "0 2 * * 0", "--target", target, "--install"
    )

    assert code == 0, err
    path = config.parent / "schedule" / name
    assert path.is_file()
    assert next_command in out
    assert str(path) in out


def test_help_lists_schedule(capsys):
    code, out, _ = run_cli(capsys, "--help")

    assert code == 0
    assert "schedule" in out

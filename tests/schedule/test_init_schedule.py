"""`vtune init` writes the weekly retrain job files into the project's `schedule/` folder."""

import py_compile

import yaml

from tests.schedule.test_render import unit
from vertical_tune.cli.main import main
from vertical_tune.schedule.cron import validate_cron

SCHEDULE_FILES = [
    "schedule/crontab",
    "schedule/cronjob.yaml",
    "schedule/vtune-retrain-retail-shop.service",
    "schedule/vtune-retrain-retail-shop.timer",
    "schedule/vtune_retrain_retail_shop.py",
]


def test_init_writes_schedule_files(tmp_path, capsys):
    directory = tmp_path / "retail-shop"

    try:
        main(["init", "--industry", "retail", str(directory)])
    except SystemExit as exit_:
        assert exit_.code in (None, 0)

    out = capsys.readouterr().out
    written = sorted(path.relative_to(directory).as_posix() for path in (directory / "schedule").iterdir())
    assert written == sorted(SCHEDULE_FILES)
    for name in SCHEDULE_FILES:
        assert name in out, name

    crontab = (directory / "schedule" / "crontab").read_text("utf-8")
    assert validate_cron(" ".join(crontab.split(" ")[:5])) == "0 2 * * 0"
    assert f"--config {directory / 'vtune.yaml'}" in crontab
    assert f"{directory / 'logs' / 'retrain-console.log'}" in crontab

    timer = unit((directory / "schedule" / "vtune-retrain-retail-shop.timer").read_text("utf-8"))
    assert timer["Timer"]["OnCalendar"] == "Sun *-*-* 02:00:00"

    manifest = yaml.safe_load((directory / "schedule" / "cronjob.yaml").read_text("utf-8"))
    assert manifest["kind"] == "CronJob"
    assert manifest["spec"]["schedule"] == "0 2 * * 0"

    py_compile.compile(str(directory / "schedule" / "vtune_retrain_retail_shop.py"), doraise=True)


def test_init_readme_mentions_schedule(tmp_path):
    from vertical_tune.project.init import init_project

    init_project("finance", tmp_path / "bank")

    readme = (tmp_path / "bank" / "README.md").read_text("utf-8")
    assert "vtune retrain --config vtune.yaml" in readme
    assert 'vtune schedule --config vtune.yaml --cron "0 2 * * 0"' in readme
    assert "`vtune-retrain-bank.timer`" in readme
    assert "logs/retrain.log" in readme

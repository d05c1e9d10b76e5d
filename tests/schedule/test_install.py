"""Installing jobs, against a fake `crontab` and a fake `systemctl` in tmp_path."""

import pytest

from tests.schedule.conftest import write_script
from vertical_tune.schedule.install import ScheduleError, install_cron, install_systemd, write_files
from vertical_tune.schedule.render import render_schedule, schedule_context

# Keeps the crontab in a file beside the script, as `crontab -l` and `crontab -` would.
FAKE_CRONTAB = """#!/bin/sh
store="$(dirname "$0")/crontab.txt"
case "$1" in
  -l) if [ -f "$store" ]; then cat "$store"; else echo "no crontab for tester" >&2; exit 1; fi ;;
  -) cat > "$store" ;;
  *) echo "usage: crontab [-l | -]" >&2; exit 64 ;;
esac
"""

# Appends each call's arguments to calls.txt; exits with $FAKE_SYSTEMCTL_EXIT.
FAKE_SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls.txt"
if [ "${FAKE_SYSTEMCTL_EXIT:-0}" != 0 ]; then
  echo "Failed to connect to bus: No medium found" >&2
fi
exit "${FAKE_SYSTEMCTL_EXIT:-0}"
"""


@pytest.fixture
def crontab(tmp_path):
    return write_script(tmp_path / "fake-cron" / "crontab", FAKE_CRONTAB)


@pytest.fixture
def systemctl(tmp_path):
    return write_script(tmp_path / "fake-systemd" / "systemctl", FAKE_SYSTEMCTL)


def crontab_line(context):
    return render_schedule(context, ["cron"])["crontab"]


def stored_crontab(crontab):
    return (crontab.parent / "crontab.txt").read_text("utf-8")


def test_install_cron_into_empty_crontab(context, crontab):
    replaced = install_cron(crontab_line(context), crontab_cmd=str(crontab))

    assert replaced == 0
    assert stored_crontab(crontab) == crontab_line(context)


def test_install_cron_twice_keeps_one_line(context, crontab):
    install_cron(crontab_line(context), crontab_cmd=str(crontab))

    replaced = install_cron(crontab_line(context), crontab_cmd=str(crontab))

    assert replaced == 1
    assert stored_crontab(crontab) == crontab_line(context)


def test_install_cron_replaces_schedule_keeps_others(context, crontab, project_dir, tmp_path, fake_vtune):
    other_project = tmp_path / "other"
    other_project.mkdir()
    other = schedule_context(other_project / "vtune.yaml", "@daily", vtune_command=[str(fake_vtune)])
    (crontab.parent / "crontab.txt").write_text(
        "MAILTO=ops@example.com\n# backups\n0 3 * * * /usr/local/bin/backup\n", encoding="utf-8"
    )
    install_cron(crontab_line(other), crontab_cmd=str(crontab))
    install_cron(crontab_line(context), crontab_cmd=str(crontab))
    hourly = schedule_context(
        project_dir / "vtune.yaml", "@hourly", vtune_command=[str(fake_vtune)]
    )

    replaced = install_cron(crontab_line(hourly), crontab_cmd=str(crontab))

    lines = stored_crontab(crontab).splitlines()
    assert replaced == 1
    assert lines[:3] == ["MAILTO=ops@example.com", "# backups", "0 3 * * * /usr/local/bin/backup"]
    assert lines[3] == crontab_line(other).strip()
    assert lines[4] == crontab_line(hourly).strip()
    assert len(lines) == 5


def test_install_cron_rejects_line_without_marker(crontab):
    with pytest.raises(ScheduleError) as raised:
        install_cron("0 2 * * 0 vtune retrain", crontab_cmd=str(crontab))

    assert "marker" in str(raised.value)
    assert not (crontab.parent / "crontab.txt").exists()


def test_install_cron_missing_command(context, tmp_path):
    missing = tmp_path / "no-such-crontab"

    with pytest.raises(ScheduleError) as raised:
        install_cron(crontab_line(context), crontab_cmd=str(missing))

    message = str(raised.value)
    assert str(missing) in message
    assert "without --install" in message


def test_install_cron_read_failure(context, tmp_path):
    crontab = write_script(tmp_path / "broken" / "crontab", "#!/bin/sh\necho 'permission denied' >&2\nexit 1\n")

    with pytest.raises(ScheduleError) as raised:
        install_cron(crontab_line(context), crontab_cmd=str(crontab))

    message = str(raised.value)
    assert "read the crontab" in message
    assert "permission denied" in message


def test_install_cron_write_failure(context, tmp_path):
    script = '#!/bin/sh\nif [ "$1" = -l ]; then exit 0; fi\necho "bad minute" >&2\nexit 1\n'
    crontab = write_script(tmp_path / "rejecting" / "crontab", script)

    with pytest.raises(ScheduleError) as raised:
        install_cron(crontab_line(context), crontab_cmd=str(crontab))

    message = str(raised.value)
    assert "write the crontab" in message
    assert "bad minute" in message
    assert "exited with code 1" in message


def test_install_systemd_enables_timer(context, systemctl, tmp_path):
    files = render_schedule(context, ["systemd"])
    service, timer = files.values()
    unit_dir = tmp_path / "units"

    written = install_systemd(context.job_name, service, timer, unit_dir=unit_dir, systemctl=str(systemctl))

    assert written == [unit_dir / f"{context.job_name}.service", unit_dir / f"{context.job_name}.timer"]
    assert written[0].read_text("utf-8") == service
    assert written[1].read_text("utf-8") == timer
    calls = (systemctl.parent / "calls.txt").read_text("utf-8").splitlines()
    assert calls == ["--user daemon-reload", f"--user enable --now {context.job_name}.timer"]


def test_install_systemd_twice_overwrites(context, systemctl, tmp_path):
    service, timer = render_schedule(context, ["systemd"]).values()
    unit_dir = tmp_path / "units"
    install_systemd(context.job_name, "old", "old", unit_dir=unit_dir, systemctl=str(systemctl))

    install_systemd(context.job_name, service, timer, unit_dir=unit_dir, systemctl=str(systemctl))

    assert sorted(path.name for path in unit_dir.iterdir()) == [
        f"{context.job_name}.service",
        f"{context.job_name}.timer",
    ]
    assert (unit_dir / f"{context.job_name}.timer").read_text("utf-8") == timer


def test_install_systemd_failure_names_fix(context, systemctl, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_SYSTEMCTL_EXIT", "1")
    service, timer = render_schedule(context, ["systemd"]).values()

    with pytest.raises(ScheduleError) as raised:
        install_systemd(context.job_name, service, timer, unit_dir=tmp_path / "units", systemctl=str(systemctl))

    message = str(raised.value)
    assert "daemon-reload" in message
    assert "Failed to connect to bus" in message
    assert "systemctl --user status" in message
    assert "--target cron" in message


def test_install_systemd_missing_systemctl(context, tmp_path):
    service, timer = render_schedule(context, ["systemd"]).values()
    missing = tmp_path / "no-systemctl"

    with pytest.raises(ScheduleError) as raised:
        install_systemd(context.job_name, service, timer, unit_dir=tmp_path / "units", systemctl=str(missing))

    message = str(raised.value)
    assert str(missing) in message
    assert "--target cron" in message


def test_write_files_replaces_existing(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.txt").write_text("old", encoding="utf-8")

    written = write_files({"a.txt": "new", "b.txt": "b"}, tmp_path / "out")

    assert written == [tmp_path / "out" / "a.txt", tmp_path / "out" / "b.txt"]
    assert (tmp_path / "out" / "a.txt").read_text("utf-8") == "new"
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["a.txt", "b.txt"]


def test_write_files_into_file_fails(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")

    with pytest.raises(ScheduleError) as raised:
        write_files({"a.txt": "x"}, blocker / "out")

    assert "--output" in str(raised.value)

"""Fixtures: a project folder with a space in its name, a fake `vtune` that prints how it
was called, and stand-ins for `crontab` and `systemctl` that keep tests off the real ones."""

import os

import pytest

from vertical_tune.schedule.render import schedule_context

FAKE_VTUNE = """#!/bin/sh
# Stands in for `vtune`: prints its arguments and folder, exits with $FAKE_VTUNE_EXIT.
echo "args: $*"
echo "cwd: $(pwd)"
echo "a diagnostic line" >&2
exit "${FAKE_VTUNE_EXIT:-0}"
"""


def write_script(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def fake_vtune(tmp_path):
    return write_script(tmp_path / "bin" / "vtune", FAKE_VTUNE)


@pytest.fixture
def project_dir(tmp_path):
    directory = tmp_path / "Finance Project"
    directory.mkdir()
    (directory / "vtune.yaml").write_text("industry: finance\n", encoding="utf-8")
    return directory


@pytest.fixture
def context(project_dir, fake_vtune):
    return schedule_context(
        project_dir / "vtune.yaml",
        "0 2 * * 0",
        image="registry.example.com/vtune:1",
        volume_claim="finance-data",
        vtune_command=[str(fake_vtune)],
    )


@pytest.fixture(autouse=True)
def block_real_schedulers(tmp_path_factory, monkeypatch):
    """Make `crontab` and `systemctl` on PATH fail, and move the user unit folder, so no test edits the real ones."""
    blocked = tmp_path_factory.mktemp("blocked-commands")
    for name in ("crontab", "systemctl"):
        write_script(blocked / name, f"#!/bin/sh\necho 'the real {name} is blocked in tests' >&2\nexit 99\n")
    monkeypatch.setenv("PATH", f"{blocked}:{os.environ['PATH']}")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config-home")))

"""Run directories and registries for the registry tests; no model is trained."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vertical_tune.config.schema import VTuneConfig
from vertical_tune.registry import Registry
from vertical_tune.run_directory import write_config, write_json

REPOSITORY = Path(__file__).resolve().parents[2]
MODEL_BYTES = 4096


def make_run(directory, *, macro_f1=0.8, train_rows=40):
    """Write a run directory with every required file; `model.keras` is dummy bytes."""
    directory = Path(directory)
    directory.mkdir(parents=True)
    write_config(directory / "config.yaml", VTuneConfig(industry="finance"))
    write_json(directory / "label_map.json", {"raw_values": ["neg", "pos"], "names": ["neg", "pos"]})
    (directory / "model.keras").write_bytes(os.urandom(MODEL_BYTES))
    write_json(
        directory / "metrics.json",
        {
            "training": {"selection_metric": "macro_f1"},
            "validation": {"macro_f1": macro_f1, "accuracy": 0.9},
            "data": {"train": {"rows": train_rows}},
        },
    )
    (directory / "report.md").write_text("# report\n", encoding="utf-8")
    return directory


@pytest.fixture
def run_factory(tmp_path):
    """Return a function that writes a fresh run directory, e.g. `run_factory(macro_f1=0.9)`."""
    counter = iter(range(1, 10_000))

    def factory(**kwargs):
        return make_run(tmp_path / "runs" / f"run{next(counter)}", **kwargs)

    return factory


@pytest.fixture
def registry(tmp_path):
    return Registry(tmp_path / "registry")


def run_script(source, *args, timeout=60):
    """Run Python `source` in a subprocess with `args` as sys.argv[1:]; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-c", source, *map(str, args)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )


def start_script(source, *args):
    """Start Python `source` in a subprocess, stdout piped; return the Popen."""
    return subprocess.Popen(
        [sys.executable, "-c", source, *map(str, args)],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )


def assert_consistent(registry):
    """Assert that every version's folder is complete and every alias points at a version."""
    versions = {info.version: info for info in registry.versions()}
    for info in versions.values():
        for name in ("config.yaml", "label_map.json", "metrics.json", "report.md"):
            assert (info.path / name).is_file(), f"{info.name} lacks {name}"
        assert (info.path / "model.keras").stat().st_size == MODEL_BYTES, f"{info.name} has a partial model"
    for alias, version in registry.aliases().items():
        assert version in versions, f"alias {alias} points at missing v{version}"
    assert sorted(versions) == list(range(1, len(versions) + 1))

"""`vtune compress` through the real entry point: exit codes, messages and the run it writes."""

import json

import pytest

from tests.cli.test_cli import run_cli


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory, so no ./vtune.yaml is picked up."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_compress_writes_run(capsys, trained_run, workdir):
    _, run_dir = trained_run
    code, out, err = run_cli(capsys, "compress", run_dir, "--method", "int8", "--quiet")
    target = run_dir.parent / f"{run_dir.name}-int8"
    assert code == 0, err
    assert f"Run written to {target}" in " ".join(out.split())
    metrics = json.loads((target / "metrics.json").read_text())
    assert [row["stage"] for row in metrics["compression"]["stages"]] == ["original", "int8"]
    assert metrics["compression"]["size_ratio"] < 1.0


def test_compress_rejects_sparsity(capsys, trained_run, workdir):
    _, run_dir = trained_run
    code, _, err = run_cli(capsys, "compress", run_dir, "--method", "prune", "--sparsity", 1.5)
    assert code == 2
    assert "`compression.sparsity`" in err
    assert "command line" in err
    assert "Received: 1.5" in err


def test_compress_rejects_unknown_method(capsys, trained_run, workdir):
    _, run_dir = trained_run
    code, _, err = run_cli(capsys, "compress", run_dir, "--method", "int4")
    assert code == 2
    assert "int4" in err
    assert not (run_dir.parent / f"{run_dir.name}-int4").exists()


def test_compress_missing_run(capsys, workdir):
    code, _, err = run_cli(capsys, "compress", workdir / "nowhere", "--method", "int8")
    assert code == 2
    assert "Run directory not found" in err

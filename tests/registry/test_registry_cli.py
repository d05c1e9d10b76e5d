"""`vtune registry` through the real entry point: output, JSON and exit codes."""

import json

import pytest

from tests.helpers import run_cli
from tests.registry.conftest import make_run
from vertical_tune.registry import Registry



@pytest.fixture
def filled(tmp_path):
    """A registry with v1 (champion) and v2, and one retrain decision."""
    registry = Registry(tmp_path / "registry")
    registry.register(make_run(tmp_path / "run1", macro_f1=0.81), note="first [baseline]")
    registry.register(make_run(tmp_path / "run2", macro_f1=0.86, train_rows=55), data_fingerprint="abc")
    registry.promote(1, reason="initial")
    registry.record_decision({"promoted": False, "reason": "margin not met", "challenger": {"macro_f1": 0.86}})
    return registry


def test_registry_help_lists_commands(capsys):
    code, out, _ = run_cli(capsys, "registry", "--help")
    assert code == 0
    for command in ("list", "show", "register", "promote", "rollback", "decisions", "gc"):
        assert command in out


def test_list_table(capsys, filled):
    code, out, _ = run_cli(capsys, "registry", "list", "--registry", filled.path)
    assert code == 0
    lines = out.splitlines()
    first = next(line for line in lines if " v1 " in line)
    second = next(line for line in lines if " v2 " in line)
    assert "champion" in first
    assert "macro_f1 0.8100" in first
    assert "40" in first
    assert "first [baseline]" in first
    assert "macro_f1 0.8600" in second
    assert "55" in second


def test_list_json(capsys, filled):
    code, out, _ = run_cli(capsys, "registry", "list", "--registry", filled.path, "--json")
    assert code == 0
    data = json.loads(out)
    assert [item["version"] for item in data] == [1, 2]
    assert data[0]["aliases"] == ["champion"]
    assert data[1]["selection_value"] == 0.86
    assert data[1]["train_rows"] == 55
    assert data[1]["data_fingerprint"] == "abc"


def test_list_empty_registry(capsys, tmp_path):
    Registry(tmp_path / "registry")
    code, out, _ = run_cli(capsys, "registry", "list", "--registry", tmp_path / "registry")
    assert code == 0
    assert "no versions yet" in out


def test_show_alias(capsys, filled):
    code, out, _ = run_cli(capsys, "registry", "show", "champion", "--registry", filled.path)
    assert code == 0
    assert "v1" in out
    assert str(filled.models_dir / "v1") in out
    assert "validation macro_f1" in out
    assert "source_run" in out


def test_show_json(capsys, filled):
    code, out, _ = run_cli(capsys, "registry", "show", "v2", "--registry", filled.path, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["version"] == 2
    assert data["path"] == str(filled.models_dir / "v2")
    assert data["config"]["industry"] == "finance"
    assert data["metrics"]["validation"]["macro_f1"] == 0.86


def test_show_unknown_version(capsys, filled):
    code, out, err = run_cli(capsys, "registry", "show", "v9", "--registry", filled.path)
    assert code == 2
    assert out == ""
    assert "Version v9 not found" in err
    assert "vtune registry list" in err


def test_promote_then_rollback(capsys, filled):
    code, out, _ = run_cli(capsys, "registry", "promote", "v2", "--reason", "better", "--registry", filled.path)
    assert code == 0
    assert "champion -> v2 (was v1)" in out
    assert filled.alias_history("champion")[-1].reason == "better"

    code, out, _ = run_cli(capsys, "registry", "rollback", "--registry", filled.path, "--json")
    assert code == 0
    assert json.loads(out)["version"] == 1
    assert filled.aliases() == {"champion": 1}


def test_promote_other_alias(capsys, filled):
    code, out, _ = run_cli(capsys, "registry", "promote", "2", "--alias", "challenger", "--registry", filled.path)
    assert code == 0
    assert "challenger -> v2 (was none)" in out
    assert filled.aliases() == {"challenger": 2, "champion": 1}


def test_promote_invalid_alias(capsys, filled):
    code, _, err = run_cli(capsys, "registry", "promote", "2", "--alias", "bad name", "--registry", filled.path)
    assert code == 2
    assert "Invalid alias name" in err
    assert filled.aliases() == {"champion": 1}


def test_rollback_without_history(capsys, filled):
    code, _, err = run_cli(capsys, "registry", "rollback", "--registry", filled.path)
    assert code == 2
    assert "no earlier version" in err
    assert "vtune registry promote VERSION --alias champion" in err


def test_decisions(capsys, filled):
    filled.record_decision({"promoted": True, "reason": "beats champion"})
    code, out, _ = run_cli(capsys, "registry", "decisions", "--limit", "1", "--registry", filled.path)
    assert code == 0
    assert "beats champion" in out
    assert "margin not met" not in out

    code, out, _ = run_cli(capsys, "registry", "decisions", "--registry", filled.path, "--json")
    data = json.loads(out)
    assert [item["record"]["reason"] for item in data] == ["beats champion", "margin not met"]
    assert data[1]["record"]["challenger"] == {"macro_f1": 0.86}


def test_gc_command(capsys, filled):
    (filled.models_dir / "v7").mkdir()
    code, out, _ = run_cli(capsys, "registry", "gc", "--registry", filled.path, "--json")
    assert code == 0
    assert json.loads(out) == {"removed": [str(filled.models_dir / "v7")]}


def test_registry_from_config(capsys, filled, tmp_path):
    config = tmp_path / "project" / "vtune.yaml"
    config.parent.mkdir()
    config.write_text("industry: finance\nregistry:\n  path: ../registry\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "registry", "list", "--config", config, "--json")
    assert code == 0
    assert [item["version"] for item in json.loads(out)] == [1, 2]


def test_registry_from_default_config(capsys, filled, tmp_path, monkeypatch):
    (tmp_path / "vtune.yaml").write_text("registry:\n  path: registry\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "registry", "show", "champion", "--json")
    assert code == 0
    assert json.loads(out)["version"] == 1


def test_registry_option_wins_over_config(capsys, filled, tmp_path):
    config = tmp_path / "vtune.yaml"
    config.write_text("registry:\n  path: elsewhere\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "registry", "list", "--config", config, "--registry", filled.path, "--json")
    assert code == 0
    assert len(json.loads(out)) == 2


def test_missing_registry_is_not_created(capsys, tmp_path):
    code, _, err = run_cli(capsys, "registry", "list", "--registry", tmp_path / "none")
    assert code == 2
    assert "No model registry found" in err
    assert not (tmp_path / "none").exists()


def test_no_registry_given(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "registry", "list")
    assert code == 2
    assert "No registry given" in err
    assert "--registry PATH" in err


def test_register_creates_registry(capsys, tmp_path):
    run = make_run(tmp_path / "run", macro_f1=0.8)
    train = tmp_path / "train.csv"
    train.write_text("text,label\ngood,positive\n", encoding="utf-8")
    config = (run / "config.yaml").read_text(encoding="utf-8")
    (run / "config.yaml").write_text(config.replace("train: null", f"train: {train}"), encoding="utf-8")
    code, out, err = run_cli(
        capsys, "registry", "register", run, "--registry", tmp_path / "new", "--alias", "champion", "--json"
    )
    assert code == 0, err
    info = json.loads(out)
    assert info["version"] == 1
    assert info["aliases"] == ["champion"]
    assert info["data_fingerprint"]["train"]["sha256"] is not None
    assert info["data_fingerprint"]["train"]["rows"] == 40


def test_register_incomplete_run_fails(capsys, tmp_path):
    (tmp_path / "half").mkdir()
    code, _, err = run_cli(capsys, "registry", "register", tmp_path / "half", "--registry", tmp_path / "reg")
    assert code == 2
    assert "incomplete" in err

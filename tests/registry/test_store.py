"""`Registry` through its public API: versions, aliases, records and clean-up."""

import os
import sqlite3
import subprocess
import sys

import pytest

from tests.registry.conftest import assert_consistent, make_run
from vertical_tune.errors import RegistryError, RunError
from vertical_tune.registry import Registry
from vertical_tune.registry import artefacts


def test_open_missing_registry_raises(tmp_path):
    with pytest.raises(RegistryError) as error:
        Registry.open(tmp_path / "nowhere")
    message = str(error.value)
    assert "No model registry found" in message
    assert str(tmp_path / "nowhere") in message
    assert "Fix:" in message
    assert not (tmp_path / "nowhere").exists()


def test_open_with_create(tmp_path):
    registry = Registry.open(tmp_path / "new", create=True)
    assert registry.database_path.is_file()
    assert Registry.open(tmp_path / "new").versions() == []


def test_database_uses_wal(registry):
    connection = sqlite3.connect(registry.database_path)
    mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    connection.close()
    assert mode == "wal"


def test_register_copies_run(registry, run_factory):
    run = run_factory()
    info = registry.register(run, data_fingerprint="sha256:abc", lineage={"job": "j1"}, note="first")
    assert info.version == 1
    assert info.name == "v1"
    assert info.path == registry.models_dir / "v1"
    assert (info.path / "model.keras").read_bytes() == (run / "model.keras").read_bytes()
    assert info.config["industry"] == "finance"
    assert info.metrics["validation"]["macro_f1"] == 0.8
    assert info.data_fingerprint == "sha256:abc"
    assert info.lineage == {"source_run": str(run.resolve()), "job": "j1"}
    assert info.note == "first"
    assert info.aliases == []
    assert info.created_at.endswith("+00:00")
    assert info.selection == ("macro_f1", 0.8)
    assert info.train_rows == 40


def test_register_numbers_versions(registry, run_factory):
    numbers = [registry.register(run_factory()).version for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert [info.version for info in registry.versions()] == [1, 2, 3]


def test_register_explicit_metrics(registry, run_factory):
    info = registry.register(run_factory(), metrics={"validation": {"macro_f1": 0.5}})
    assert info.metrics == {"validation": {"macro_f1": 0.5}}


def test_register_lineage_overrides_source(registry, run_factory):
    info = registry.register(run_factory(), lineage={"source_run": "elsewhere", "parent": 3})
    assert info.lineage == {"source_run": "elsewhere", "parent": 3}


def test_register_incomplete_run_raises(registry, run_factory):
    run = run_factory()
    (run / "model.keras").unlink()
    with pytest.raises(RunError, match="model.keras"):
        registry.register(run)
    assert registry.versions() == []
    assert list(registry.models_dir.iterdir()) == []


def test_register_run_containing_registry(run_factory):
    run = run_factory()
    registry = Registry(run / "registry")
    with pytest.raises(RegistryError, match="inside the run directory"):
        registry.register(run)
    assert registry.versions() == []


def test_register_invalid_metrics_json(registry, run_factory):
    run = run_factory()
    (run / "metrics.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(RegistryError) as error:
        registry.register(run)
    assert "metrics.json is not valid JSON" in str(error.value)
    assert "metrics=" in str(error.value)
    assert registry.versions() == []


def test_register_without_metrics_file(registry, run_factory):
    run = run_factory()
    (run / "metrics.json").unlink()
    info = registry.register(run)
    assert info.metrics == {}
    assert info.selection == ("macro_f1", None)


def test_register_numpy_metrics(registry, run_factory):
    numpy = pytest.importorskip("numpy")
    info = registry.register(run_factory(), metrics={"validation": {"macro_f1": numpy.float32(0.5)}})
    assert info.metrics["validation"]["macro_f1"] == 0.5


def test_get_accepts_reference_forms(registry, run_factory):
    registry.register(run_factory())
    registry.register(run_factory())
    registry.set_alias("challenger", 2)
    assert registry.get(2).version == 2
    assert registry.get("2").version == 2
    assert registry.get("v2").version == 2
    assert registry.get("challenger").version == 2
    assert registry.get(2).aliases == ["challenger"]


def test_get_unknown_version_names_value_and_fix(registry, run_factory):
    registry.register(run_factory())
    with pytest.raises(RegistryError) as error:
        registry.get("v7")
    message = str(error.value)
    assert "Version v7 not found" in message
    assert "'v7'" in message
    assert "from v1 to v1" in message
    assert "vtune registry list" in message


def test_get_unknown_alias_lists_known(registry, run_factory):
    registry.register(run_factory())
    registry.promote(1)
    with pytest.raises(RegistryError) as error:
        registry.get("champoin")
    message = str(error.value)
    assert "Alias 'champoin' not found" in message
    assert "champion" in message
    assert "Fix:" in message


def test_get_on_empty_registry(registry):
    with pytest.raises(RegistryError, match="registry is empty"):
        registry.get(1)


@pytest.mark.parametrize("alias", ["", "v3", "12", "-x", "has space", "dot.name", "a" * 65, "ü", "champion\n"])
def test_set_alias_rejects_invalid_name(registry, run_factory, alias):
    registry.register(run_factory())
    with pytest.raises(RegistryError) as error:
        registry.set_alias(alias, 1)
    assert "Invalid alias name" in str(error.value)
    assert "starting with a letter" in str(error.value)
    assert registry.aliases() == {}


@pytest.mark.parametrize("alias", ["champion", "challenger", "staging-eu", "A_1"])
def test_set_alias_accepts_valid_name(registry, run_factory, alias):
    registry.register(run_factory())
    change = registry.set_alias(alias, "v1", reason="test")
    assert change.alias == alias
    assert change.version == 1
    assert change.previous is None
    assert registry.aliases() == {alias: 1}


def test_set_alias_to_another_alias(registry, run_factory):
    registry.register(run_factory())
    registry.promote(1)
    registry.set_alias("backup", "champion")
    assert registry.aliases() == {"backup": 1, "champion": 1}


def test_promote_moves_champion(registry, run_factory):
    for _ in range(2):
        registry.register(run_factory())
    registry.promote(1)
    change = registry.promote("v2", reason="better macro_f1")
    assert change.previous == 1
    assert change.version == 2
    assert registry.get("champion").version == 2
    assert registry.get(1).aliases == []
    history = registry.alias_history("champion")
    assert [(item.previous, item.version) for item in history] == [(None, 1), (1, 2)]
    assert history[-1].reason == "better macro_f1"


def test_promote_unknown_version_keeps_alias(registry, run_factory):
    registry.register(run_factory())
    registry.promote(1)
    with pytest.raises(RegistryError, match="v5 not found"):
        registry.promote(5)
    assert registry.aliases() == {"champion": 1}


def test_promote_incomplete_folder_raises(registry, run_factory):
    for _ in range(2):
        registry.register(run_factory())
    registry.promote(1)
    (registry.get(2).path / "model.keras").unlink()
    with pytest.raises(RegistryError) as error:
        registry.promote(2)
    assert "v2 is incomplete" in str(error.value)
    assert "model.keras" in str(error.value)
    assert registry.aliases() == {"champion": 1}


def test_promote_truncated_file_raises(registry, run_factory):
    registry.register(run_factory())
    (registry.get(1).path / "model.keras").write_bytes(b"short")
    with pytest.raises(RegistryError, match="registered 4096"):
        registry.promote(1)


def test_rollback_walks_back(registry, run_factory):
    for _ in range(3):
        registry.register(run_factory())
    for version in (1, 2, 3):
        registry.promote(version)
    change = registry.rollback(reason="complaints")
    assert (change.previous, change.version, change.action) == (3, 2, "rollback")
    assert registry.rollback().version == 1
    with pytest.raises(RegistryError, match="no earlier version"):
        registry.rollback()
    assert registry.get("champion").version == 1


def test_rollback_after_new_promotion(registry, run_factory):
    for _ in range(3):
        registry.register(run_factory())
    registry.promote(1)
    registry.promote(2)
    registry.rollback()
    registry.promote(3)
    assert registry.rollback().version == 1


def test_rollback_without_history_raises(registry, run_factory):
    registry.register(run_factory())
    registry.promote(1)
    with pytest.raises(RegistryError) as error:
        registry.rollback()
    message = str(error.value)
    assert "Alias 'champion' has no earlier version" in message
    assert "champion -> v1" in message
    assert "vtune registry promote VERSION --alias champion" in message


def test_rollback_unknown_alias_raises(registry, run_factory):
    registry.register(run_factory())
    with pytest.raises(RegistryError, match="Alias 'champion' not found"):
        registry.rollback()


def test_rollback_other_alias_leaves_champion(registry, run_factory):
    for _ in range(2):
        registry.register(run_factory())
    registry.promote(1)
    registry.set_alias("challenger", 1)
    registry.set_alias("challenger", 2)
    assert registry.rollback(alias="challenger").version == 1
    assert registry.aliases() == {"challenger": 1, "champion": 1}


def test_decisions_newest_first(registry):
    first = registry.record_decision({"promoted": False, "reason": "below floor"})
    second = registry.record_decision({"promoted": True, "challenger": {"macro_f1": 0.9}})
    assert second == first + 1
    decisions = registry.decisions()
    assert [item["id"] for item in decisions] == [second, first]
    assert decisions[1]["record"] == {"promoted": False, "reason": "below floor"}
    assert decisions[0]["created_at"].endswith("+00:00")
    assert [item["id"] for item in registry.decisions(limit=1)] == [second]


def test_decision_must_be_dict(registry):
    with pytest.raises(RegistryError, match="must be a dict"):
        registry.record_decision(["promoted"])


def test_seen_files_keep_first_entry(registry):
    files = [{"path": "in/a.csv", "sha256": "aa", "rows": 10}, {"path": "in/b.csv", "sha256": "bb", "rows": 5}]
    assert registry.mark_seen(files, job="job-1") == 2
    again = [{"path": "in/a-copy.csv", "sha256": "aa", "rows": 10}, {"path": "in/c.csv", "sha256": "cc", "rows": 1}]
    assert registry.mark_seen(again, job="job-2") == 1
    seen = registry.seen_files()
    assert set(seen) == {"aa", "bb", "cc"}
    assert seen["aa"]["path"] == "in/a.csv"
    assert seen["aa"]["job"] == "job-1"
    assert seen["cc"]["job"] == "job-2"
    assert seen["bb"]["rows"] == 5


def test_mark_seen_is_all_or_nothing(registry):
    files = [{"path": "in/a.csv", "sha256": "aa", "rows": 10}, {"path": "in/b.csv", "rows": 5}]
    with pytest.raises(RegistryError, match="sha256"):
        registry.mark_seen(files, job="job-1")
    assert registry.seen_files() == {}


def test_gc_keeps_referenced_and_foreign(registry, run_factory):
    registry.register(run_factory())
    (registry.models_dir / "README.txt").write_text("kept", encoding="utf-8")
    assert registry.gc() == []
    assert (registry.models_dir / "v1").is_dir()
    assert (registry.models_dir / "README.txt").is_file()


def test_gc_removes_orphans_and_dead_staging(registry, run_factory):
    registry.register(run_factory())
    run = run_factory()
    orphan = registry.models_dir / "v9"
    orphan.mkdir()
    live = artefacts.copy_to_staging(run, registry.models_dir)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    dead = live.with_name(live.name.replace(f"-{os.getpid()}-", f"-{dead_pid}-"))
    artefacts.copy_to_staging(run, registry.models_dir).rename(dead)

    removed = registry.gc()

    assert sorted(removed) == sorted([orphan, dead])
    assert live.is_dir()
    assert (registry.models_dir / "v1").is_dir()
    assert_consistent(registry)


def test_registry_path_is_file_raises(tmp_path):
    path = tmp_path / "file"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(RegistryError, match="is a file, not a folder"):
        Registry(path)


def test_damaged_database_raises(tmp_path):
    (tmp_path / "reg").mkdir()
    (tmp_path / "reg" / "registry.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(RegistryError, match="damaged or is not a vertical_tune registry"):
        Registry.open(tmp_path / "reg")


def test_newer_schema_raises(registry):
    connection = sqlite3.connect(registry.database_path)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    with pytest.raises(RegistryError, match="newer vertical_tune"):
        Registry.open(registry.path)


def test_registry_reopens_existing(tmp_path):
    run = make_run(tmp_path / "run")
    Registry(tmp_path / "reg").register(run)
    assert [info.version for info in Registry.open(tmp_path / "reg").versions()] == [1]

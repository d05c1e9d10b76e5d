"""`vtune retrain` end to end on the tiny backbone: first model, nothing to do, gate, lock."""

import json

import pytest
import yaml

from tests.helpers import run_cli
from tests.helpers import TINY_TRAINING, sentiment_frame
from vertical_tune.registry import Registry
from vertical_tune.retrain.exit_codes import RetrainExit
from vertical_tune.retrain.lock import ProjectLock


def write_project(root, preset, **retrain):
    sentiment_frame(20, seed=0).to_csv(root / "train.csv", index=False)
    sentiment_frame(6, seed=1).to_csv(root / "validation.csv", index=False)
    (root / "incoming").mkdir(exist_ok=True)
    config = {
        "industry": "finance",
        "task": {"labels": "from_data"},
        "data": {"train": "train.csv", "validation": "validation.csv"},
        "backbone": {"preset": preset, "sequence_length": 16},
        "normalization": {"profile": "general"},
        "training": {**TINY_TRAINING, "epochs": 3},
        "output": {"run_dir": "runs/latest", "compare_baseline": False},
        # The preset's floor (the TF-IDF baseline on real tweets) is not for this toy task.
        "retrain": {"incoming": "incoming", **retrain, "gate": {"floors": {"macro_f1": 0.0}, **retrain.get("gate", {})}},
    }
    (root / "vtune.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return root / "vtune.yaml"


def retrain(capsys, config, *extra):
    return run_cli(capsys, "retrain", "--config", config, "--json", *extra)


def decisions(root):
    lines = (root / "logs" / "decisions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_retrain_promote_skip_reject(capsys, tiny_preset, tmp_path):
    config = write_project(tmp_path, tiny_preset, gate={"margin": 0.5})
    code, out, err = retrain(capsys, config)
    assert code == RetrainExit.PROMOTED, err
    record = json.loads(out.strip().splitlines()[-1])
    assert record["outcome"] == "promoted"
    assert record["challenger"]["version"] == 1
    registry = Registry(tmp_path / "registry")
    assert registry.aliases()["champion"] == 1
    assert (registry.get("champion").path / "retrain" / "decision.json").is_file()
    assert "Promoted v1" in (tmp_path / "logs" / "retrain.log").read_text(encoding="utf-8")
    assert not list((tmp_path / "runs").glob("retrain-*")), "the local challenger copy is removed"

    code, out, _ = retrain(capsys, config)
    assert code == RetrainExit.NOTHING_TO_DO
    assert json.loads(out)["outcome"] == "nothing_to_do"

    # New rows arrive; the margin of 0.5 cannot be met, so the champion stays.
    sentiment_frame(5, seed=7).to_csv(tmp_path / "incoming" / "week-2.csv", index=False)
    code, out, err = retrain(capsys, config)
    assert code == RetrainExit.KEPT_CHAMPION, err
    record = json.loads(out.strip().splitlines()[-1])
    assert record["outcome"] == "kept_champion"
    assert not record["gate"]["promote"]
    assert any("margin" in reason for reason in record["gate"]["reasons"])
    assert record["data"]["rows"]["evaluation_new"] == 3  # 20% of 15 new rows
    assert registry.aliases() == {"champion": 1, "challenger": 2}
    assert [d["outcome"] for d in decisions(tmp_path)] == ["promoted", "nothing_to_do", "kept_champion"]
    assert [d["record"]["outcome"] for d in registry.decisions()] == ["kept_champion", "promoted"]

    # The files were used: the next run has nothing to do.
    code, _, _ = retrain(capsys, config)
    assert code == RetrainExit.NOTHING_TO_DO


def test_retrain_locked_exits_at_once(capsys, tiny_preset, tmp_path):
    config = write_project(tmp_path, tiny_preset)
    with ProjectLock(tmp_path / "registry" / "retrain.lock"):
        code, _, err = retrain(capsys, config)
    assert code == RetrainExit.LOCKED
    assert "Another retrain job holds the lock" in err
    assert "--wait" in err


def test_stale_lock_is_cleared(tmp_path, caplog):
    lock = tmp_path / "retrain.lock"
    # The note a killed holder leaves behind; the OS released its flock.
    (tmp_path / "retrain.lock.json").write_text(json.dumps({"pid": 999999, "host": "h", "started": "t"}))
    with ProjectLock(lock) as held:
        assert held.stale["pid"] == 999999
    assert "stale retrain lock" in caplog.text
    assert not (tmp_path / "retrain.lock.json").exists()


def test_retrain_missing_evaluation_file(capsys, tiny_preset, tmp_path):
    config = write_project(tmp_path, tiny_preset)
    data = yaml.safe_load(config.read_text())
    data["data"].pop("validation")
    config.write_text(yaml.safe_dump(data))
    code, _, err = retrain(capsys, config)
    assert code == RetrainExit.BAD_INPUT
    assert "retrain.evaluation" in err


def test_retrain_refuses_multi_worker(capsys, tiny_preset, tmp_path):
    config = write_project(tmp_path, tiny_preset)
    code, _, err = retrain(capsys, config, "--set", "distribution.strategy=multi_worker")
    assert code == RetrainExit.BAD_INPUT
    assert "distribution.strategy" in err
    assert "vtune registry register" in err
    assert not (tmp_path / "registry").exists() or not list((tmp_path / "registry").glob("v*"))


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the job handles it."""


def test_retrain_resume_after_kill(capsys, tiny_preset, tmp_path, monkeypatch):
    from vertical_tune.finetuner import FineTuner

    config = write_project(tmp_path, tiny_preset)
    original_save = FineTuner.save

    def die(*args, **kwargs):
        raise Killed()

    # Killed after training, before the run is saved: the checkpoint is marked "finished".
    monkeypatch.setattr(FineTuner, "save", die)
    with pytest.raises(Killed):
        retrain(capsys, config)
    job = json.loads((tmp_path / "registry" / "retrain-job.json").read_text())
    assert job["stage"] == "training"
    assert (tmp_path / "runs" / f"retrain-{job['job']}.checkpoint" / "state.json").is_file()

    # Killed while promoting: the challenger is registered, the champion alias unset.
    monkeypatch.setattr(FineTuner, "save", original_save)
    monkeypatch.setattr(Registry, "promote", die)
    with pytest.raises(Killed):
        retrain(capsys, config, "--resume")
    registry = Registry(tmp_path / "registry")
    assert "champion" not in registry.aliases()
    assert json.loads((tmp_path / "registry" / "retrain-job.json").read_text())["stage"] == "registered"

    monkeypatch.undo()
    code, out, err = retrain(capsys, config, "--resume")
    assert code == RetrainExit.PROMOTED, err
    assert registry.aliases()["champion"] == 1
    assert len(registry.versions()) == 1, "the resumed job registers its challenger once"
    assert not (tmp_path / "registry" / "retrain-job.json").exists()


def test_retrain_without_resume_restarts(capsys, tiny_preset, tmp_path, monkeypatch, caplog):
    from vertical_tune.finetuner import FineTuner

    config = write_project(tmp_path, tiny_preset)

    def die(*args, **kwargs):
        raise Killed()

    monkeypatch.setattr(FineTuner, "save", die)
    with pytest.raises(Killed):
        retrain(capsys, config)
    first = json.loads((tmp_path / "registry" / "retrain-job.json").read_text())["job"]
    monkeypatch.undo()
    code, out, _ = retrain(capsys, config)
    assert code == RetrainExit.PROMOTED
    assert json.loads(out.strip().splitlines()[-1])["job"] != first
    assert not (tmp_path / "runs" / f"retrain-{first}.checkpoint").exists()


def test_retrain_first_model_below_floor(capsys, tiny_preset, tmp_path):
    config = write_project(tmp_path, tiny_preset, gate={"floors": {"macro_f1": 0.9}})
    # Labels shuffled against the texts: no model can reach the floor.
    frame = sentiment_frame(20, seed=0)
    frame["label"] = frame["label"].sample(frac=1.0, random_state=3).to_numpy()
    frame.to_csv(tmp_path / "train.csv", index=False)
    code, out, err = retrain(capsys, config)
    assert code == RetrainExit.KEPT_CHAMPION, err
    record = json.loads(out.strip().splitlines()[-1])
    assert any("floor" in reason for reason in record["gate"]["reasons"])
    registry = Registry(tmp_path / "registry")
    assert "champion" not in registry.aliases()
    assert registry.aliases()["challenger"] == 1


def test_retrain_resume_registers_once(capsys, tiny_preset, tmp_path, monkeypatch):
    from vertical_tune.retrain.job_state import JobState

    config = write_project(tmp_path, tiny_preset)
    original_update = JobState.update

    def die_before_note(self, **values):
        if values.get("stage") == "registered":
            raise Killed()  # the version is committed, the note still reads "training"
        return original_update(self, **values)

    monkeypatch.setattr(JobState, "update", die_before_note)
    with pytest.raises(Killed):
        retrain(capsys, config)
    monkeypatch.undo()
    code, _, err = retrain(capsys, config, "--resume")
    assert code == RetrainExit.PROMOTED, err
    assert [v.version for v in Registry(tmp_path / "registry").versions()] == [1]


def test_retrain_resume_after_files_marked(capsys, tiny_preset, tmp_path, monkeypatch):
    config = write_project(tmp_path, tiny_preset)
    original_mark_seen = Registry.mark_seen

    def mark_then_die(self, *args, **kwargs):
        original_mark_seen(self, *args, **kwargs)
        raise Killed()

    monkeypatch.setattr(Registry, "mark_seen", mark_then_die)
    with pytest.raises(Killed):
        retrain(capsys, config)
    monkeypatch.undo()
    # The files are marked as used, yet the interrupted job must still record its decision.
    code, out, err = retrain(capsys, config, "--resume")
    assert code == RetrainExit.PROMOTED, err
    assert [d["outcome"] for d in decisions(tmp_path)] == ["promoted"]
    assert len(Registry(tmp_path / "registry").decisions()) == 1

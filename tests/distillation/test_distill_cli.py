"""`vtune distill` through the real entry point: exit codes, messages and the student run it writes."""

import json

import pytest

from tests.cli.test_cli import run_cli
from tests.helpers import sentiment_frame

UNLABELLED_ROWS = 6


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory, so no ./vtune.yaml is picked up."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_distill_writes_student_run(capsys, teacher_run, workdir):
    _, run_dir = teacher_run
    train, unlabelled = workdir / "train.csv", workdir / "unlabelled.csv"
    sentiment_frame(16, seed=3).to_csv(train, index=False)
    sentiment_frame(2, seed=4)[["text"]].to_csv(unlabelled, index=False)

    options = ["--train", train, "--unlabelled", unlabelled, "--student-layers", 1, "--epochs", 1, "--quiet"]
    code, out, err = run_cli(capsys, "distill", "--teacher", run_dir, *options)
    student_dir = run_dir.parent / f"{run_dir.name}-student"
    assert code == 0, err
    assert f"Run written to {student_dir}" in " ".join(out.split())
    assert (student_dir / "model.keras").is_file()

    metrics = json.loads((student_dir / "metrics.json").read_text())
    assert metrics["distillation"]["student_layers"] == 1
    assert metrics["distillation"]["teacher_layers_kept"] == [2]
    assert metrics["data"]["train"]["unlabelled_texts"] == UNLABELLED_ROWS
    history = json.loads((student_dir / "history.json").read_text())
    assert len(history["val_agreement"]) == 1


def test_distill_rejects_alpha(capsys, teacher_run, workdir):
    _, run_dir = teacher_run
    code, out, err = run_cli(capsys, "distill", "--teacher", run_dir, "--alpha", 2)
    assert code == 2
    assert "`distillation.alpha`" in err
    assert "command line" in err
    assert "Received: 2.0" in err


def test_distill_rejects_two_students(capsys, teacher_run, workdir):
    _, run_dir = teacher_run
    code, _, err = run_cli(capsys, "distill", "--teacher", run_dir, "--student", "some/preset", "--student-layers", 1)
    assert code == 2
    assert "either `student`" in err


def test_distill_needs_teacher(capsys, workdir):
    code, out, err = run_cli(capsys, "distill", "--student-layers", 1)
    assert code == 2
    assert "No teacher run given" in err
    assert "--teacher RUN" in err
    assert out == ""


def test_distill_missing_teacher_run(capsys, workdir):
    code, _, err = run_cli(capsys, "distill", "--teacher", workdir / "no_such_run")
    assert code == 2
    assert "no_such_run" in err


def test_cli_student_replaces_config_student_layers(capsys, teacher_run, workdir):
    _, run_dir = teacher_run
    (workdir / "vtune.yaml").write_text(
        f"industry: finance\ntask:\n  labels: from_data\ndistillation:\n  teacher: {run_dir}\n  student_layers: 1\n",
        encoding="utf-8",
    )

    # No training data is set, so the run stops there: after the config was accepted.
    code, _, err = run_cli(capsys, "distill", "--student", str(workdir / "no-such-backbone"))

    assert code == 2
    assert "either `student`" not in err
    assert "No train data given" in err

"""The `vtune` command with a multi-task config: init, train, evaluate, predict, presets."""

import json

import pandas as pd
import pytest
import yaml

from tests.helpers import run_cli
from vertical_tune.cli.main import main
from vertical_tune.config.schema import VTuneConfig
from vertical_tune.project.init import project_config

RETAIL_TASKS = ["rating", "recommended", "department"]



@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project rendered by `vtune init --industry retail --multitask`."""
    directory = tmp_path_factory.mktemp("shop")
    try:
        main(["init", "--industry", "retail", "--multitask", str(directory)])
    except SystemExit as exit_:
        assert exit_.code in (None, 0)
    return directory


@pytest.fixture(scope="module")
def small_validation(project):
    """A 24-row validation file with the four most common departments only."""
    path = project / "data" / "validation_small.csv"
    frame = pd.read_csv(project / "data" / "validation.csv", dtype=str, keep_default_na=False)
    common = frame[frame["Department Name"].isin(["Tops", "Dresses", "Bottoms", "Intimate"])]
    common.head(24).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained_run(project, small_validation, tiny_preset):
    """The rendered project trained for one epoch on the tiny backbone through `vtune train`."""
    run_dir = project / "runs" / "tiny"
    try:
        main(
            [
                "train", "--config", str(project / "vtune.yaml"), "--backbone", tiny_preset,
                "--epochs", "1", "--max-train-rows", "60", "--run-dir", str(run_dir), "--quiet",
                "--set", "backbone.sequence_length=16",
                "--set", "training.batch_size=30",
                # 60 sampled rows need not contain every department of the validation file.
                "--set", f"data.validation={small_validation}",
            ]
        )
    except SystemExit as exit_:
        assert exit_.code in (None, 0)
    return run_dir


def test_init_multitask_renders_three_tasks(project):
    config = yaml.safe_load((project / "vtune.yaml").read_text(encoding="utf-8"))

    assert [task["name"] for task in config["tasks"]] == RETAIL_TASKS
    assert config["multitask"]["selection"] == "mean"
    assert "vtune init --industry retail --multitask" in (project / "vtune.yaml").read_text(encoding="utf-8")
    assert (project / "data" / "train.csv").is_file()


def test_init_multitask_config_round_trips(project):
    loaded = VTuneConfig.model_validate(yaml.safe_load((project / "vtune.yaml").read_text(encoding="utf-8")))

    assert loaded == project_config("retail", "multitask")


def test_init_multitask_without_matching_sample_data(capsys, tmp_path):
    code, _, err = run_cli(capsys, "init", "--industry", "medical", "--multitask", tmp_path / "clinic")

    assert code == 2
    assert "'medical/multitask'" in err
    assert "'benefitsReview'" in err
    assert "'effectiveness'" in err
    assert not (tmp_path / "clinic" / "vtune.yaml").exists()


def test_presets_list_shows_variants(capsys):
    code, out, _ = run_cli(capsys, "presets", "list")

    assert code == 0
    assert "retail/multitask" in out
    assert "medical/multitask" in out
    assert "mean of the tasks" in out


def test_presets_show_variant_prints_file(capsys):
    code, out, _ = run_cli(capsys, "presets", "show", "retail/multitask")

    assert code == 0
    assert "variants:" in out


def test_train_writes_multitask_run(trained_run):
    metrics = json.loads((trained_run / "metrics.json").read_text(encoding="utf-8"))

    assert list(metrics["validation"]["tasks"]) == RETAIL_TASKS
    assert metrics["data"]["train"]["rows"] == 60
    assert metrics["training"]["epochs_run"] == 1
    assert metrics["training"]["selection"] == "mean"
    assert set(metrics["baseline_tfidf_logreg"]) == set(RETAIL_TASKS)
    assert (trained_run / "model.keras").is_file()


def test_train_unknown_selection_task(capsys, project):
    code, _, err = run_cli(capsys, "train", "--config", project / "vtune.yaml", "--set", "multitask.selection=price")

    assert code == 2
    assert "'price'" in err
    assert "rating, recommended, department" in err


def test_evaluate_reports_every_task(capsys, trained_run, small_validation):
    code, out, _ = run_cli(capsys, "evaluate", trained_run, "--data", small_validation, "--json")

    report = json.loads(out)
    assert code == 0
    assert list(report["tasks"]) == RETAIL_TASKS
    assert report["tasks"]["department"]["metrics"]["n_examples"] == 24
    assert (trained_run / "evaluations" / "validation_small" / "metrics.json").is_file()


def test_predict_writes_task_columns(capsys, trained_run, small_validation, tmp_path):
    output = tmp_path / "predictions.csv"

    code, _, err = run_cli(
        capsys, "predict", trained_run, "--input", small_validation, "--output", output, "--keep-columns", "Clothing ID"
    )

    predictions = pd.read_csv(output, dtype=str, keep_default_na=False)
    source = pd.read_csv(small_validation, dtype=str, keep_default_na=False)
    assert code == 0, err
    assert list(predictions.columns[:6]) == ["row", "Clothing ID", "text", "rating_true", "recommended_true", "department_true"]
    for task in RETAIL_TASKS:
        assert f"{task}_label" in predictions.columns
        assert f"{task}_confidence" in predictions.columns
    assert len(predictions) == len(source)
    assert list(predictions["recommended_true"]) == [
        {"0": "not_recommended", "1": "recommended"}[value] for value in source["Recommended IND"]
    ]
    assert list(predictions["department_true"]) == list(source["Department Name"])
    assert set(predictions["recommended_label"]) <= {"not_recommended", "recommended"}


def test_predict_without_label_columns(capsys, trained_run, tmp_path):
    pd.DataFrame({"Review Text": ["Lovely dress", ""]}).to_csv(tmp_path / "new.csv", index=False)
    output = tmp_path / "out.jsonl"

    code, _, err = run_cli(capsys, "predict", trained_run, "--input", tmp_path / "new.csv", "--output", output)

    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert code == 0, err
    assert not any(key.endswith("_true") for key in records[0])
    assert records[0]["rating_label"] in {"1", "2", "3", "4", "5"}
    assert records[1]["rating_label"] == ""

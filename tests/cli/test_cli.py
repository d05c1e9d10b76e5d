"""The `vtune` command through its real entry point, output and exit codes asserted."""

import json

import pandas as pd
import pytest

from tests.helpers import run_cli, sentiment_frame
from vertical_tune.cli.main import main



@pytest.fixture(scope="module")
def project(tiny_preset, tmp_path_factory):
    """A finance project on the tiny backbone with its synthetic data, trained once via the CLI."""
    directory = tmp_path_factory.mktemp("project")
    sentiment_frame(40, seed=0).to_csv(directory / "train.csv", index=False)
    sentiment_frame(10, seed=1).to_csv(directory / "validation.csv", index=False)
    config = directory / "vtune.yaml"
    config.write_text(
        "industry: finance\n"
        "task:\n  labels: from_data\n"
        "data:\n  train: train.csv\n  validation: validation.csv\n"
        f"backbone:\n  preset: {tiny_preset}\n  sequence_length: 16\n"
        "normalization:\n  profile: general\n"
        "training:\n  epochs: 2\n  batch_size: 16\n  learning_rate: 0.005\n"
        "output:\n  run_dir: runs/tiny\n",
        encoding="utf-8",
    )
    return directory


@pytest.fixture(scope="module")
def trained_run(project):
    pytest.MonkeyPatch().chdir(project)
    code = None
    try:
        main(["train", "--config", str(project / "vtune.yaml"), "--quiet"])
    except SystemExit as exit_:
        code = exit_.code
    assert code in (None, 0)
    return project / "runs" / "tiny"


def test_help_lists_commands(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for command in ("init", "train", "evaluate", "predict", "config", "presets"):
        assert command in out


def test_train_help_comes_from_config_descriptions(capsys):
    code, out, _ = run_cli(capsys, "train", "--help")
    text = " ".join(out.replace("│", " ").split())
    assert code == 0
    assert "Number of passes over the training data" in text
    assert "(config key: training.epochs)" in text


def test_init_renders_project(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "init", "--industry", "retail", tmp_path / "shop")
    assert code == 0
    assert (tmp_path / "shop" / "vtune.yaml").is_file()
    assert "vtune train --config vtune.yaml" in out


def test_init_refuses_to_overwrite(capsys, tmp_path):
    run_cli(capsys, "init", "--industry", "finance", tmp_path)
    code, _, err = run_cli(capsys, "init", "--industry", "finance", tmp_path)
    assert code == 2
    assert "vtune.yaml" in err
    assert "--force" in err
    code, _, _ = run_cli(capsys, "init", "--industry", "finance", tmp_path, "--force")
    assert code == 0


def test_init_unknown_industry(capsys, tmp_path):
    code, _, err = run_cli(capsys, "init", "--industry", "insurance", tmp_path)
    assert code == 2
    assert "finance, medical, retail" in err
    assert not any(tmp_path.iterdir())


def test_config_show_applies_overrides(capsys):
    code, out, _ = run_cli(capsys, "config", "show", "--preset", "medical", "--set", "training.epochs=9", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["training"]["epochs"] == 9
    assert data["normalization"]["profile"] == "medical"


def test_config_show_unknown_key(capsys):
    code, _, err = run_cli(capsys, "config", "show", "--preset", "finance", "--set", "training.epoch=2")
    assert code == 2
    assert "Did you mean `training.epochs`?" in err


def test_config_keys_lists_every_key(capsys):
    code, out, _ = run_cli(capsys, "config", "keys", "--json")
    keys = {row["key"] for row in json.loads(out)}
    assert code == 0
    assert {"training.epochs", "backbone.preset", "data.encoding", "normalization.profile"} <= keys


def test_presets_list_and_show(capsys):
    code, out, _ = run_cli(capsys, "presets", "list")
    assert code == 0
    for name in ("finance", "medical", "retail"):
        assert name in out
    code, out, _ = run_cli(capsys, "presets", "show", "medical")
    assert code == 0
    assert "macro_recall" in out


def test_presets_show_unknown(capsys):
    code, _, err = run_cli(capsys, "presets", "show", "legal")
    assert code == 2
    assert "vtune presets list" in err


def test_train_json_lines(capsys, project, tmp_path):
    code, out, _ = run_cli(
        capsys, "train", "--config", project / "vtune.yaml", "--epochs", "1", "--run-dir", tmp_path / "run", "--json"
    )
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert records[0]["event"] == "epoch_end"
    assert "val_macro_f1" in records[0]
    assert records[-1]["event"] == "done"
    assert records[-1]["run_dir"] == str(tmp_path / "run")


def test_train_cli_paths_relative_to_cwd(capsys, project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.csv").write_text((project / "train.csv").read_text())
    code, out, err = run_cli(
        capsys, "train", "--config", project / "vtune.yaml", "--train", "mine.csv", "--epochs", "1",
        "--run-dir", "here", "--quiet",
    )
    assert code == 0, err
    assert (tmp_path / "here" / "model.keras").is_file()
    assert "Validation macro_f1:" in out


def test_train_writes_run(trained_run):
    assert (trained_run / "model.keras").is_file()
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["training"]["epochs_run"] == 2
    html = (trained_run / "report" / "report.html").read_text(encoding="utf-8")
    assert 'id="roc-pr"' in html
    card = (trained_run / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Intended use" in card
    assert "MIT (per its Hugging Face dataset card)" in card
    assert "95% interval" in card


def test_train_missing_column_is_clear(capsys, project):
    code, _, err = run_cli(
        capsys, "train", "--config", project / "vtune.yaml", "--set", "task.text_column=body", "--quiet"
    )
    assert code == 2
    assert "'body'" in err
    assert "task.text_column" in err
    assert "train.csv" in err


def test_evaluate_prints_json(capsys, trained_run, project):
    code, out, _ = run_cli(capsys, "evaluate", trained_run, "--data", project / "validation.csv", "--json")
    assert code == 0
    metrics = json.loads(out)
    assert metrics["n_examples"] == 30
    evaluation = trained_run / "evaluations" / "validation"
    assert (evaluation / "metrics.json").is_file()
    html = (evaluation / "report" / "report.html").read_text(encoding="utf-8")
    assert "Evaluated on" in html
    assert "validation.csv" in html
    assert html.count("data:image/png;base64,") >= 5
    assert (evaluation / "report" / "figures" / "confusion_matrix.png").is_file()


def test_evaluate_missing_run(capsys, tmp_path):
    code, _, err = run_cli(capsys, "evaluate", tmp_path / "nope", "--data", "x.csv")
    assert code == 2
    assert "Run directory not found" in err


def test_predict_writes_one_row_per_input(capsys, trained_run, project, tmp_path):
    frame = pd.DataFrame({"id": ["a7", "b8", "c9"], "body": ["good great", "", "bad poor loss"], "label": ["positive", "neutral", "x"]})
    frame.to_csv(tmp_path / "new.csv", index=False)
    output = tmp_path / "predictions.csv"
    code, _, err = run_cli(
        capsys, "predict", trained_run, "--input", tmp_path / "new.csv", "--output", output,
        "--batch-size", 2, "--text-column", "body", "--keep-columns", "id",
    )
    assert code == 0
    predictions = pd.read_csv(output, keep_default_na=False, dtype=str)
    assert list(predictions.columns[:5]) == ["row", "id", "text", "true_label", "label"]
    assert list(predictions["row"]) == ["0", "1", "2"]
    assert list(predictions["id"]) == ["a7", "b8", "c9"]
    assert list(predictions["true_label"]) == ["positive", "neutral", "x"]
    assert predictions.loc[1, "label"] == ""
    assert predictions.loc[1, "confidence"] == ""
    assert {"prob_negative", "prob_neutral", "prob_positive", "confidence"} <= set(predictions.columns)


def test_predict_true_label_uses_label_names(capsys, trained_run, tmp_path):
    from vertical_tune import load

    tuner = load(trained_run)
    assert tuner.labels.names == ["negative", "neutral", "positive"]
    frame = pd.DataFrame({"text": ["good"], "label": [" positive "]})
    frame.to_csv(tmp_path / "in.csv", index=False)
    code, _, _ = run_cli(capsys, "predict", trained_run, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.jsonl")
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert code == 0
    assert records[0]["true_label"] == "positive"


def test_predict_empty_input_writes_header(capsys, trained_run, tmp_path):
    (tmp_path / "empty.csv").write_text("text\n")
    code, _, _ = run_cli(capsys, "predict", trained_run, "--input", tmp_path / "empty.csv", "--output", tmp_path / "out.csv")
    assert code == 0
    assert (tmp_path / "out.csv").read_text().startswith("text,label,confidence")


def test_predict_refuses_to_overwrite_input(capsys, trained_run, project, tmp_path):
    path = tmp_path / "same.csv"
    pd.DataFrame({"text": ["good"]}).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "predict", trained_run, "--input", path, "--output", path)
    assert code == 2
    assert "overwrite the input" in err
    assert path.read_text() == "text\ngood\n"


def test_predict_unknown_text_column(capsys, trained_run, project, tmp_path):
    code, _, err = run_cli(
        capsys, "predict", trained_run, "--input", project / "validation.csv", "--output", tmp_path / "o.csv",
        "--text-column", "body",
    )
    assert code == 2
    assert "'body'" in err
    assert "validation.csv" in err


def test_predict_rejects_unknown_output_type(capsys, trained_run, project, tmp_path):
    code, _, err = run_cli(
        capsys, "predict", trained_run, "--input", project / "validation.csv", "--output", tmp_path / "out.xlsx"
    )
    assert code == 2
    assert ".xlsx" in err
    assert not (tmp_path / "out.xlsx").exists()
    assert list(tmp_path.iterdir()) == []


def test_train_hub_backbone_fails_fast(capsys, project, monkeypatch):
    monkeypatch.setenv("VTUNE_OFFLINE", "1")
    code, _, err = run_cli(
        capsys, "train", "--config", project / "vtune.yaml", "--backbone", "hf://ProsusAI/finbert", "--quiet"
    )
    assert code == 2
    assert "not reachable" in err
    assert "backbone.preset: DIR" in err

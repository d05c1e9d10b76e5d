"""Tests for `vtune data prepare`."""

import json

import yaml

from tests.helpers import run_cli, sentiment_frame


def _project(tmp_path, tiny_preset):
    sentiment_frame(5, seed=0).to_csv(tmp_path / "train.csv", index=False)
    config = {
        "industry": "finance",
        "task": {"labels": ["negative", "positive", "neutral"]},
        "data": {"train": "train.csv", "validation": "train.csv", "streaming": True},
        "backbone": {"preset": tiny_preset, "sequence_length": 16},
    }
    (tmp_path / "vtune.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return tmp_path


def test_data_prepare_project_folder(tmp_path, tiny_preset, capsys):
    project = _project(tmp_path, tiny_preset)
    code, out, err = run_cli(capsys, "data", "prepare", project, "--output", tmp_path / "prepared", "--shards", 2)
    assert code == 0, err
    assert f"Wrote 15 rows in 2 shards to {tmp_path / 'prepared'}" in out
    assert (tmp_path / "prepared" / "train-00001-of-00002.tfrecord").is_file()


def test_data_prepare_config_file_json(tmp_path, tiny_preset, capsys):
    project = _project(tmp_path, tiny_preset)
    code, out, err = run_cli(
        capsys, "data", "prepare", project / "vtune.yaml", "-o", tmp_path / "prepared", "--json"
    )
    assert code == 0, err
    assert json.loads(out) == {"output": str(tmp_path / "prepared"), "rows": 15, "shards": 4}


def test_data_prepare_source_and_set(tmp_path, tiny_preset, capsys):
    project = _project(tmp_path, tiny_preset)
    sentiment_frame(2, seed=1).to_json(tmp_path / "extra.jsonl", orient="records", lines=True)
    code, out, err = run_cli(
        capsys,
        "data",
        "prepare",
        project,
        "--output",
        tmp_path / "prepared",
        "--source",
        tmp_path / "extra.jsonl",
        "--set",
        "backbone.sequence_length=8",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["rows"] == 6
    manifest = json.loads((tmp_path / "prepared" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sequence_length"] == 8
    assert manifest["sources"][0]["path"] == str(tmp_path / "extra.jsonl")


def test_data_prepare_missing_config(tmp_path, capsys):
    code, _, err = run_cli(capsys, "data", "prepare", tmp_path, "--output", tmp_path / "prepared")
    assert code == 2
    assert "Config file not found" in err
    assert "vtune.yaml" in err


def test_data_prepare_output_exists(tmp_path, tiny_preset, capsys):
    project = _project(tmp_path, tiny_preset)
    (tmp_path / "prepared").mkdir()
    code, _, err = run_cli(capsys, "data", "prepare", project, "--output", tmp_path / "prepared")
    assert code == 2
    assert "already exists" in err


def test_data_prepare_source_no_match(tmp_path, tiny_preset, capsys):
    project = _project(tmp_path, tiny_preset)
    code, _, err = run_cli(
        capsys, "data", "prepare", project, "--output", tmp_path / "prepared", "--source", tmp_path / "none-*.csv"
    )
    assert code == 2
    assert "No file matches" in err
    assert not (tmp_path / "prepared").exists()


def test_data_prepare_zero_shards(tmp_path, tiny_preset, capsys):
    project = _project(tmp_path, tiny_preset)
    code, _, err = run_cli(capsys, "data", "prepare", project, "--output", tmp_path / "prepared", "--shards", 0)
    assert code == 2
    assert "--shards" in err

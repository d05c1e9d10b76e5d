"""`vtune export` through the real entry point: exit codes, messages and the folder it writes."""

import json

from tests.cli.test_cli import run_cli


def test_export_writes_folder(capsys, trained_run, tmp_path):
    target = tmp_path / "exported"

    code, out, err = run_cli(
        capsys, "export", trained_run, "--format", "keras", "--format", "saved_model", "--check-rows", 6,
        "--output", target, "--quiet",
    )

    assert code == 0, err
    assert "saved_model" in out
    assert f"Export written to {target}" in " ".join(out.split())
    manifest = json.loads((target / "export.json").read_text(encoding="utf-8"))
    assert [entry["path"] for entry in manifest["artifacts"]] == ["keras/model.keras", "saved_model"]
    assert manifest["check"]["texts"] == 6
    assert manifest["check"]["source"].endswith("validation.csv")
    assert all(entry["label_agreement"] == 1.0 for entry in manifest["artifacts"])


def test_export_json_output(capsys, trained_run, tmp_path):
    code, out, err = run_cli(
        capsys, "export", trained_run, "--format", "keras", "--check-rows", 0, "--output", tmp_path / "e", "--json"
    )

    assert code == 0, err
    manifest = json.loads(out)
    assert manifest["check"]["texts"] == 0
    assert manifest["artifacts"][0]["label_agreement"] is None


def test_export_rejects_unknown_format(capsys, trained_run, tmp_path):
    code, out, err = run_cli(capsys, "export", trained_run, "--format", "keras,tflite", "--output", tmp_path / "e")

    assert code == 2
    assert "Unknown export format" in err
    assert "'tflite'" in err
    assert "keras, saved_model, litert, onnx" in err
    assert out == ""
    assert not (tmp_path / "e").exists()


def test_export_rejects_run_folder_as_output(capsys, trained_run):
    code, _, err = run_cli(capsys, "export", trained_run, "--format", "keras", "--output", trained_run)

    assert code == 2
    assert "run folder" in err
    assert (trained_run / "model.keras").is_file()


def test_export_missing_run(capsys, tmp_path):
    code, _, err = run_cli(capsys, "export", tmp_path / "no_such_run")

    assert code == 2
    assert "Run directory not found" in err

"""`run_data_fingerprint`: what a run was trained and validated on, as the report and registry show it."""

import json

import yaml

from vertical_tune.retrain.incoming import run_data_fingerprint, sha256_of


def write_run(folder, config_data, summary):
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump({"data": config_data}), encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps({"data": summary}), encoding="utf-8")
    return folder


def test_fingerprint_of_files_has_hash(tmp_path):
    train, validation = tmp_path / "train.csv", tmp_path / "validation.csv"
    train.write_text("text,label\na,x\n", encoding="utf-8")
    validation.write_text("text,label\nb,y\n", encoding="utf-8")
    run = write_run(
        tmp_path / "run",
        {"train": str(train), "validation": str(validation)},
        {"train": {"source": str(train), "rows": 1}, "validation": {"source": str(validation), "rows": 1}},
    )

    fingerprint = run_data_fingerprint(run)

    assert fingerprint["train"] == {"path": str(train), "sha256": sha256_of(train), "rows": 1}
    assert fingerprint["validation"]["sha256"] == sha256_of(validation)


def test_fingerprint_names_split_without_hash(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("text,label\na,x\n", encoding="utf-8")
    run = write_run(
        tmp_path / "run",
        {"train": str(train), "validation": None},
        {"train": {"source": str(train), "rows": 80}, "validation": {"source": str(train), "rows": 20}},
    )

    fingerprint = run_data_fingerprint(run)

    assert fingerprint["validation"] == {"path": f"split of {train}", "sha256": None, "rows": 20}


def test_fingerprint_names_retrain_pool(tmp_path):
    validation = tmp_path / "validation.csv"
    validation.write_text("text,label\nb,y\n", encoding="utf-8")
    run = write_run(
        tmp_path / "run",
        {"train": str(tmp_path / "train.csv"), "validation": str(validation)},
        {
            "train": {"source": "training pool", "rows": 900},
            "validation": {"source": "training pool", "rows": 100},
        },
    )

    fingerprint = run_data_fingerprint(run)

    assert fingerprint["train"] == {"path": "training pool", "sha256": None, "rows": 900}
    assert fingerprint["validation"] == {"path": "split of training pool", "sha256": None, "rows": 100}

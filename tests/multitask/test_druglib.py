"""The `medical/multitask` preset on the Druglib.com drug reviews, with the tiny backbone.

Skipped when the shared data sets are not present.
"""

import pandas as pd
import pytest

from vertical_tune import FineTuner
from vertical_tune.config.loader import load_config
from vertical_tune.data.multitask import load_multitask_texts

REVIEW_FIELDS = ["benefitsReview", "sideEffectsReview", "commentsReview"]


@pytest.fixture
def druglib(shared_datasets):
    folder = shared_datasets / "druglib_reviews"
    if not (folder / "drugLibTrain_raw.tsv").is_file():
        pytest.skip(f"druglib_reviews not found in {shared_datasets}")
    return folder


def read_tsv(path):
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def test_text_joins_three_review_fields(druglib):
    config = load_config(preset="medical/multitask")
    raw = read_tsv(druglib / "drugLibTrain_raw.tsv")

    data = load_multitask_texts(druglib / "drugLibTrain_raw.tsv", text_column=config.task.text_column, tasks=config.tasks)

    assert len(data) == len(raw) == 3107
    for row in (0, 1, 2500):
        fields = [raw.loc[row, field].strip() for field in REVIEW_FIELDS]
        assert data.texts[row] == "\n\n".join(field for field in fields if field), row
    assert data.stratify_column == "effectiveness"


def test_preset_trains_three_tasks(druglib, tiny_preset, tmp_path):
    validation = read_tsv(druglib / "drugLibTest_raw.tsv").head(100)
    tuner = FineTuner.from_preset(
        "medical/multitask",
        data={"train": str(druglib / "drugLibTrain_raw.tsv"), "max_train_rows": 200},
        backbone={"preset": tiny_preset, "sequence_length": 32},
        training={"epochs": 1, "batch_size": 50},
        output={"run_dir": str(tmp_path / "run"), "compare_baseline": False},
    )
    preset = load_config(preset="medical/multitask")

    tuner.fit(validation=validation, verbose=0)

    tasks = tuner.summary()["tasks"]
    assert [(task["name"], task["type"]) for task in tasks] == [
        ("rating", "regression"),
        ("effectiveness", "multiclass"),
        ("side_effects", "multiclass"),
    ]
    assert tasks[0]["labels"] is None
    assert tasks[1]["labels"] == preset.tasks[1].labels
    assert tasks[2]["labels"] == preset.tasks[2].labels
    assert tuner.data_summary["train"]["rows"] == 200
    assert tuner.data_summary["validation"]["rows"] == 100
    report = tuner.validation_report
    assert report["effectiveness"]["n_examples"] == 100
    assert 1.0 <= report["rating"]["mean_true"] <= 10.0
    assert tuner.training_result.selection_metric == "mean"

"""Sample data shipped for `vtune init`: sizes, columns, classes and notices."""

import csv
import importlib.resources
import pathlib

import pandas as pd
import pytest

from vertical_tune.config.presets import load_preset_dict

SAMPLES = {
    "finance": {
        "header": ["text", "label"],
        "rows": {"train": 1200, "validation": 400},
        "license": "MIT",
    },
    "medical": {
        "header": ["condition_label", "medical_abstract"],
        "rows": {"train": 1000, "validation": 300},
        "license": "CC BY-SA 3.0",
    },
    "retail": {
        "header": [
            "",
            "Clothing ID",
            "Age",
            "Title",
            "Review Text",
            "Rating",
            "Recommended IND",
            "Positive Feedback Count",
            "Division Name",
            "Department Name",
            "Class Name",
        ],
        "rows": {"train": 1000, "validation": 300},
        "license": "CC0",
    },
}

CASES = [(industry, split) for industry in SAMPLES for split in ("train", "validation")]


def sample_dir(industry):
    return importlib.resources.files("vertical_tune.templates") / "data" / industry


def read_sample(industry, split):
    with importlib.resources.as_file(sample_dir(industry) / f"{split}.csv") as path:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.mark.parametrize(("industry", "split"), CASES)
def test_sample_header_is_original(industry, split):
    text = (sample_dir(industry) / f"{split}.csv").read_text("utf-8")

    header = next(csv.reader(text.splitlines()))

    assert header == SAMPLES[industry]["header"]


@pytest.mark.parametrize(("industry", "split"), CASES)
def test_sample_row_count(industry, split):
    frame = read_sample(industry, split)

    assert len(frame) == SAMPLES[industry]["rows"][split]


@pytest.mark.parametrize(("industry", "split"), CASES)
def test_sample_has_every_class(industry, split):
    task = load_preset_dict(industry)["task"]
    frame = read_sample(industry, split)

    assert set(frame[task["label_column"]]) == set(task["labels"])


@pytest.mark.parametrize(("industry", "split"), CASES)
def test_sample_texts_not_empty(industry, split):
    task = load_preset_dict(industry)["task"]
    frame = read_sample(industry, split)

    assert (frame[task["text_column"]].str.strip() != "").all()


@pytest.mark.parametrize("industry", SAMPLES)
def test_sample_splits_share_no_text(industry):
    text_column = load_preset_dict(industry)["task"]["text_column"]

    train = set(read_sample(industry, "train")[text_column])
    validation = set(read_sample(industry, "validation")[text_column])

    assert train.isdisjoint(validation)


@pytest.mark.parametrize("industry", SAMPLES)
def test_sample_notice_names_license(industry):
    notice = (sample_dir(industry) / "NOTICE.md").read_text("utf-8")

    assert SAMPLES[industry]["license"] in notice
    assert "ships only this sample" in notice
    assert "tools/make_samples.py" in notice


def test_medical_notice_states_share_alike():
    notice = (sample_dir("medical") / "NOTICE.md").read_text("utf-8")

    assert "same license" in notice
    assert "Schopf" in notice


def test_no_unlicensed_sample_data():
    shipped = sorted(entry.name for entry in (importlib.resources.files("vertical_tune.templates") / "data").iterdir())

    assert shipped == sorted(SAMPLES)


def test_template_files_fit_package_data():
    # setup.py ships templates with the globs "*", "*/*" and "*/*/*", so a file
    # nested deeper would be left out of a wheel.
    templates = pathlib.Path(__file__).resolve().parents[2] / "templates"

    too_deep = [
        path.relative_to(templates).as_posix()
        for path in templates.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and len(path.relative_to(templates).parts) > 3
    ]
    assert too_deep == []

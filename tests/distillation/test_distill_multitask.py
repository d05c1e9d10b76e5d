"""Distilling a multi-task teacher: one soft-target term per task, the same heads on fewer layers."""

import json

import numpy as np
import pandas as pd
import pytest

import vertical_tune
from tests.helpers import save_tiny_bert_preset
from vertical_tune import FineTuner
from vertical_tune.distillation.multitask import TaskDistillation

TASKS = [
    {"name": "rating", "type": "regression", "label_column": "rating"},
    {"name": "sentiment", "type": "multiclass", "label_column": "sentiment"},
    {"name": "tags", "type": "multilabel", "label_column": "tags", "delimiter": "|"},
]


def _frame(rows, seed):
    generator = np.random.default_rng(seed)
    words = {"good": "positive", "bad": "negative", "fine": "neutral"}
    keys = generator.choice(list(words), size=rows)
    return pd.DataFrame(
        {
            "text": [f"this is {key} stuff number {i}" for i, key in enumerate(keys)],
            "rating": [{"good": 5, "bad": 1, "fine": 3}[key] for key in keys],
            # Every other sentiment label is blank, so the task masks those rows.
            "sentiment": [words[key] if i % 2 else "" for i, key in enumerate(keys)],
            "tags": ["short|" + key if i % 3 else key for i, key in enumerate(keys)],
        }
    )


@pytest.fixture(scope="module")
def distilled(tmp_path_factory):
    root = tmp_path_factory.mktemp("multitask_distillation")
    preset = save_tiny_bert_preset(root / "preset", num_layers=3)
    teacher = FineTuner.from_preset(
        "retail",
        task={"text_column": "text"},
        tasks=TASKS,
        backbone={"preset": preset, "sequence_length": 16},
        training={"epochs": 2, "learning_rate": 5e-3, "warmup_ratio": 0.0, "batch_size": 16},
        output={"compare_baseline": False},
    )
    train, validation = _frame(80, 0), _frame(20, 1)
    teacher.fit(train, validation, verbose=0)
    teacher.save(root / "teacher")
    loaded = vertical_tune.load(root / "teacher")
    before = [w.copy() for w in loaded.model.get_weights()]
    pd.DataFrame({"text": ["good stuff again", "bad stuff again"]}).to_csv(root / "unlabelled.csv", index=False)
    student = loaded.distill(
        student_layers=1, train=train, validation=validation, unlabelled=str(root / "unlabelled.csv"), verbose=0
    )
    path = student.save(root / "student")
    return loaded, before, student, path, validation


def test_teacher_weights_unchanged(distilled):
    teacher, before, *_ = distilled

    after = teacher.model.get_weights()

    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_student_keeps_tasks_and_fewer_layers(distilled):
    teacher, _, student, _, _ = distilled

    assert type(student).__name__ == "MultiTaskTuner"
    assert student.model.task_names == teacher.model.task_names
    assert student.model.backbone.get_config()["num_layers"] == 1
    assert student.distillation_summary["teacher_layers_kept"] == [2]


def test_history_logs_losses_and_agreement(distilled):
    history = distilled[2].training_result.history

    for key in ("student_loss", "distillation_loss", "val_selection_score", "val_sentiment_agreement", "val_tags_agreement"):
        assert key in history
    assert "val_rating_agreement" not in history


def test_summary_compares_each_task(distilled):
    summary = distilled[2].distillation_summary

    assert set(summary["student"]["metrics"]) == {"selection_score", "rating.r2", "sentiment.macro_f1", "tags.macro_f1"}
    assert summary["teacher"]["parameters"] > summary["student"]["parameters"]
    assert summary["selection_score_kept"] is not None


def test_saved_student_round_trip(distilled):
    _, _, student, path, _ = distilled

    reloaded = vertical_tune.load(path)
    texts = ["good stuff", "bad stuff"]
    metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))

    pd.testing.assert_frame_equal(student.predict(texts), reloaded.predict(texts), atol=1e-5)
    assert metrics["data"]["train"]["unlabelled_texts"] == 2
    assert "Teacher and student" in (path / "report.md").read_text(encoding="utf-8")


def test_task_distillation_matches_numpy():
    heads = [
        {"name": "c", "type": "multiclass"},
        {"name": "m", "type": "multilabel"},
        {"name": "r", "type": "regression", "std": 2.0},
    ]
    teacher = {"c": np.array([[2.0, 0.0, -1.0]]), "m": np.array([[1.0, -2.0]]), "r": np.array([[3.0]])}
    student = {"c": np.array([[0.5, 0.5, 0.0]]), "m": np.array([[0.0, 1.0]]), "r": np.array([[2.0]])}
    t = 2.0

    loss = TaskDistillation(heads, t)
    terms = [float(loss.task_term(h, teacher[h["name"]], student[h["name"]])) for h in heads]

    def softmax(x):
        e = np.exp(x - x.max())
        return e / e.sum()

    p, q = softmax(teacher["c"][0] / t), softmax(student["c"][0] / t)
    expected_kl = t * t * np.sum(p * np.log(p / q))
    target = 1 / (1 + np.exp(-teacher["m"][0] / t))
    predicted = 1 / (1 + np.exp(-student["m"][0] / t))
    cross = -(target * np.log(predicted) + (1 - target) * np.log(1 - predicted))
    entropy = -(target * np.log(target) + (1 - target) * np.log(1 - target))
    expected_multilabel = t * t * np.mean(cross - entropy)
    expected_regression = ((2.0 - 3.0) / 2.0) ** 2

    assert terms[0] == pytest.approx(expected_kl, rel=1e-4)
    assert terms[1] == pytest.approx(expected_multilabel, rel=1e-3)
    assert terms[2] == pytest.approx(expected_regression, rel=1e-5)


def test_feature_weight_rejected_for_multitask(distilled):
    from vertical_tune.errors import ConfigError

    teacher, *_, validation = distilled

    with pytest.raises(ConfigError, match="distillation.feature_weight"):
        teacher.distill(student_layers=1, feature_weight=1.0, train=validation, validation=validation, verbose=0)

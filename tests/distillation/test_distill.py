"""`FineTuner.distill` end to end on tiny backbones: settings, errors, the frozen teacher, the saved student run."""

import json

import keras
import numpy as np
import pytest

from tests.distillation.test_losses import expected_soft_loss
from tests.helpers import save_tiny_bert_preset, sentiment_frame
from vertical_tune import FineTuner, load
from vertical_tune.config.loader import validate_config
from vertical_tune.distillation.trainer import tokenized_dataset
from vertical_tune.errors import ConfigError

UNLABELLED_ROWS = 9
ROW_KEYS = {"parameters", "size_bytes", "latency_ms_batch_1", "latency_ms_batch_32", "metrics"}


def student_config(teacher, distillation=None, **training):
    """Return the teacher's config with `training` and `distillation` keys replaced, validated."""
    data = teacher.config.model_dump(mode="json")
    data["training"].update(training)
    data["distillation"].update(distillation or {})
    return validate_config(data, source="test student config")


def record_distillers(monkeypatch):
    """Replace `keras.distillation.Distiller` by a subclass that records its instances, and return their list."""
    created = []

    class RecordingDistiller(keras.distillation.Distiller):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            created.append(self)

    monkeypatch.setattr(keras.distillation, "Distiller", RecordingDistiller)
    return created


@pytest.fixture(scope="module")
def distilled(teacher_run, frames, tmp_path_factory):
    """A student on another tiny backbone, with feature distillation and unlabelled texts, saved as a run."""
    teacher, _ = teacher_run
    train, validation = frames
    root = tmp_path_factory.mktemp("distilled")
    student_preset = save_tiny_bert_preset(root / "student_preset", hidden_dim=16, num_layers=1, seed=1)
    unlabelled = root / "unlabelled.csv"
    sentiment_frame(3, seed=2)[["text"]].to_csv(unlabelled, index=False)
    teacher_weights = [weights.copy() for weights in teacher.model.get_weights()]

    with pytest.MonkeyPatch.context() as monkeypatch:
        distillers = record_distillers(monkeypatch)
        student = teacher.distill(
            config=student_config(teacher, epochs=2),
            student=student_preset,
            feature_weight=1.0,
            unlabelled=str(unlabelled),
            train=train,
            validation=validation,
            verbose=0,
        )
    run_dir = student.save(root / "student_run")
    return {
        "teacher": teacher,
        "student": student,
        "student_preset": student_preset,
        "teacher_weights": teacher_weights,
        "distiller": distillers[-1],
        "run_dir": run_dir,
        "validation": validation,
    }


# ---------------------------------------------------------------- settings and errors


@pytest.mark.parametrize(("key", "value"), [("temperature", 0), ("temperature", -1.5), ("alpha", 1.5), ("alpha", -0.1)])
def test_distill_rejects_setting(teacher_run, key, value):
    teacher, _ = teacher_run
    with pytest.raises(ConfigError) as raised:
        teacher.distill(**{key: value})
    message = str(raised.value)
    assert f"`distillation.{key}`" in message
    assert f"Received: {value}" in message


def test_config_rejects_two_students(teacher_run):
    teacher, _ = teacher_run
    with pytest.raises(ConfigError) as raised:
        student_config(teacher, distillation={"student": "some/preset", "student_layers": 1})
    message = str(raised.value)
    assert "`distillation`" in message
    assert "either `student`" in message
    assert "`student_layers`" in message


def test_distill_rejects_two_students(teacher_run):
    teacher, _ = teacher_run
    with pytest.raises(ConfigError) as raised:
        teacher.distill(student="some/preset", student_layers=1)
    assert "either `student`" in str(raised.value)


def test_distill_rejects_unknown_setting(teacher_run):
    teacher, _ = teacher_run
    with pytest.raises(ConfigError) as raised:
        teacher.distill(temprature=3.0)
    message = str(raised.value)
    assert "Unknown config key `distillation.temprature`" in message
    assert "Did you mean `distillation.temperature`?" in message


def capture_student_config(monkeypatch):
    """Make `FineTuner.distill` return the student config it would train with, without training."""
    monkeypatch.setattr("vertical_tune.distillation.distill.distill", lambda teacher, config, **_: config)


def test_distill_argument_replaces_config_student(teacher_run, monkeypatch):
    teacher, _ = teacher_run
    capture_student_config(monkeypatch)
    config = student_config(teacher, distillation={"student_layers": 2})

    resolved = teacher.distill(config=config, student="other/preset", temperature=4.0)
    assert resolved.distillation.student == "other/preset"
    assert resolved.distillation.student_layers is None
    assert resolved.distillation.temperature == 4.0
    assert resolved.backbone.preset == "other/preset"

    resolved = teacher.distill(config=student_config(teacher, distillation={"student": "other/preset"}), student_layers=1)
    assert resolved.distillation.student is None
    assert resolved.distillation.student_layers == 1
    assert resolved.backbone.preset == teacher.config.backbone.preset


def test_config_student_becomes_backbone(teacher_run, monkeypatch):
    teacher, _ = teacher_run
    capture_student_config(monkeypatch)
    resolved = teacher.distill(config=student_config(teacher, distillation={"student": "other/preset"}))
    assert resolved.backbone.preset == "other/preset"


def test_distill_rejects_other_label_set(teacher_run, frames):
    teacher, _ = teacher_run
    train, validation = frames
    config = teacher.config.model_dump(mode="json")
    config["task"]["labels"] = ["bearish", "bullish", "flat"]

    with pytest.raises(ConfigError) as raised:
        teacher.distill(config=validate_config(config), student_layers=1, train=train, validation=validation)
    message = str(raised.value)
    assert "label set differs" in message
    assert "task.labels" in message
    assert "['bearish', 'bullish', 'flat']" in message
    assert "['negative', 'neutral', 'positive']" in message


def test_untrained_teacher_is_error(teacher_run):
    teacher, _ = teacher_run
    with pytest.raises(ConfigError, match="not trained"):
        FineTuner(teacher.config).distill(student_layers=1)


# ---------------------------------------------------------------- the teacher during distillation


def test_teacher_weights_unchanged(distilled):
    after = distilled["teacher"].model.get_weights()
    assert len(after) == len(distilled["teacher_weights"])
    for before, now in zip(distilled["teacher_weights"], after):
        np.testing.assert_array_equal(before, now)


def test_teacher_is_frozen(distilled):
    teacher = distilled["distiller"].teacher
    assert teacher.trainable is False
    assert teacher.trainable_weights == []
    student_weights = {id(weight) for weight in distilled["distiller"].trainable_weights}
    assert not student_weights & {id(weight) for weight in distilled["teacher"].model.weights}


def test_teacher_runs_in_inference_mode(distilled):
    """The soft targets inside the distiller's loss are the teacher's inference-mode logits."""
    teacher, student, distiller = distilled["teacher"], distilled["student"], distilled["distiller"]
    settings = student.config.distillation
    texts = list(distilled["validation"]["text"][:8])
    x = next(iter(tokenized_dataset(texts, None, teacher.model, student.model, batch_size=8)))
    own_inputs = {name[len("teacher_"):]: value for name, value in x.items() if name.startswith("teacher_")}
    inference_logits = teacher.model(own_inputs, training=False).numpy()
    dropout_logits = teacher.model(own_inputs, training=True).numpy()
    # The teacher has dropout, so the check below would see training mode.
    assert not np.allclose(inference_logits, dropout_logits, atol=1e-4)

    # With fixed student logits and the feature term weighted 0, the loss is the soft-target term alone.
    student_logits = np.tile(np.array([[3.0, -2.0, 0.5]], dtype="float32"), (len(texts), 1))
    distiller.distillation_loss_weights = [1.0, 0.0]
    expected = (1 - settings.alpha) * expected_soft_loss(inference_logits, student_logits, settings.temperature)
    with_dropout = (1 - settings.alpha) * expected_soft_loss(dropout_logits, student_logits, settings.temperature)
    assert with_dropout != pytest.approx(expected, rel=1e-4)
    for _ in range(2):
        loss = distiller.compute_loss(x=x, y=None, y_pred=keras.ops.convert_to_tensor(student_logits), training=True)
        assert float(loss) == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------- a student on another backbone


def test_other_backbone_student(distilled):
    student = distilled["student"]
    summary = student.distillation_summary
    assert student.model.backbone.hidden_dim == 16
    assert student.model.backbone.get_config()["num_layers"] == 1
    assert summary["student_backbone"] == distilled["student_preset"]
    assert summary["student_layers"] is None
    assert student.config.backbone.preset == distilled["student_preset"]


def test_feature_projection_to_teacher_width(distilled):
    features = distilled["distiller"].student.get_layer("student_features")
    assert isinstance(features, keras.layers.Dense)
    assert features.units == distilled["teacher"].model.backbone.hidden_dim
    losses = [type(loss).__name__ for loss in distilled["distiller"].distillation_losses]
    assert losses == ["LogitsDistillation", "FeatureDistillation"]


def test_student_predicts_teacher_labels(distilled):
    teacher, student = distilled["teacher"], distilled["student"]
    predictions = student.predict(["good profit today", "bad loss", "the report"])
    assert student.labels.names == teacher.labels.names
    assert set(predictions["label"]) <= set(teacher.labels.names)
    assert [c for c in predictions.columns if c.startswith("prob_")] == [f"prob_{n}" for n in teacher.labels.names]
    np.testing.assert_allclose(predictions.filter(like="prob_").sum(axis=1), 1.0, rtol=1e-5)


# ---------------------------------------------------------------- the saved student run


def test_saved_student_predicts_same(distilled):
    texts = ["good profit today", "bad loss", "the report", "shares rise strong"]
    loaded = load(distilled["run_dir"])
    before = distilled["student"].predict(texts)
    after = loaded.predict(texts)
    assert list(after["label"]) == list(before["label"])
    np.testing.assert_allclose(after.filter(like="prob_").to_numpy(), before.filter(like="prob_").to_numpy(), atol=1e-6)


def test_metrics_compare_teacher_and_student(distilled):
    metrics = json.loads((distilled["run_dir"] / "metrics.json").read_text())
    summary = metrics["distillation"]
    teacher, student = summary["teacher"], summary["student"]
    assert set(teacher) == ROW_KEYS
    assert set(student) == ROW_KEYS
    assert student["parameters"] < teacher["parameters"]
    assert student["size_bytes"] < teacher["size_bytes"]
    for row in (teacher, student):
        assert row["latency_ms_batch_1"] > 0
        assert row["latency_ms_batch_32"] > 0
        assert 0.0 <= row["metrics"]["macro_f1"] <= 1.0
    assert student["metrics"]["macro_f1"] == pytest.approx(metrics["validation"]["macro_f1"])
    assert summary["speedup_batch_32"] == pytest.approx(teacher["latency_ms_batch_32"] / student["latency_ms_batch_32"])


def test_unlabelled_texts_counted(distilled, frames):
    metrics = json.loads((distilled["run_dir"] / "metrics.json").read_text())
    assert metrics["data"]["train"]["unlabelled_texts"] == UNLABELLED_ROWS
    assert metrics["data"]["train"]["rows"] == len(frames[0])


def test_report_has_teacher_and_student_table(distilled):
    report = (distilled["run_dir"] / "report.md").read_text()
    parameters = distilled["student"].distillation_summary["teacher"]["parameters"]
    assert "## Teacher and student" in report
    assert "| | teacher | student |" in report
    assert f"| Parameters | {parameters:,} |" in report
    assert f"backbone `{distilled['student_preset']}`" in report


def test_history_has_distillation_terms(distilled):
    history = json.loads((distilled["run_dir"] / "history.json").read_text())
    for key in ("student_loss", "distillation_loss", "val_agreement", "val_macro_f1"):
        assert len(history[key]) == 2, key
    assert all(0.0 <= value <= 1.0 for value in history["val_agreement"])
    assert all(value > 0.0 for value in history["distillation_loss"])

"""The loss terms of distillation, checked against numpy on fixed logits."""

import keras
import numpy as np
import pytest

from vertical_tune.distillation.trainer import hard_label_loss, soft_target_loss

TEACHER_LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-2.0, 3.0, 0.0], [1.0, 1.0, -4.0]], dtype="float32")
STUDENT_LOGITS = np.array([[1.0, 1.0, 0.0], [0.5, -0.5, 0.0], [0.0, 2.0, 1.0], [-1.0, 2.0, 0.5]], dtype="float32")
LABELS = np.array([0, 2, 1, 0], dtype="int32")


def softmax(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def expected_soft_loss(teacher_logits, student_logits, temperature):
    """T² times the mean over rows of KL(p_teacher || p_student), p = softmax(logits / T)."""
    p_teacher = softmax(np.float64(teacher_logits) / temperature)
    p_student = softmax(np.float64(student_logits) / temperature)
    per_row = (p_teacher * np.log(p_teacher / p_student)).sum(axis=1)
    return temperature**2 * per_row.mean()


def cross_entropy(labels, logits):
    probabilities = softmax(np.float64(logits))
    return -np.log(probabilities[np.arange(len(labels)), labels])


def dense_model(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])


def distiller(teacher, student, alpha, temperature=2.0):
    model = keras.distillation.Distiller(
        teacher=teacher,
        student=student,
        distillation_losses=soft_target_loss(temperature),
        student_loss_weight=alpha,
    )
    model.compile(optimizer="sgd", loss=hard_label_loss)
    return model


@pytest.mark.parametrize("temperature", [1.0, 2.0, 5.0])
def test_soft_target_loss_matches_kl(temperature):
    loss = soft_target_loss(temperature).compute_loss(TEACHER_LOGITS, STUDENT_LOGITS)
    expected = expected_soft_loss(TEACHER_LOGITS, STUDENT_LOGITS, temperature)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_soft_target_loss_zero_for_same_logits():
    loss = soft_target_loss(2.0).compute_loss(TEACHER_LOGITS, TEACHER_LOGITS)
    assert float(loss) == pytest.approx(0.0, abs=1e-6)


def test_hard_label_loss_is_cross_entropy():
    loss = hard_label_loss(LABELS, STUDENT_LOGITS)
    assert float(loss) == pytest.approx(cross_entropy(LABELS, STUDENT_LOGITS).mean(), rel=1e-5)


def test_hard_label_loss_skips_unlabelled_rows():
    labels = np.array([0, -1, 1, -1], dtype="int32")
    labelled = [0, 2]
    loss = hard_label_loss(labels, STUDENT_LOGITS)
    expected = cross_entropy(labels[labelled], STUDENT_LOGITS[labelled]).mean()
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_hard_label_loss_zero_without_labels():
    loss = hard_label_loss(np.full(4, -1, dtype="int32"), STUDENT_LOGITS)
    assert float(loss) == 0.0


def test_distiller_alpha_one_ignores_teacher():
    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2], dtype="int32")
    student = dense_model(seed=0)
    student_logits = student(x)
    hard = float(hard_label_loss(y, student_logits))

    for teacher_seed in (1, 2):
        model = distiller(dense_model(teacher_seed), student, alpha=1.0)
        loss = model.compute_loss(x=x, y=y, y_pred=student_logits)
        assert float(loss) == pytest.approx(hard, rel=1e-6)


def test_distiller_mixes_hard_and_soft_loss():
    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2], dtype="int32")
    teacher, student = dense_model(seed=1), dense_model(seed=0)
    student_logits = student(x)
    hard = cross_entropy(y, student_logits.numpy()).mean()
    soft = expected_soft_loss(teacher(x).numpy(), student_logits.numpy(), 3.0)

    loss = distiller(teacher, student, alpha=0.25, temperature=3.0).compute_loss(x=x, y=y, y_pred=student_logits)
    assert float(loss) == pytest.approx(0.25 * hard + 0.75 * soft, rel=1e-5)

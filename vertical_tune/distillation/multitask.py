"""Distillation of a multi-task teacher: one soft-target term per task, on `keras.distillation`."""

import keras
import numpy as np
from keras import ops

from vertical_tune.distillation.student import shrink_backbone
from vertical_tune.evaluation.task_evaluation import evaluate_tasks, flat_metrics, selection_score, task_predictions
from vertical_tune.modeling.multitask import MultiTaskTextModel, task_loss

SELECTION_LOG = "val_selection_score"


class TaskDistillation(keras.distillation.DistillationLoss):
    """The soft-target loss of a multi-task student: the sum of one term per task.

    - multiclass and binary: KL divergence between the temperature-softened teacher
      and student distributions, times the temperature squared;
    - multilabel: binary cross-entropy of the student's softened logits against the
      teacher's softened probabilities, times the temperature squared;
    - regression: squared error between student and teacher values, in units of the
      training standard deviation.

    Args:
        heads: list of head dicts of the teacher (`MultiTaskTextModel.heads`).
        temperature: float > 0.
    """

    def __init__(self, heads, temperature):
        self.heads = [dict(head) for head in heads]
        self.temperature = float(temperature)

    def validate_outputs(self, teacher_outputs, student_outputs):
        missing = [h["name"] for h in self.heads if h["name"] not in teacher_outputs or h["name"] not in student_outputs]
        if missing:
            raise ValueError(f"teacher and student must both output the tasks {missing}")

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        return ops.sum(ops.stack([self.task_term(h, teacher_outputs[h["name"]], student_outputs[h["name"]]) for h in self.heads]))

    def task_term(self, head, teacher, student):
        """Return the soft-target loss of one task on one batch (a scalar)."""
        teacher = ops.cast(teacher, "float32")
        student = ops.cast(student, "float32")
        t = self.temperature
        if head["type"] == "regression":
            return ops.mean(ops.square((student - teacher) / (head.get("std") or 1.0)))
        if head["type"] == "multilabel":
            target = ops.sigmoid(teacher / t)
            logits = student / t
            cross_entropy = ops.maximum(logits, 0.0) - logits * target + ops.log1p(ops.exp(-ops.abs(logits)))
            entropy = -(target * ops.log(target + 1e-7) + (1.0 - target) * ops.log(1.0 - target + 1e-7))
            # Subtracting the teacher's entropy makes the term 0 when the student matches.
            return ops.mean(cross_entropy - entropy) * t * t
        teacher_log = ops.log_softmax(teacher / t, axis=-1)
        student_log = ops.log_softmax(student / t, axis=-1)
        return ops.mean(ops.sum(ops.exp(teacher_log) * (teacher_log - student_log), axis=-1)) * t * t


def shallow_multitask_student(teacher, keep):
    """Return a multi-task model like the teacher with `keep` transformer layers and its heads' weights."""
    backbone, indices = shrink_backbone(teacher.backbone, keep)
    student = MultiTaskTextModel(backbone, teacher.heads, preprocessor=teacher.preprocessor, compile=False)
    for layer in teacher.layers:
        if layer is not teacher.backbone and layer.weights:
            student.get_layer(layer.name).set_weights(layer.get_weights())
    return student, indices


def hard_losses(heads):
    """Return the masked hard-label loss of each task, keyed by task name."""

    def make(head):
        return lambda y_true, y_pred: task_loss(head, y_true, y_pred)

    return {head["name"]: make(head) for head in heads}


def compile_distiller(distiller, optimizer, heads, jit_compile="auto"):
    """Compile a `Distiller` whose student outputs a dict, with one hard loss per task.

    NOTE: Keras 3.15 stores the compiled loss dict as a tracked dict, and its
    structure check then rejects the plain target dict. The plain dict is put back
    after `compile`; re-check this when upgrading Keras.
    """
    losses = hard_losses(heads)
    distiller.compile(optimizer=optimizer, loss=losses, jit_compile=jit_compile)
    object.__setattr__(distiller, "_student_loss", dict(losses))


def routed_multitask(model, key, input_names):
    """Wrap a multi-task model so it reads its own token ids from the two-model input dict."""
    inputs = {
        f"{part}_{name}": keras.Input(shape=(None,), dtype="int32", name=f"{part}_{name}")
        for part, names in input_names.items()
        for name in names
    }
    outputs = model({name: inputs[f"{key}_{name}"] for name in input_names[key]})
    return keras.Model(inputs, outputs, name=f"{key}_routed")


class MultiTaskStudentValidation(keras.callbacks.Callback):
    """After each epoch, score every task of the student and its agreement with the teacher.

    Logs `val_<task>_<metric>`, `val_selection_score` and `val_<task>_agreement`
    (classification: same class as the teacher; multilabel: same label set;
    regression: not logged).

    Args:
        dataset: batched validation dataset of the two-model inputs.
        targets: list of TaskTarget.
        y_true: dict task name -> encoded validation targets.
        selection: str. `multitask.selection`.
        teacher_predictions: dict task name -> the teacher's `task_predictions`.
    """

    def __init__(self, dataset, targets, y_true, selection, teacher_predictions):
        super().__init__()
        self.dataset = dataset
        self.targets = targets
        self.y_true = y_true
        self.selection = selection
        self.teacher_predictions = teacher_predictions
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        outputs = self.model.predict(self.dataset, verbose=0)
        predictions = {t.name: task_predictions(t, outputs[t.name]) for t in self.targets}
        results = evaluate_tasks(self.targets, self.y_true, predictions)
        score = selection_score(results, self.targets, self.selection)
        agreement = {t.name: agreement_rate(t, predictions[t.name], self.teacher_predictions[t.name]) for t in self.targets}
        self.history.append({"selection": score, "tasks": results, "agreement": agreement})
        if logs is not None:
            logs.update(flat_metrics(results))
            logs[SELECTION_LOG] = score["score"]
            logs.update({f"val_{name}_agreement": value for name, value in agreement.items() if value is not None})


def agreement_rate(target, student, teacher):
    """Share of texts where student and teacher predict the same (None for regression)."""
    if target.type == "regression":
        return None
    if target.type == "multilabel":
        return float(((np.asarray(student) >= 0.5) == (np.asarray(teacher) >= 0.5)).all(axis=1).mean())
    return float((np.asarray(student).argmax(axis=1) == np.asarray(teacher).argmax(axis=1)).mean())


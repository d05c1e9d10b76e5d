"""Distil a multi-task teacher run: the same heads on a smaller backbone, one soft-target term per task."""

import shutil
import tempfile
import time
import weakref

import keras
import numpy as np

from vertical_tune.backbones.resolver import resolve_backbone
from vertical_tune.distillation.distill import compare_models, load_unlabelled
from vertical_tune.distribute.placement import place
from vertical_tune.distillation.multitask import (
    SELECTION_LOG,
    MultiTaskStudentValidation,
    TaskDistillation,
    compile_distiller,
    routed_multitask,
    shallow_multitask_student,
)
from vertical_tune.distillation.trainer import STUDENT_KEY, TEACHER_KEY, input_names, tokenized_dataset
from vertical_tune.errors import ConfigError, format_error
from vertical_tune.modeling.multitask import build_multitask_model
from vertical_tune.training.callbacks import EpochTimer
from vertical_tune.training.optimizer import build_optimizer
from vertical_tune.training.trainer import TrainingResult, selection_callbacks


def distill_multitask(teacher, student_config, *, train=None, validation=None, test=None, verbose=2, json_lines=False, callbacks=()):
    """Train a multi-task student for a multi-task `teacher`; arguments as for `distill`."""
    from vertical_tune.finetuner import FineTuner

    started = time.perf_counter()
    settings = student_config.distillation
    if settings.feature_weight:
        raise ConfigError(
            format_error(
                "Feature distillation is not available for multi-task teachers.",
                where="distillation.feature_weight",
                received=settings.feature_weight,
                expected="0",
                fix="Set distillation.feature_weight to 0; each task still gets its soft-target term.",
            )
        )
    student = FineTuner(student_config)
    student.targets = teacher.targets
    train, validation, test = student._prepare_splits(train, validation, test)
    train_y, val_y = student._encode(train), student._encode(validation)
    texts = list(train.texts)
    unlabelled = load_unlabelled(student, settings.unlabelled) if settings.unlabelled else []
    texts += unlabelled
    train_y = {name: _pad_missing(values, len(unlabelled)) for name, values in train_y.items()}

    student.placement = place(student_config)
    training = student.placement.training
    keras.utils.set_random_seed(training.seed)
    heads = teacher.model.heads
    # The student, the distiller and its optimizer are built in the strategy's scope.
    with student.placement.building() as jit_compile:
        student_model, description = _build_student(teacher, student_config, heads)
        teacher.model.trainable = False
        names = {TEACHER_KEY: input_names(teacher.model), STUDENT_KEY: input_names(student_model)}
        distiller = keras.distillation.Distiller(
            teacher=routed_multitask(teacher.model, TEACHER_KEY, names),
            student=routed_multitask(student_model, STUDENT_KEY, names),
            distillation_losses=[TaskDistillation(heads, settings.temperature)],
            student_loss_weight=settings.alpha,
        )
        steps = -(-len(texts) // training.batch_size)
        compile_distiller(distiller, build_optimizer(training, max(1, steps * training.epochs)), heads, jit_compile=jit_compile)

    batch = training.batch_size
    train_ds = tokenized_dataset(texts, train_y, teacher.model, student_model, batch_size=batch, shuffle=True, seed=training.seed)
    val_ds = tokenized_dataset(validation.texts, None, teacher.model, student_model, batch_size=batch)
    validation_callback = MultiTaskStudentValidation(
        val_ds, teacher.targets, val_y, student_config.multitask.selection, teacher.predict_outputs(validation.texts)
    )
    timer = EpochTimer()
    student._workdir = tempfile.mkdtemp(prefix="vtune-")
    weakref.finalize(student, shutil.rmtree, student._workdir, ignore_errors=True)
    history = distiller.fit(
        train_ds,
        epochs=training.epochs,
        shuffle=False,  # the dataset is already shuffled with the training seed
        callbacks=[timer, validation_callback]
        + selection_callbacks(SELECTION_LOG, "max", training, student._workdir, json_lines)
        + list(callbacks),
        verbose=verbose,
    )

    student.model = student_model
    student.training_result = _result(history.history, validation_callback.history, timer.seconds)
    student.training_result.seconds = time.perf_counter() - started
    student.data_summary = {
        "train": {"source": train.source, "rows": len(train), "unlabelled_texts": len(unlabelled)},
        "validation": {"source": validation.source, "rows": len(validation)},
    }
    student.validation_report = student._report(validation, val_y, title="Validation")
    teacher_report = teacher._report(validation, val_y, title="Teacher")
    if test is not None:
        student.test_report = student.evaluate(test, title="Test")
    student.distillation_summary = compare_models(
        teacher, student, teacher_report, student.validation_report, validation.texts, description, metrics_of=task_metrics
    )
    return student


def task_metrics(report):
    """Return each task's selection metric and the combined score, as flat `task.metric` keys."""
    metrics = {"selection_score": report.selection["value"]}
    for name, entry in report.selection["per_task"].items():
        metrics[f"{name}.{entry['metric']}"] = entry["value"]
    return metrics


def _pad_missing(values, count):
    """Append `count` rows with the missing-label sentinel of the target array's kind."""
    if count == 0:
        return values
    if values.dtype.kind == "i":
        fill = np.full((count,) + values.shape[1:], -1, dtype=values.dtype)
    elif values.ndim == 2:
        fill = np.full((count, values.shape[1]), -1.0, dtype=values.dtype)
    else:
        fill = np.full(count, np.nan, dtype=values.dtype)
    return np.concatenate([values, fill])


def _build_student(teacher, config, heads):
    settings = config.distillation
    if settings.student is not None:
        backbone = resolve_backbone(settings.student, strip_accents=config.backbone.strip_accents)
        model = build_multitask_model(
            backbone, heads, sequence_length=config.backbone.sequence_length, mode=config.training.mode,
            lora_rank=config.training.lora_rank,
        )
        return model, {"student_backbone": settings.student, "student_layers": None, "teacher_layers_kept": None}
    layers = teacher.model.backbone.get_config().get("num_layers")
    keep = settings.student_layers or max(1, (layers or 3) // 3)
    model, indices = shallow_multitask_student(teacher.model, keep)
    return model, {"student_backbone": None, "student_layers": keep, "teacher_layers_kept": indices}


def _result(history, epochs, epoch_seconds):
    scores = [e["selection"]["score"] for e in epochs]
    best = len(scores) - 1 if all(np.isnan(s) for s in scores) else int(np.nanargmax(scores))
    return TrainingResult(
        history={key: [float(v) for v in values] for key, values in history.items()},
        best_epoch=best + 1,
        best_validation=epochs[best],
        epoch_seconds=[float(s) for s in epoch_seconds],
        selection_metric=epochs[best]["selection"]["metric"],
        epochs_run=len(epochs),
    )

"""Distil a fine-tuned teacher run into a student `FineTuner` with `keras.distillation`."""

import logging
import shutil
import tempfile
import time
import weakref

import keras
import numpy as np

from vertical_tune.backbones.resolver import resolve_backbone
from vertical_tune.data.dataset import load_labeled_texts
from vertical_tune.data.labels import FROM_DATA, LabelVocabulary
from vertical_tune.distillation.student import shallow_student
from vertical_tune.distribute.placement import place
from vertical_tune.distillation.trainer import (
    STUDENT_KEY,
    TEACHER_KEY,
    StudentValidation,
    hard_label_loss,
    input_names,
    routed,
    soft_target_loss,
    tokenized_dataset,
)
from vertical_tune.errors import ConfigError, format_error
from vertical_tune.evaluation.latency import latency_per_example, saved_size_bytes
from vertical_tune.modeling.classifier import build_text_classifier, count_parameters
from vertical_tune.training.callbacks import EpochTimer
from vertical_tune.training.optimizer import build_optimizer
from vertical_tune.training.trainer import TrainingResult, selection_callbacks

logger = logging.getLogger(__name__)

# Metrics shown side by side for teacher and student.
COMPARED_METRICS = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1", "roc_auc", "loss")
_LATENCY_TEXTS = 64


def distill(teacher, student_config, *, train=None, validation=None, test=None, verbose=2, json_lines=False, callbacks=()):
    """Train a student for `teacher` and return it as a trained `FineTuner`.

    Args:
        teacher: trained single-task FineTuner (the teacher run).
        student_config: VTuneConfig of the student; its `distillation` block holds
            the settings, and its task and data blocks the data to train on.
        train, validation, test: data as for `FineTuner.fit`.
        verbose, json_lines, callbacks: as for `FineTuner.fit`.

    Returns:
        FineTuner of the student, with `distillation_summary` (teacher vs student).
    """
    from vertical_tune.finetuner import FineTuner, summarise_data

    _check_teacher(teacher)
    if teacher.config.is_multitask:
        from vertical_tune.distillation.distill_multitask import distill_multitask

        return distill_multitask(
            teacher, student_config, train=train, validation=validation, test=test,
            verbose=verbose, json_lines=json_lines, callbacks=callbacks,
        )
    started = time.perf_counter()
    settings = student_config.distillation
    student = FineTuner(student_config)
    student.labels = teacher.labels
    _check_label_set(student_config, teacher.labels)

    train, validation, test = student._prepare_splits(train, validation, test)
    train_y = teacher.labels.encode(train.labels, source=train.source)
    val_y = teacher.labels.encode(validation.labels, source=validation.source)
    train_texts, train_targets = list(train.texts), train_y
    unlabelled_rows = 0
    if settings.unlabelled:
        extra = load_unlabelled(student, settings.unlabelled)
        unlabelled_rows = len(extra)
        train_texts += extra
        train_targets = np.concatenate([train_y, np.full(len(extra), -1, dtype=train_y.dtype)])

    student.placement = place(student_config)
    training = student.placement.training
    keras.utils.set_random_seed(training.seed)
    # The student, the distiller and its optimizer are built in the strategy's scope.
    with student.placement.building() as jit_compile:
        distiller, student_model, description = _build_distiller(teacher, student_config, settings)
        steps = -(-len(train_texts) // training.batch_size)
        distiller.compile(
            optimizer=build_optimizer(training, max(1, steps * training.epochs)),
            loss=hard_label_loss,
            jit_compile=jit_compile,
        )
    teacher_model = teacher.model

    batch = training.batch_size
    train_ds = tokenized_dataset(train_texts, train_targets, teacher_model, student_model, batch_size=batch, shuffle=True, seed=training.seed)
    val_ds = tokenized_dataset(validation.texts, None, teacher_model, student_model, batch_size=batch)
    teacher_probabilities = teacher.predict_proba(validation.texts)
    validation_callback = StudentValidation(val_ds, val_y, teacher.labels.names, teacher_probabilities.argmax(axis=1))
    timer = EpochTimer()
    metric = training.selection_metric
    mode = "min" if metric == "loss" else "max"
    student._workdir = tempfile.mkdtemp(prefix="vtune-")
    weakref.finalize(student, shutil.rmtree, student._workdir, ignore_errors=True)
    history = distiller.fit(
        train_ds,
        epochs=training.epochs,
        shuffle=False,  # the dataset is already shuffled with the training seed
        callbacks=[timer, validation_callback]
        + selection_callbacks(f"val_{metric}", mode, training, student._workdir, json_lines)
        + list(callbacks),
        verbose=verbose,
    )

    student.model = student_model
    student.training_result = _result(history.history, validation_callback.history, timer.seconds, metric)
    student.training_result.seconds = time.perf_counter() - started
    student.data_summary = summarise_data(train, validation, test, teacher.labels)
    student.data_summary["train"]["unlabelled_texts"] = unlabelled_rows
    student.validation_report = student._report(validation.texts, val_y, title="Validation", source=validation.source)
    teacher_report = teacher._report(validation.texts, val_y, title="Teacher", source=validation.source)
    if test is not None:
        student.test_report = student.evaluate(test, title="Test")
    student.distillation_summary = compare_models(
        teacher, student, teacher_report, student.validation_report, validation.texts, description
    )
    return student


def _build_distiller(teacher, student_config, settings):
    """Return (Keras Distiller, student model, student description) for `teacher`."""
    student_model, description = _build_student(teacher, student_config)
    teacher_model = teacher.model
    teacher_model.trainable = False
    teacher_features, student_features = _feature_sizes(teacher_model, student_model)
    projection = teacher_features if settings.feature_weight and student_features != teacher_features else None
    losses = [soft_target_loss(settings.temperature)]
    weights = [1.0]
    if settings.feature_weight:
        losses.append(
            keras.distillation.FeatureDistillation(
                loss="mse", teacher_layer_name=f"{TEACHER_KEY}_features", student_layer_name=f"{STUDENT_KEY}_features"
            )
        )
        weights.append(settings.feature_weight)
    names = {TEACHER_KEY: input_names(teacher_model), STUDENT_KEY: input_names(student_model)}
    distiller = keras.distillation.Distiller(
        teacher=routed(teacher_model, TEACHER_KEY, names),
        student=routed(student_model, STUDENT_KEY, names, feature_projection=projection),
        distillation_losses=losses,
        distillation_loss_weights=weights,
        student_loss_weight=settings.alpha,
    )
    return distiller, student_model, description


def compare_models(teacher, student, teacher_report, student_report, texts, description, *, metrics_of=None):
    """Return teacher vs student: parameters, size on disk, latency at batch 1 and 32, metrics.

    `metrics_of(report)` picks the compared metrics from a report; by default the
    classification metrics in `COMPARED_METRICS`.
    """
    metrics_of = metrics_of or (lambda report: {name: report[name] for name in COMPARED_METRICS})
    sample = list(texts[:_LATENCY_TEXTS])
    models = {"teacher": teacher.model, "student": student.model}
    batch_1 = latency_per_example(models, sample, batch_size=1, repeats=30)
    batch_32 = latency_per_example(models, sample, batch_size=32, repeats=7)
    rows = {}
    for role, tuner, report in (("teacher", teacher, teacher_report), ("student", student, student_report)):
        _, total = count_parameters(tuner.model)
        rows[role] = {
            "parameters": total,
            "size_bytes": saved_size_bytes(tuner.model),
            "latency_ms_batch_1": 1000 * batch_1[role],
            "latency_ms_batch_32": 1000 * batch_32[role],
            "metrics": metrics_of(report),
        }
    teacher_row, student_row = rows["teacher"], rows["student"]
    summary = {
        **description,
        "teacher": teacher_row,
        "student": student_row,
        "speedup_batch_1": teacher_row["latency_ms_batch_1"] / student_row["latency_ms_batch_1"],
        "speedup_batch_32": teacher_row["latency_ms_batch_32"] / student_row["latency_ms_batch_32"],
    }
    for name in ("macro_f1", "selection_score"):
        if name in teacher_row["metrics"]:
            summary[f"{name}_kept"] = _ratio(student_row["metrics"][name], teacher_row["metrics"][name])
    return summary


def _ratio(part, whole):
    return part / whole if whole else None


def _build_student(teacher, config):
    settings = config.distillation
    training = config.training
    if settings.student is not None:
        backbone = resolve_backbone(settings.student, strip_accents=config.backbone.strip_accents)
        model = build_text_classifier(
            backbone,
            num_classes=teacher.labels.num_classes,
            sequence_length=config.backbone.sequence_length,
            dropout=training.dropout,
            mode=training.mode,
            lora_rank=training.lora_rank,
        )
        return model, {"student_backbone": settings.student, "student_layers": None, "teacher_layers_kept": None}
    teacher_layers = teacher.model.backbone.get_config().get("num_layers")
    keep = settings.student_layers or max(1, (teacher_layers or 3) // 3)
    model, indices = shallow_student(teacher.model, keep, dropout=training.dropout)
    return model, {"student_backbone": None, "student_layers": keep, "teacher_layers_kept": indices}


def _feature_sizes(teacher_model, student_model):
    return teacher_model.backbone.hidden_dim, student_model.backbone.hidden_dim


def _check_teacher(teacher):
    if teacher.model is None:
        raise ConfigError(
            format_error("The teacher is not trained.", where="distillation.teacher", fix="Train the teacher first.")
        )


def _check_label_set(config, teacher_labels):
    """Raise when the student config names a label set other than the teacher's."""
    spec = config.task.labels
    if spec == FROM_DATA:
        return
    requested = LabelVocabulary.from_spec(spec, None, key="task.labels")
    if requested.raw_values != teacher_labels.raw_values or requested.names != teacher_labels.names:
        raise ConfigError(
            format_error(
                "The student's label set differs from the teacher's.",
                where="task.labels",
                received=requested.names,
                expected=f"the teacher's labels {teacher_labels.names}, in that order",
                fix="Remove task.labels from the student config, or distil from a teacher trained on these labels.",
            )
        )


def load_unlabelled(student, path):
    """Return the normalised texts of an unlabelled file (the config's text column)."""
    loaded = load_labeled_texts(
        path,
        text_column=student.config.task.text_column,
        label_column=None,
        format=student.config.data.format,
        encoding=student.config.data.encoding,
    )
    logger.info("Adding %d unlabelled texts from %s as soft targets.", len(loaded), path)
    return student.normalizer.normalize_all(loaded.texts)


def _result(history, validation_history, epoch_seconds, metric):
    scores = [m[metric] if m[metric] is not None else np.nan for m in validation_history]
    pick = np.nanargmin if metric == "loss" else np.nanargmax
    best = len(scores) - 1 if np.all(np.isnan(scores)) else int(pick(scores))
    return TrainingResult(
        history={key: [float(v) for v in values] for key, values in history.items()},
        best_epoch=best + 1,
        best_validation=validation_history[best],
        epoch_seconds=[float(s) for s in epoch_seconds],
        selection_metric=metric,
        epochs_run=len(validation_history),
    )

"""Fill a run directory from a trained `FineTuner`: model, config, metrics and report."""

import keras

from vertical_tune import __version__
from vertical_tune.compression.report import compression_lines
from vertical_tune.compression.storage import write_structure
from vertical_tune.evaluation.plots import plot_confusion_matrix
from vertical_tune.run_directory import write_config, write_json


def write_run(tuner, directory):
    """Write every file of a run directory into `directory` (a staging folder)."""
    write_config(directory / "config.yaml", tuner.config)
    write_json(directory / "label_map.json", tuner.labels.to_dict())
    save_model_for_inference(tuner.model, directory / "model.keras")
    write_structure(directory, getattr(tuner, "model_structure", None))
    metrics = run_metrics(tuner)
    write_json(directory / "metrics.json", metrics)
    if tuner.training_result is not None:
        write_json(directory / "history.json", tuner.training_result.history)
    if tuner.validation_report is not None:
        validation = tuner.validation_report.to_dict()
        plot_confusion_matrix(validation["confusion_matrix"], tuner.labels.names, directory / "confusion_matrix.png")
    (directory / "report.md").write_text(render_report(tuner, metrics), encoding="utf-8")
    if getattr(tuner, "decision_threshold", None):
        write_json(directory / "threshold.json", tuner.decision_threshold)
    predictions = getattr(tuner, "validation_predictions", None)
    if predictions is not None:
        write_predictions(directory / PREDICTIONS_FILE, predictions, tuner.labels.names)


PREDICTIONS_FILE = "predictions/validation.parquet"


def write_predictions(path, predictions, label_names):
    """Save the validation texts, class indices and probabilities (one column per class)."""
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"text": predictions["texts"], "label_index": predictions["y_true"]})
    for index, name in enumerate(label_names):
        frame[f"prob_{index}"] = predictions["probabilities"][:, index]
    frame.to_parquet(path, index=False)


def read_predictions(path):
    """Return (texts, class indices, probabilities) written by `write_predictions`."""
    import numpy as np
    import pandas as pd

    frame = pd.read_parquet(path)
    columns = sorted((c for c in frame.columns if c.startswith("prob_")), key=lambda c: int(c[5:]))
    # The float32 values `predict_proba` gave, unchanged: a decision threshold compares
    # them with `>=`, so even a rounding change could flip an example at the threshold.
    probabilities = frame[columns].to_numpy(dtype=np.float32)
    return list(frame["text"]), frame["label_index"].to_numpy(dtype=int), probabilities


def save_model_for_inference(model, path):
    """Save `model` so that `keras.saving.load_model(path)` needs no custom objects.

    The training optimizer uses this package's learning-rate schedule. It is swapped
    for a plain AdamW first, so only keras and keras_hub are needed to load the file.
    Fine-tune again through `FineTuner`, which compiles a fresh optimizer.
    """
    model.compile(
        optimizer=keras.optimizers.AdamW(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    model.save(path)


def run_metrics(tuner):
    """Return the content of `metrics.json`."""
    result = tuner.training_result
    metrics = {
        "vertical_tune_version": __version__,
        "versions": library_versions(),
        "model": tuner.summary(),
        "data": tuner.data_summary,
    }
    if result is not None:
        metrics["training"] = {
            "selection_metric": result.selection_metric,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "epoch_seconds": result.epoch_seconds,
            "total_seconds": getattr(result, "seconds", None),
        }
        placement = getattr(tuner, "placement", None)
        if placement is not None:
            metrics["training"]["distribution"] = placement.describe()
    for name, report in (("validation", tuner.validation_report), ("test", tuner.test_report)):
        if report is not None:
            metrics[name] = report.to_dict()
    if getattr(tuner, "baseline_metrics", None):
        metrics["baseline_tfidf_logreg"] = tuner.baseline_metrics
    if getattr(tuner, "distillation_summary", None):
        metrics["distillation"] = tuner.distillation_summary
    if getattr(tuner, "compression_summary", None):
        metrics["compression"] = tuner.compression_summary
    return metrics


def library_versions():
    """Return the versions of the libraries a run was trained with."""
    import keras_hub
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "keras_hub": keras_hub.__version__,
            "vertical_tune": __version__}


def render_report(tuner, metrics):
    """Return the run's Markdown report: what was trained, then the evaluation tables."""
    model = metrics["model"]
    lines = [
        f"# vertical_tune run: {tuner.config.industry or 'custom'}",
        "",
        f"- Backbone: `{model['backbone']}` (sequence length {model['sequence_length']}, "
        f"mode `{model['mode']}`, {model['parameters']:,} parameters, "
        f"{model['trainable_parameters']:,} trainable)",
        f"- Labels: {', '.join(model['labels'])}",
    ]
    for role, part in metrics.get("data", {}).items():
        lines.append(
            f"- {role.capitalize()} data: {part['rows']} rows from `{part['source']}` "
            f"({part['dropped_empty_texts']} empty texts dropped)"
        )
    training = metrics.get("training")
    if training:
        lines.append(
            f"- Best epoch {training['best_epoch']} of {training['epochs_run']} by validation "
            f"`{training['selection_metric']}`; seconds per epoch: "
            + ", ".join(f"{s:.0f}" for s in training["epoch_seconds"])
        )
    lines.append("")
    if getattr(tuner, "distillation_summary", None):
        lines += distillation_lines(tuner.distillation_summary)
    if getattr(tuner, "compression_summary", None):
        lines += compression_lines(tuner.compression_summary)
    if tuner.validation_report is not None:
        lines += ["![Validation confusion matrix](confusion_matrix.png)", ""]
    for report in (tuner.validation_report, tuner.test_report):
        if report is not None:
            # The report's own headings move one level down, under this run's title.
            lines.append(report.to_markdown().replace("\n#", "\n##").replace("# ", "## ", 1))
            lines.append("")
    return "\n".join(lines)


def distillation_lines(summary):
    """Return the Markdown table of teacher vs student for a distilled run's report."""
    teacher, student = summary["teacher"], summary["student"]
    if summary.get("student_backbone"):
        made = f"backbone `{summary['student_backbone']}`"
    else:
        made = f"{summary['student_layers']} layers copied from teacher layers {summary['teacher_layers_kept']}"
    rows = [
        ("Parameters", f"{teacher['parameters']:,}", f"{student['parameters']:,}"),
        ("Size on disk (MB)", f"{teacher['size_bytes'] / 1e6:.1f}", f"{student['size_bytes'] / 1e6:.1f}"),
        ("Latency per example, batch 1 (ms)", f"{teacher['latency_ms_batch_1']:.2f}", f"{student['latency_ms_batch_1']:.2f}"),
        ("Latency per example, batch 32 (ms)", f"{teacher['latency_ms_batch_32']:.2f}", f"{student['latency_ms_batch_32']:.2f}"),
    ]
    for name, value in teacher["metrics"].items():
        other = student["metrics"].get(name)
        if value is not None and other is not None:
            rows.append((name, f"{value:.4f}", f"{other:.4f}"))
    lines = [
        "## Teacher and student",
        "",
        f"Student: {made}. Speed-up {summary['speedup_batch_1']:.2f}x at batch 1 and "
        f"{summary['speedup_batch_32']:.2f}x at batch 32; validation metrics on the same rows.",
        "",
        "| | teacher | student |",
        "|---|---|---|",
    ]
    return lines + [f"| {a} | {b} | {c} |" for a, b, c in rows] + [""]

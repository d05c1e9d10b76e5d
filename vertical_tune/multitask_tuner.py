"""`MultiTaskTuner`: `FineTuner` for a config with `tasks`, one head per task on one backbone.

`FineTuner(config)` returns this class when `config.tasks` is set, so notebooks and
the CLI use one API for both cases.
"""

import logging
import shutil
import tempfile
import time
import weakref
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import yaml

from vertical_tune import __version__, run_directory
from vertical_tune.backbones.resolver import resolve_backbone
from vertical_tune.config.loader import validate_config
from vertical_tune.data.multitask import MultiLabeledTexts, load_multitask_texts
from vertical_tune.data.targets import TaskTarget
from vertical_tune.evaluation.baseline import tfidf_baseline
from vertical_tune.evaluation.multitask_report import MultiTaskReport
from vertical_tune.evaluation.task_evaluation import evaluate_tasks, selection_score, task_predictions
from vertical_tune.finetuner import FineTuner, _is_missing, _keras_verbosity, _no_data_error
from vertical_tune.run_summary import distillation_lines
from vertical_tune.modeling.multitask import build_multitask_model
from vertical_tune.distribute.placement import place
from vertical_tune.training.multitask_trainer import fit_multitask
from vertical_tune.training.optimizer import build_optimizer
from vertical_tune.training.pipeline import make_dataset

logger = logging.getLogger(__name__)

LABEL_MAP_FILE = "label_map.json"


class MultiTaskTuner(FineTuner):
    """Fine-tune one backbone with a head per task (`tasks` in the config).

    Rows whose label is blank for a task still train the other tasks; that task's
    loss and metrics skip them. `predict` returns one column group per task.

    Example:

    ```python
    tuner = FineTuner.from_preset("retail-multitask", data={"train": "reviews.csv"})
    tuner.fit()
    tuner.evaluate("holdout.csv")["rating"]["macro_f1"]
    tuner.predict(["Runs small, lovely colour"])
    ```
    """

    def __init__(self, config):
        super().__init__(config)
        self.targets = None

    # ------------------------------------------------------------------ data

    def _load(self, source, *, require_labels=True, role="data"):
        if isinstance(source, MultiLabeledTexts):
            return source
        if source is None:
            raise _no_data_error(role)
        data = self.config.data
        loaded = load_multitask_texts(
            source,
            text_column=self.config.task.text_column,
            tasks=self.config.tasks,
            format=data.format,
            encoding=data.encoding,
            tfds_data_dir=data.tfds_data_dir,
            require_labels=require_labels,
        )
        loaded.texts = self.normalizer.normalize_all(loaded.texts)
        return loaded

    def _encode(self, data):
        return {target.name: target.encode(data) for target in self.targets}

    # ------------------------------------------------------------------ training

    def fit(self, train=None, validation=None, test=None, *, verbose="auto", json_lines=False, callbacks=(), checkpoint=False, resume=False):
        """Fine-tune every task at once; arguments as for `FineTuner.fit`."""
        started = time.perf_counter()
        config = self.config
        self.placement = place(config)
        train, validation, test = self._prepare_splits(train, validation, test)
        self.targets = [TaskTarget.fit(spec, index, train) for index, spec in enumerate(config.tasks)]
        train_y, val_y = self._encode(train), self._encode(validation)
        self.data_summary = {
            role: _summarise_part(part, self.targets, self._encode(part))
            for role, part in (("train", train), ("validation", validation), ("test", test))
            if part is not None
        }
        logger.info("Training %d tasks on %d rows, validating on %d rows.", len(self.targets), len(train), len(validation))

        keras.utils.set_random_seed(config.training.seed)
        self._build_model(self._heads(train_y), steps_per_epoch=-(-len(train) // self.placement.training.batch_size))
        self._workdir = tempfile.mkdtemp(prefix="vtune-")
        weakref.finalize(self, shutil.rmtree, self._workdir, ignore_errors=True)
        self.training_result = fit_multitask(
            self.model,
            (train.texts, train_y),
            (validation.texts, val_y),
            self.targets,
            config.model_copy(update={"training": self.placement.training}),
            workdir=self._workdir,
            verbose=_keras_verbosity(verbose),
            json_lines=json_lines,
            callbacks=callbacks,
            checkpoint=self._checkpoint_plan(train, train_y, validation, val_y, checkpoint or resume, resume),
        )
        self.training_result.seconds = time.perf_counter() - started
        self.validation_report = self._report(validation, val_y, title="Validation")
        if config.output.compare_baseline:
            self.baseline_metrics = self._baselines(train, train_y, validation, val_y)
        if test is not None:
            self.test_report = self.evaluate(test, title="Test")
        return self.training_result

    def _baselines(self, train, train_y, validation, val_y):
        """Fit TF-IDF + logistic regression for each single-label classification task, on its labelled rows."""
        baselines = {}
        for target in self.targets:
            if target.type not in ("multiclass", "binary"):
                continue
            fit_rows, eval_rows = train_y[target.name] >= 0, val_y[target.name] >= 0
            if not eval_rows.any() or len(np.unique(train_y[target.name][fit_rows])) < 2:
                continue
            baselines[target.name] = tfidf_baseline(
                np.asarray(train.texts, dtype=object)[fit_rows],
                train_y[target.name][fit_rows],
                np.asarray(validation.texts, dtype=object)[eval_rows],
                val_y[target.name][eval_rows],
                target.names,
                seed=self.config.training.seed,
            )
        return baselines

    def _heads(self, train_y):
        training = self.config.training
        heads = []
        for target in self.targets:
            spec = target.spec
            weights = target.class_weights(train_y[target.name])
            heads.append(
                {
                    "name": target.name,
                    "type": target.type,
                    "units": target.units,
                    "hidden_units": spec.head.hidden_units,
                    "dropout": training.dropout if spec.head.dropout is None else spec.head.dropout,
                    "loss_weight": spec.loss_weight,
                    "class_weights": None if weights is None else weights.tolist(),
                    "focal_gamma": spec.focal_gamma,
                    "mean": target.mean,
                    "std": target.std,
                }
            )
        return heads

    def _build_model(self, heads, steps_per_epoch):
        config = self.config
        training = self.placement.training
        with self.placement.building() as jit_compile:
            backbone = resolve_backbone(config.backbone.preset, strip_accents=config.backbone.strip_accents)
            self.model = build_multitask_model(
                backbone,
                heads,
                sequence_length=config.backbone.sequence_length,
                mode=config.training.mode,
                lora_rank=config.training.lora_rank,
                loss_balancing=config.multitask.loss_balancing,
            )
            total_steps = max(1, steps_per_epoch * training.epochs)
            self.model.compile(optimizer=build_optimizer(training, total_steps), jit_compile=jit_compile)

    # ------------------------------------------------------------------ inference

    def predict_outputs(self, texts):
        """Per-task predictions for already-normalised texts.

        Returns:
            dict task name -> class probabilities (n, classes), independent label
            probabilities (n, labels) or values (n,).
        """
        self._check_trained()
        if len(texts) == 0:
            return {t.name: np.zeros((0,) if t.type == "regression" else (0, t.units)) for t in self.targets}
        outputs = self.model.predict(make_dataset(texts, batch_size=self.config.training.batch_size), verbose=0)
        return {t.name: task_predictions(t, outputs[t.name]) for t in self.targets}

    def predict_proba(self, texts):
        """Return `predict_outputs(texts)`, because a multi-task model has one output per task."""
        return self.predict_outputs(texts)

    def predict(self, texts):
        """Predict every task for raw texts (a string, a list or a pandas Series).

        Returns:
            pandas.DataFrame with `text`, then per task: `<task>_label`,
            `<task>_confidence` and `<task>_prob_<label>` (multiclass, binary),
            `<task>_labels` (joined with `|`) and `<task>_prob_<label>` (multilabel),
            or `<task>_value` (regression). Rows without a text have empty labels
            and NaN numbers.
        """
        self._check_trained()
        if isinstance(texts, str):
            texts = [texts]
        cleaned = ["" if _is_missing(t) else str(t) for t in texts]
        normalised = self.normalizer.normalize_all(cleaned)
        present = np.array([bool(t.strip()) for t in normalised], dtype=bool)
        kept = self.predict_outputs([t for t, keep in zip(normalised, present) if keep])
        frame = pd.DataFrame({"text": list(normalised)})
        for target in self.targets:
            shape = (len(normalised),) if target.type == "regression" else (len(normalised), target.units)
            values = np.full(shape, np.nan)
            values[present] = kept[target.name]
            for column, column_values in _task_columns(target, values, present).items():
                frame[column] = column_values
        return frame

    def evaluate(self, data=None, *, title="Evaluation"):
        """Evaluate every task on labelled data and return a `MultiTaskReport`."""
        self._check_trained()
        data = self._load(data if data is not None else self.config.data.validation, role="validation")
        return self._report(data, self._encode(data), title=title)

    def _report(self, data, y_true, *, title):
        predictions = self.predict_outputs(data.texts)
        results = evaluate_tasks(self.targets, y_true, predictions)
        score = selection_score(results, self.targets, self.config.multitask.selection)
        metadata = {"data": data.source, "backbone": self.config.backbone.preset}
        return MultiTaskReport(results, title=title, metadata=metadata, selection=_report_selection(score))

    def true_label_columns(self, chunk, *, skip=()):
        """Return the prediction input's label columns that match a task, as `<task>_true` columns."""
        columns = {}
        for target in self.targets:
            spec = target.spec
            if spec.type != "multilabel" and spec.label_column in chunk.columns and spec.label_column not in skip:
                lookup = {}
                if target.vocabulary is not None:
                    lookup = dict(zip(target.vocabulary.raw_values, target.vocabulary.names))
                cells = ["" if v is None else str(v).strip() for v in chunk[spec.label_column]]
                columns[f"{target.name}_true"] = [lookup.get(cell, cell) for cell in cells]
        return columns

    def selection_summary(self):
        selection = self.validation_report.selection
        return selection["metric"], selection["value"]

    # ------------------------------------------------------------------ persistence

    def save(self, path=None):
        """Write the run directory (atomically) and return its path; None on workers other than the chief."""
        self._check_trained()
        path = Path(path or self.config.output.run_dir)
        if self.placement is not None and not self.placement.chief:
            logger.info("Not the chief worker: the chief writes the run directory, this worker writes nothing.")
            return None
        with run_directory.staged_directory(path) as staging:
            run_directory.write_config(staging / "config.yaml", self.config)
            run_directory.write_json(staging / LABEL_MAP_FILE, {"tasks": [t.to_dict() for t in self.targets]})
            self.model.save(staging / "model.keras")
            run_directory.write_json(staging / "metrics.json", self._run_metrics())
            if self.training_result is not None:
                run_directory.write_json(staging / "history.json", self.training_result.history)
            if self.validation_report is not None:
                self.validation_report.save(staging / "validation")
            if self.test_report is not None:
                self.test_report.save(staging / "test")
            (staging / "report.md").write_text(self._render_report(), encoding="utf-8")
            if self._workdir:
                shutil.copytree(Path(self._workdir) / "logs", staging / "logs", dirs_exist_ok=True)
        logger.info("Saved run to %s", path)
        return path

    def _run_metrics(self):
        metrics = {"vertical_tune_version": __version__, "model": self.summary(), "data": self.data_summary}
        result = self.training_result
        if result is not None:
            metrics["training"] = {
                "selection": result.selection_metric,
                "best_epoch": result.best_epoch,
                "epochs_run": result.epochs_run,
                "epoch_seconds": result.epoch_seconds,
                "total_seconds": result.seconds,
                "loss_weights_per_epoch": result.loss_weights,
            }
        for name, report in (("validation", self.validation_report), ("test", self.test_report)):
            if report is not None:
                metrics[name] = report.to_dict()
        if self.baseline_metrics:
            metrics["baseline_tfidf_logreg"] = self.baseline_metrics
        if self.distillation_summary:
            metrics["distillation"] = self.distillation_summary
        return metrics

    def _render_report(self):
        summary = self.summary()
        lines = [
            f"# vertical_tune multi-task run: {self.config.industry or 'custom'}",
            "",
            f"- Backbone: `{summary['backbone']}` (sequence length {summary['sequence_length']}, "
            f"mode `{summary['mode']}`, {summary['parameters']:,} parameters)",
            f"- Loss balancing: `{self.config.multitask.loss_balancing}`; selection: "
            f"`{self.config.multitask.selection}`",
        ]
        for task in summary["tasks"]:
            lines.append(f"- Task `{task['name']}` ({task['type']}): " + (", ".join(task["labels"] or []) or "a number"))
        for role, part in self.data_summary.items():
            lines.append(f"- {role.capitalize()} data: {part['rows']} rows from `{part['source']}`")
        result = self.training_result
        if result is not None:
            lines.append(
                f"- Best epoch {result.best_epoch} of {result.epochs_run} by validation `{result.selection_metric}`; "
                "seconds per epoch: " + ", ".join(f"{s:.0f}" for s in result.epoch_seconds)
            )
        lines.append("")
        if self.distillation_summary:
            lines += distillation_lines(self.distillation_summary)
        if self.baseline_metrics and self.validation_report is not None:
            lines += _baseline_lines(self.validation_report, self.baseline_metrics)
        for report in (self.validation_report, self.test_report):
            if report is not None:
                lines.append(report.to_markdown().replace("\n#", "\n##").replace("# ", "## ", 1))
                lines.append("")
        return "\n".join(lines)

    @classmethod
    def load(cls, path):
        """Load a multi-task run directory written by `save` or `vtune train`."""
        path = run_directory.check_run_directory(path)
        config_data = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
        tuner = cls(validate_config(config_data, source=str(path / "config.yaml")))
        saved = run_directory.read_json(path / LABEL_MAP_FILE)["tasks"]
        tuner.targets = [TaskTarget.from_dict(spec, i, data) for i, (spec, data) in enumerate(zip(tuner.config.tasks, saved))]
        tuner.model = keras.saving.load_model(path / "model.keras", compile=False)
        return tuner

    def summary(self):
        """Return a dict describing the model: backbone, parameters and the tasks."""
        summary = super().summary()
        del summary["labels"]
        summary["tasks"] = [{"name": t.name, "type": t.type, "labels": t.names} for t in (self.targets or [])]
        return summary


def _task_columns(target, values, present):
    name = target.name
    if target.type == "regression":
        return {f"{name}_value": values}
    columns = {}
    if target.type == "multilabel":
        chosen = np.nan_to_num(values, nan=0.0) >= 0.5
        columns[f"{name}_labels"] = [
            "|".join(n for n, on in zip(target.names, row) if on) if keep else ""
            for row, keep in zip(chosen, present)
        ]
    else:
        best = np.nan_to_num(values, nan=-1.0).argmax(axis=1)
        columns[f"{name}_label"] = [target.names[i] if keep else "" for i, keep in zip(best, present)]
        columns[f"{name}_confidence"] = values.max(axis=1)
    for index, label in enumerate(target.names):
        columns[f"{name}_prob_{label}"] = values[:, index]
    return columns


def _baseline_lines(report, baselines):
    lines = [
        "## Compared with TF-IDF + logistic regression (validation, same labelled rows)",
        "",
        "| task | metric | fine-tuned | baseline |",
        "|---|---|---|---|",
    ]
    for task, metrics in baselines.items():
        for metric in ("macro_f1", "accuracy", "roc_auc"):
            ours, theirs = report[task].get(metric), metrics.get(metric)
            if ours is not None and theirs is not None:
                lines.append(f"| {task} | {metric} | {ours:.4f} | {theirs:.4f} |")
    return lines + [""]


def _report_selection(score):
    return {"metric": score["metric"], "value": score["score"], "per_task": score["per_task"]}


def _summarise_part(part, targets, encoded):
    tasks = {}
    for target in targets:
        y = encoded[target.name]
        labelled = target.labelled(y)
        entry = {"labelled_rows": int(labelled.sum()), "unlabelled_rows": int((~labelled).sum())}
        if target.type in ("multiclass", "binary"):
            counts = pd.Series(y[labelled]).value_counts().sort_index()
            entry["label_counts"] = {target.names[int(k)]: int(v) for k, v in counts.items()}
        elif target.type == "multilabel":
            entry["positives"] = dict(zip(target.names, (y[labelled] == 1).sum(axis=0).astype(int).tolist()))
        else:
            entry["mean"] = float(np.nanmean(y)) if labelled.any() else None
        tasks[target.name] = entry
    return {"source": part.source, "rows": len(part), "dropped_empty_texts": part.dropped_empty_texts, "tasks": tasks}

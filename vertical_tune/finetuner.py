"""`FineTuner`: the Python API for the whole job. The CLI is a thin layer over it."""

import logging
import shutil
import sys
import tempfile
import time
import weakref
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import yaml

from vertical_tune import run_directory
from vertical_tune.backbones.resolver import resolve_backbone
from vertical_tune.compression.storage import load_model_file, read_structure
from vertical_tune.config.loader import load_config, validate_config
from vertical_tune.data.dataset import LabeledTexts, load_labeled_texts
from vertical_tune.data.labels import LabelVocabulary
from vertical_tune.data.normalize import build_normalizer
from vertical_tune.data.split import stratified_sample, stratified_split
from vertical_tune.errors import ConfigError, DataError, format_error
from vertical_tune.evaluation.baseline import tfidf_baseline
from vertical_tune.evaluation.metrics import classification_metrics
from vertical_tune.evaluation.thresholds import apply_decision
from vertical_tune.evaluation.report import EvaluationReport
from vertical_tune.modeling.classifier import build_text_classifier, count_parameters
from vertical_tune.run_summary import write_run
from vertical_tune.distribute.placement import place
from vertical_tune.training.pipeline import make_dataset
from vertical_tune.training.checkpoint import CheckpointPlan, training_fingerprint
from vertical_tune.training.trainer import compile_classifier, fit_classifier

logger = logging.getLogger(__name__)


class FineTuner:
    """Fine-tune a pretrained backbone on labelled texts of one industry.

    Args:
        config: VTuneConfig. The resolved configuration.

    Example:

    ```python
    tuner = FineTuner.from_preset(
        "finance",
        data={"train": "train.csv", "validation": "valid.csv"},
        training={"epochs": 1},
    )
    tuner.fit()
    report = tuner.evaluate("valid.csv")
    print(report["macro_f1"])
    tuner.predict(["$AAPL beats estimates"])
    tuner.save("runs/finance")
    ```
    """

    def __new__(cls, config=None, *args, **kwargs):
        # A config with `tasks` gets the multi-task tuner; the API stays the same.
        if cls is FineTuner and getattr(config, "is_multitask", False):
            from vertical_tune.multitask_tuner import MultiTaskTuner

            return super().__new__(MultiTaskTuner)
        return super().__new__(cls)

    def __init__(self, config):
        self.config = config
        self.normalizer = build_normalizer(config.normalization)
        self.model = None
        self.labels = None
        self.training_result = None
        self.validation_report = None
        self.test_report = None
        self.data_summary = {}
        self.baseline_metrics = None
        self.distillation_summary = None
        self.compression_summary = None
        # How to rebuild a model whose Keras config does not describe it (low-rank kernels).
        self.model_structure = {}
        self._workdir = None
        self._checkpoint_used = None  # checkpoint folder of the last `fit`, removed by `save`
        self.placement = None  # strategy, global batch and chief flag of the last `fit`
        self.evaluation_predictions = None  # texts, labels and probabilities of the last `evaluate`
        self.validation_predictions = None  # texts, class indices and probabilities of the validation data
        self.decision_threshold = None  # {positive_index, threshold, ...} from threshold.json, used by `predict`

    @classmethod
    def from_preset(cls, industry, **overrides):
        """Start from an industry preset; keyword arguments override sections or dotted keys."""
        return cls(load_config(preset=industry, overrides=overrides))

    @classmethod
    def from_config(cls, path, **overrides):
        """Start from a `vtune.yaml` file; keyword arguments override it."""
        return cls(load_config(path, overrides=overrides))

    # ------------------------------------------------------------------ data

    def _load(self, source, *, require_labels=True, role="data"):
        if isinstance(source, LabeledTexts):
            return source
        task, data = self.config.task, self.config.data
        if source is None:
            raise _no_data_error(role)
        loaded = load_labeled_texts(
            source,
            text_column=task.text_column,
            label_column=task.label_column if require_labels else None,
            format=data.format,
            encoding=data.encoding,
            tfds_data_dir=data.tfds_data_dir,
        )
        loaded.texts = self.normalizer.normalize_all(loaded.texts)
        return loaded

    def _prepare_splits(self, train, validation, test):
        data = self.config.data
        if train is None and data.streaming:
            raise ConfigError(
                format_error(
                    "This step loads the training data into memory, and `data.streaming` is set.",
                    where="data.streaming",
                    received=True,
                    expected="single-task `train` for streamed data",
                    fix="Streaming covers single-task training. Pass the data to this step directly, or "
                    "set `--set data.streaming=false` with `data.train` a file that fits in memory.",
                )
            )
        train = self._load(train if train is not None else data.train, role="train")
        if validation is None and data.validation is None:
            train, validation, split_test = stratified_split(
                train, validation=data.split.validation, test=data.split.test, seed=data.split.seed
            )
            test = test if test is not None else split_test
        else:
            validation = self._load(validation if validation is not None else data.validation, role="validation")
        if test is None and data.test is not None:
            test = data.test
        if test is not None and not isinstance(test, LabeledTexts):
            test = self._load(test, role="test")
        if data.max_train_rows is not None:
            train = stratified_sample(train, data.max_train_rows, seed=data.split.seed)
        return train, validation, test

    # ------------------------------------------------------------------ training

    def fit(self, train=None, validation=None, test=None, *, verbose="auto", json_lines=False, callbacks=(), checkpoint=False, resume=False, warm_start=None):
        """Fine-tune on `train`, selecting the best epoch on `validation`.

        Args:
            train: path, DataFrame, `tfds:` name or None (uses `data.train`).
            validation: same forms, or None (uses `data.validation`, else a
                stratified split of `train`).
            test: same forms, or None (uses `data.test`, else the split's test part).
                Evaluated once, after training.
            verbose: "auto" (progress bar when interactive, one line per epoch
                otherwise), 0, 1 or 2.
            json_lines: bool. Print one JSON object per epoch on stdout.
            callbacks: extra Keras callbacks.
            checkpoint: bool. Save the whole training state after every epoch (and
                every `training.checkpoint_every_steps` steps) in
                `checkpoint_directory()`; `save` removes it. `vtune train` sets it.
            resume: bool. Continue from that checkpoint (implies `checkpoint`):
                weights, optimizer state, epoch and batch, early-stopping state
                and history are restored. Without a checkpoint, training starts
                from the beginning with a warning.
            warm_start: str, Path or None. A run directory whose model (weights and
                head) training starts from instead of the pretrained backbone, e.g.
                the champion of a retrain. Its labels must match the data's.

        Returns:
            TrainingResult with the per-epoch history and the selected epoch.
        """
        started = time.perf_counter()
        # The strategy comes first: MultiWorkerMirroredStrategy must start before other TensorFlow work.
        self.placement = place(self.config)
        training = self.placement.training
        if self.config.data.streaming and train is None:
            return self._fit_streamed(
                validation, test, verbose=verbose, json_lines=json_lines, callbacks=callbacks,
                checkpoint=checkpoint, resume=resume, warm_start=warm_start, started=started,
            )
        train, validation, test = self._prepare_splits(train, validation, test)
        self.labels = LabelVocabulary.from_spec(self.config.task.labels, train.labels)
        if warm_start is not None:
            self.labels = _warm_start_labels(warm_start, self.labels)
        train_y = self.labels.encode(train.labels, source=train.source)
        val_y = self.labels.encode(validation.labels, source=validation.source)
        self.data_summary = summarise_data(train, validation, test, self.labels)
        logger.info("Training on %d rows, validating on %d rows.", len(train), len(validation))

        keras.utils.set_random_seed(self.config.training.seed)
        self._build_model(steps_per_epoch=-(-len(train) // training.batch_size), warm_start=warm_start)
        self._workdir = tempfile.mkdtemp(prefix="vtune-")
        # TensorBoard logs wait here until `save`; the folder goes when the tuner does.
        weakref.finalize(self, shutil.rmtree, self._workdir, ignore_errors=True)
        self.training_result = fit_classifier(
            self.model,
            (train.texts, train_y),
            (validation.texts, val_y),
            self.labels.names,
            training,
            workdir=self._workdir,
            verbose=_keras_verbosity(verbose),
            json_lines=json_lines,
            callbacks=callbacks,
            checkpoint=self._checkpoint_plan(train, train_y, validation, val_y, checkpoint or resume, resume),
        )
        self.training_result.seconds = time.perf_counter() - started
        baselines = None
        if self.config.output.compare_baseline:
            self.baseline_metrics = tfidf_baseline(
                train.texts, train_y, validation.texts, val_y, self.labels.names, seed=self.config.training.seed
            )
            baselines = {"TF-IDF + logistic regression": self.baseline_metrics}
        self._finish_fit(validation, val_y, test, baselines)
        return self.training_result

    def _finish_fit(self, validation, val_y, test, baselines):
        """Predict the validation set, choose the decision threshold, and evaluate validation and test."""
        probabilities = self.predict_proba(validation.texts)
        # Kept for the HTML report's curves, calibration and most confident mistakes.
        self.validation_predictions = {"texts": list(validation.texts), "y_true": val_y, "probabilities": probabilities}
        self.decision_threshold = choose_decision_threshold(self.config.task.threshold, self.labels, val_y, probabilities)
        self.validation_report = self._report(
            validation.texts,
            val_y,
            title="Validation",
            source=validation.source,
            baselines=baselines,
            probabilities=probabilities,
        )
        if test is not None:
            self.test_report = self.evaluate(test, title="Test")

    def _fit_streamed(self, validation, test, *, verbose, json_lines, callbacks, checkpoint, resume, warm_start, started):
        """`fit` for `data.streaming`: the training files are read as a stream, never loaded whole."""
        from vertical_tune.training import streamed
        from vertical_tune.training.trainer import _summarise

        if resume:
            raise ConfigError(
                format_error(
                    "Streamed training cannot resume: it writes no checkpoints.",
                    where="data.streaming",
                    received="resume",
                    fix="Train again without --resume, or set `data.streaming: false` for data that fits in memory.",
                )
            )
        if checkpoint:
            logger.info("Streamed training writes no checkpoints; an interrupted run starts again.")
        self._checkpoint_used = None
        config, training = self.config, self.placement.training
        stream = streamed.open_stream(config)
        self.labels = stream.labels if warm_start is None else _warm_start_labels(warm_start, stream.labels)
        validation = self._load(validation if validation is not None else config.data.validation, role="validation")
        val_y = self.labels.encode(validation.labels, source=validation.source)
        test = test if test is not None else config.data.test
        test = self._load(test, role="test") if test is not None else None
        # `summarise_data` names its first part `train`; here that part is the validation set.
        in_memory = summarise_data(validation, None, test, self.labels)
        self.data_summary = {"train": stream.summary(), "validation": in_memory.pop("train"), **in_memory}
        logger.info("Training on a stream of %d rows from %d files, validating on %d rows.", stream.rows, len(stream.files), len(validation))

        keras.utils.set_random_seed(training.seed)
        steps = streamed.epoch_steps(stream, self.placement)
        self._build_model(steps_per_epoch=steps, warm_start=warm_start)
        weights = streamed.stream_class_weights(stream, training.class_weight)
        dataset, tokenized = streamed.training_dataset(
            stream, config, self.placement, self.normalizer, self.model.preprocessor, weights
        )
        self._workdir = tempfile.mkdtemp(prefix="vtune-")
        weakref.finalize(self, shutil.rmtree, self._workdir, ignore_errors=True)
        history, validation_history, seconds = streamed.fit_stream(
            self.model,
            dataset,
            steps,
            (validation.texts, val_y),
            self.labels.names,
            training,
            tokenized=tokenized,
            workdir=self._workdir,
            verbose=_keras_verbosity(verbose),
            json_lines=json_lines,
            callbacks=callbacks,
        )
        self.training_result = _summarise(history, validation_history, seconds, training)
        self.training_result.seconds = time.perf_counter() - started
        self._finish_fit(validation, val_y, test, None)
        return self.training_result

    def checkpoint_directory(self):
        """Return the folder of the training checkpoints (`output.checkpoint_dir` or `RUN_DIR.checkpoint`)."""
        output = self.config.output
        return Path(output.checkpoint_dir or f"{Path(output.run_dir)}.checkpoint")

    def _checkpoint_plan(self, train, train_y, validation, val_y, enabled, resume):
        if not enabled:
            self._checkpoint_used = None
            return None
        self._checkpoint_used = self.checkpoint_directory()
        return CheckpointPlan(
            self._checkpoint_used,
            fingerprint=training_fingerprint(self.config, train.texts, train_y, validation.texts, val_y),
            resume=resume,
            every_steps=self.config.training.checkpoint_every_steps,
            write=self.placement.chief,
        )

    def _build_model(self, steps_per_epoch, warm_start=None):
        config = self.config
        training = self.placement.training
        with self.placement.building() as jit_compile:
            if warm_start is not None:
                self.model = load_model_file(Path(warm_start) / "model.keras", read_structure(warm_start))
            else:
                backbone = resolve_backbone(config.backbone.preset, strip_accents=config.backbone.strip_accents)
                self.model = build_text_classifier(
                    backbone,
                    num_classes=self.labels.num_classes,
                    sequence_length=config.backbone.sequence_length,
                    dropout=config.training.dropout,
                    mode=config.training.mode,
                    lora_rank=config.training.lora_rank,
                )
            compile_classifier(self.model, training, steps_per_epoch, jit_compile=jit_compile)

    def distill(self, *, train=None, validation=None, test=None, config=None, verbose="auto", json_lines=False, callbacks=(), **settings):
        """Train a smaller, faster student on this (fine-tuned) teacher.

        Args:
            train, validation, test: data as for `fit`; default to the config's data.
            config: VTuneConfig or None. The student's config; defaults to this
                tuner's config. Its `distillation` block holds the settings.
            **settings: `distillation` keys to override: `student`,
                `student_layers`, `temperature`, `alpha`, `feature_weight`,
                `unlabelled`.

        Returns:
            FineTuner of the student. Its `distillation_summary` compares teacher and
            student (parameters, size, latency at batch 1 and 32, metrics), and
            `save` writes it into the run directory.

        Example:

        ```python
        teacher = vertical_tune.load("runs/finance")
        student = teacher.distill(student_layers=2, unlabelled="data/unlabelled.csv")
        student.distillation_summary["speedup_batch_32"]
        student.save("runs/finance-student")
        ```
        """
        from vertical_tune.distillation.distill import distill

        self._check_trained()
        base = (config or self.config).model_dump(mode="json")
        block = base["distillation"]
        block.update(settings)
        # A student passed here replaces the other kind set in the config; both passed here is an error.
        if settings.get("student") is not None and "student_layers" not in settings:
            block["student_layers"] = None
        elif settings.get("student_layers") is not None and "student" not in settings:
            block["student"] = None
        if block["student"] is not None:
            base["backbone"]["preset"] = block["student"]
        student_config = validate_config(base, source="distillation settings")
        return distill(
            self,
            student_config,
            train=train,
            validation=validation,
            test=test,
            verbose=_keras_verbosity(verbose),
            json_lines=json_lines,
            callbacks=callbacks,
        )

    def compress(self, methods=None, *, train=None, validation=None, test=None, config=None, verbose="auto", json_lines=False, callbacks=(), **settings):
        """Compress this fine-tuned model and evaluate every step against it.

        Args:
            methods: list of `trim`, `lowrank`, `prune`, `int8` (applied in that
                order of the list), a single method name, or None for
                `compression.methods` of the config.
            train, validation, test: data as for `fit`; default to the config's data.
                Fine-tuning after `trim`, `lowrank` and `prune` uses `train`; every
                stage is evaluated on `validation`.
            config: VTuneConfig or None. Config of the compressed run; defaults to
                this tuner's config.
            **settings: other `compression` keys, e.g. `sparsity=0.5`, `rank=64`,
                `keep_layers=4`, `epochs=1`.

        Returns:
            FineTuner of the compressed model. Its `compression_summary` contains one
            row per stage (parameters, size on disk, latency at batch 1 and 32,
            throughput, metrics), and `save` writes it into the run directory.

        Example:

        ```python
        run = vertical_tune.load("runs/finance")
        small = run.compress(["prune", "int8"], sparsity=0.5)
        small.compression_summary["size_ratio"]
        small.save("runs/finance-prune-int8")
        ```
        """
        from vertical_tune.compression.compress import compress

        self._check_trained()
        base = (config or self.config).model_dump(mode="json")
        if isinstance(methods, str):
            methods = [methods]
        if methods is not None:
            settings["methods"] = list(methods)
        base["compression"].update(settings)
        compressed_config = validate_config(base, source="compression settings")
        return compress(
            self,
            compressed_config,
            train=train,
            validation=validation,
            test=test,
            verbose=_keras_verbosity(verbose),
            json_lines=json_lines,
            callbacks=callbacks,
        )

    def export(self, directory, formats=None, *, validation=None, check_rows=200, calibration_rows=200, run_dir=None):
        """Export the model for deployment and check each file against this Keras model.

        Args:
            directory: str or Path. Export folder, written atomically.
            formats: None (all), or a list or comma-separated str of `keras`,
                `saved_model`, `litert`, `onnx`.
            validation: data file for the agreement check; None uses `data.validation`.
            check_rows: int. Texts of the agreement check (0 skips it).
            calibration_rows: int. Training texts that calibrate the int8 LiteRT model.
            run_dir: str, Path or None. The run folder this tuner was loaded from,
                which the export may not replace.

        Returns:
            dict, the content of `export.json`: per file, its size, label agreement
            with Keras, latency and throughput.
        """
        from vertical_tune.export import export_run, parse_formats
        from vertical_tune.export.texts import calibration_texts, check_texts

        self._check_trained()
        requested = parse_formats(formats) if formats else None
        checked, source = check_texts(self, validation, check_rows)
        needs_calibration = requested is None or "litert" in requested
        calibration = calibration_texts(self, calibration_rows) if needs_calibration else []
        return export_run(
            self,
            directory,
            requested,
            check_texts=checked,
            calibration_texts=calibration,
            run_dir=run_dir,
            check_source=source,
        )

    # ------------------------------------------------------------------ inference

    def predict_proba(self, texts):
        """Return class probabilities, shape (n, num_classes), for already-normalised texts."""
        self._check_trained()
        if len(texts) == 0:
            return np.zeros((0, self.labels.num_classes), dtype="float32")
        dataset = make_dataset(texts, batch_size=self.config.training.batch_size)
        logits = self.model.predict(dataset, verbose=0)
        return keras.ops.convert_to_numpy(keras.ops.softmax(keras.ops.cast(logits, "float32"), axis=-1))

    def predict(self, texts):
        """Predict labels for raw texts (a string, a list or a pandas Series).

        Missing (None, NaN) and blank texts get an empty label and no probabilities,
        so every input gets one output row, in order.

        Returns:
            pandas.DataFrame with `text` (normalised, as the model saw it), `label`,
            `confidence` and one `prob_<label>` column per class.
        """
        self._check_trained()
        if isinstance(texts, str):
            texts = [texts]
        cleaned = ["" if _is_missing(t) else str(t) for t in texts]
        normalised = self.normalizer.normalize_all(cleaned)
        present = np.array([bool(t.strip()) for t in normalised], dtype=bool)
        probabilities = np.full((len(normalised), self.labels.num_classes), np.nan, dtype="float32")
        if present.any():
            probabilities[present] = self.predict_proba([t for t, keep in zip(normalised, present) if keep])
        return self._predictions_frame(normalised, probabilities, present)

    def _predictions_frame(self, texts, probabilities, present):
        frame = pd.DataFrame({"text": list(texts)})
        predicted = apply_decision(np.nan_to_num(probabilities, nan=-1.0), self.decision_threshold)
        frame["label"] = [self.labels.names[i] if keep else "" for i, keep in zip(predicted, present)]
        # The confidence is the probability of the predicted label, because a threshold can pick
        # a label other than the most probable one. A row without a text is all NaN, so is its confidence.
        frame["confidence"] = probabilities[np.arange(len(predicted)), predicted]
        for index, name in enumerate(self.labels.names):
            frame[f"prob_{name}"] = probabilities[:, index]
        return frame

    def evaluate(self, data=None, *, title="Evaluation"):
        """Evaluate on labelled data and return an `EvaluationReport`.

        Args:
            data: path, DataFrame, `tfds:` name, or None for `data.validation`.
            title: str. Heading of the report.
        """
        self._check_trained()
        data = self._load(data if data is not None else self.config.data.validation, role="validation")
        y_true = self.labels.encode(data.labels, source=data.source)
        probabilities = self.predict_proba(data.texts)
        # Kept for the HTML report of `vtune evaluate`.
        self.evaluation_predictions = {"texts": list(data.texts), "y_true": y_true, "probabilities": probabilities}
        return self._report(data.texts, y_true, title=title, source=data.source, probabilities=probabilities)

    def _report(self, texts, y_true, *, title, source, baselines=None, probabilities=None):
        # `probabilities` skips the prediction when the caller already has this model's output.
        if probabilities is None:
            probabilities = self.predict_proba(texts)
        y_pred = apply_decision(probabilities, self.decision_threshold)
        metrics = classification_metrics(y_true, probabilities, self.labels.names, y_pred=y_pred)
        metadata = {"data": source, "backbone": self.config.backbone.preset}
        if self.decision_threshold:
            point = self.decision_threshold
            metadata["decision"] = f"{point['positive_label']} when its probability is >= {point['threshold']:.4f} ({point['rule']})"
        return EvaluationReport(metrics, self.labels.names, title=title, metadata=metadata, baselines=baselines)

    def _check_trained(self):
        if self.model is None:
            raise ConfigError(
                format_error(
                    "The model is not trained yet.",
                    fix="Call `fit()` first, or load a finished run with `vertical_tune.load(path)`.",
                )
            )

    # ------------------------------------------------------------------ persistence

    def save(self, path=None):
        """Write the run directory (atomically) and return its path.

        In a multi-worker run only the chief writes; the other workers return None.

        Args:
            path: str or None. Defaults to `output.run_dir`.
        """
        self._check_trained()
        path = Path(path or self.config.output.run_dir)
        if self.placement is not None and not self.placement.chief:
            logger.info("Not the chief worker: the chief writes the run directory, this worker writes nothing.")
            return None
        with run_directory.staged_directory(path) as staging:
            write_run(self, staging)
            # A run without a training step (an int8-only compression) has no logs.
            if self._workdir and (Path(self._workdir) / "logs").is_dir():
                shutil.copytree(Path(self._workdir) / "logs", staging / "logs", dirs_exist_ok=True)
        logger.info("Saved run to %s", path)
        # The run is complete: a resume has nothing left to continue.
        if self._checkpoint_used:
            shutil.rmtree(self._checkpoint_used, ignore_errors=True)
            self._checkpoint_used = None
        return path

    @classmethod
    def load(cls, path):
        """Load a run directory written by `save` or `vtune train`."""
        path = run_directory.check_run_directory(path)
        config_data = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
        tuner = cls(validate_config(config_data, source=str(path / "config.yaml")))
        if type(tuner) is not cls:
            return type(tuner).load(path)
        tuner.labels = LabelVocabulary.from_dict(run_directory.read_json(path / "label_map.json"))
        tuner.model_structure = read_structure(path)
        tuner.model = load_model_file(path / "model.keras", tuner.model_structure)
        if (path / THRESHOLD_FILE).is_file():
            tuner.decision_threshold = run_directory.read_json(path / THRESHOLD_FILE)
        return tuner

    def true_label_columns(self, chunk, *, skip=()):
        """Return the input's label column as `true_label` (label names), when the input has it.

        Args:
            chunk: pandas.DataFrame of prediction input.
            skip: columns already copied to the output (`--keep-columns`).

        Returns:
            dict output column -> values.
        """
        column = self.config.task.label_column
        if column not in chunk.columns or column in skip:
            return {}
        lookup = dict(zip(self.labels.raw_values, self.labels.names))
        return {"true_label": [lookup.get(str(v).strip(), v) if v is not None else "" for v in chunk[column]]}

    def selection_summary(self):
        """Return (metric name, validation value) of the metric that selected the best epoch."""
        metric = self.config.training.selection_metric
        return metric, self.validation_report[metric]

    def summary(self):
        """Return a dict describing the model: backbone, parameters, labels."""
        trainable, total = count_parameters(self.model) if self.model is not None else (0, 0)
        return {
            "backbone": self.config.backbone.preset,
            "sequence_length": self.config.backbone.sequence_length,
            "mode": self.config.training.mode,
            "parameters": total,
            "trainable_parameters": trainable,
            "labels": list(self.labels.names) if self.labels else None,
        }


def load(path):
    """Load a run directory into a `FineTuner` ready for `predict` and `evaluate`."""
    return FineTuner.load(path)


THRESHOLD_FILE = "threshold.json"


def choose_decision_threshold(settings, labels, y_true, probabilities):
    """Return the decision threshold of `task.threshold` on validation predictions, or None for `argmax`.

    With two labels the threshold is binary. With more, it is a one-vs-rest
    threshold on `positive_label`: an example is predicted as that label when its
    probability reaches the threshold, else as the most probable other label.

    Raises:
        ConfigError: a multi-class task without `positive_label`, an unknown
            `positive_label`, or a target the validation data cannot reach.
    """
    if settings.rule == "argmax":
        return None
    from vertical_tune.evaluation.thresholds import choose_threshold

    names = labels.names
    if settings.positive_label is None and len(names) != 2:
        raise ConfigError(
            format_error(
                f"A decision threshold on a task with {len(names)} labels needs the label it applies to.",
                where="task.threshold.positive_label",
                received=None,
                expected=" or ".join(names),
                fix="Set `task.threshold.positive_label` to the label whose recall or precision must reach "
                "the target, or `task.threshold.rule: argmax`.",
            )
        )
    positive_name = settings.positive_label or names[1]
    if positive_name not in names:
        raise ConfigError(
            format_error(
                "Unknown positive label.",
                where="task.threshold.positive_label",
                received=positive_name,
                expected=" or ".join(names),
                fix="Use one of the label names of `label_map.json`.",
            )
        )
    positive = names.index(positive_name)
    rule = {settings.rule: settings.target} if settings.rule in ("min_recall", "min_precision") else {}
    try:
        point = choose_threshold(np.asarray(y_true) == positive, probabilities[:, positive], **rule)
    except ValueError as error:
        raise ConfigError(
            format_error(
                "The validation data cannot reach the threshold target.",
                where="task.threshold.target",
                received=settings.target,
                fix=f"Lower the target or train a better model. {error}",
            )
        ) from None
    return {
        "positive_label": positive_name,
        "positive_index": positive,
        "target": settings.target,
        "one_vs_rest": len(names) > 2,
        **point.to_dict(),
    }


def _warm_start_labels(run, labels):
    """Return the label vocabulary of run directory `run`, which must match `labels`."""
    run = run_directory.check_run_directory(run)
    previous = LabelVocabulary.from_dict(run_directory.read_json(run / "label_map.json"), source=str(run))
    if previous.names != labels.names:
        raise DataError(
            format_error(
                "The labels of the data differ from those of the model training starts from.",
                where=str(run / "label_map.json"),
                received=f"data labels {labels.names}, model labels {previous.names}",
                expected="the same labels in the same order",
                fix="Train from the backbone instead (`retrain.start_from: backbone`), or fix the labels of the new data.",
            )
        )
    return previous


def _no_data_error(role):
    return DataError(
        format_error(
            f"No {role} data given.",
            where=f"data.{role}",
            fix=f"Set `data.{role}` in the config or pass the {role} data to this call.",
        )
    )


def _is_missing(value):
    return value is None or (isinstance(value, float) and np.isnan(value))


def _keras_verbosity(verbose):
    if verbose != "auto":
        return int(verbose)
    return 1 if sys.stderr.isatty() else 2


def summarise_data(train, validation, test, labels):
    """Return the row and label counts of each data part, for `metrics.json`."""
    names = dict(zip(labels.raw_values, labels.names))
    summary = {}
    for role, part in (("train", train), ("validation", validation), ("test", test)):
        if part is None:
            continue
        counts = pd.Series(part.labels).value_counts().sort_index()
        summary[role] = {
            "source": part.source,
            "rows": len(part),
            "dropped_empty_texts": part.dropped_empty_texts,
            "dropped_missing_labels": part.dropped_missing_labels,
            "label_counts": {names.get(str(k), str(k)): int(v) for k, v in counts.items()},
        }
    return summary

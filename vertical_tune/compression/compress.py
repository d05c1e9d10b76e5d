"""Compress a fine-tuned run: apply the configured methods in order and evaluate every stage."""

import logging
import shutil
import tempfile
import time
import weakref
from pathlib import Path

import keras

from vertical_tune.compression import stages
from vertical_tune.compression.quantize import quantize_int8
from vertical_tune.compression.storage import copy_model
from vertical_tune.compression.trim import check_keep_layers, default_keep_layers, trim_layers
from vertical_tune.errors import ConfigError, format_error
from vertical_tune.training.trainer import compile_classifier, fit_classifier

logger = logging.getLogger(__name__)

DEFAULT_PARAMETER_FRACTION = 0.5


def compress(original, config, *, train=None, validation=None, test=None, verbose=2, json_lines=False, callbacks=()):
    """Apply `config.compression.methods` to a copy of `original`'s model and return the result.

    Args:
        original: trained single-task FineTuner.
        config: VTuneConfig of the compressed run. Its `compression` block contains
            the methods and their settings, and its `data` block the data to
            fine-tune and evaluate on.
        train, validation, test: data as for `FineTuner.fit`.
        verbose, json_lines, callbacks: as for `FineTuner.fit`; used by fine-tuning.

    Returns:
        FineTuner with the compressed model and `compression_summary`: one row per
        stage (the original, then each method) with parameters, size on disk,
        latency at batch 1 and 32, throughput and validation metrics.
    """
    from vertical_tune.finetuner import FineTuner, summarise_data

    _check_original(original, config)
    _check_layers_to_keep(original.model, config.compression)
    started = time.perf_counter()
    settings = config.compression
    result = FineTuner(config)
    result.labels = original.labels
    train, validation, test = result._prepare_splits(train, validation, test)
    train_y = original.labels.encode(train.labels, source=train.source)
    val_y = original.labels.encode(validation.labels, source=validation.source)
    result._workdir = tempfile.mkdtemp(prefix="vtune-")
    weakref.finalize(result, shutil.rmtree, result._workdir, ignore_errors=True)

    recorder = stages.StageRecorder(Path(result._workdir) / "stages", validation.texts, val_y, original.labels.names)
    structure = dict(original.model_structure)
    recorder.add("original", original.model, structure, details={})
    model = copy_model(original.model, structure)
    fit_data = ((train.texts, train_y), (validation.texts, val_y))
    for method in settings.methods:
        logger.info("Compression: %s", method)
        method_started = time.perf_counter()
        keras.utils.set_random_seed(config.training.seed)
        model, details = _apply(method, model, structure, config, fit_data, result, verbose, json_lines, callbacks)
        details["seconds"] = time.perf_counter() - method_started
        recorder.add(method, model, structure, details=details)

    result.model = model
    result.model_structure = structure
    result.data_summary = summarise_data(train, validation, test, original.labels)
    result.validation_report = result._report(
        validation.texts, val_y, title="Validation", source=validation.source, probabilities=recorder.last_probabilities
    )
    if test is not None:
        result.test_report = result.evaluate(test, title="Test")
    result.compression_summary = recorder.summary(methods=list(settings.methods), settings=_settings_used(settings))
    result.compression_summary["seconds"] = time.perf_counter() - started
    return result


def _apply(method, model, structure, config, fit_data, result, verbose, json_lines, callbacks):
    """Apply one method; return the (possibly new) model and the details for its stage row."""
    settings = config.compression
    fine_tune = {"config": config, "fit_data": fit_data, "result": result, "verbose": verbose, "json_lines": json_lines, "callbacks": callbacks}
    if method == "int8":
        quantize_int8(model)
        return model, {}
    if method == "trim":
        keep = settings.keep_layers or default_keep_layers(model)
        model, layers_before = trim_layers(model, keep, dropout=config.training.dropout)
        details = {"layers_before": layers_before, "layers_kept": keep}
        details["fine_tuning"] = _fine_tune(model, **fine_tune)
        return model, details
    if method == "lowrank":
        from vertical_tune.compression.lowrank import factorise

        rule = _rank_rule(settings)
        layers = factorise(model, min_size=settings.min_kernel_size, **rule)
        if not layers:
            raise ConfigError(
                format_error(
                    "No kernel is large enough to factorise.",
                    where="compression.min_kernel_size",
                    received=settings.min_kernel_size,
                    expected="at most the number of weights of the largest Dense or attention kernel",
                    fix="Lower `compression.min_kernel_size`.",
                )
            )
        structure["factorised"] = layers
        details = {"rule": rule, "layers": layers}
        details["fine_tuning"] = _fine_tune(model, **fine_tune)
        return model, details
    if method == "prune":
        from vertical_tune.compression.prune import MagnitudePruning, prune_to, sparsity_report

        if settings.epochs:
            pruning = MagnitudePruning(settings.sparsity, frequency=settings.pruning_frequency)
            details = {"fine_tuning": _fine_tune(model, **fine_tune, extra_callbacks=[pruning])}
        else:
            details = {}
        # Early stopping may restore an epoch pruned below the target; prune to it again.
        prune_to(model, settings.sparsity)
        details["sparsity"] = sparsity_report(model)
        return model, details
    raise AssertionError(f"unknown compression method {method!r}")


def _fine_tune(model, *, config, fit_data, result, verbose, json_lines, callbacks, extra_callbacks=()):
    """Fine-tune `model` for `compression.epochs` epochs; return a summary, or None when epochs is 0."""
    settings = config.compression
    if not settings.epochs:
        return None
    training = config.training.model_copy(
        update={"epochs": settings.epochs, "learning_rate": settings.learning_rate or config.training.learning_rate}
    )
    (train_texts, train_y), validation = fit_data
    compile_classifier(model, training, steps_per_epoch=-(-len(train_texts) // training.batch_size))
    outcome = fit_classifier(
        model,
        (train_texts, train_y),
        validation,
        result.labels.names,
        training,
        workdir=result._workdir,
        verbose=verbose,
        json_lines=json_lines,
        callbacks=list(extra_callbacks) + list(callbacks),
    )
    return {
        "epochs_run": outcome.epochs_run,
        "best_epoch": outcome.best_epoch,
        "learning_rate": training.learning_rate,
        "epoch_seconds": outcome.epoch_seconds,
        "best_validation": {k: v for k, v in outcome.best_validation.items() if k in stages.COMPARED_METRICS},
    }


def _rank_rule(settings):
    if settings.rank is not None:
        return {"rank": settings.rank}
    if settings.energy is not None:
        return {"energy": settings.energy}
    return {"parameter_fraction": settings.parameter_fraction or DEFAULT_PARAMETER_FRACTION}


def _settings_used(settings):
    """Return the compression settings that the chosen methods read."""
    used = {"methods": list(settings.methods)}
    keys = {
        "trim": ("keep_layers",),
        "lowrank": ("rank", "energy", "parameter_fraction", "min_kernel_size"),
        "prune": ("sparsity", "pruning_frequency"),
    }
    for method in settings.methods:
        for key in keys.get(method, ()):
            used[key] = getattr(settings, key)
    if set(settings.methods) - {"int8"}:
        used["epochs"] = settings.epochs
        used["learning_rate"] = settings.learning_rate
    return used


def _check_layers_to_keep(model, settings):
    """Reject an impossible `keep_layers` before any work (`trim_layers` checks again)."""
    if "trim" in settings.methods and settings.keep_layers is not None:
        check_keep_layers(model, settings.keep_layers)


def _check_original(original, config):
    if original.model is None:
        raise ConfigError(
            format_error("The run to compress is not trained.", fix="Train it first, or load a finished run.")
        )
    if original.config.is_multitask:
        raise ConfigError(
            format_error(
                "Compression of multi-task runs is not supported yet.",
                where="tasks",
                received=[task.name for task in original.config.tasks],
                fix="Compress a single-task run, or export the multi-task run as it is with `vtune export`.",
            )
        )
    if not config.compression.methods:
        raise ConfigError(
            format_error(
                "No compression method given.",
                where="compression.methods",
                received=[],
                expected="one or more of trim, lowrank, prune, int8",
                fix="Pass --method (e.g. --method int8) or set `compression.methods`.",
            )
        )

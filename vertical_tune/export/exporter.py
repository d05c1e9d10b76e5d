"""`export_run`: write every requested format into one folder, check each against Keras, write export.json."""

import datetime
import logging
from pathlib import Path

from vertical_tune import run_directory
from vertical_tune.errors import ConfigError, RunError, format_error
from vertical_tune.export.check import agreement, check_artifact, size_bytes
from vertical_tune.export.formats import FORMATS, parse_formats
from vertical_tune.export.keras_format import export_keras, quantization_modes
from vertical_tune.export.predict_script import load_predictor
from vertical_tune.export.readme import render_readme
from vertical_tune.export.tokenizer_files import write_loader, write_tokenizer

logger = logging.getLogger(__name__)

MANIFEST = "export.json"
MANIFEST_VERSION = 1


def export_run(
    tuner,
    directory,
    formats=None,
    *,
    check_texts=(),
    calibration_texts=(),
    run_dir=None,
    check_source=None,
    num_threads=2,
):
    """Export a trained classifier for deployment and check every artifact against the Keras model.

    The folder is built in a staging folder next to `directory` and renamed into
    place at the end, so a failed export leaves `directory` as it was. An earlier
    export in `directory` is replaced.

    Args:
        tuner: FineTuner with a trained single-task model (`vertical_tune.load(run)`).
        directory: str or Path. The export folder to write.
        formats: None (all of `FORMATS`), a str or a list of str. Names may be
            comma-separated.
        check_texts: list of str. Texts already normalised with the run's
            profile. Every artifact is run on them and compared with Keras.
        calibration_texts: list of str. Normalised training texts that calibrate
            the int8 LiteRT model. Required when `litert` is exported.
        run_dir: str, Path or None. The run folder the tuner was loaded from. The
            export may not replace it or a folder that contains it.
        check_source: str or None. Where the check texts come from, for export.json.
        num_threads: int. CPU threads of the LiteRT and onnxruntime checks.

    Returns:
        dict, the content of `export.json`.

    Raises:
        ConfigError: unknown format, multi-task run, no calibration texts for
            LiteRT, or LiteRT requested for a model quantised by Keras.
        RunError: `directory` is the run folder, contains it, or is a non-empty
            folder that is not an earlier export.

    Example:

    ```python
    tuner = vertical_tune.load("runs/finance")
    texts = tuner.normalizer.normalize_all(validation_texts)
    manifest = export_run(tuner, "runs/finance/export", ["saved_model", "onnx"], check_texts=texts)
    manifest["artifacts"][0]["label_agreement"]
    ```
    """
    _check_tuner(tuner)
    requested = parse_formats(formats)
    directory = Path(directory).expanduser().resolve()
    _check_target(directory, run_dir)
    check_texts, calibration_texts = list(check_texts), list(calibration_texts)
    skipped = _skip_unconvertible(tuner.model, requested, explicit=formats is not None)
    if "litert" in requested and not calibration_texts:
        raise ConfigError(
            format_error(
                "The int8 LiteRT model needs calibration texts, and none were given.",
                where="calibration_texts",
                fix="Pass a sample of normalised training texts (the CLI uses --calibration-rows).",
            )
        )

    with run_directory.staged_directory(directory) as staging:
        manifest = _build(tuner, staging, requested, check_texts, calibration_texts, num_threads)
        manifest["skipped"] = skipped
        manifest["check"] = {"texts": len(check_texts), "source": check_source}
        run_directory.write_json(staging / MANIFEST, manifest)
        (staging / "README.md").write_text(render_readme(manifest), encoding="utf-8")
    logger.info("Wrote export to %s", directory)
    return manifest


def _build(tuner, staging, requested, check_texts, calibration_texts, num_threads):
    model = tuner.model
    artifacts = []
    litert_in_graph, litert_reason = None, None
    if "keras" in requested:
        artifacts.append(export_keras(tuner, staging))
    if "saved_model" in requested:
        from vertical_tune.export.saved_model import export_saved_model

        logger.info("Writing the SavedModel.")
        artifacts.append(export_saved_model(model, staging, tuner.labels.names))
    if "litert" in requested:
        from vertical_tune.export.litert import export_litert

        logger.info("Converting to LiteRT (float32, dynamic range, int8).")
        entries, litert_in_graph, litert_reason = export_litert(
            model, staging, check_texts=check_texts, calibration_texts=calibration_texts
        )
        artifacts.extend(entries)
    if "onnx" in requested:
        from vertical_tune.export.onnx_format import export_onnx

        logger.info("Converting to ONNX (float32, dynamic int8).")
        artifacts.extend(export_onnx(model, staging))
    tokenizer_dir = write_tokenizer(model, staging)
    loader = write_loader(staging)

    reference = tuner.predict_proba(check_texts) if check_texts else None
    for entry in artifacts:
        _check(entry, staging, tokenizer_dir, tuner.labels.names, reference, check_texts, num_threads)

    return {
        "format_version": MANIFEST_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "backbone": tuner.config.backbone.preset,
        "labels": list(tuner.labels.names),
        "sequence_length": int(model.preprocessor.sequence_length),
        "normalization_profile": tuner.config.normalization.profile,
        "normalization_mask_urls": tuner.config.normalization.mask_urls,
        "normalization_in_graph": False,
        "keras_quantization": quantization_modes(model),
        "tokenizer_in_graph": {
            "keras": True if "keras" in requested else None,
            "saved_model": True if "saved_model" in requested else None,
            "litert": litert_in_graph,
            "onnx": False if "onnx" in requested else None,
        },
        "litert_tokenizer_reason": litert_reason,
        "tokenizer_dir": tokenizer_dir,
        "loader": loader,
        "artifacts": artifacts,
    }


def _check(entry, staging, tokenizer_dir, labels, reference, check_texts, num_threads):
    """Load one artifact with the shipped loader and add its size and check results to `entry`."""
    path = staging / entry["path"]
    entry["size_bytes"] = size_bytes(path)
    threads = num_threads if entry["format"] in ("litert", "onnx") else None
    # NOTE: Keras and SavedModel run in this process, which has already started
    # TensorFlow, so they use its thread settings (all cores unless set earlier).
    entry["cpu_threads"] = threads
    if reference is None:
        entry.update(agreement([], []))
        return
    logger.info("Checking %s on %d texts.", entry["path"], len(check_texts))
    predictor = load_predictor(
        path,
        format=entry["format"],
        labels=labels,
        text_input=entry["text_input"],
        tokenizer_dir=staging / tokenizer_dir,
        num_threads=threads,
    )
    entry.update(check_artifact(predictor, reference, check_texts))


def _check_tuner(tuner):
    tuner._check_trained()
    if getattr(tuner.config, "is_multitask", False):
        raise ConfigError(
            format_error(
                "Export supports single-task runs only.",
                received=f"a run with tasks {list(tuner.config.tasks)}",
                fix="Export a single-task run, e.g. one trained per task.",
            )
        )


def _check_target(directory, run_dir):
    if run_dir is not None:
        run = Path(run_dir).expanduser().resolve()
        if directory == run or directory in run.parents:
            raise RunError(
                format_error(
                    "The export folder is the run folder or contains it, and the export would replace it.",
                    where="--output",
                    received=str(directory),
                    expected=f"a folder outside {run}, or a new folder inside it (default {run / 'export'})",
                    fix="Pass another --output folder.",
                )
            )
    if directory.is_file():
        raise RunError(
            format_error(
                "The export folder is a file.",
                where="--output",
                received=str(directory),
                fix="Pass a folder path that is new or holds an earlier export.",
            )
        )
    if directory.is_dir() and any(directory.iterdir()) and not (directory / MANIFEST).is_file():
        raise RunError(
            format_error(
                f"The export folder is not empty and holds no {MANIFEST}, so it is not an earlier export.",
                where="--output",
                received=str(directory),
                fix="Pass a new folder. Only an earlier export folder is replaced.",
            )
        )


def _skip_unconvertible(model, requested, *, explicit):
    """Return the formats that cannot be built from this model, with the reason.

    A model quantised by Keras (`model.quantize("int8")`) computes int8 x int8
    matmuls that the LiteRT converter rejects (TensorFlow 2.21: `tfl.fully_connected`
    takes float or quantised types only). When LiteRT was asked for by name this
    raises. With the default of all formats it is left out and recorded.
    """
    modes = quantization_modes(model)
    if "litert" not in requested or not modes:
        return []
    reason = (
        f"the model is quantised by Keras ({', '.join(modes)}), and the LiteRT converter rejects "
        "its integer matmuls, so export the float run instead, whose LiteRT export includes an int8 model"
    )
    if explicit:
        raise ConfigError(
            format_error(
                "LiteRT export does not support models quantised by Keras.",
                where="--format litert",
                received=f"a model with Keras quantisation {modes}",
                expected="a float model (LiteRT quantises it itself: model.dynamic_range.tflite, model.int8.tflite)",
                fix="Export the run before `model.quantize`, or leave out litert.",
            )
        )
    requested.remove("litert")
    logger.warning("Skipping LiteRT: %s.", reason)
    return [{"format": "litert", "reason": reason}]


__all__ = ["FORMATS", "MANIFEST", "export_run"]

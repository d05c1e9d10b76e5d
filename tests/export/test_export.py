"""`export_run` on a tiny trained classifier: every format loads back and agrees with Keras."""

import importlib.util
import json

import numpy as np
import pytest

from vertical_tune.errors import ConfigError, RunError
from vertical_tune.export import export_run, parse_formats

INT8_MIN_AGREEMENT = 0.95
# The tiny test model is accurate but unsure (top probability about 0.37 of 3
# classes), so the activation rounding of the full-integer LiteRT model flips rows
# whose top two classes differ by under about 0.05. Measured: 0.76 on the 29 check texts.
FULL_INT8_MIN_AGREEMENT = 0.7
FLOAT_MAX_PROBABILITY_DIFFERENCE = 1e-4


def by_path(manifest):
    return {entry["path"]: entry for entry in manifest["artifacts"]}


def load_shipped_loader(directory):
    """Import the export's own predict.py, as a deployment would."""
    spec = importlib.util.spec_from_file_location("exported_predict", directory / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_manifest_lists_every_file(full_export):
    _, directory, manifest = full_export
    expected = {
        "keras/model.keras",
        "saved_model",
        "litert/model.tflite",
        "litert/model.dynamic_range.tflite",
        "litert/model.int8.tflite",
        "onnx/model.onnx",
        "onnx/model.int8.onnx",
    }
    assert set(by_path(manifest)) == expected
    for path in expected:
        assert (directory / path).exists(), path
        assert by_path(manifest)[path]["size_bytes"] > 0, path
    assert (directory / "keras" / "label_map.json").is_file()
    assert (directory / "tokenizer" / "vocabulary.txt").is_file()
    assert json.loads((directory / "export.json").read_text(encoding="utf-8")) == manifest
    assert manifest["labels"] == ["negative", "neutral", "positive"]
    assert manifest["sequence_length"] == 16
    assert manifest["normalization_profile"] == "general"
    assert manifest["skipped"] == []
    assert manifest["check"]["texts"] == 29
    assert not list(directory.parent.glob(".export.partial-*"))


def test_manifest_has_check_figures(full_export):
    _, _, manifest = full_export
    for entry in manifest["artifacts"]:
        for key in ("latency_ms_batch_1", "latency_ms_batch_32", "throughput_per_second_batch_32"):
            assert entry[key] > 0, (entry["path"], key)
        assert 0 <= entry["max_abs_probability_difference"] <= 1, entry["path"]


def test_float_exports_agree_exactly(full_export):
    _, _, manifest = full_export
    for entry in manifest["artifacts"]:
        if entry["variant"] == "float32":
            assert entry["label_agreement"] == 1.0, entry
            assert entry["max_abs_probability_difference"] < FLOAT_MAX_PROBABILITY_DIFFERENCE, entry


def test_quantised_exports_mostly_agree(full_export):
    _, _, manifest = full_export
    quantised = [entry for entry in manifest["artifacts"] if entry["variant"] != "float32"]
    assert {entry["variant"] for entry in quantised} == {"dynamic_range", "int8", "dynamic_int8"}
    for entry in quantised:
        minimum = FULL_INT8_MIN_AGREEMENT if entry["variant"] == "int8" else INT8_MIN_AGREEMENT
        assert entry["label_agreement"] >= minimum, (entry["path"], entry["label_agreement"])


def test_saved_model_takes_raw_strings(full_export, check_texts):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  Registers the tokenizer ops.

    tuner, directory, _ = full_export
    serve = tf.saved_model.load(str(directory / "saved_model")).signatures["serving_default"]
    outputs = serve(text=tf.constant(check_texts))

    expected = tuner.predict_proba(check_texts)
    labels = [label.decode("utf-8") for label in outputs["label"].numpy()]
    assert labels == [tuner.labels.names[index] for index in expected.argmax(axis=1)]
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=FLOAT_MAX_PROBABILITY_DIFFERENCE)


def test_litert_tokenizes_in_graph(full_export):
    _, _, manifest = full_export
    assert manifest["tokenizer_in_graph"] == {"keras": True, "saved_model": True, "litert": True, "onnx": False}
    assert manifest["litert_tokenizer_reason"] is None
    for path in ("litert/model.tflite", "litert/model.dynamic_range.tflite", "litert/model.int8.tflite"):
        assert by_path(manifest)[path]["inputs"] == {"text": "string [batch]"}


def test_shipped_loader_runs_each_file(full_export, check_texts):
    tuner, directory, manifest = full_export
    loader = load_shipped_loader(directory)
    expected = tuner.predict_proba(check_texts).argmax(axis=1)
    for entry in manifest["artifacts"]:
        predictor = loader.load_export(directory, entry["path"], num_threads=2)
        predicted = predictor.predict_proba(check_texts).argmax(axis=1)
        agreement = float((predicted == expected).mean())
        assert agreement == pytest.approx(entry["label_agreement"]), entry["path"]


def test_shipped_loader_command_line(full_export, capsys):
    _, directory, _ = full_export
    loader = load_shipped_loader(directory)
    loader.__file__ = str(directory / "predict.py")

    code = loader.main(["onnx/model.int8.onnx", "good profit rise", "bad loss fall"])

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [line["label"] for line in lines] == ["positive", "negative"]
    assert set(lines[0]["probabilities"]) == {"negative", "neutral", "positive"}


def test_readme_names_normalisation(full_export):
    _, directory, _ = full_export
    readme = (directory / "README.md").read_text(encoding="utf-8")
    assert "`general` profile" in readme
    assert "import tensorflow_text" in readme
    assert "SELECT_TFTEXT_OPS" in readme


def test_keras_int8_model_exports(trained_run, check_texts, tmp_path):
    import vertical_tune

    tuner = vertical_tune.load(trained_run)
    tuner.model.quantize("int8", filters=lambda layer: layer.built and layer.name != "logits")

    manifest = export_run(tuner, tmp_path / "int8", ["keras", "saved_model", "onnx"], check_texts=check_texts)

    assert manifest["keras_quantization"] == ["int8"]
    for entry in manifest["artifacts"]:
        assert entry["label_agreement"] >= INT8_MIN_AGREEMENT, (entry["path"], entry["label_agreement"])


def test_keras_int8_model_rejects_litert(trained_run, tmp_path):
    import vertical_tune

    tuner = vertical_tune.load(trained_run)
    tuner.model.quantize("int8", filters=lambda layer: layer.built and layer.name != "logits")

    with pytest.raises(ConfigError) as error:
        export_run(tuner, tmp_path / "int8", ["litert"], calibration_texts=["good"])

    assert "does not support models quantised by Keras" in str(error.value)
    assert "leave out litert" in str(error.value)
    assert not (tmp_path / "int8").exists()


def test_unknown_format_rejected():
    with pytest.raises(ConfigError) as error:
        parse_formats(["onnx,tflite"])

    message = str(error.value)
    assert "Unknown export format" in message
    assert "Received: 'tflite'" in message
    assert "keras, saved_model, litert, onnx" in message


def test_formats_parsed_in_order():
    assert parse_formats(None) == ["keras", "saved_model", "litert", "onnx"]
    assert parse_formats(["onnx", "keras,onnx"]) == ["keras", "onnx"]
    assert parse_formats("LiteRT") == ["litert"]


def test_failed_export_leaves_nothing(trained_run, monkeypatch, tmp_path):
    import vertical_tune
    from vertical_tune.export import onnx_format

    def fail(*args, **kwargs):
        raise RuntimeError("conversion failed")

    monkeypatch.setattr(onnx_format, "export_onnx", fail)
    tuner = vertical_tune.load(trained_run)

    with pytest.raises(RuntimeError, match="conversion failed"):
        export_run(tuner, tmp_path / "export", ["keras", "onnx"])

    assert list(tmp_path.iterdir()) == []


def test_run_folder_rejected_as_output(trained_run):
    import vertical_tune

    tuner = vertical_tune.load(trained_run)

    for target in (trained_run, trained_run.parent):
        with pytest.raises(RunError) as error:
            export_run(tuner, target, ["keras"], run_dir=trained_run)
        assert "run folder" in str(error.value)
    assert (trained_run / "model.keras").is_file()


def test_foreign_folder_rejected_as_output(trained_run, tmp_path):
    import vertical_tune

    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    tuner = vertical_tune.load(trained_run)

    with pytest.raises(RunError) as error:
        export_run(tuner, tmp_path, ["keras"])

    assert "holds no export.json" in str(error.value)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_litert_needs_calibration_texts(trained_run, tmp_path):
    import vertical_tune

    tuner = vertical_tune.load(trained_run)

    with pytest.raises(ConfigError, match="calibration texts"):
        export_run(tuner, tmp_path / "export", ["litert"])

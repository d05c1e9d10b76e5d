"""LiteRT export: a float32 model, a dynamic-range model and a full-integer (int8) model."""

import logging
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from vertical_tune.export.in_graph_tokenizer import build_in_graph_packer
from vertical_tune.export.saved_model import TEXT_INPUT, write_text_saved_model
from vertical_tune.export.token_inputs import (
    PROBABILITIES,
    TOKEN_INPUTS,
    probability_model,
    token_input_signature,
    tokenize,
)

logger = logging.getLogger(__name__)

# Variant name and file name of each LiteRT model.
VARIANTS = (
    ("float32", "model.tflite"),
    ("dynamic_range", "model.dynamic_range.tflite"),
    ("int8", "model.int8.tflite"),
)


def export_litert(classifier, directory, *, check_texts, calibration_texts):
    """Write the three LiteRT models into `directory/litert`.

    Tokenisation goes into the graph (raw strings in) when `FastBertTokenizer`
    reproduces the keras-hub token ids on `check_texts` and the probe texts.
    Otherwise the models take the int32 token-id inputs.

    Args:
        classifier: keras_hub.models.TextClassifier with its preprocessor, not
            quantised by Keras (see `check_convertible`).
        directory: Path. The export staging folder.
        check_texts: list of str. Normalised texts for the token-id comparison.
        calibration_texts: list of str. Normalised texts that calibrate the
            activation ranges of the int8 model.

    Returns:
        (list of artifact dicts, tokenizer_in_graph: bool, reason: str or None).
    """
    folder = directory / "litert"
    folder.mkdir()
    packer, reason = build_in_graph_packer(classifier.preprocessor, check_texts)
    if packer is None:
        logger.info("LiteRT models take token ids: %s.", reason)
    with tempfile.TemporaryDirectory(prefix="vtune-litert-") as scratch:
        graph = Path(scratch) / "graph"
        if packer is not None:
            write_text_saved_model(classifier, graph, packer=packer)
        else:
            probability_model(classifier).export(
                str(graph),
                format="tf_saved_model",
                input_signature=token_input_signature(classifier.preprocessor.sequence_length),
                verbose=False,
            )
        samples = _calibration_samples(classifier, calibration_texts, text_input=packer is not None)
        entries = []
        for variant, name in VARIANTS:
            data = _convert(graph, variant, samples, text_input=packer is not None)
            (folder / name).write_bytes(data)
            entries.append(_entry(f"litert/{name}", variant, text_input=packer is not None))
    return entries, packer is not None, reason


def _convert(graph, variant, samples, *, text_input):
    converter = tf.lite.TFLiteConverter.from_saved_model(str(graph))
    if text_input:
        import tensorflow_text

        converter.allow_custom_ops = True
        # NOTE: a private TargetSpec attribute (TensorFlow 2.21). The int8 calibrator
        # runs the model, and only this attribute passes it the tensorflow_text kernels.
        converter.target_spec._experimental_custom_op_registerers = list(
            tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS
        )
    if variant != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "int8":
        # Inputs and outputs keep their types (string or int32 in, float32 out), and
        # ops without an int8 kernel stay float.
        converter.representative_dataset = lambda: iter(samples)
    return converter.convert()


def _calibration_samples(classifier, texts, *, text_input):
    """Return one input dict per text, batch size 1, as the int8 calibrator expects."""
    if text_input:
        return [{TEXT_INPUT: np.asarray([text.encode("utf-8")], dtype=object)} for text in texts]
    samples = []
    for text in texts:
        features = tokenize(classifier, [text])
        samples.append({name: features[name] for name in TOKEN_INPUTS})
    return samples


def _entry(path, variant, *, text_input):
    if text_input:
        inputs = {TEXT_INPUT: "string [batch]"}
    else:
        inputs = {name: "int32 [batch, sequence_length]" for name in TOKEN_INPUTS}
    return {
        "format": "litert",
        "path": path,
        "variant": variant,
        "text_input": text_input,
        "inputs": inputs,
        "outputs": {PROBABILITIES: "float32 [batch, classes]"},
    }

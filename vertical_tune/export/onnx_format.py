"""ONNX export: a float32 model and an onnxruntime dynamic int8 model, both taking token ids."""

import onnx

from vertical_tune.export.token_inputs import PROBABILITIES, TOKEN_INPUTS, probability_model, token_input_signature


def export_onnx(classifier, directory):
    """Write `directory/onnx/model.onnx` and `model.int8.onnx`, and return their artifact entries.

    The int8 model comes from `onnxruntime.quantization.quantize_dynamic`: int8
    weights, with activations quantised at run time.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = directory / "onnx"
    folder.mkdir()
    float_path, int8_path = folder / "model.onnx", folder / "model.int8.onnx"
    probability_model(classifier).export(
        str(float_path),
        format="onnx",
        input_signature=token_input_signature(classifier.preprocessor.sequence_length),
        verbose=False,
    )
    name_output(float_path, PROBABILITIES)
    quantize_dynamic(str(float_path), str(int8_path), weight_type=QuantType.QInt8)
    return [_entry("onnx/model.onnx", "float32"), _entry("onnx/model.int8.onnx", "dynamic_int8")]


def name_output(path, name):
    """Rename the single graph output of the ONNX file at `path` to `name`.

    tf2onnx names outputs after TensorFlow tensors (e.g. `Identity:0`), so the
    file is rewritten with a stable name that the loader can ask for.
    """
    model = onnx.load(str(path))
    (output,) = model.graph.output
    old = output.name
    if old == name:
        return
    for node in model.graph.node:
        node.output[:] = [name if value == old else value for value in node.output]
        node.input[:] = [name if value == old else value for value in node.input]
    output.name = name
    onnx.save(model, str(path))


def _entry(path, variant):
    return {
        "format": "onnx",
        "path": path,
        "variant": variant,
        "text_input": False,
        "inputs": {name: "int32 [batch, sequence_length]" for name in TOKEN_INPUTS},
        "outputs": {PROBABILITIES: "float32 [batch, classes]"},
    }

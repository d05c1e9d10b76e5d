"""Post-training int8 quantisation with Keras' own `Model.quantize`."""

import keras

from vertical_tune.errors import ConfigError, format_error

HEAD_LAYER = "logits"


def is_quantized(model):
    """True when any layer of `model` already runs with a quantised dtype policy."""
    return any(getattr(layer, "quantization_mode", None) for layer in model._flatten_layers())


def quantize_int8(model):
    """Quantise the backbone's Dense, attention and embedding weights of `model` to int8, in place.

    Weights get one scale per output channel and activations are quantised on the
    fly (Keras 3 `int8` mode). The classification head stays in float32: it is a
    tiny share of the weights, and keras 3.15 cannot load a `TextClassifier` file
    whose head is quantised, because the task rebuilds its head in float32.

    Raises:
        ConfigError: the model is already quantised.
    """
    if is_quantized(model):
        raise ConfigError(
            format_error(
                "The model is already quantised.",
                where="compression.methods",
                received="int8",
                fix="Compress the run this one was made from, or drop `int8` from the methods.",
            )
        )
    model.quantize("int8", filters=_is_quantizable)


def _is_quantizable(layer):
    # Keras warns about every layer without its own `quantize` (layer norms, the tokenizer).
    has_quantize = type(layer).quantize is not keras.layers.Layer.quantize
    return layer.built and has_quantize and layer.name != HEAD_LAYER

"""Token-id inputs of the exported graphs and a Keras model from token ids to probabilities."""

import keras
import numpy as np

TOKEN_INPUTS = ("token_ids", "padding_mask", "segment_ids")
PROBABILITIES = "probabilities"


def token_input_signature(sequence_length):
    """Return the `input_signature` for `Model.export`: one int32 [batch, sequence_length] input per name."""
    return [
        {name: keras.InputSpec(shape=(None, sequence_length), dtype="int32", name=name) for name in TOKEN_INPUTS}
    ]


def tokenize(model, texts):
    """Run the classifier's own preprocessor and return int32 numpy arrays keyed by `TOKEN_INPUTS`."""
    features = model.preprocessor(np.asarray(list(texts), dtype=object))
    return {name: np.asarray(features[name]).astype(np.int32) for name in TOKEN_INPUTS}


def probability_model(classifier):
    """Wrap a keras-hub TextClassifier as a functional model: token ids in, float32 softmax out.

    The classifier is called without its preprocessor, and the output is named
    `probabilities` so that the exported signatures use that name.
    """
    sequence_length = classifier.preprocessor.sequence_length
    inputs = {name: keras.Input(shape=(sequence_length,), dtype="int32", name=name) for name in TOKEN_INPUTS}
    logits = classifier(inputs)
    probabilities = keras.layers.Softmax(dtype="float32", name=PROBABILITIES)(logits)
    return keras.Model(inputs, {PROBABILITIES: probabilities}, name="probabilities_from_token_ids")

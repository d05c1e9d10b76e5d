"""SavedModel export: raw strings in, probabilities and label names out, tokenisation in the graph."""

import keras
import tensorflow as tf

from vertical_tune.export.token_inputs import PROBABILITIES

SIGNATURE = "serving_default"
TEXT_INPUT = "text"
LABEL_OUTPUT = "label"


def text_signature():
    """Return the input signature of the string endpoints: a 1-D tf.string tensor named `text`."""
    return [tf.TensorSpec(shape=[None], dtype=tf.string, name=TEXT_INPUT)]


def write_text_saved_model(classifier, path, *, packer=None, labels=None):
    """Write a SavedModel whose `serving_default` maps strings to probabilities.

    Args:
        classifier: keras_hub.models.TextClassifier with its preprocessor.
        path: str or Path. The SavedModel folder to create.
        packer: callable or None. Turns a string tensor into the token-id inputs.
            None uses the classifier's keras-hub preprocessor.
        labels: list of str or None. When given, the signature also returns `label`,
            the name of the most probable class.
    """
    archive = keras.export.ExportArchive()
    archive.track(classifier)
    if packer is not None:
        archive.track(packer)
    preprocess = packer if packer is not None else classifier.preprocessor
    names = tf.constant(list(labels)) if labels is not None else None

    def serve(text):
        features = dict(preprocess(text))
        features["padding_mask"] = tf.cast(features["padding_mask"], tf.bool)
        logits = classifier(features, training=False)
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        outputs = {PROBABILITIES: probabilities}
        if names is not None:
            outputs[LABEL_OUTPUT] = tf.gather(names, tf.argmax(probabilities, axis=-1))
        return outputs

    archive.add_endpoint(SIGNATURE, serve, input_signature=text_signature())
    archive.write_out(str(path), verbose=False)


def export_saved_model(classifier, directory, labels):
    """Write `directory/saved_model` (strings in, `probabilities` and `label` out) and return the artifact entry."""
    path = directory / "saved_model"
    write_text_saved_model(classifier, path, labels=labels)
    return {
        "format": "saved_model",
        "path": "saved_model",
        "variant": "float32",
        "text_input": True,
        "inputs": {TEXT_INPUT: "tf.string [batch]"},
        "outputs": {PROBABILITIES: "float32 [batch, classes]", LABEL_OUTPUT: "tf.string [batch]"},
    }

"""Train a student on a frozen teacher with Keras' own `keras.distillation.Distiller`.

Texts are tokenized once per model in the tf.data pipeline: the teacher and the
student each read their own token ids, so they may use different tokenizers. Rows
without a label (class index -1, e.g. from `--unlabelled`) add only the
distillation term; the hard-label loss masks them.
"""

import keras
import numpy as np
import tensorflow as tf

from vertical_tune.evaluation.metrics import classification_metrics
from vertical_tune.training.losses import masked_classification_loss
from vertical_tune.training.pipeline import make_dataset

TEACHER_KEY = "teacher"
STUDENT_KEY = "student"


def tokenized_dataset(texts, labels, teacher, student, *, batch_size, shuffle=False, seed=0):
    """Batch texts into `(token inputs of both models, labels)`, tokenized once per model.

    Args:
        texts: list of str. Already normalised texts.
        labels: int array of class indices (-1 for no label), a dict of per-task
            target arrays (multi-task), or None.
        teacher, student: keras-hub classifiers with their preprocessors.
    """
    dataset = make_dataset(texts, labels, batch_size=batch_size, shuffle=shuffle, seed=seed)

    def tokenize(batch, y=None):
        # Flat keys `teacher_token_ids`, `student_padding_mask`, ... as `routed` expects.
        x = {}
        for part, model in ((TEACHER_KEY, teacher), (STUDENT_KEY, student)):
            x.update({f"{part}_{name}": value for name, value in model.preprocessor(batch).items()})
        return x if y is None else (x, y)

    return dataset.map(tokenize, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def routed(model, key, input_names, *, feature_projection=None):
    """Wrap a classifier so it reads its own token ids from the two-model input dict.

    The wrapper also names two tensors for `keras.distillation.FeatureDistillation`:
    `<key>_features` (the sentence vector the head reads, projected to
    `feature_projection` units when given) and the logits as its output.

    Args:
        model: keras-hub classifier.
        key: `"teacher"` or `"student"`: the part of the input this model reads.
        input_names: dict `{"teacher": [...], "student": [...]}` of each model's
            token input names, so both wrappers take the same input structure.
        feature_projection: int or None. Width of a learned projection of the
            features (the teacher's width when the student's differs).
    """
    inputs = {
        f"{part}_{name}": keras.Input(shape=(None,), dtype="int32", name=f"{part}_{name}")
        for part, names in input_names.items()
        for name in names
    }
    own = {name: inputs[f"{key}_{name}"] for name in input_names[key]}
    with_features = keras.Model(model.inputs, [model.output, _head_input(model)])
    logits, features = with_features(own)
    if len(features.shape) == 3:
        features = features[:, 0, :]
    if feature_projection is not None:
        features = keras.layers.Dense(feature_projection, name=f"{key}_features")(features)
    else:
        features = keras.layers.Identity(name=f"{key}_features")(features)
    # A layer is part of a functional model only on a path to its output, so the
    # features join the logits with weight 0.
    logits = keras.layers.Lambda(lambda pair: pair[0] + 0.0 * keras.ops.sum(pair[1]), name=f"{key}_logits")(
        [logits, features]
    )
    return keras.Model(inputs, logits, name=f"{key}_routed")


def input_names(model):
    """Return the names of a keras-hub classifier's token inputs, e.g. token_ids and padding_mask."""
    return sorted(model.input.keys()) if isinstance(model.input, dict) else [model.input.name]


def _head_input(model):
    """Return the tensor the classification head reads: the input of the first layer after the backbone."""
    layers = model.layers
    position = next(i for i, layer in enumerate(layers) if layer is model.backbone)
    return layers[position + 1].input


def hard_label_loss(y_true, logits):
    """Cross-entropy on labelled rows only; rows labelled -1 add nothing."""
    return masked_classification_loss(y_true, logits)


def soft_target_loss(temperature):
    """Return the soft-target term: T² times KL(softmax(teacher / T) || softmax(student / T)), batch mean.

    NOTE: the loss is passed as a `KLDivergence` instance on purpose. In Keras 3.15,
    `LogitsDistillation`'s default `loss="kl_divergence"` resolves to the plain
    function, which skips the softmax and the T² factor and compares raw logits.
    """
    return keras.distillation.LogitsDistillation(temperature=temperature, loss=keras.losses.KLDivergence())


class StudentValidation(keras.callbacks.Callback):
    """After each epoch, score the student and its agreement with the teacher on validation data.

    Adds `val_<metric>` for the student's metrics, `val_agreement` (share of texts
    where student and teacher predict the same class) and `val_teacher_<metric>`
    is not added: the teacher's metrics do not change, so they are computed once.

    Args:
        dataset: batched validation dataset of the two-model inputs.
        y_true: validation class indices.
        label_names: list of str.
        teacher_predictions: the teacher's class indices on the same texts.
    """

    def __init__(self, dataset, y_true, label_names, teacher_predictions):
        super().__init__()
        self.dataset = dataset
        self.y_true = np.asarray(y_true)
        self.label_names = list(label_names)
        self.teacher_predictions = np.asarray(teacher_predictions)
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        logits = self.model.predict(self.dataset, verbose=0)
        probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
        metrics = classification_metrics(self.y_true, probabilities, self.label_names)
        metrics["agreement"] = float((probabilities.argmax(axis=1) == self.teacher_predictions).mean())
        self.history.append(metrics)
        if logs is not None:
            for key, value in metrics.items():
                if key != "n_examples" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    logs[f"val_{key}"] = float(value)

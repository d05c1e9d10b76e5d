"""One process of the distributed tests; run as `python -m tests.distribute.worker MODE OUTPUT`.

MODE `mirrored_small` / `mirrored_classifier` prints the loss of one fixed batch under
the default strategy and under MirroredStrategy on two logical CPU devices.
MODE `multi_worker` trains a small model for a few steps under the `TF_CONFIG` cluster
and prints its final loss and weight checksum. The chief also writes OUTPUT.
The result is one JSON line prefixed with `RESULT `.
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from vertical_tune.config.schema import DistributionConfig  # noqa: E402
from vertical_tune.distribute import build_strategy, describe, is_chief  # noqa: E402


def small_model():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def small_batch():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0).astype("int32")


def classifier_model(preset):
    import keras

    from vertical_tune.backbones.resolver import resolve_backbone
    from vertical_tune.config.schema import TrainingConfig
    from vertical_tune.modeling.classifier import build_text_classifier
    from vertical_tune.training.trainer import compile_classifier

    keras.utils.set_random_seed(0)
    model = build_text_classifier(resolve_backbone(preset), num_classes=3, sequence_length=16, dropout=0.0)
    compile_classifier(model, TrainingConfig(), steps_per_epoch=1)
    return model


def classifier_batch():
    import numpy as np

    from tests.helpers import sentiment_frame

    frame = sentiment_frame(4, seed=0)
    labels = {"negative": 0, "positive": 1, "neutral": 2}
    return np.array(frame["text"]), np.array([labels[label] for label in frame["label"]], dtype="int32")


def mirrored_losses(build_model, batch):
    """Evaluate one batch with the same initial weights under both strategies."""
    import tensorflow as tf

    mirrored = build_strategy(DistributionConfig(strategy="mirrored", cpu_devices=2))
    x, y = batch
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(len(y))
    default_model = build_model()
    with mirrored.scope():
        mirrored_model = build_model()
    result = {
        "replicas": describe(mirrored)["replicas"],
        "default": _loss(default_model, dataset),
        "mirrored": _loss(mirrored_model, dataset),
    }
    default_model.fit(dataset, epochs=1, verbose=0)
    mirrored_model.fit(dataset, epochs=1, verbose=0)
    result["default_after_step"] = _loss(default_model, dataset)
    result["mirrored_after_step"] = _loss(mirrored_model, dataset)
    return result


def _loss(model, dataset):
    return float(model.evaluate(dataset, verbose=0, return_dict=True)["loss"])


def multi_worker(output):
    import numpy as np
    import tensorflow as tf

    strategy = build_strategy(DistributionConfig(strategy="multi_worker"))
    with strategy.scope():
        model = small_model()
    x, y = small_batch()
    dataset = tf.data.Dataset.from_tensor_slices((np.tile(x, (4, 1)), np.tile(y, 4))).batch(8)
    history = model.fit(dataset, epochs=2, verbose=0)
    chief = is_chief(strategy)
    if chief:
        with open(output, "w", encoding="utf-8") as file:
            file.write("chief\n")
    return {
        "loss": history.history["loss"][-1],
        "weights": float(sum(np.sum(w) for w in model.get_weights())),
        "chief": chief,
        "describe": describe(strategy),
    }


def main(mode, argument):
    if mode == "mirrored_small":
        result = mirrored_losses(small_model, small_batch())
    elif mode == "mirrored_classifier":
        result = mirrored_losses(lambda: classifier_model(argument), classifier_batch())
    else:
        result = multi_worker(argument)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

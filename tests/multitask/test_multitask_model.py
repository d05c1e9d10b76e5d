"""`MultiTaskTextModel` on a tiny backbone: dict outputs, weighted losses, uncertainty weighting, saving."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from vertical_tune.backbones.resolver import resolve_backbone
from vertical_tune.modeling.multitask import LossBalancer, MultiTaskTextModel, build_multitask_model, task_loss
from vertical_tune.training.pipeline import make_dataset

TEXTS = ["good great stock", "bad poor loss", "report today price", "the market is weak"]

# One head per task type. The binary and multilabel heads have class weights, and the
# binary head uses focal loss.
HEADS = [
    {"name": "topic", "type": "multiclass", "units": 3, "focal_gamma": None, "class_weights": None},
    {"name": "spam", "type": "binary", "units": 2, "focal_gamma": 2.0, "class_weights": [1.0, 3.0]},
    {"name": "tags", "type": "multilabel", "units": 4, "focal_gamma": None, "class_weights": [[1.0, 2.0]] * 4},
    {"name": "rating", "type": "regression", "units": 1, "focal_gamma": None, "class_weights": None, "hidden_units": 8},
]

TARGETS = {
    "topic": np.array([0, 2, -1, 1]),
    "spam": np.array([1, 0, 0, -1]),
    "tags": np.array([[1, 0, 0, 1], [0, 1, 0, 0], [-1, -1, -1, -1], [0, 0, 1, 0]], dtype="float32"),
    "rating": np.array([9.0, 2.0, np.nan, 4.0], dtype="float32"),
}


def make_heads(**loss_weights):
    heads = []
    for head in HEADS:
        full = {"hidden_units": 0, "dropout": 0.0, "loss_weight": 1.0, "mean": 0.0, "std": 1.0, **head}
        if head["type"] == "regression":
            full.update(mean=5.0, std=2.5)
        full["loss_weight"] = loss_weights.get(head["name"], 1.0)
        heads.append(full)
    return heads


def make_model(tiny_preset, loss_balancing="fixed", **loss_weights):
    keras.utils.set_random_seed(0)
    return build_multitask_model(
        resolve_backbone(tiny_preset), make_heads(**loss_weights), sequence_length=16, loss_balancing=loss_balancing
    )


def fixed_predictions():
    rng = np.random.default_rng(0)
    return {head["name"]: rng.normal(size=(len(TEXTS), head["units"])).astype("float32") for head in HEADS}


def outputs_of(model):
    """Run the model eagerly on `TEXTS`, which is faster here than tracing `predict`."""
    outputs = model(model.preprocessor(TEXTS), training=False)
    return {name: ops.convert_to_numpy(value) for name, value in outputs.items()}


def train_a_few_steps(model, steps=4):
    # Eager steps: tracing the train step would take longer than these few steps.
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), run_eagerly=True)
    dataset = make_dataset(TEXTS, TARGETS, batch_size=2).repeat()
    return model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)


def test_outputs_are_named_by_task(tiny_preset):
    model = make_model(tiny_preset)

    outputs = outputs_of(model)

    assert model.task_names == ["topic", "spam", "tags", "rating"]
    assert set(outputs) == {"topic", "spam", "tags", "rating"}
    assert outputs["topic"].shape == (4, 3)
    assert outputs["spam"].shape == (4, 2)
    assert outputs["tags"].shape == (4, 4)
    assert outputs["rating"].shape == (4, 1)


def test_head_layers_follow_config(tiny_preset):
    model = make_model(tiny_preset)
    names = {layer.name for layer in model.layers}

    assert {"topic_dense", "spam_dense", "tags_dense", "rating_dense", "rating_rescale"} <= names
    assert "rating_hidden" in names
    assert "topic_hidden" not in names


def test_regression_head_rescales_to_label_unit(tiny_preset):
    model = make_model(tiny_preset)
    rescale = model.get_layer("rating_rescale")

    assert rescale.scale == 2.5
    assert rescale.offset == 5.0


def test_compute_loss_sums_task_losses(tiny_preset):
    model = make_model(tiny_preset)
    predictions = fixed_predictions()
    heads = {head["name"]: head for head in model.heads}
    per_task = {name: float(task_loss(heads[name], TARGETS[name], predictions[name])) for name in heads}

    total = model.compute_loss(y=TARGETS, y_pred=predictions)

    assert float(total) == pytest.approx(sum(per_task.values()), rel=1e-5)
    assert all(math.isfinite(value) and value > 0 for value in per_task.values())


def test_loss_weight_scales_task_contribution(tiny_preset):
    predictions = fixed_predictions()
    plain = make_model(tiny_preset)
    weighted = make_model(tiny_preset, topic=3.0)
    topic_loss = float(task_loss(plain.heads[0], TARGETS["topic"], predictions["topic"]))

    plain_total = float(plain.compute_loss(y=TARGETS, y_pred=predictions))
    weighted_total = float(weighted.compute_loss(y=TARGETS, y_pred=predictions))

    assert weighted_total - plain_total == pytest.approx(2.0 * topic_loss, rel=1e-5)


def test_task_loss_trackers_record_unweighted_losses(tiny_preset):
    model = make_model(tiny_preset, rating=10.0)
    predictions = fixed_predictions()

    model.compute_loss(y=TARGETS, y_pred=predictions)
    trackers = {metric.name: float(metric.result()) for metric in model.metrics if metric.name.endswith("_loss")}

    expected = float(task_loss(model.heads[3], TARGETS["rating"], predictions["rating"]))
    assert trackers["rating_loss"] == pytest.approx(expected, rel=1e-5)
    assert {"topic_loss", "spam_loss", "tags_loss", "rating_loss"} <= set(trackers)


def test_uncertainty_combines_with_log_variances():
    balancer = LossBalancer(2)
    balancer.log_variance.assign([math.log(2.0), -1.0])

    total = balancer.combine([ops.convert_to_tensor(3.0), ops.convert_to_tensor(5.0)])

    expected = 0.5 * 3.0 + math.log(2.0) + math.e * 5.0 - 1.0
    assert float(total) == pytest.approx(expected, rel=1e-5)
    assert balancer.task_weights() == pytest.approx([0.5, math.e], rel=1e-5)


def test_fixed_balancer_ignores_log_variances():
    balancer = LossBalancer(2, trainable=False)
    balancer.log_variance.assign([1.0, 1.0])

    total = balancer.combine([ops.convert_to_tensor(3.0), ops.convert_to_tensor(5.0)])

    assert float(total) == pytest.approx(8.0)
    assert balancer.trainable_weights == []


@pytest.fixture(scope="module")
def uncertainty_model(tiny_preset, tmp_path_factory):
    """A model with uncertainty weighting, its weights before training, and its training history."""
    model = make_model(tiny_preset, loss_balancing="uncertainty", tags=0.5)
    initial = model.loss_balancer.task_weights()
    history = train_a_few_steps(model)
    return model, initial, history


def test_uncertainty_weights_start_at_one_and_change(uncertainty_model):
    model, initial, history = uncertainty_model

    weights = model.loss_balancer.task_weights()

    assert initial == [1.0, 1.0, 1.0, 1.0]
    assert all(abs(weight - 1.0) > 1e-3 for weight in weights), weights
    assert {"topic_loss", "spam_loss", "tags_loss", "rating_loss"} <= set(history.history)


def test_fixed_weights_stay_one_after_training(tiny_preset):
    model = make_model(tiny_preset, loss_balancing="fixed")

    train_a_few_steps(model)

    assert model.loss_balancer.task_weights() == [1.0, 1.0, 1.0, 1.0]
    assert not any("log_variance" in weight.path for weight in model.trainable_weights)


def test_save_and_load_keep_outputs_and_weights(uncertainty_model, tmp_path):
    model, _, _ = uncertainty_model
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.saving.load_model(path, compile=False)

    assert isinstance(loaded, MultiTaskTextModel)
    assert loaded.heads == model.heads
    assert loaded.loss_balancing == "uncertainty"
    np.testing.assert_allclose(loaded.loss_balancer.task_weights(), model.loss_balancer.task_weights(), rtol=1e-6)
    before, after = outputs_of(model), outputs_of(loaded)
    for name in model.task_names:
        np.testing.assert_allclose(after[name], before[name], atol=1e-5, err_msg=name)


def test_loaded_model_can_train_again(tiny_preset, tmp_path):
    model = make_model(tiny_preset, loss_balancing="uncertainty")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)

    history = train_a_few_steps(loaded, steps=2)

    assert math.isfinite(history.history["loss"][-1])
    assert loaded.loss_balancer.task_weights() != [1.0, 1.0, 1.0, 1.0]

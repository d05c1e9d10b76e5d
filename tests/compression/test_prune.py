"""Tests of magnitude pruning on a tiny keras-hub BERT classifier."""

import keras
import keras_hub
import numpy as np
import pytest

from tests.helpers import save_tiny_bert_preset, sentiment_frame
from vertical_tune.compression.prune import (
    MagnitudePruning,
    PolynomialSparsity,
    magnitude_mask,
    prunable_kernels,
    prune_to,
    sparsity_report,
)
from vertical_tune.errors import ConfigError

BATCH_SIZE = 4
# 2 transformer layers x (query, key, value, attention output, 2 feed-forward) + pooler.
NUM_TINY_BERT_KERNELS = 2 * 6 + 1


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    return save_tiny_bert_preset(tmp_path_factory.mktemp("prune_bert"), hidden_dim=32, num_layers=2)


def build_classifier(preset):
    keras.utils.set_random_seed(0)
    preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(preset, sequence_length=16)
    classifier = keras_hub.models.TextClassifier.from_preset(preset, num_classes=3, preprocessor=preprocessor)
    classifier.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return classifier


def training_data():
    """Return 12 texts and their class indices, which make 3 steps per epoch at BATCH_SIZE."""
    frame = sentiment_frame(rows_per_class=4, seed=0)
    names = sorted(frame["label"].unique())
    labels = np.array([names.index(label) for label in frame["label"]])
    return np.array(frame["text"].tolist()), labels


def steps_per_epoch():
    return len(training_data()[1]) // BATCH_SIZE


def zero_count(variable):
    return int(np.count_nonzero(keras.ops.convert_to_numpy(variable) == 0))


def non_pruned_weights(classifier):
    """Return the head kernel and the embedding tables, which pruning must leave alone."""
    backbone = classifier.backbone
    return {
        "logits": classifier.get_layer("logits").kernel,
        "token_embedding": backbone.get_layer("token_embedding").embeddings,
        "position_embedding": backbone.get_layer("position_embedding").position_embeddings,
        "segment_embedding": backbone.get_layer("segment_embedding").embeddings,
    }


class ZeroPatternRecorder(keras.callbacks.Callback):
    """Record which kernel entries are zero after every training batch."""

    def __init__(self, kernels):
        super().__init__()
        self.kernels = kernels
        self.patterns = []

    def on_train_batch_end(self, batch, logs=None):
        self.patterns.append({path: keras.ops.convert_to_numpy(variable) == 0 for path, variable in self.kernels})


class LowRankDense(keras.layers.Layer):
    """A Dense projection factorised into two inner Dense layers, as low-rank compression builds it."""

    def __init__(self, units, rank, **kwargs):
        super().__init__(**kwargs)
        self.down = keras.layers.Dense(rank, use_bias=False, name="down")
        self.up = keras.layers.Dense(units, name="up")

    def build(self, input_shape):
        self.down.build(input_shape)
        self.up.build((*input_shape[:-1], self.down.units))

    def call(self, inputs):
        return self.up(self.down(inputs))


class ModelWithBackbone(keras.Model):
    def __init__(self):
        super().__init__()
        self.backbone = keras.Sequential([keras.Input((8,)), LowRankDense(8, rank=2, name="low_rank")])
        self.head = keras.layers.Dense(3, name="logits")

    def call(self, inputs):
        return self.head(self.backbone(inputs))


# --- magnitude_mask ----------------------------------------------------------


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 1 / 3, 0.5, 0.9, 0.99])
def test_mask_prunes_exact_count(sparsity):
    values = np.random.default_rng(0).normal(size=(7, 9)).astype("float32")
    keep = magnitude_mask(values, sparsity)

    assert keep.shape == values.shape
    assert keep.dtype == bool
    assert np.count_nonzero(~keep) == round(sparsity * values.size)


def test_mask_prunes_smallest_magnitudes():
    values = np.random.default_rng(1).normal(size=(6, 5, 4)).astype("float32")
    keep = magnitude_mask(values, 0.4)

    assert np.abs(values[~keep]).max() <= np.abs(values[keep]).min()


def test_mask_ties_prune_lowest_index_first():
    values = np.array([[2.0, -1.0, 1.0], [1.0, -1.0, 3.0]])
    keep = magnitude_mask(values, 0.5)

    expected = np.array([[True, False, False], [False, True, True]])
    np.testing.assert_array_equal(keep, expected)
    np.testing.assert_array_equal(magnitude_mask(values, 0.5), keep)


def test_mask_accepts_keras_variable():
    variable = keras.Variable(np.arange(1.0, 11.0).reshape(2, 5))
    keep = magnitude_mask(variable, 0.3)

    np.testing.assert_array_equal(keep.ravel(), [False] * 3 + [True] * 7)


# --- PolynomialSparsity ------------------------------------------------------


def test_schedule_begin_mid_end():
    schedule = PolynomialSparsity(0.8, begin_step=10, end_step=30, initial=0.2, power=3)

    assert schedule(10) == pytest.approx(0.2)
    assert schedule(20) == pytest.approx(0.8 + (0.2 - 0.8) * 0.5**3)
    assert schedule(30) == pytest.approx(0.8)


def test_schedule_clamps_outside_ramp():
    schedule = PolynomialSparsity(0.5, begin_step=5, end_step=15)

    assert schedule(0) == pytest.approx(0.0)
    assert schedule(100) == pytest.approx(0.5)


def test_schedule_is_non_decreasing():
    schedule = PolynomialSparsity(0.9, begin_step=0, end_step=50)
    values = [schedule(step) for step in range(60)]

    assert all(later >= earlier for earlier, later in zip(values, values[1:]))


@pytest.mark.parametrize(
    "arguments",
    [
        {"target": 1.0, "begin_step": 0, "end_step": 10},
        {"target": 0.5, "begin_step": 10, "end_step": 10},
        {"target": 0.5, "begin_step": -1, "end_step": 10},
        {"target": 0.5, "begin_step": 0, "end_step": 10, "initial": 0.6},
        {"target": 0.5, "begin_step": 0, "end_step": 10, "power": 0},
    ],
)
def test_schedule_rejects_invalid_arguments(arguments):
    with pytest.raises(ConfigError):
        PolynomialSparsity(**arguments)


# --- prunable_kernels --------------------------------------------------------


def test_prunable_kernels_of_bert(preset):
    classifier = build_classifier(preset)
    kernels = prunable_kernels(classifier)
    paths = [path for path, _ in kernels]

    assert len(kernels) == NUM_TINY_BERT_KERNELS
    assert "transformer_layer_0/self_attention_layer/query" in paths
    assert "transformer_layer_1/self_attention_layer/attention_output" in paths
    assert "transformer_layer_1/feedforward_output_dense" in paths
    assert "pooled_dense" in paths
    assert all(variable.name == "kernel" for _, variable in kernels)
    assert not any("embedding" in path or "logits" in path for path in paths)


def test_prunable_kernels_inside_custom_layer():
    model = ModelWithBackbone()
    model(np.zeros((1, 8), dtype="float32"))
    paths = [path for path, _ in prunable_kernels(model)]

    assert paths == ["low_rank/down", "low_rank/up"]


def test_prunable_kernels_of_single_custom_layer():
    layer = LowRankDense(8, rank=2)
    layer.build((None, 8))
    shapes = [tuple(variable.shape) for _, variable in prunable_kernels(layer)]

    assert shapes == [(8, 2), (2, 8)]


# --- prune_to and sparsity_report --------------------------------------------


def test_prune_to_prunes_every_kernel(preset):
    classifier = build_classifier(preset)
    masks = prune_to(classifier, 0.3)

    assert len(masks) == NUM_TINY_BERT_KERNELS
    for path, variable in prunable_kernels(classifier):
        assert zero_count(variable) == round(0.3 * np.prod(variable.shape)), path
    for name, variable in non_pruned_weights(classifier).items():
        assert zero_count(variable) == 0, name


def test_sparsity_report_rows_and_overall(preset):
    classifier = build_classifier(preset)
    prune_to(classifier, 0.25)
    rows = sparsity_report(classifier)
    per_kernel, overall = rows[:-1], rows[-1]

    assert len(per_kernel) == NUM_TINY_BERT_KERNELS
    assert set(per_kernel[0]) == {"layer", "shape", "zeros", "size", "sparsity"}
    assert per_kernel[0]["layer"] == "transformer_layer_0/self_attention_layer/query"
    assert per_kernel[0]["shape"] == (32, 2, 16)
    for row in per_kernel:
        assert row["zeros"] == round(0.25 * row["size"]), row["layer"]
    assert overall["layer"] == "overall"
    assert overall["zeros"] == sum(row["zeros"] for row in per_kernel)
    assert overall["size"] == sum(row["size"] for row in per_kernel)
    assert overall["sparsity"] == pytest.approx(overall["zeros"] / overall["size"])


def test_one_shot_pruning_revives_without_callback(preset):
    # Control for the callback tests: AdamW does move pruned weights away from zero.
    classifier = build_classifier(preset)
    prune_to(classifier, 0.5)
    zeros_before = sum(zero_count(variable) for _, variable in prunable_kernels(classifier))
    texts, labels = training_data()
    classifier.fit(texts, labels, batch_size=BATCH_SIZE, epochs=1, verbose=0)
    zeros_after = sum(zero_count(variable) for _, variable in prunable_kernels(classifier))

    assert zeros_after < zeros_before


# --- MagnitudePruning --------------------------------------------------------


@pytest.fixture(scope="module")
def pruned_by_fit(preset):
    """A classifier fitted for 3 epochs with MagnitudePruning(0.5) ramping over all steps."""
    classifier = build_classifier(preset)
    before = {name: keras.ops.convert_to_numpy(variable) for name, variable in non_pruned_weights(classifier).items()}
    epochs = 3
    callback = MagnitudePruning(0.5, end_step=epochs * steps_per_epoch(), frequency=1)
    texts, labels = training_data()
    history = classifier.fit(texts, labels, batch_size=BATCH_SIZE, epochs=epochs, callbacks=[callback], verbose=0)
    return classifier, history, callback, before


def test_fit_reaches_target_per_kernel(pruned_by_fit):
    classifier, _, _, _ = pruned_by_fit

    for path, variable in prunable_kernels(classifier):
        expected = round(0.5 * np.prod(variable.shape))
        assert abs(zero_count(variable) - expected) <= 1, path


def test_fit_leaves_head_and_embeddings_unpruned(pruned_by_fit):
    classifier, _, _, before = pruned_by_fit

    for name, variable in non_pruned_weights(classifier).items():
        assert zero_count(variable) == 0, name
    # Pruning does not freeze the head, which keeps training.
    assert not np.array_equal(keras.ops.convert_to_numpy(classifier.get_layer("logits").kernel), before["logits"])


def test_fit_logs_rising_sparsity(pruned_by_fit):
    _, history, _, _ = pruned_by_fit
    logged = history.history["sparsity"]

    assert len(logged) == 3
    assert logged[0] > 0.0
    assert logged[0] < logged[1] < logged[2]
    assert logged[2] == pytest.approx(0.5, abs=1e-3)


def test_pruned_model_saves_and_loads(pruned_by_fit, tmp_path):
    classifier, _, _, _ = pruned_by_fit
    path = tmp_path / "pruned.keras"
    classifier.save(path)
    restored = keras.saving.load_model(path)

    assert sparsity_report(restored) == sparsity_report(classifier)
    texts, _ = training_data()
    np.testing.assert_allclose(restored.predict(texts, verbose=0), classifier.predict(texts, verbose=0), atol=1e-5)


def test_default_schedule_ramps_over_70_percent(preset):
    classifier = build_classifier(preset)
    callback = MagnitudePruning(0.4, frequency=2)
    texts, labels = training_data()
    classifier.fit(texts, labels, batch_size=BATCH_SIZE, epochs=4, callbacks=[callback], verbose=0)
    total_steps = 4 * steps_per_epoch()

    assert callback.schedule.begin_step == 0
    assert callback.schedule.end_step == round(0.7 * total_steps)
    assert callback.step == total_steps
    assert sparsity_report(classifier)[-1]["sparsity"] == pytest.approx(0.4, abs=1e-3)


def test_pruned_weights_stay_zero_between_mask_updates(preset):
    classifier = build_classifier(preset)
    kernels = prunable_kernels(classifier)
    # The target is reached at step 1. With frequency above the step count, no mask
    # is recomputed afterwards, so only re-applying the masks keeps the zeros.
    callback = MagnitudePruning(0.5, end_step=1, frequency=1000)
    recorder = ZeroPatternRecorder(kernels)
    texts, labels = training_data()
    classifier.fit(texts, labels, batch_size=BATCH_SIZE, epochs=3, callbacks=[callback, recorder], verbose=0)

    assert len(recorder.patterns) == 3 * steps_per_epoch()
    first = recorder.patterns[0]
    for step, pattern in enumerate(recorder.patterns[1:], start=2):
        for path, _ in kernels:
            np.testing.assert_array_equal(pattern[path], first[path], err_msg=f"{path} at step {step}")
    for path, variable in kernels:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable) == 0, first[path], err_msg=path)
        np.testing.assert_array_equal(callback.masks[path], ~first[path], err_msg=path)


def test_callback_counts_steps_per_execution(preset):
    classifier = build_classifier(preset)
    classifier.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=3,
    )
    callback = MagnitudePruning(0.5, end_step=2 * steps_per_epoch(), frequency=2)
    texts, labels = training_data()
    history = classifier.fit(texts, labels, batch_size=BATCH_SIZE, epochs=2, callbacks=[callback], verbose=0)

    assert callback.step == 2 * steps_per_epoch()
    assert history.history["sparsity"][0] > 0.0
    assert history.history["sparsity"][1] == pytest.approx(0.5, abs=1e-3)


# --- Validation --------------------------------------------------------------


@pytest.mark.parametrize("sparsity", [-0.1, 1.0, 1.5, "0.5", True, float("nan")])
def test_callback_rejects_invalid_sparsity(sparsity):
    with pytest.raises(ConfigError) as error:
        MagnitudePruning(sparsity)

    message = str(error.value)
    assert "compression.sparsity" in message
    assert repr(sparsity) in message
    assert "[0, 1)" in message


@pytest.mark.parametrize("sparsity", [-0.5, 1.0])
def test_prune_to_rejects_invalid_sparsity(preset, sparsity):
    classifier = build_classifier(preset)

    with pytest.raises(ConfigError, match=r"compression\.sparsity") as error:
        prune_to(classifier, sparsity)
    assert repr(sparsity) in str(error.value)


@pytest.mark.parametrize("frequency", [0, -3])
def test_callback_rejects_frequency_below_one(frequency):
    with pytest.raises(ConfigError) as error:
        MagnitudePruning(0.5, frequency=frequency)

    message = str(error.value)
    assert "frequency" in message
    assert f"Received: {frequency}" in message


def test_model_without_prunable_kernels_raises():
    model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(10, 3)])

    with pytest.raises(ConfigError, match="no prunable kernels"):
        prune_to(model, 0.5)


# Keras warns about every layer without int8 support (Dropout, LayerNormalization, ...).
IGNORE_QUANTIZE_WARNINGS = pytest.mark.filterwarnings("ignore:Layer .* does not have a `quantize` method")


@IGNORE_QUANTIZE_WARNINGS
def test_int8_model_raises_prune_before_int8(preset):
    classifier = build_classifier(preset)
    classifier.quantize("int8", filters=lambda layer: layer.built and layer.name != "logits")

    with pytest.raises(ConfigError, match="int8") as error:
        prune_to(classifier, 0.5)
    assert "Prune before int8" in str(error.value)

    texts, labels = training_data()
    with pytest.raises(ConfigError, match="Prune before int8"):
        classifier.fit(texts, labels, batch_size=BATCH_SIZE, epochs=1, callbacks=[MagnitudePruning(0.5)], verbose=0)


@IGNORE_QUANTIZE_WARNINGS
def test_sparsity_survives_int8_quantisation(preset):
    classifier = build_classifier(preset)
    prune_to(classifier, 0.5)
    classifier.quantize("int8", filters=lambda layer: layer.built and layer.name != "logits")
    rows = sparsity_report(classifier)

    assert len(rows) == NUM_TINY_BERT_KERNELS + 1
    for row in rows:
        assert row["sparsity"] >= 0.5 - 1 / row["size"], row["layer"]


def test_lora_model_raises(preset):
    classifier = build_classifier(preset)
    classifier.backbone.enable_lora(rank=2)

    with pytest.raises(ConfigError, match="LoRA"):
        prune_to(classifier, 0.5)

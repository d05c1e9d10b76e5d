"""Tests for low-rank factorisation of a keras-hub TextClassifier's Transformer kernels."""

import keras
import keras_hub
import numpy as np
import pytest

from tests.helpers import save_tiny_bert_preset
from vertical_tune.compression.factorized_dense import FactorizedDense
from vertical_tune.compression.lowrank import (
    _IneligibleLayer,
    _factorized_from_svd,
    _kernel_layout,
    _kernel_matrix_and_bias,
    factorise,
    load_factorised_model,
    restore_factorised_structure,
)
from vertical_tune.errors import ConfigError

TEXTS = np.array(["good stock", "bad loss", "the company report today", "great profit rise"])
HIDDEN_DIM = 32
NUM_LAYERS = 2
# Per Transformer layer: query, key, value and output projections of attention, and two feed-forward layers.
DENSE_SUBLAYERS_PER_LAYER = 6


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    return save_tiny_bert_preset(tmp_path_factory.mktemp("tiny_bert_lowrank"), hidden_dim=HIDDEN_DIM, num_layers=NUM_LAYERS)


def make_classifier(preset, *, with_preprocessor=True):
    preprocessor = None
    if with_preprocessor:
        preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(preset, sequence_length=16)
    return keras_hub.models.TextClassifier.from_preset(preset, num_classes=3, preprocessor=preprocessor)


def sublayer_at(model, path):
    """Return the sublayer at a path returned by `factorise`, such as `transformer_layer_0/_query_dense`."""
    transformer_name, *attributes = path.split("/")
    layer = model.backbone.get_layer(transformer_name)
    for attribute in attributes:
        layer = getattr(layer, attribute)
    return layer


def test_full_rank_reproduces_logits(preset):
    model = make_classifier(preset)
    expected = model.predict(TEXTS, verbose=0)

    report = factorise(model, rank=HIDDEN_DIM, min_size=0, only_if_smaller=False)

    assert len(report) == NUM_LAYERS * DENSE_SUBLAYERS_PER_LAYER
    assert "transformer_layer_0/_self_attention_layer/_query_dense" in report
    assert "transformer_layer_1/_self_attention_layer/_output_dense" in report
    assert "transformer_layer_1/_feedforward_intermediate_dense" in report
    for path in report:
        assert isinstance(sublayer_at(model, path), FactorizedDense), path
        assert report[path]["energy_kept"] == pytest.approx(1.0)
    actual = model.predict(TEXTS, verbose=0)
    np.testing.assert_allclose(actual, expected, atol=1e-4)


def test_factor_shapes_match_ranks(preset):
    model = make_classifier(preset)

    report = factorise(model, energy=0.9, min_size=0, only_if_smaller=False)

    assert len(report) == NUM_LAYERS * DENSE_SUBLAYERS_PER_LAYER
    for path, entry in report.items():
        layer = sublayer_at(model, path)
        assert tuple(layer.input_factor.kernel.shape) == (entry["input_size"], entry["rank"]), path
        assert tuple(layer.output_factor.kernel.shape) == (entry["rank"], entry["output_size"]), path
        assert layer.rank == entry["rank"], path


def test_energy_picks_smallest_rank(preset):
    model = make_classifier(preset)
    kernels = {}
    for layer_index in range(NUM_LAYERS):
        transformer = model.backbone.get_layer(f"transformer_layer_{layer_index}")
        kernels[f"transformer_layer_{layer_index}/_feedforward_intermediate_dense"] = keras.ops.convert_to_numpy(
            transformer._feedforward_intermediate_dense.kernel
        )
        kernels[f"transformer_layer_{layer_index}/_self_attention_layer/_output_dense"] = keras.ops.convert_to_numpy(
            transformer._self_attention_layer._output_dense.kernel
        ).reshape(HIDDEN_DIM, HIDDEN_DIM)

    # Random kernels need high ranks for 90% of the energy, so most factors are not smaller than the kernel.
    report = factorise(model, energy=0.9, min_size=0, only_if_smaller=False)

    assert len(report) == NUM_LAYERS * DENSE_SUBLAYERS_PER_LAYER
    for entry in report.values():
        assert entry["energy_kept"] >= 0.9
    for path, kernel in kernels.items():
        assert path in report
        squared = np.linalg.svd(kernel.astype(np.float64), compute_uv=False) ** 2
        rank = report[path]["rank"]
        assert squared[:rank].sum() / squared.sum() >= 0.9, path
        assert squared[: rank - 1].sum() / squared.sum() < 0.9, path


def test_parameter_fraction_halves_parameters(preset):
    model = make_classifier(preset)
    parameters_before = model.count_params()
    weights_before = {id(weight) for weight in model.weights}
    old_kernel = model.backbone.get_layer("transformer_layer_0")._feedforward_intermediate_dense.kernel

    report = factorise(model, parameter_fraction=0.5, min_size=0)

    assert len(report) == NUM_LAYERS * DENSE_SUBLAYERS_PER_LAYER
    for path, entry in report.items():
        kernel_size = entry["input_size"] * entry["output_size"]
        factor_size = entry["rank"] * (entry["input_size"] + entry["output_size"])
        assert 0.4 * kernel_size <= factor_size <= 0.5 * kernel_size, path
        bias_size = entry["parameters_before"] - kernel_size
        assert entry["parameters_after"] == factor_size + bias_size, path
    saved = sum(entry["parameters_before"] - entry["parameters_after"] for entry in report.values())
    assert model.count_params() == parameters_before - saved
    assert id(old_kernel) in weights_before
    assert id(old_kernel) not in {id(weight) for weight in model.weights}


def test_layers_not_smaller_are_skipped(preset):
    model = make_classifier(preset)

    # Rank 20 saves parameters on a 32 x 64 kernel (20 * 96 < 2048) but not on a 32 x 32 one (20 * 64 >= 1024).
    report = factorise(model, rank=20, min_size=0)

    assert sorted(report) == [
        "transformer_layer_0/_feedforward_intermediate_dense",
        "transformer_layer_0/_feedforward_output_dense",
        "transformer_layer_1/_feedforward_intermediate_dense",
        "transformer_layer_1/_feedforward_output_dense",
    ]
    attention = model.backbone.get_layer("transformer_layer_0")._self_attention_layer
    assert isinstance(attention._query_dense, keras.layers.EinsumDense)


def test_min_size_skips_small_kernels(preset):
    model = make_classifier(preset)

    report = factorise(model, energy=0.5, min_size=HIDDEN_DIM * HIDDEN_DIM + 1)

    assert len(report) == 2 * NUM_LAYERS
    assert all("_feedforward_" in path for path in report)


def test_rank_too_large_raises(preset):
    model = make_classifier(preset)
    parameters_before = model.count_params()

    with pytest.raises(ConfigError) as error:
        factorise(model, rank=HIDDEN_DIM + 1, min_size=0)

    message = str(error.value)
    assert "transformer_layer_0/_feedforward_intermediate_dense" in message
    assert f"Received: {HIDDEN_DIM + 1}" in message
    assert f"rank <= {HIDDEN_DIM}" in message
    assert model.count_params() == parameters_before


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"energy": 0.9, "rank": 4},
        {"energy": 0.9, "parameter_fraction": 0.5},
        {"energy": 0.9, "parameter_fraction": 0.5, "rank": 4},
    ],
)
def test_rank_options_exactly_one(preset, options):
    model = make_classifier(preset, with_preprocessor=False)

    with pytest.raises(ConfigError, match="exactly one"):
        factorise(model, min_size=0, **options)


@pytest.mark.parametrize(
    "options",
    [{"energy": 0.0}, {"energy": 1.5}, {"parameter_fraction": 0.0}, {"rank": 0}, {"rank": 2.5}],
)
def test_rank_options_out_of_range(preset, options):
    model = make_classifier(preset, with_preprocessor=False)

    with pytest.raises(ConfigError):
        factorise(model, min_size=0, **options)


def test_save_and_load_factorised_model(preset, tmp_path):
    model = make_classifier(preset)
    report = factorise(model, parameter_fraction=0.5, min_size=0)
    expected = model.predict(TEXTS, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = load_factorised_model(path, report)

    assert isinstance(sublayer_at(loaded, "transformer_layer_1/_feedforward_output_dense"), FactorizedDense)
    assert loaded.count_params() == model.count_params()
    np.testing.assert_array_equal(loaded.predict(TEXTS, verbose=0), expected)


def test_plain_load_model_rejects_factorised_file(preset, tmp_path):
    model = make_classifier(preset)
    factorise(model, parameter_fraction=0.5, min_size=0)
    path = tmp_path / "model.keras"
    model.save(path)

    # TransformerEncoder's config does not describe its sublayers, so Keras rebuilds the dense ones.
    with pytest.raises(ValueError, match="could not be loaded"):
        keras.saving.load_model(path)


def test_load_accepts_plain_rank_dict(preset, tmp_path):
    model = make_classifier(preset)
    report = factorise(model, rank=4, min_size=0)
    expected = model.predict(TEXTS, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = load_factorised_model(path, {layer_path: 4 for layer_path in report})

    np.testing.assert_array_equal(loaded.predict(TEXTS, verbose=0), expected)


def test_restore_rejects_unknown_path(preset):
    model = make_classifier(preset, with_preprocessor=False)

    with pytest.raises(ConfigError, match="transformer_layer_9/_feedforward_output_dense"):
        restore_factorised_structure(model, {"transformer_layer_9/_feedforward_output_dense": 4})


def test_quantised_factors_survive_save_and_load(preset, tmp_path):
    model = make_classifier(preset)
    report = factorise(model, parameter_fraction=0.5, min_size=0)
    model.quantize("int8", filters=lambda layer: layer.built and layer.name != "logits")
    factorized = sublayer_at(model, "transformer_layer_0/_self_attention_layer/_query_dense")
    assert factorized.input_factor.quantization_mode == "int8"
    expected = model.predict(TEXTS, verbose=0)
    path = tmp_path / "quantised.keras"
    model.save(path)

    loaded = load_factorised_model(path, report)

    for layer_path in report:
        layer = sublayer_at(loaded, layer_path)
        assert layer.input_factor.quantization_mode == "int8", layer_path
        assert layer.output_factor.quantization_mode == "int8", layer_path
        assert keras.backend.standardize_dtype(layer.output_factor._kernel.dtype) == "int8", layer_path
    np.testing.assert_allclose(loaded.predict(TEXTS, verbose=0), expected, atol=1e-6)


def test_factorised_model_trains(preset):
    preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(preset, sequence_length=16)
    features = preprocessor(TEXTS)
    labels = np.array([1, 0, 2, 1])
    model = make_classifier(preset, with_preprocessor=False)
    factorise(model, parameter_fraction=0.5, min_size=0)
    layer = sublayer_at(model, "transformer_layer_0/_feedforward_intermediate_dense")
    input_kernel_before = keras.ops.convert_to_numpy(layer.input_factor.kernel).copy()
    output_kernel_before = keras.ops.convert_to_numpy(layer.output_factor.kernel).copy()

    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(features, labels, batch_size=4, epochs=1, verbose=0)

    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(keras.ops.convert_to_numpy(layer.input_factor.kernel), input_kernel_before)
    assert not np.allclose(keras.ops.convert_to_numpy(layer.output_factor.kernel), output_kernel_before)


@pytest.mark.parametrize(
    "equation, output_shape, bias_axes, input_shape",
    [
        ("abc,cde->abde", (None, 4, 8), "de", (2, 5, 12)),
        ("abc,cde->abde", (None, 4, 8), "e", (2, 5, 12)),
        ("abcd,cde->abe", (None, 12), "e", (2, 5, 4, 8)),
        ("...b,bc->...c", (6,), "c", (2, 5, 12)),
    ],
)
def test_einsum_layout_full_rank_matches(equation, output_shape, bias_axes, input_shape):
    keras.utils.set_random_seed(0)
    einsum = keras.layers.EinsumDense(
        equation, output_shape=output_shape, bias_axes=bias_axes, activation="gelu", bias_initializer="random_normal"
    )
    inputs = np.random.default_rng(0).normal(size=input_shape).astype("float32")
    expected = keras.ops.convert_to_numpy(einsum(inputs))

    layout = _kernel_layout(einsum)
    matrix, bias = _kernel_matrix_and_bias(einsum, layout)
    u, singular_values, vt = np.linalg.svd(matrix, full_matrices=False)
    factorized = _factorized_from_svd(einsum, layout, len(singular_values), u, singular_values, vt, bias)

    np.testing.assert_allclose(keras.ops.convert_to_numpy(factorized(inputs)), expected, atol=1e-4)


@pytest.mark.parametrize(
    "equation, output_shape, input_shape",
    [
        ("abc,dc->abd", (None, 6), (2, 5, 12)),  # contracted axis is the kernel's last axis
        ("abc,cd->abdc", (None, 6, 12), (2, 5, 12)),  # nothing contracted
        ("abcd,dce->abe", (None, 6), (2, 5, 4, 3)),  # contracted axes in the opposite order
        ("abc,cd->bad", (None, 6), (5, 5, 12)),  # batch axes reordered
    ],
)
def test_einsum_layout_rejects_other_equations(equation, output_shape, input_shape):
    einsum = keras.layers.EinsumDense(equation, output_shape=output_shape)
    einsum.build(input_shape)

    with pytest.raises(_IneligibleLayer):
        _kernel_layout(einsum)


def test_factorized_dense_config_keeps_int8_factors(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5, 4, 8))
    outputs = FactorizedDense(rank=3, output_shape=(2, 6), input_axes=2, activation="relu")(inputs)
    model = keras.Model(inputs, outputs)
    model.quantize("int8")
    data = np.random.default_rng(0).normal(size=(2, 5, 4, 8)).astype("float32")
    expected = model.predict(data, verbose=0)
    path = tmp_path / "factorized.keras"
    model.save(path)

    loaded = keras.saving.load_model(path)

    layer = loaded.layers[-1]
    assert isinstance(layer, FactorizedDense)
    assert layer.input_factor.quantization_mode == "int8"
    assert layer.output_factor.quantization_mode == "int8"
    assert expected.shape == (2, 5, 2, 6)
    np.testing.assert_allclose(loaded.predict(data, verbose=0), expected, atol=1e-6)

"""Low-rank factorisation of the Dense kernels in a Transformer backbone by truncated SVD.

`factorise` replaces each large `Dense` or `EinsumDense` sublayer of the
backbone's Transformer layers by a `FactorizedDense` whose two factors come
from the truncated singular value decomposition of the kernel. Keras cannot
load the result with `keras.saving.load_model`, because the config of
`keras_hub.layers.TransformerEncoder` does not describe its sublayers: the
loaded model gets the original dense sublayers and their weights no longer
match the file. `load_factorised_model` rebuilds the model from its config,
repeats the replacement with `restore_factorised_structure` and then loads
the weights.
"""

import json
import logging
import math
import os
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Mapping

import keras
import numpy as np

from vertical_tune.compression.factorized_dense import FactorizedDense
from vertical_tune.errors import ConfigError, format_error

logger = logging.getLogger(__name__)

DEFAULT_MIN_SIZE = 16_384
"""Smallest kernel, in entries, that `factorise` considers (a 128 x 128 matrix).

Smaller kernels are left dense because the parameters saved are negligible
next to the token embeddings of a Transformer backbone.
"""


class _IneligibleLayer(Exception):
    """The kernel layout of a layer does not fit `FactorizedDense`."""


class _KernelLayout:
    """A kernel viewed as a matrix `[input_size, output_size]`, with its flattened bias.

    Attributes:
        input_axes: int. How many trailing input axes the kernel contracts.
        input_size: int. Product of the contracted axis sizes.
        output_shape: tuple of ints. The kernel's free axes, which are the
            trailing output axes.
        output_size: int. Product of `output_shape`.
        use_bias: bool. Whether the layer adds a bias.
    """

    def __init__(self, input_axes, input_size, output_shape, use_bias):
        self.input_axes = input_axes
        self.input_size = input_size
        self.output_shape = tuple(output_shape)
        self.output_size = math.prod(self.output_shape)
        self.use_bias = use_bias


def _einsum_layout(layer):
    """Check that an `EinsumDense` equation is a matrix product on trailing axes.

    The supported form is `<batch><contracted>,<contracted><free>-><batch><free>`,
    for example `abc,cde->abde` (query, key and value projections) or
    `abcd,cde->abe` (attention output). A leading `...` may stand for the
    batch axes.
    """
    match = re.fullmatch(r"([a-zA-Z.]+),([a-zA-Z]+)->([a-zA-Z.]+)", layer.equation.replace(" ", ""))
    if match is None:
        raise _IneligibleLayer(f"equation {layer.equation!r} is not of the form 'input,kernel->output'")
    input_spec, kernel_spec, output_spec = match.groups()
    if input_spec.startswith("...") and output_spec.startswith("..."):
        input_spec, output_spec = input_spec[3:], output_spec[3:]
    if "." in input_spec + output_spec:
        raise _IneligibleLayer(f"equation {layer.equation!r} has an ellipsis that is not leading in input and output")
    for spec in (input_spec, kernel_spec, output_spec):
        if len(set(spec)) != len(spec):
            raise _IneligibleLayer(f"equation {layer.equation!r} repeats an axis letter")

    contracted = [letter for letter in kernel_spec if letter in input_spec and letter not in output_spec]
    input_axes = len(contracted)
    free = kernel_spec[input_axes:]
    expected_output = input_spec[: len(input_spec) - input_axes] + free
    if input_axes == 0 or kernel_spec[:input_axes] != "".join(contracted):
        raise _IneligibleLayer(f"equation {layer.equation!r}: the kernel does not start with the contracted axes")
    if input_spec[len(input_spec) - input_axes :] != kernel_spec[:input_axes]:
        raise _IneligibleLayer(
            f"equation {layer.equation!r}: the contracted axes are not the trailing input axes in kernel order"
        )
    if not free or output_spec != expected_output:
        raise _IneligibleLayer(
            f"equation {layer.equation!r}: the output is not the batch axes followed by the kernel's free axes"
        )

    kernel_shape = tuple(layer.kernel.shape)
    output_shape = kernel_shape[input_axes:]
    if layer.bias is not None and len(layer.bias.shape) > len(output_shape):
        raise _IneligibleLayer(f"bias axes {layer.bias_axes!r} include batch axes")
    return _KernelLayout(
        input_axes=input_axes,
        input_size=math.prod(kernel_shape[:input_axes]),
        output_shape=output_shape,
        use_bias=layer.bias is not None,
    )


def _kernel_layout(layer):
    """Return the `_KernelLayout` of a `Dense` or `EinsumDense`, or raise `_IneligibleLayer`."""
    if not layer.built:
        raise _IneligibleLayer("the layer is not built")
    if layer.quantization_mode is not None:
        raise _IneligibleLayer(f"the layer is quantised ({layer.quantization_mode}); factorise before quantising")
    if isinstance(layer, keras.layers.Dense):
        input_size, output_size = layer.kernel.shape
        return _KernelLayout(1, input_size, (output_size,), layer.use_bias)
    if isinstance(layer, keras.layers.EinsumDense):
        return _einsum_layout(layer)
    raise _IneligibleLayer(f"{type(layer).__name__} is not Dense or EinsumDense")


def _kernel_matrix_and_bias(layer, layout):
    """Return the kernel as a float64 matrix `[input_size, output_size]` and the bias as a vector or `None`."""
    kernel = keras.ops.convert_to_numpy(layer.kernel).astype(np.float64)
    matrix = kernel.reshape(layout.input_size, layout.output_size)
    if not layout.use_bias:
        return matrix, None
    # An EinsumDense bias covers the trailing output axes and may contain size-1 axes for broadcasting.
    bias = keras.ops.convert_to_numpy(layer.bias)
    bias = np.broadcast_to(bias, layout.output_shape).reshape(layout.output_size)
    return matrix, bias


def _transformer_layers(model):
    """Return `(name, layer)` for each Transformer layer of `model.backbone`, in model order."""
    import keras_hub

    backbone = getattr(model, "backbone", None)
    if backbone is None:
        raise ConfigError(
            format_error(
                "The model has no `backbone` attribute, so its Transformer layers cannot be found.",
                received=type(model).__name__,
                expected="a keras_hub task model such as keras_hub.models.TextClassifier",
                fix="Pass the task model returned by the fine-tuner, not the backbone or a plain keras.Model.",
            )
        )
    return [
        (layer.name, layer)
        for layer in backbone.layers
        if isinstance(layer, keras_hub.layers.TransformerEncoder)
    ]


def _dense_sublayers(layer, prefix, visited):
    """Yield `(path, parent, attribute, sublayer)` for every Dense and EinsumDense under `layer`.

    Sublayers are found through the instance attributes of `layer` and of its
    nested layers, because `TransformerEncoder` and `MultiHeadAttention` call
    their sublayers through those attributes.
    """
    for attribute, value in sorted(vars(layer).items()):
        if not isinstance(value, keras.layers.Layer) or id(value) in visited:
            continue
        visited.add(id(value))
        path = f"{prefix}/{attribute}"
        if isinstance(value, (keras.layers.Dense, keras.layers.EinsumDense)):
            yield path, layer, attribute, value
        elif not isinstance(value, FactorizedDense):
            yield from _dense_sublayers(value, path, visited)


def _candidates(model):
    """Return `(path, parent, attribute, layer)` for every dense sublayer of the Transformer layers."""
    candidates = []
    visited = set()
    for name, transformer_layer in _transformer_layers(model):
        visited.add(id(transformer_layer))
        candidates.extend(_dense_sublayers(transformer_layer, name, visited))
    return candidates


def _replace_sublayer(parent, attribute, old_layer, new_layer):
    """Point `parent.<attribute>` at `new_layer` and stop tracking `old_layer`.

    A built Keras layer locks its tracker, so plain assignment raises. Even
    when unlocked, assignment appends the new layer to the tracked sublayers
    and keeps the old one, whose weights would still count in
    `count_params()`, `weights` and the saved file. `replace_tracked_value`
    swaps the two in place instead.
    """
    tracker = parent._tracker
    was_locked = tracker.locked
    tracker.unlock()
    try:
        if tracker.is_in_store("layers", old_layer):
            tracker.replace_tracked_value("layers", old_layer, new_layer)
        setattr(parent, attribute, new_layer)
    finally:
        if was_locked:
            tracker.lock()


def _new_factorized_layer(layer, layout, rank):
    """Create and build a `FactorizedDense` with the activation, dtype policy and name of `layer`."""
    factorized = FactorizedDense(
        rank=rank,
        output_shape=layout.output_shape,
        input_axes=layout.input_axes,
        activation=keras.activations.serialize(layer.activation),
        use_bias=layout.use_bias,
        dtype=layer.dtype_policy,
        name=layer.name,
    )
    contracted_shape = tuple(layer.kernel.shape[: layout.input_axes])
    build_shape = (None, None) + contracted_shape

    # Build under the parent path of `layer`, so that the factors get the paths
    # `<layer.path>/input_factor` and `<layer.path>/output_factor`. A keras-hub
    # backbone saves the dtype policies of quantised layers by path, and the
    # factors of a loaded model find their int8 policy only if the paths repeat.
    parent_path = (layer.path or "").rpartition("/")[0]
    grandparent_path, _, parent_name = parent_path.rpartition("/")
    if parent_name:
        with keras.name_scope(parent_name, override_parent=grandparent_path):
            factorized.build(build_shape)
    else:
        factorized.build(build_shape)
    return factorized


def _factorized_from_svd(layer, layout, rank, u, singular_values, vt, bias):
    """Return a `FactorizedDense` holding the balanced rank-`rank` factors of an SVD of the kernel of `layer`."""
    root = np.sqrt(singular_values[:rank])
    factorized = _new_factorized_layer(layer, layout, rank)
    factorized.input_factor.kernel.assign(u[:, :rank] * root)
    factorized.output_factor.kernel.assign(root[:, None] * vt[:rank])
    if bias is not None:
        factorized.output_factor.bias.assign(bias)
    return factorized


def _reset_compiled_functions(model):
    # tf.function traces of predict, evaluate and fit captured the old sublayers and their variables.
    model.train_function = None
    model.test_function = None
    model.predict_function = None


def _check_options(energy, parameter_fraction, rank, min_size):
    chosen = {
        name: value
        for name, value in (("energy", energy), ("parameter_fraction", parameter_fraction), ("rank", rank))
        if value is not None
    }
    if len(chosen) != 1:
        raise ConfigError(
            format_error(
                "factorise needs exactly one way to choose the rank.",
                where="factorise(energy=..., parameter_fraction=..., rank=...)",
                received=chosen,
                expected="exactly one of energy, parameter_fraction or rank",
                fix="Pass only one of them, for example energy=0.9.",
            )
        )
    if energy is not None and not (isinstance(energy, (int, float)) and 0 < energy <= 1):
        raise ConfigError(
            format_error(
                "energy is out of range.",
                where="factorise(energy=...)",
                received=energy,
                expected="a fraction of the squared singular values in (0, 1]",
                fix="Pass a value such as 0.9 to keep 90% of the energy of each kernel.",
            )
        )
    if parameter_fraction is not None and not (
        isinstance(parameter_fraction, (int, float)) and 0 < parameter_fraction <= 1
    ):
        raise ConfigError(
            format_error(
                "parameter_fraction is out of range.",
                where="factorise(parameter_fraction=...)",
                received=parameter_fraction,
                expected="a fraction of each kernel's parameters in (0, 1]",
                fix="Pass a value such as 0.5 to halve each factorised kernel.",
            )
        )
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < 1):
        raise ConfigError(
            format_error(
                "rank must be a positive integer.",
                where="factorise(rank=...)",
                received=rank,
                expected="an integer >= 1",
                fix="Pass a rank such as 64, or use energy or parameter_fraction to choose it per layer.",
            )
        )
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 0:
        raise ConfigError(
            format_error(
                "min_size must be a non-negative integer.",
                where="factorise(min_size=...)",
                received=min_size,
                expected="the smallest kernel size in entries, an integer >= 0",
                fix=f"Pass 0 to consider every kernel, or leave the default {DEFAULT_MIN_SIZE}.",
            )
        )


def _choose_rank(path, singular_values, layout, *, energy, parameter_fraction, rank):
    """Return the rank for one kernel from exactly one of `energy`, `parameter_fraction` or `rank`."""
    max_rank = min(layout.input_size, layout.output_size)
    if rank is not None:
        if rank > max_rank:
            raise ConfigError(
                format_error(
                    f"rank {rank} is larger than the maximum rank of layer {path}.",
                    where=path,
                    received=rank,
                    expected=f"a rank <= {max_rank}, the smaller side of its {layout.input_size} x "
                    f"{layout.output_size} kernel",
                    fix=f"Pass rank <= {max_rank}, raise min_size to skip this layer, or use energy or "
                    "parameter_fraction.",
                )
            )
        return int(rank)
    if energy is not None:
        squared = singular_values.astype(np.float64) ** 2
        total = squared.sum()
        if total == 0:
            return 1
        kept = np.cumsum(squared) / total
        # The 1e-12 slack keeps energy=1.0 from failing on rounding in the cumulative sum.
        return int(min(np.searchsorted(kept, energy - 1e-12) + 1, max_rank))
    kernel_size = layout.input_size * layout.output_size
    target = parameter_fraction * kernel_size / (layout.input_size + layout.output_size)
    return int(min(max(math.floor(target), 1), max_rank))


def factorise(model, *, energy=None, parameter_fraction=None, rank=None, min_size=DEFAULT_MIN_SIZE, only_if_smaller=True):
    """Replace the large dense kernels of a Transformer backbone by truncated-SVD factors.

    Each `Dense` and `EinsumDense` sublayer of the `TransformerEncoder`
    layers of `model.backbone` (query, key, value and output projections of
    attention, and both feed-forward layers) whose kernel has at least
    `min_size` entries is replaced in place by a `FactorizedDense`. The
    embeddings and the classification head are not touched. With the SVD
    `K = U S V^T` of the kernel viewed as a matrix `[input_size,
    output_size]`, the factors are the balanced `A = U_r sqrt(S_r)` and
    `B = sqrt(S_r) V_r^T`, and the bias is kept unchanged.

    Layers whose equation is not a matrix product on trailing axes, layers
    that are already quantised and layers whose factorised form would not
    have fewer kernel parameters are skipped, and the reason is logged.

    The compiled predict, evaluate and train functions are reset. Compile
    the model again with a new optimizer before training it further, because
    an optimizer that was already built contains slots for the old kernels.

    Args:
        model: `keras_hub.models.Task`, for example a `TextClassifier`,
            with a built `backbone`.
        energy: float in (0, 1] or `None`. Keep, per layer, the smallest
            rank whose singular values hold this fraction of the sum of
            squared singular values.
        parameter_fraction: float in (0, 1] or `None`. Choose, per layer,
            the rank `r = floor(fraction * in * out / (in + out))`, so that
            the factors hold about this fraction of the kernel's parameters.
        rank: int or `None`. The same rank for every layer.
        min_size: int. Kernels with fewer entries are left dense. Defaults
            to `DEFAULT_MIN_SIZE` (16384).
        only_if_smaller: bool. If `False`, also factorise layers where the
            factors have as many or more parameters than the kernel, for
            example to check that a full-rank factorisation reproduces the
            model. Defaults to `True`.

    Returns:
        dict mapping the layer path, such as
        `"transformer_layer_0/_feedforward_intermediate_dense"` or
        `"transformer_layer_0/_self_attention_layer/_query_dense"`, to a dict
        with `"rank"`, `"input_size"`, `"output_size"`,
        `"parameters_before"` and `"parameters_after"` (kernel plus bias) and
        `"energy_kept"` (fraction of the squared singular values kept). Only
        factorised layers are listed. Pass this dict to
        `restore_factorised_structure` or `load_factorised_model`.

    Raises:
        ConfigError: if not exactly one of `energy`, `parameter_fraction` and
            `rank` is given, if one is out of range, or if `rank` is larger
            than `min(input_size, output_size)` of an eligible layer.
    """
    _check_options(energy, parameter_fraction, rank, min_size)

    # Choose every rank before replacing anything, so that a rank error leaves the model unchanged.
    plans = []
    for path, parent, attribute, layer in _candidates(model):
        try:
            layout = _kernel_layout(layer)
        except _IneligibleLayer as reason:
            logger.info("Low-rank factorisation skips %s: %s.", path, reason)
            continue
        kernel_size = layout.input_size * layout.output_size
        if kernel_size < min_size:
            logger.info("Low-rank factorisation skips %s: its kernel has %d entries, below min_size=%d.",
                        path, kernel_size, min_size)
            continue

        matrix, bias = _kernel_matrix_and_bias(layer, layout)
        u, singular_values, vt = np.linalg.svd(matrix, full_matrices=False)
        chosen_rank = _choose_rank(
            path, singular_values, layout, energy=energy, parameter_fraction=parameter_fraction, rank=rank
        )
        factor_size = chosen_rank * (layout.input_size + layout.output_size)
        if only_if_smaller and factor_size >= kernel_size:
            logger.info("Low-rank factorisation skips %s: rank %d factors have %d parameters, not fewer than the "
                        "kernel's %d.", path, chosen_rank, factor_size, kernel_size)
            continue
        plans.append((path, parent, attribute, layer, layout, chosen_rank, u, singular_values, vt, bias))

    report = {}
    for path, parent, attribute, layer, layout, chosen_rank, u, singular_values, vt, bias in plans:
        factorized = _factorized_from_svd(layer, layout, chosen_rank, u, singular_values, vt, bias)
        parameters_before = layer.count_params()
        _replace_sublayer(parent, attribute, layer, factorized)

        squared = singular_values.astype(np.float64) ** 2
        energy_kept = float(squared[:chosen_rank].sum() / squared.sum()) if squared.sum() > 0 else 1.0
        report[path] = {
            "rank": chosen_rank,
            "input_size": layout.input_size,
            "output_size": layout.output_size,
            "parameters_before": parameters_before,
            "parameters_after": factorized.count_params(),
            "energy_kept": energy_kept,
        }
        logger.info("Factorised %s at rank %d: %d -> %d parameters, %.4f of the energy kept.",
                    path, chosen_rank, parameters_before, factorized.count_params(), energy_kept)

    _reset_compiled_functions(model)
    return report


def _rank_from_entry(path, entry):
    if isinstance(entry, Mapping):
        entry = entry.get("rank")
    if isinstance(entry, bool) or not isinstance(entry, (int, np.integer)) or entry < 1:
        raise ConfigError(
            format_error(
                f"The rank for layer {path} is invalid.",
                where=path,
                received=entry,
                expected="a positive integer, or a dict with a positive integer under 'rank'",
                fix="Pass the dict returned by factorise, or a dict of layer path to rank.",
            )
        )
    return int(entry)


def restore_factorised_structure(model, ranks):
    """Replace the listed dense sublayers by freshly initialised `FactorizedDense` layers.

    This repeats the structural change of `factorise` without an SVD, on a
    model built from the config of a factorised model, so that its weights
    can then be loaded with `model.load_weights`.

    Args:
        model: `keras_hub.models.Task` with a built `backbone`, in the
            original, not factorised, structure.
        ranks: dict mapping a layer path to its rank, or the dict returned by
            `factorise` (whose values hold the rank under `"rank"`).

    Raises:
        ConfigError: if a path is not a dense sublayer of the backbone's
            Transformer layers, if its kernel layout does not fit, or if a
            rank is invalid.
    """
    candidates = {path: (parent, attribute, layer) for path, parent, attribute, layer in _candidates(model)}
    plans = []
    for path, entry in ranks.items():
        chosen_rank = _rank_from_entry(path, entry)
        if path not in candidates:
            raise ConfigError(
                format_error(
                    f"Layer {path} is not a Dense or EinsumDense sublayer of the model's Transformer layers.",
                    where=path,
                    received=path,
                    expected="one of " + ", ".join(sorted(candidates)) if candidates else "no dense sublayers found",
                    fix="Pass the ranks returned by factorise for a model with the same backbone config.",
                )
            )
        parent, attribute, layer = candidates[path]
        try:
            layout = _kernel_layout(layer)
        except _IneligibleLayer as reason:
            raise ConfigError(
                format_error(
                    f"Layer {path} cannot be factorised: {reason}.",
                    where=path,
                    fix="Pass the ranks returned by factorise for a model with the same backbone config.",
                )
            ) from None
        plans.append((parent, attribute, layer, layout, chosen_rank))

    for parent, attribute, layer, layout, chosen_rank in plans:
        _replace_sublayer(parent, attribute, layer, _new_factorized_layer(layer, layout, chosen_rank))
    _reset_compiled_functions(model)


def _resolve_asset_owner(model, parts):
    """Return the object whose assets were saved under `assets/<parts>`, or `None`.

    Keras names each assets folder after the attribute path from the model,
    and names the items of a layer list (such as `layers` of a functional
    model) after the layer.
    """
    owner = model
    index = 0
    while index < len(parts):
        part = parts[index]
        value = getattr(owner, part, None)
        if isinstance(value, (list, tuple)) and index + 1 < len(parts):
            by_name = {getattr(item, "name", None): item for item in value}
            value = by_name.get(parts[index + 1])
            index += 1
        if value is None:
            return None
        owner = value
        index += 1
    return owner


def _load_assets(model, archive):
    """Call `load_assets` on each object that stored files under `assets/` in a `.keras` archive.

    `Model.load_weights` reads only the weights, but a keras-hub task also
    needs its assets, for example the tokenizer vocabulary.
    """
    asset_folders = sorted(
        {posixpath.dirname(name) for name in archive.namelist() if name.startswith("assets/") and not name.endswith("/")}
    )
    if not asset_folders:
        return
    with tempfile.TemporaryDirectory() as extract_dir:
        for name in archive.namelist():
            if name.startswith("assets/") and not name.endswith("/"):
                archive.extract(name, extract_dir)
        for folder in asset_folders:
            parts = folder.split("/")[1:]
            owner = _resolve_asset_owner(model, parts)
            if owner is None or not hasattr(owner, "load_assets"):
                logger.warning("Skipping the assets in %s because no object of the model matches that path.", folder)
                continue
            owner.load_assets(os.path.join(extract_dir, *folder.split("/")))


def load_factorised_model(path, ranks):
    """Load a `.keras` file saved after `factorise`.

    The model is deserialised from `config.json` inside the file and its
    factorised structure is restored with `restore_factorised_structure`.
    Then its weights are loaded with `Model.load_weights`. The files under
    `assets/`, such as the tokenizer vocabulary, go to the `load_assets`
    method of the object that saved them.

    Args:
        path: str or path-like. The `.keras` file written by `model.save`.
        ranks: dict mapping a layer path to its rank, or the dict returned by
            `factorise`.

    Returns:
        The loaded `keras.Model`, not compiled.

    Raises:
        ConfigError: if the file is not a `.keras` archive with a
            `config.json`, or if `ranks` does not fit the model.
    """
    path = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (FileNotFoundError, IsADirectoryError, zipfile.BadZipFile, KeyError) as error:
        raise ConfigError(
            format_error(
                f"Cannot read the model config from {path}: {error}.",
                where=path,
                expected="a .keras file written by model.save, containing config.json",
                fix="Check the path, and save the factorised model with model.save('model.keras').",
            )
        ) from None

    model = keras.saving.deserialize_keras_object(config)
    restore_factorised_structure(model, ranks)
    model.load_weights(path)
    with zipfile.ZipFile(path) as archive:
        _load_assets(model, archive)
    return model

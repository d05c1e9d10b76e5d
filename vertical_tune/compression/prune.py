"""Magnitude pruning for Keras 3 models: keep-masks, a gradual schedule and a training callback.

TensorFlow Model Optimization's pruning wrappers only work with Keras 2, so this
module prunes natively. The kernels of the Dense and EinsumDense layers inside
`model.backbone` are pruned per layer and unstructured: the entries of smallest
absolute value are set to zero and kept at zero by re-applying a boolean mask.
Biases, embeddings, layer norms and the classification head are never pruned.
"""

import math
import numbers

import keras
import numpy as np

from vertical_tune.errors import ConfigError, format_error

SPARSITY_KEY = "compression.sparsity"

# Share of the training steps over which the default schedule raises the sparsity.
DEFAULT_RAMP_FRACTION = 0.7


# --- Finding the kernels -----------------------------------------------------


def _pruning_root(model):
    """Return the layer whose sublayers are pruned: `model.backbone`, or `model` itself."""
    backbone = getattr(model, "backbone", None)
    if isinstance(backbone, keras.layers.Layer):
        return backbone
    return model


def _kernel_layers(model):
    """List (path, layer) for every built Dense and EinsumDense layer under the pruning root.

    The walk recurses into every sublayer, so a custom layer made of inner Dense
    layers (a low-rank factorised projection, say) contributes each inner kernel.
    Paths are the layer names joined by "/" below the root, for instance
    "transformer_layer_0/self_attention_layer/query". A layer reached twice (shared
    weights) is listed once.
    """
    root = _pruning_root(model)
    found = []
    seen = set()

    def visit(layer, path):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense)):
            if layer.built:
                found.append((path or layer.name, layer))
            return
        for child in layer._flatten_layers(include_self=False, recursive=False):
            visit(child, f"{path}/{child.name}" if path else child.name)

    visit(root, "")
    return found


def _is_quantized(layer):
    return getattr(layer, "quantization_mode", None) is not None


def prunable_kernels(model):
    """List the kernel variables that magnitude pruning may change.

    These are the kernels of every built Dense and EinsumDense layer inside
    `model.backbone`: the attention query, key, value and output projections,
    the feed-forward layers and the pooler of each keras-hub backbone. The walk
    recurses into custom layers, so a layer made of inner Dense layers
    contributes every inner kernel. Embeddings, biases and the classification
    head (outside the backbone) are not listed. A model without a `backbone`
    attribute, or a single layer, is walked whole.

    Quantised layers (int8, int4, ...) are skipped because their kernel contains
    integers. `prune_to` and `MagnitudePruning` raise an error for them instead.

    Args:
        model: keras Model or Layer. Usually a keras_hub TextClassifier.

    Returns:
        list of (str, keras.Variable): the layer path below the backbone and the
        layer's float kernel variable, in the order the layers are tracked.
    """
    return [(path, layer._kernel) for path, layer in _kernel_layers(model) if not _is_quantized(layer)]


def _join_paths(paths, max_shown=3):
    text = ", ".join(paths[:max_shown])
    if len(paths) > max_shown:
        text += f" and {len(paths) - max_shown} more"
    return text


def _kernels_to_prune(model):
    """Return `prunable_kernels(model)`, raising if pruning the model would be wrong or a no-op."""
    layers = _kernel_layers(model)
    quantized = [f"{path} ({layer.quantization_mode})" for path, layer in layers if _is_quantized(layer)]
    if quantized:
        raise ConfigError(
            format_error(
                "Cannot prune a quantised model because its kernels contain integers, not float weights.",
                where=_join_paths(quantized),
                expected="float Dense and EinsumDense kernels",
                fix="Prune before int8 quantisation: prune the float model, then call `model.quantize('int8')`.",
            )
        )
    with_lora = [path for path, layer in layers if getattr(layer, "lora_enabled", False)]
    if with_lora:
        raise ConfigError(
            format_error(
                "Cannot prune layers with LoRA adapters because the adapters add a dense update to the pruned kernel.",
                where=_join_paths(with_lora),
                expected="layers without LoRA adapters",
                fix="Fine-tune with `training.mode: full` to prune during training.",
            )
        )
    kernels = prunable_kernels(model)
    if not kernels:
        raise ConfigError(
            format_error(
                "The model has no prunable kernels.",
                where=type(_pruning_root(model)).__name__,
                expected="a built model whose backbone contains Dense or EinsumDense layers",
                fix="Build the model (call it once, or load it from a preset) before pruning.",
            )
        )
    return kernels


# --- Validation --------------------------------------------------------------


def _check_sparsity(value, where):
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not is_number or not 0.0 <= value < 1.0:
        raise ConfigError(
            format_error(
                "Invalid sparsity.",
                where=where,
                received=value,
                expected="a number in [0, 1): the fraction of each kernel's weights set to zero",
                fix="Use, for example, 0.5 to zero half of the weights of every pruned kernel.",
            )
        )
    return float(value)


def _check_int(value, where, minimum, meaning):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ConfigError(
            format_error(
                f"Invalid {meaning}.",
                where=where,
                received=value,
                expected=f"an integer >= {minimum}",
            )
        )
    return int(value)


# --- Masks -------------------------------------------------------------------


def magnitude_mask(values, sparsity):
    """Compute the keep-mask that zeroes the smallest-magnitude entries of one kernel.

    Exactly `round(sparsity * values.size)` entries are marked False (Python's
    `round`, so halves go to the even count). Among entries of equal magnitude
    at the threshold, the ones with the lowest flat (row-major) index are
    pruned first, so the mask is deterministic.

    Args:
        values: array-like or keras Variable. One kernel.
        sparsity: float in [0, 1). Fraction of entries to prune.

    Returns:
        numpy bool array of the shape of `values`: True where the weight is kept.

    Raises:
        ConfigError: `sparsity` is not a number in [0, 1).
    """
    sparsity = _check_sparsity(sparsity, "magnitude_mask(sparsity=...)")
    array = keras.ops.convert_to_numpy(values)
    magnitudes = np.abs(array).ravel()
    keep = np.ones(magnitudes.size, dtype=bool)
    num_pruned = int(round(sparsity * magnitudes.size))
    if num_pruned == 0:
        return keep.reshape(array.shape)

    # The threshold is the magnitude of the num_pruned-th smallest entry. Every
    # entry below it is pruned, and entries equal to it fill the remaining count.
    threshold = np.partition(magnitudes, num_pruned - 1)[num_pruned - 1]
    below = magnitudes < threshold
    keep[below] = False
    ties_to_prune = num_pruned - int(np.count_nonzero(below))
    keep[np.flatnonzero(magnitudes == threshold)[:ties_to_prune]] = False
    return keep.reshape(array.shape)


def _apply_mask(variable, mask):
    """Set the entries of `variable` where `mask` is False to zero."""
    variable.assign(keras.ops.where(mask, variable, keras.ops.zeros_like(variable)))


def _zero_fraction(kernels):
    zeros = sum(int(np.count_nonzero(keras.ops.convert_to_numpy(variable) == 0)) for _, variable in kernels)
    size = sum(math.prod(variable.shape) for _, variable in kernels)
    return zeros / size


# --- Schedule ----------------------------------------------------------------


class PolynomialSparsity:
    """Gradual sparsity schedule that rises from `initial` to `target` as a polynomial.

    At step `t` the sparsity is

        s(t) = target + (initial - target) * (1 - (t - begin_step) / (end_step - begin_step)) ** power

    with `t` clamped to [begin_step, end_step], so the schedule returns
    `initial` up to `begin_step` and `target` from `end_step` on. With `power=3`
    it prunes fast while many redundant weights remain and slowly near the
    target. This is the gradual pruning schedule of Zhu and Gupta, "To prune, or
    not to prune: exploring the efficacy of pruning for model compression"
    (arXiv:1710.01878, 2017).

    Args:
        target: float in [0, 1). Final sparsity.
        begin_step: int >= 0. Step at which the sparsity starts to rise.
        end_step: int > begin_step. Step at which the sparsity reaches `target`.
        initial: float in [0, target]. Sparsity up to `begin_step`.
        power: number > 0. Exponent of the polynomial.

    Raises:
        ConfigError: an argument is outside the ranges above.
    """

    def __init__(self, target, begin_step, end_step, initial=0.0, power=3):
        self.target = _check_sparsity(target, "PolynomialSparsity(target=...)")
        self.initial = _check_sparsity(initial, "PolynomialSparsity(initial=...)")
        if self.initial > self.target:
            raise ConfigError(
                format_error(
                    "The initial sparsity is above the target sparsity.",
                    where="PolynomialSparsity(initial=...)",
                    received=initial,
                    expected=f"a value in [0, {self.target}] (the target)",
                )
            )
        self.begin_step = _check_int(begin_step, "PolynomialSparsity(begin_step=...)", 0, "first pruning step")
        self.end_step = _check_int(end_step, "PolynomialSparsity(end_step=...)", self.begin_step + 1, "last pruning step")
        is_number = isinstance(power, numbers.Real) and not isinstance(power, bool)
        if not is_number or not power > 0:
            raise ConfigError(
                format_error(
                    "Invalid schedule exponent.",
                    where="PolynomialSparsity(power=...)",
                    received=power,
                    expected="a number > 0 (3 in Zhu and Gupta, 2017)",
                )
            )
        self.power = power

    def __call__(self, step):
        """Return the sparsity (float) at training step `step`."""
        clamped = min(max(step, self.begin_step), self.end_step)
        remaining = 1.0 - (clamped - self.begin_step) / (self.end_step - self.begin_step)
        return self.target + (self.initial - self.target) * remaining**self.power

    def __repr__(self):
        return (
            f"PolynomialSparsity(target={self.target}, begin_step={self.begin_step}, "
            f"end_step={self.end_step}, initial={self.initial}, power={self.power})"
        )


# --- Pruning -----------------------------------------------------------------


def prune_to(model, sparsity):
    """Prune every prunable kernel of `model` to `sparsity` now (one-shot magnitude pruning).

    Each kernel loses its `round(sparsity * size)` smallest-magnitude entries.
    Nothing keeps them at zero afterwards, so further training without
    `MagnitudePruning` can revive them.

    Args:
        model: keras Model. Usually a keras_hub TextClassifier.
        sparsity: float in [0, 1).

    Returns:
        dict mapping each layer path to the numpy bool keep-mask applied to its kernel.

    Raises:
        ConfigError: `sparsity` is outside [0, 1), the model has quantised or
            LoRA layers, or it has no prunable kernels.
    """
    sparsity = _check_sparsity(sparsity, SPARSITY_KEY)
    masks = {}
    for path, variable in _kernels_to_prune(model):
        masks[path] = magnitude_mask(variable, sparsity)
        _apply_mask(variable, masks[path])
    return masks


def sparsity_report(model):
    """Measure the fraction of zero weights in each prunable kernel and overall.

    Kernels of int8-quantised layers are measured too, from their int8 values.
    Keras quantises with a symmetric per-channel scale, so a pruned zero stays
    zero, and weights close to zero may round to zero as well.

    Args:
        model: keras Model. Usually a keras_hub TextClassifier.

    Returns:
        list of dict, one per kernel, with keys "layer" (path below the
        backbone), "shape" (tuple), "zeros" (int), "size" (int) and "sparsity"
        (zeros / size), followed by one dict with "layer" = "overall" and
        "shape" = None whose sparsity is total zeros over total size.

    Raises:
        ConfigError: the model has no float or int8 Dense or EinsumDense kernels.
    """
    measured = [
        (path, layer._kernel)
        for path, layer in _kernel_layers(model)
        if getattr(layer, "quantization_mode", None) in (None, "int8")
    ]
    if not measured:
        raise ConfigError(
            format_error(
                "The model has no kernels to measure.",
                where=type(_pruning_root(model)).__name__,
                expected="a built model whose backbone contains float or int8 Dense or EinsumDense layers",
            )
        )
    rows = []
    for path, variable in measured:
        values = keras.ops.convert_to_numpy(variable)
        zeros = int(np.count_nonzero(values == 0))
        rows.append(
            {
                "layer": path,
                "shape": tuple(values.shape),
                "zeros": zeros,
                "size": int(values.size),
                "sparsity": zeros / values.size,
            }
        )
    total_zeros = sum(row["zeros"] for row in rows)
    total_size = sum(row["size"] for row in rows)
    rows.append(
        {
            "layer": "overall",
            "shape": None,
            "zeros": total_zeros,
            "size": total_size,
            "sparsity": total_zeros / total_size,
        }
    )
    return rows


class MagnitudePruning(keras.callbacks.Callback):
    """Prune the backbone's kernels gradually while the model trains.

    Every `frequency` steps after `begin_step`, and once more at `end_step`,
    the callback recomputes each kernel's keep-mask from the current weight
    magnitudes at the sparsity of a `PolynomialSparsity` schedule. After every
    training batch it sets the masked entries back to zero, so the optimizer
    (AdamW's moment estimates included) cannot revive a pruned weight. Masks are
    fixed after `end_step`. When training ends, the masks are recomputed at the
    target sparsity and applied, so the trained model has exactly the target
    sparsity per kernel even if training stopped before `end_step` (early
    stopping). Keras 3.15 copies the optimizer's moving-average weights
    (`use_ema=True`) into the model before this final step, so they are pruned too.

    The measured fraction of zero weights over all prunable kernels is added to
    the epoch logs as `sparsity`, so `History` and CSV loggers record it.

    The step counter restarts at 0 on every `fit` call, so each call runs its own
    schedule. Keras calls the batch hooks once per `steps_per_execution` steps,
    so with more than one step per execution the masks are updated at the first
    hook on or after each update step, and applied only at the hooks.

    NOTE: written and tested for one device. Under a tf.distribute strategy the
    assignments run in cross-replica context, which has not been tested.

    Args:
        sparsity: float in [0, 1). Target fraction of zero weights per kernel.
        begin_step: int >= 0. Training step at which pruning starts.
        end_step: int or None. Step at which the target is reached. None ramps
            over the first 70% of the steps of the `fit` call, which needs a
            dataset of known length (`params["steps"]`).
        frequency: int >= 1. Steps between mask updates.
        power: number > 0. Exponent of the schedule.

    Attributes:
        schedule: `PolynomialSparsity` of the current or last `fit` call.
        step: int. Training steps seen in the current or last `fit` call.
        masks: dict mapping each layer path to the numpy bool keep-mask last
            computed, or None before the first mask update.

    Example:

    ```python
    classifier.fit(texts, labels, epochs=3, callbacks=[MagnitudePruning(0.5, frequency=50)])
    sparsity_report(classifier)[-1]["sparsity"]  # 0.5
    ```
    """

    def __init__(self, sparsity, *, begin_step=0, end_step=None, frequency=100, power=3):
        super().__init__()
        self.target = _check_sparsity(sparsity, SPARSITY_KEY)
        self.begin_step = _check_int(begin_step, "MagnitudePruning(begin_step=...)", 0, "first pruning step")
        if end_step is not None:
            _check_int(end_step, "MagnitudePruning(end_step=...)", self.begin_step + 1, "last pruning step")
        self.end_step = end_step
        self.frequency = _check_int(frequency, "MagnitudePruning(frequency=...)", 1, "pruning frequency (steps between mask updates)")
        self.power = power
        # A throwaway schedule rejects a bad exponent now. The real one is built at train begin.
        PolynomialSparsity(self.target, 0, 1, power=power)
        self.schedule = None
        self.step = 0
        self.masks = None
        self._mask_tensors = None
        self._kernels = None
        self._pending_schedule = False
        self._epoch_start_step = 0
        self._next_update_step = None
        self._masks_fixed = False

    def on_train_begin(self, logs=None):
        self._kernels = _kernels_to_prune(self.model)
        self.step = 0
        self.masks = None
        self.schedule = None
        self._pending_schedule = True
        self._masks_fixed = False

    def on_epoch_begin(self, epoch, logs=None):
        # The schedule is built here, not at train begin, because the first epoch
        # index is only known now and a resumed `fit(initial_epoch=...)` runs
        # fewer steps than epochs * steps.
        if self._pending_schedule:
            self.schedule = self._build_schedule(epoch)
            self._pending_schedule = False
            self._next_update_step = self.schedule.begin_step + self.frequency
        self._epoch_start_step = self.step

    def _build_schedule(self, first_epoch):
        end_step = self.end_step
        if end_step is None:
            steps = (self.params or {}).get("steps")
            epochs = (self.params or {}).get("epochs")
            if not steps or not epochs:
                raise ConfigError(
                    format_error(
                        "Cannot build the default pruning schedule: the number of steps per epoch is unknown.",
                        where="MagnitudePruning(end_step=...)",
                        received=end_step,
                        expected="an explicit end_step, or a dataset whose length Keras knows",
                        fix="Pass end_step, or pass `steps_per_epoch` to `fit`.",
                    )
                )
            total_steps = steps * (epochs - first_epoch)
            end_step = max(self.begin_step + 1, round(DEFAULT_RAMP_FRACTION * total_steps))
        return PolynomialSparsity(self.target, self.begin_step, end_step, power=self.power)

    def _update_masks(self, sparsity):
        self.masks = {path: magnitude_mask(variable, sparsity) for path, variable in self._kernels}
        # Converted once here, so applying them after each batch copies nothing from the host.
        self._mask_tensors = [keras.ops.convert_to_tensor(self.masks[path]) for path, _ in self._kernels]

    def _apply_masks(self):
        for (_, variable), mask in zip(self._kernels, self._mask_tensors):
            _apply_mask(variable, mask)

    # Keras 3.15 runs batch hooks in a thread pool on thread-safe backends (JAX, not
    # TensorFlow) unless a callback overrides one without setting `async_safe`. This
    # callback leaves `async_safe` unset, so the masks are applied before the next step.
    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the index in the epoch of the last step that ran, which skips
        # ahead when `steps_per_execution` is above 1.
        self.step = self._epoch_start_step + batch + 1
        schedule = self.schedule
        if not self._masks_fixed and self.step >= min(self._next_update_step, schedule.end_step):
            self._update_masks(schedule(self.step))
            steps_since_begin = self.step - schedule.begin_step
            self._next_update_step = schedule.begin_step + (steps_since_begin // self.frequency + 1) * self.frequency
            self._masks_fixed = self.step >= schedule.end_step
        if self.masks is not None:
            self._apply_masks()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["sparsity"] = _zero_fraction(self._kernels)

    def on_train_end(self, logs=None):
        self._update_masks(self.target)
        self._apply_masks()

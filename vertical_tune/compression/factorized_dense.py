"""A dense projection whose kernel is the product of two low-rank factors."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="vertical_tune")
class FactorizedDense(keras.layers.Layer):
    """Dense projection with a kernel factored as `A @ B` of rank `rank`.

    The layer replaces a `keras.layers.Dense` or an `EinsumDense` whose
    kernel, viewed as a matrix, has shape `[input_size, output_size]`. The
    last `input_axes` axes of the input are flattened into one axis of
    `input_size` entries, projected by `input_factor` (kernel `A` of shape
    `[input_size, rank]`, no bias) and then by `output_factor` (kernel `B` of
    shape `[rank, output_size]`, with the flattened bias). The result is
    reshaped to `batch_axes + output_shape` and passed through `activation`.

    Both factors are plain `keras.layers.Dense` layers, so `Model.quantize`
    quantises them like any other `Dense` layer. `get_config` stores the
    configs of both factors, so a quantised factor is rebuilt with its
    quantised dtype policy when the model is loaded.

    Args:
        rank: int. The inner size shared by the two factors.
        output_shape: int or tuple of ints. The shape of the trailing output
            axes, for example `(num_heads, head_dim)` for an attention
            projection. Their product is `output_size`.
        input_axes: int. How many trailing input axes the original kernel
            contracts. `1` for `Dense` and the query, key and value
            projections of attention, `2` for the attention output
            projection. Defaults to `1`.
        activation: activation function or name applied to the output.
            Defaults to `None`.
        use_bias: bool. Whether `output_factor` adds a bias. Defaults to
            `True`.
        kernel_initializer: initializer of both factor kernels. Defaults to
            `"glorot_uniform"`.
        bias_initializer: initializer of the bias. Defaults to `"zeros"`.
        input_factor: `keras.layers.Dense`, its serialised config or `None`.
            Used in place of a new first factor, so that `from_config` can
            restore its dtype policy and quantisation config. Defaults to
            `None`.
        output_factor: `keras.layers.Dense`, its serialised config or `None`.
            The same for the second factor. Defaults to `None`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`,
            including `name` and `dtype`.

    Example:

    ```python
    layer = FactorizedDense(rank=8, output_shape=(4, 16))
    outputs = layer(np.ones((2, 10, 64)))  # shape (2, 10, 4, 16)
    ```
    """

    def __init__(
        self,
        rank,
        output_shape,
        input_axes=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        input_factor=None,
        output_factor=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(output_shape, int):
            output_shape = (output_shape,)
        self.rank = int(rank)
        self.factor_output_shape = tuple(int(size) for size in output_shape)
        self.output_size = math.prod(self.factor_output_shape)
        self.input_axes = int(input_axes)
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        if self.rank < 1:
            raise ValueError(f"`rank` must be a positive integer. Received: rank={rank}")
        if self.input_axes < 1:
            raise ValueError(f"`input_axes` must be a positive integer. Received: input_axes={input_axes}")

        self.input_factor = self._make_factor(
            input_factor,
            units=self.rank,
            use_bias=False,
            name="input_factor",
        )
        self.output_factor = self._make_factor(
            output_factor,
            units=self.output_size,
            use_bias=use_bias,
            name="output_factor",
        )

    def _make_factor(self, factor, *, units, use_bias, name):
        if factor is None:
            return keras.layers.Dense(
                units,
                use_bias=use_bias,
                kernel_initializer=keras.initializers.get(keras.initializers.serialize(self.kernel_initializer)),
                bias_initializer=keras.initializers.get(keras.initializers.serialize(self.bias_initializer)),
                dtype=self.dtype_policy,
                name=name,
            )
        if isinstance(factor, dict):
            factor = keras.saving.deserialize_keras_object(factor)
        if not isinstance(factor, keras.layers.Dense):
            raise ValueError(f"`{name}` must be a `keras.layers.Dense` layer or its config. Received: {factor!r}")
        if factor.units != units or factor.use_bias != use_bias:
            raise ValueError(
                f"`{name}` must have units={units} and use_bias={use_bias}. "
                f"Received: units={factor.units}, use_bias={factor.use_bias}"
            )
        return factor

    def build(self, input_shape):
        contracted_shape = input_shape[-self.input_axes :]
        if any(size is None for size in contracted_shape):
            raise ValueError(
                f"The last {self.input_axes} input axes of `{self.name}` must have known sizes. "
                f"Received: input_shape={input_shape}"
            )
        self.input_size = math.prod(contracted_shape)
        batch_shape = tuple(input_shape[: -self.input_axes])
        # Factors deserialised by `from_config` arrive already built from their build config.
        if not self.input_factor.built:
            self.input_factor.build(batch_shape + (self.input_size,))
        if not self.output_factor.built:
            self.output_factor.build(batch_shape + (self.rank,))
        self.built = True

    def call(self, inputs):
        x = inputs
        batch_shape = ops.shape(x)[: -self.input_axes]
        if self.input_axes > 1:
            x = ops.reshape(x, tuple(batch_shape) + (self.input_size,))
        x = self.input_factor(x)
        x = self.output_factor(x)
        if len(self.factor_output_shape) > 1:
            x = ops.reshape(x, tuple(batch_shape) + self.factor_output_shape)
        if self.activation is not None:
            x = self.activation(x)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[: -self.input_axes]) + self.factor_output_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "rank": self.rank,
                "output_shape": self.factor_output_shape,
                "input_axes": self.input_axes,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "input_factor": keras.saving.serialize_keras_object(self.input_factor),
                "output_factor": keras.saving.serialize_keras_object(self.output_factor),
            }
        )
        return config

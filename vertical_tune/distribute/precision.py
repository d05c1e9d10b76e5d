"""Mixed precision and XLA switches of `distribution:`, checked against the device type."""

import contextlib
import logging
from pathlib import Path

import keras
import tensorflow as tf

from vertical_tune.distribute.devices import worker_devices
from vertical_tune.errors import ConfigError, format_error

logger = logging.getLogger(__name__)

# bfloat16 matrix units need NVIDIA compute capability 8.0 (Ampere) or newer.
_BFLOAT16_MIN_CAPABILITY = (8, 0)
# CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic.
_BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def device_type(strategy=None):
    """Return `TPU`, `GPU` or `CPU`: the kind of device `strategy` computes on.

    Args:
        strategy: tf.distribute.Strategy or None. None means the strategy in scope.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "TPU"
    names = [name.upper() for name in worker_devices(strategy)]
    return "GPU" if any(":GPU:" in name for name in names) else "CPU"


def apply_precision(settings, strategy=None):
    """Set the Keras global dtype policy of `distribution.mixed_precision` and check `jit_compile`.

    Call it before building the model, because layers read the global policy when they
    are created. `precision_policy` does the same and restores the previous policy.

    Args:
        settings: DistributionConfig.
        strategy: tf.distribute.Strategy or None. None means the strategy in scope.

    Returns:
        The value for `model.compile(jit_compile=...)`: True, False or "auto".

    Raises:
        ConfigError: when the policy or `jit_compile` does not fit the device type.
    """
    jit_compile = check_precision(settings, strategy)
    keras.config.set_dtype_policy("float32" if settings.mixed_precision == "none" else settings.mixed_precision)
    return jit_compile


def check_precision(settings, strategy=None):
    """Check `mixed_precision` and `jit_compile` against the device type, without setting anything.

    Returns:
        The value for `model.compile(jit_compile=...)`: True, False or "auto".

    Raises:
        ConfigError: when the policy or `jit_compile` does not fit the device type.
    """
    device = "TPU" if settings.strategy == "tpu" else device_type(strategy)
    _check_policy(settings.mixed_precision, device)
    return _check_jit_compile(settings.jit_compile, device)


@contextlib.contextmanager
def precision_policy(settings, strategy=None):
    """Apply `apply_precision` for the `with` block and restore the previous dtype policy after it.

    Yields:
        The value for `model.compile(jit_compile=...)`.
    """
    previous = keras.config.dtype_policy()
    try:
        yield apply_precision(settings, strategy)
    finally:
        keras.config.set_dtype_policy(previous)


def _check_policy(policy, device):
    if policy == "mixed_float16" and device != "GPU":
        raise ConfigError(
            format_error(
                f"distribution.mixed_precision `mixed_float16` needs a GPU, but training runs on a {device}.",
                where="distribution.mixed_precision",
                received=policy,
                expected="`mixed_float16` only on GPUs",
                fix="Use `mixed_bfloat16` (TPUs, recent CPUs and GPUs) or `none`.",
            )
        )
    if policy == "mixed_bfloat16" and device == "GPU":
        _check_gpu_bfloat16(policy)
    if policy == "mixed_bfloat16" and device == "CPU" and not _cpu_has_bfloat16():
        # NOTE: only checked on Linux. bfloat16 still works without these flags, probably
        # slower than float32 (not measured).
        logger.warning(
            "distribution.mixed_precision `mixed_bfloat16` on a CPU without %s runs in emulation "
            "and may be slower than `none`.",
            " or ".join(_BFLOAT16_CPU_FLAGS),
        )


def _check_gpu_bfloat16(policy):
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability is not None and tuple(capability) < _BFLOAT16_MIN_CAPABILITY:
            raise ConfigError(
                format_error(
                    f"distribution.mixed_precision `mixed_bfloat16` needs GPU compute capability 8.0 or newer; "
                    f"{gpu.name} has {capability[0]}.{capability[1]}.",
                    where="distribution.mixed_precision",
                    received=policy,
                    expected="`mixed_bfloat16` on Ampere (8.0) or newer GPUs",
                    fix="Use `mixed_float16` on this GPU, or `none`.",
                )
            )


def _cpu_has_bfloat16():
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True  # unknown platform: do not warn
    return any(flag in text.split() for flag in _BFLOAT16_CPU_FLAGS)


def _check_jit_compile(jit_compile, device):
    if device == "TPU" and jit_compile is False:
        raise ConfigError(
            format_error(
                "distribution.jit_compile `false` does not work on a TPU: TPUs run only XLA-compiled steps.",
                where="distribution.jit_compile",
                received=jit_compile,
                expected="`true` or empty with `strategy: tpu`",
                fix="Set `jit_compile: true` or remove the key.",
            )
        )
    return "auto" if jit_compile is None else jit_compile

"""Look up and prepare the devices a strategy runs on: GPUs, logical CPUs and TPUs."""

import glob
from pathlib import Path

import tensorflow as tf

from vertical_tune.errors import ConfigError, format_error

# Device files of TPUs attached to this host: `/dev/accel*` on TPU v2 to v4 VMs,
# `/dev/vfio/*` on v5e and later.
_TPU_DEVICE_PATTERNS = ("/dev/accel*", "/dev/vfio/[0-9]*")


def gpu_count():
    """Return the number of physical GPUs; listing them does not start the TensorFlow runtime."""
    return len(tf.config.list_physical_devices("GPU"))


def logical_cpu_devices(count):
    """Split the CPU into `count` logical devices and return their names.

    TensorFlow fixes the device list when its runtime starts (the first op or device
    query), so this must run before any other TensorFlow work in the process. When the
    CPU is already split into `count` devices, they are reused.

    Args:
        count: int. Number of logical CPU devices, at least 2.

    Returns:
        list of str, the device names, e.g. `/device:CPU:0`.

    Raises:
        ConfigError: when TensorFlow has already started with a different device list.
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is None or len(current) != count:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
        except RuntimeError as error:
            raise ConfigError(
                format_error(
                    "distribution.cpu_devices cannot be applied: TensorFlow has already started "
                    "its devices in this process.",
                    where="distribution.cpu_devices",
                    received=count,
                    expected=f"the CPU split before any TensorFlow op runs (it has {len(current or [None])} device(s) now)",
                    fix="Build the strategy before anything else runs TensorFlow, or start a fresh process "
                    "(the `vtune` commands do this).",
                )
            ) from error
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def tpu_visible(tpu):
    """Tell whether TPU `tpu` can be reached without probing the network.

    `local` needs TPU device files on this host. A TPU name needs a Google Cloud VM,
    because the resolver looks it up through the GCE metadata server and the Cloud TPU
    API. A `grpc://` address is the user's explicit choice and is always tried.
    """
    if tpu.startswith("grpc://"):
        return True
    if tpu == "local":
        return any(glob.glob(pattern) for pattern in _TPU_DEVICE_PATTERNS)
    return running_on_google_cloud()


def running_on_google_cloud():
    """True when the DMI product name says this is a Google Compute Engine VM (Linux only)."""
    product = Path("/sys/class/dmi/id/product_name")
    try:
        return "Google" in product.read_text(encoding="utf-8")
    except OSError:
        return False


def worker_devices(strategy):
    """Return the names of the devices `strategy` computes on in this process.

    The default strategy has no device list of its own, so its entry is the device
    TensorFlow places ops on: the first GPU when there is one, else the CPU.
    """
    try:
        return [str(device) for device in strategy.extended.worker_devices]
    except RuntimeError:
        return ["/device:GPU:0" if gpu_count() else "/device:CPU:0"]

"""Hub access checks: fail within seconds when a model hub cannot be reached.

Downloads themselves stay with keras-hub (which uses `huggingface_hub` and
`kagglehub`); this module only checks, before any download starts, whether the hub
responds at all. Offline, those libraries retry for minutes.
"""

import concurrent.futures
import os
import socket

from vertical_tune.errors import BackboneError, format_error

# Seconds allowed for DNS plus a TCP connect to the hub.
CONNECT_TIMEOUT = 3.0

_HOSTS = {
    "hf://": "huggingface.co",
    "kaggle://": "www.kaggle.com",
}
# keras-hub's built-in preset names are downloaded from Kaggle.
_DEFAULT_HOST = "www.kaggle.com"


def keras_hub_preset_names():
    """Return the names of keras-hub's built-in backbone presets."""
    import keras_hub

    return list(keras_hub.models.Backbone.presets)


def is_keras_hub_preset(name):
    """Return True when `name` is one of keras-hub's built-in backbone presets."""
    return name in keras_hub_preset_names()


def host_for(name):
    """Return the host a hub identifier downloads from."""
    for prefix, host in _HOSTS.items():
        if name.startswith(prefix):
            return host
    return _DEFAULT_HOST


def check_reachable(name):
    """Raise `BackboneError` unless the hub serving `name` responds within seconds."""
    host = host_for(name)
    offline_flag = _offline_flag()
    if offline_flag:
        reason = f"{offline_flag} is set"
    else:
        reason = _probe(host)
    if reason is None:
        return
    raise BackboneError(
        format_error(
            f"Cannot download backbone {name!r}: {host} is not reachable ({reason}).",
            received=name,
            expected="a hub that answers, or a local copy of the model",
            fix=_local_copy_fix(name),
        )
    )


def _offline_flag():
    for variable in ("VTUNE_OFFLINE", "HF_HUB_OFFLINE", "KAGGLEHUB_OFFLINE"):
        if os.environ.get(variable, "").lower() in ("1", "true", "yes"):
            return variable
    return None


def _probe(host):
    """Return None when a TCP connection to host:443 opens in time, else the reason."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # getaddrinfo cannot be given a timeout, so it runs in a worker thread.
        future = pool.submit(_connect, host)
        try:
            return future.result(timeout=CONNECT_TIMEOUT + 1)
        except concurrent.futures.TimeoutError:
            return f"no answer within {CONNECT_TIMEOUT + 1:.0f} s"


def _connect(host):
    try:
        with socket.create_connection((host, 443), timeout=CONNECT_TIMEOUT):
            return None
    except OSError as error:
        return str(error) or type(error).__name__


def _local_copy_fix(name):
    if name.startswith("hf://"):
        repo = name[len("hf://") :]
        return (
            f"On a machine with access, run `hf download {repo} --local-dir DIR`, copy DIR "
            "here and set `backbone.preset: DIR` (a Hugging Face directory with "
            "config.json, model.safetensors and the tokenizer files). Or use the offline "
            "backbone `minilm_l6_offline`."
        )
    return (
        f"On a machine with access, load it with `keras_hub.models.Backbone.from_preset({name!r})`"
        " and save it with `save_to_preset(DIR)` (and the tokenizer likewise), copy DIR here "
        "and set `backbone.preset: DIR`. Or use the offline backbone `minilm_l6_offline`."
    )

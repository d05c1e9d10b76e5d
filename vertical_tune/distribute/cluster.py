"""Read and validate the `TF_CONFIG` environment variable of multi-worker training.

MultiWorkerMirroredStrategy reads `TF_CONFIG` itself, but a mistake there surfaces as a
hang or a gRPC error deep inside TensorFlow. `read_tf_config` checks it first and names
the key, the value and the fix.
"""

import dataclasses
import json
import os
import re

from vertical_tune.errors import ConfigError, format_error

TF_CONFIG = "TF_CONFIG"

EXAMPLE = (
    '{"cluster": {"chief": ["host0:12345"], "worker": ["host1:12345"]}, '
    '"task": {"type": "chief", "index": 0}}'
)
_FIX_SUFFIX = f"Example for a chief and one worker: TF_CONFIG='{EXAMPLE}'"

# `host:port`, where host is a name, an IPv4 address or a bracketed IPv6 address.
_ADDRESS = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


@dataclasses.dataclass(frozen=True)
class ClusterTask:
    """This process's place in the cluster described by `TF_CONFIG`.

    Attributes:
        cluster: dict mapping task type (`chief`, `worker`) to its `host:port` addresses.
        task_type: str. Type of this process.
        task_index: int. Index of this process within `cluster[task_type]`.
    """

    cluster: dict
    task_type: str
    task_index: int

    @property
    def is_chief(self):
        """True for the `chief` task, or worker 0 when the cluster has no chief."""
        if self.task_type == "chief":
            return True
        return self.task_type == "worker" and self.task_index == 0 and "chief" not in self.cluster

    @property
    def worker_count(self):
        """Number of processes that train: chief plus workers."""
        return len(self.cluster.get("chief", [])) + len(self.cluster.get("worker", []))


def read_tf_config(environ=None):
    """Parse and validate `TF_CONFIG`.

    Args:
        environ: mapping or None. Environment to read; `os.environ` when None.

    Returns:
        ClusterTask.

    Raises:
        ConfigError: when `TF_CONFIG` is missing, is not a JSON object, lacks `cluster`
            or `task`, names a task that is not in the cluster, or lists an address
            that is not `host:port`.
    """
    environ = os.environ if environ is None else environ
    text = environ.get(TF_CONFIG, "")
    if not text.strip():
        raise _error(
            "distribution.strategy `multi_worker` needs the TF_CONFIG environment variable, which is not set.",
            where=TF_CONFIG,
            received=text or None,
            expected="a JSON object with `cluster` and `task`",
            fix="Set TF_CONFIG in the environment of every worker process, or use `strategy: default`.",
        )
    config = _parse_json(text)
    cluster = _validate_cluster(config)
    task_type, task_index = _validate_task(config, cluster)
    return ClusterTask(cluster, task_type, task_index)


def _parse_json(text):
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise _error(
            f"TF_CONFIG is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno} "
            f"(character {error.pos}).",
            where=TF_CONFIG,
            received=text,
            expected="a JSON object with `cluster` and `task`",
            fix="Quote keys and strings with double quotes, and wrap the whole value in single quotes in the shell.",
        ) from error
    if not isinstance(config, dict):
        raise _error(
            "TF_CONFIG must be a JSON object.",
            where=TF_CONFIG,
            received=config,
            expected="a JSON object with `cluster` and `task`",
            fix="Put the cluster and this process's task in one object.",
        )
    return config


def _validate_cluster(config):
    cluster = config.get("cluster")
    if not isinstance(cluster, dict) or not cluster:
        problem = "TF_CONFIG has no `cluster` key." if cluster is None else "TF_CONFIG `cluster` must be a non-empty object."
        raise _error(
            problem,
            where=f"{TF_CONFIG} key `cluster`",
            received=cluster,
            expected='an object mapping task types to address lists, e.g. {"worker": ["host1:12345", "host2:12345"]}',
            fix="List every process of the job under `chief` and `worker`.",
        )
    for task_type, addresses in cluster.items():
        if not isinstance(addresses, list) or not addresses:
            raise _error(
                f"TF_CONFIG `cluster.{task_type}` must be a non-empty list of addresses.",
                where=f"{TF_CONFIG} key `cluster.{task_type}`",
                received=addresses,
                expected='a list of "host:port" strings',
                fix=f'Write `"{task_type}": ["host1:12345"]`.',
            )
        for position, address in enumerate(addresses):
            _validate_address(task_type, position, address)
    return cluster


def _validate_address(task_type, position, address):
    match = _ADDRESS.match(address) if isinstance(address, str) else None
    if match is None or not 1 <= int(match.group(1)) <= 65535:
        raise _error(
            f"TF_CONFIG address {position} of `cluster.{task_type}` is not `host:port`.",
            where=f"{TF_CONFIG} key `cluster.{task_type}[{position}]`",
            received=address,
            expected='"host:port" with a port from 1 to 65535, e.g. "10.0.0.2:12345"',
            fix="Give the host name or IP address and the port this worker listens on.",
        )


def _validate_task(config, cluster):
    task = config.get("task")
    if not isinstance(task, dict):
        problem = "TF_CONFIG has no `task` key." if task is None else "TF_CONFIG `task` must be an object."
        raise _error(
            problem,
            where=f"{TF_CONFIG} key `task`",
            received=task,
            expected='{"type": "chief" or "worker", "index": 0}',
            fix="Give each process its own `task`: the same `cluster` everywhere, a different `task` per process.",
        )
    task_type = task.get("type")
    if task_type not in cluster:
        raise _error(
            "TF_CONFIG `task.type` is not a task type of `cluster`.",
            where=f"{TF_CONFIG} key `task.type`",
            received=task_type,
            expected=f"one of {sorted(cluster)}",
            fix="Set `task.type` to the list this process's address is in.",
        )
    task_index = task.get("index")
    count = len(cluster[task_type])
    if isinstance(task_index, bool) or not isinstance(task_index, int) or not 0 <= task_index < count:
        raise _error(
            f"TF_CONFIG `task.index` is not a position in `cluster.{task_type}`.",
            where=f"{TF_CONFIG} key `task.index`",
            received=task_index,
            expected=f"an integer from 0 to {count - 1}",
            fix=f"Set `task.index` to the position of this process's address in `cluster.{task_type}`.",
        )
    return task_type, task_index


def _error(problem, *, where, received, expected, fix):
    return ConfigError(format_error(problem, where=where, received=received, expected=expected, fix=f"{fix} {_FIX_SUFFIX}"))

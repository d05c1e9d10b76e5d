"""The retrain lock across processes: exactly one of two jobs started together gets it."""

import os
import signal
import subprocess
import sys
import time

import pytest

from vertical_tune.errors import LockError
from vertical_tune.retrain.lock import ProjectLock

HOLD = """
import sys, time
from vertical_tune.errors import LockError
from vertical_tune.retrain.lock import ProjectLock
try:
    with ProjectLock(sys.argv[1]):
        print("acquired", flush=True)
        time.sleep(float(sys.argv[2]))
except LockError:
    print("busy", flush=True)
    sys.exit(75)
"""


def _hold(lock, seconds):
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock), str(seconds)], stdout=subprocess.PIPE, text=True
    )


def test_two_jobs_exactly_one_acquires(tmp_path):
    lock = tmp_path / "retrain.lock"
    for _ in range(3):
        jobs = [_hold(lock, 1.0), _hold(lock, 1.0)]
        outputs = sorted(job.communicate(timeout=60)[0].strip() for job in jobs)
        assert outputs == ["acquired", "busy"]


def test_lock_of_killed_holder_is_released(tmp_path):
    lock = tmp_path / "retrain.lock"
    holder = _hold(lock, 60)
    assert holder.stdout.readline().strip() == "acquired"
    with pytest.raises(LockError) as error:
        with ProjectLock(lock):
            pass
    assert f"pid {holder.pid}" in str(error.value)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    with ProjectLock(lock) as held:
        assert held.stale["pid"] == holder.pid


def test_wait_queues_behind_holder(tmp_path):
    lock = tmp_path / "retrain.lock"
    holder = _hold(lock, 1.0)
    assert holder.stdout.readline().strip() == "acquired"
    started = time.monotonic()
    with ProjectLock(lock, wait=30):
        waited = time.monotonic() - started
    holder.wait(timeout=30)
    assert waited > 0.2
    assert not lock.with_name("retrain.lock.json").exists()

"""One retrain at a time per registry: an OS file lock plus a note of who holds it.

The lock itself is `filelock`'s `flock`, which the kernel releases when the
holder dies, even by SIGKILL, so a killed job never blocks the next one. Beside it,
the holder writes `retrain.lock.json` (pid, host, start time, command) and removes
it when it finishes. A job that acquires the lock and still finds that note knows
the previous holder was killed: it logs the stale lock and clears it.
"""

import datetime
import json
import logging
import os
import socket
import sys
from pathlib import Path

import filelock

from vertical_tune.errors import LockError, format_error

logger = logging.getLogger(__name__)


class ProjectLock:
    """Hold the retrain lock of a registry for the duration of a `with` block.

    Args:
        path: str or Path. The lock file, e.g. `registry/retrain.lock`.
        wait: float or None. Seconds to wait for a busy lock; None fails at once,
            a negative value waits for ever.

    Raises:
        LockError: from `__enter__`, when another job holds the lock.

    Attributes:
        stale: dict or None. The note of a killed holder that was cleared.
    """

    def __init__(self, path, *, wait=None):
        self.path = Path(path)
        self.note_path = self.path.with_name(self.path.name + ".json")
        self.wait = wait
        self.stale = None
        self._lock = filelock.FileLock(str(self.path))

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        timeout = 0 if self.wait is None else self.wait
        try:
            self._lock.acquire(timeout=timeout)
        except filelock.Timeout:
            raise LockError(self._busy_message()) from None
        self.stale = _read_note(self.note_path)
        if self.stale:
            logger.warning(
                "Cleared a stale retrain lock: pid %s on %s, started %s, ended without releasing it (killed?).",
                self.stale.get("pid"),
                self.stale.get("host"),
                self.stale.get("started"),
            )
        note = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        }
        temporary = self.note_path.with_name(f".{self.note_path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(note), encoding="utf-8")
        os.replace(temporary, self.note_path)
        return self

    def __exit__(self, *exc_info):
        self.note_path.unlink(missing_ok=True)
        self._lock.release()
        return False

    def _busy_message(self):
        holder = _read_note(self.note_path) or {}
        who = (
            f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}"
            if holder
            else "a process that has not written its note yet"
        )
        waited = "" if not self.wait else f" after waiting {self.wait:g} s"
        return format_error(
            f"Another retrain job holds the lock{waited}.",
            where=str(self.path),
            received=who,
            fix="Let it finish, or pass --wait SECONDS to queue behind it. A killed job's lock is released by the system.",
        )


def _read_note(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None

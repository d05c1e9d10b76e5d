"""The progress note of a retrain job, so `vtune retrain --resume` can continue it.

`retrain-job.json` in the registry folder records which job runs, where its
challenger run goes and how far it got (`training`, then `registered` with the
version and the decision). It is replaced atomically at each step and removed
when the job ends.
"""

import datetime
import json
import logging
import os
import secrets
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

JOB_FILE = "retrain-job.json"


class JobState:
    """Read, update and clear the progress note of the current retrain job.

    Args:
        registry_path: str or Path. The registry folder.
        runs_dir: str or Path. Folder of the challenger run directories.
        resume: bool. Continue an interrupted job when its note exists.
    """

    def __init__(self, registry_path, runs_dir, *, resume):
        self.path = Path(registry_path) / JOB_FILE
        previous = _read(self.path)
        if previous and resume:
            self.data = previous
            logger.info("Resuming retrain job %s from stage `%s`.", previous["job"], previous["stage"])
            return
        if previous:
            logger.warning(
                "Retrain job %s was interrupted at stage `%s`; starting a new job "
                "(pass --resume to continue an interrupted job).",
                previous["job"],
                previous["stage"],
            )
            discard_run(previous["run_dir"])
        started = datetime.datetime.now(datetime.timezone.utc)
        job = f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        self.data = {
            "job": job,
            "started": started.isoformat(timespec="seconds"),
            "stage": "training",
            "run_dir": str(Path(runs_dir) / f"retrain-{job}"),
        }
        self.save()

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)

    def update(self, **values):
        """Record progress and write the note at once."""
        self.data.update(values)
        self.save()

    def save(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(self.data, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.path)

    def clear(self):
        """Remove the note and the local challenger run of an ended job (the registry keeps a copy)."""
        discard_run(self.data["run_dir"])
        self.path.unlink(missing_ok=True)


def discard_run(run_dir):
    """Remove a challenger run directory and its training checkpoint."""
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.rmtree(f"{run_dir}.checkpoint", ignore_errors=True)


def _read(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None

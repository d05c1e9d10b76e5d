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
    """The progress note of one retrain job; `start` a new one or `load` an interrupted one.

    Args:
        path: Path. The note file, `REGISTRY/retrain-job.json`.
        data: dict. Its content: `job`, `started`, `stage`, `run_dir` and what
            `start` and `update` recorded.
    """

    def __init__(self, path, data):
        self.path = Path(path)
        self.data = data

    @classmethod
    def load(cls, registry_path):
        """Return the note of an interrupted job, or None when there is none."""
        path = Path(registry_path) / JOB_FILE
        data = _read(path)
        if data is None:
            return None
        logger.info("Resuming retrain job %s from stage `%s`.", data["job"], data["stage"])
        return cls(path, data)

    @classmethod
    def start(cls, registry_path, runs_dir, **fields):
        """Begin a new job; an interrupted one's run and checkpoint are removed with a warning."""
        path = Path(registry_path) / JOB_FILE
        previous = _read(path)
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
        state = cls(
            path,
            {
                "job": job,
                "started": started.isoformat(timespec="seconds"),
                "stage": "training",
                "run_dir": str(Path(runs_dir) / f"retrain-{job}"),
                **fields,
            },
        )
        state.save()
        return state

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

"""Write and read run directories atomically.

A run directory contains everything needed to evaluate, predict with or ship a model:

    config.yaml          the resolved configuration
    label_map.json       class index -> raw label value and readable name
    model.keras          the fine-tuned classifier with its preprocessor
    metrics.json         validation (and test) metrics, training summary
    history.json         per-epoch training logs
    report.md            the human-readable report
    confusion_matrix.png
    logs/                TensorBoard event files
"""

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import yaml

from vertical_tune.errors import RunError, format_error

REQUIRED_FILES = ("config.yaml", "label_map.json", "model.keras")


@contextlib.contextmanager
def staged_directory(target):
    """Yield a staging folder next to `target`; on success it replaces `target` in one rename.

    On an exception the staging folder is removed and `target` is left as it was.
    """
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    # mkdtemp makes the folder private (0700); a run is shared like any folder the user makes.
    os.chmod(staging, 0o777 & ~current_umask())
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap_in(staging, target)


def current_umask():
    """Return the process umask (reading it requires setting it, so it is set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _swap_in(staging, target):
    previous = None
    if target.exists():
        previous = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, previous)
    os.replace(staging, target)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def write_json(path, data):
    """Write JSON as UTF-8 with non-ASCII text kept readable."""
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_config(path, config):
    text = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    Path(path).write_text(text, encoding="utf-8")


def check_run_directory(path):
    """Return the run directory as a Path, raising `RunError` if it is missing or incomplete."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(
            format_error(
                "Run directory not found.",
                received=str(path.resolve()),
                fix="Pass the `output.run_dir` of a finished `vtune train` run.",
            )
        )
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise RunError(
            format_error(
                "The run directory is incomplete.",
                where=str(path.resolve()),
                received=f"missing {', '.join(missing)}",
                expected=", ".join(REQUIRED_FILES),
                fix="Train again with `vtune train`; runs are written only when training finishes.",
            )
        )
    return path

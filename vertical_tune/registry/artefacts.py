"""The artefact folders under `<registry>/models/`: staging copies, published versions, clean-up.

A run is first copied into a staging folder named after the copying process
(`.staging-<host>-<pid>-<token>`), then renamed to its version folder (`v<N>`) inside
the database transaction that inserts its row. A folder that no row references is
an orphan left by a crash; `remove_orphans` deletes it.
"""

import logging
import os
import re
import shutil
import socket
import uuid
from pathlib import Path

from vertical_tune.errors import RegistryError, format_error
from vertical_tune.run_directory import REQUIRED_FILES

logger = logging.getLogger(__name__)

MODELS_DIR = "models"
_STAGING = re.compile(r"\.staging-(?P<host>.+)-(?P<pid>[0-9]+)-(?P<token>[0-9a-f]{8})")
_VERSION_FOLDER = re.compile(r"v[0-9]+")


def copy_to_staging(run_dir, models_dir):
    """Copy a run directory into a new staging folder and flush it to disk.

    Args:
        run_dir: Path. A checked run directory.
        models_dir: Path. The registry's `models/` folder.

    Returns:
        Path of the staging folder.
    """
    staging = models_dir / f".staging-{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        shutil.copytree(run_dir, staging)
        sync_tree(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def build_manifest(folder):
    """Return {relative POSIX path: size in bytes} of every file under `folder`."""
    folder = Path(folder)
    return {
        path.relative_to(folder).as_posix(): path.stat().st_size
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def publish(staging, target):
    """Rename a staging folder to its version folder, replacing an orphan left at that name.

    The caller holds the database write lock, so no other process publishes to
    `target` and a folder already there belongs to a crashed writer.
    """
    if target.exists():
        logger.warning("Removing orphan folder %s left by an interrupted registration.", target)
        shutil.rmtree(target)
    os.rename(staging, target)
    sync_directory(target.parent)


def missing_files(folder, manifest):
    """Return the required or registered files that are missing from `folder` or changed size."""
    folder = Path(folder)
    problems = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    for name, size in manifest.items():
        path = folder / name
        if not path.is_file():
            problems.append(name)
        elif path.stat().st_size != size:
            problems.append(f"{name} (size {path.stat().st_size}, registered {size})")
    return sorted(set(problems))


def check_complete(folder, manifest, *, version):
    """Raise `RegistryError` unless a version folder still contains every registered file."""
    problems = missing_files(folder, manifest)
    if problems:
        raise RegistryError(
            format_error(
                f"The artefact folder of version v{version} is incomplete, so no alias may point at it.",
                where=str(folder),
                received=f"missing or changed: {', '.join(problems)}",
                expected="the files registered with the version, unchanged",
                fix="Point the alias at another version, or register the run again with `Registry.register`.",
            )
        )


def remove_orphans(models_dir, referenced):
    """Delete version folders no row references and staging folders of finished processes.

    The caller holds the database write lock, so no version folder is being published.
    Staging folders of live processes on this host, and of any process on another
    host, are kept. Other entries under `models/` are left alone.

    Args:
        models_dir: Path. The registry's `models/` folder.
        referenced: set of str. Folder names that rows reference.

    Returns:
        list of Path, the removed folders.
    """
    removed = []
    for entry in sorted(models_dir.iterdir()) if models_dir.is_dir() else []:
        if entry.name in referenced or not _is_removable(entry):
            continue
        logger.info("Removing unreferenced registry folder %s.", entry)
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _is_removable(entry):
    if _VERSION_FOLDER.fullmatch(entry.name):
        return entry.is_dir()
    match = _STAGING.fullmatch(entry.name)
    if match is None:
        return False
    # NOTE: a process on another host cannot be checked, so its staging folder is kept.
    if match.group("host") != _host():
        return False
    return not _process_is_alive(int(match.group("pid")))


def _process_is_alive(pid):
    # A reused pid makes a dead writer look alive; that only keeps its folder until a later gc.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _host():
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "localhost"


def sync_tree(folder):
    """Flush every file and folder under `folder` to disk, so a power loss cannot undo the copy."""
    for root, _, files in os.walk(folder):
        for name in files:
            _fsync(os.path.join(root, name), os.O_RDONLY)
        sync_directory(root)


def sync_directory(folder):
    """Flush a folder's entries (created, renamed files) to disk."""
    _fsync(str(folder), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


def _fsync(path, flags):
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    except OSError:
        # Some file systems do not support fsync on folders; the rename itself is still atomic.
        pass
    finally:
        os.close(descriptor)

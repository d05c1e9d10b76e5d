"""`Registry`: numbered model versions, aliases that point at them, and retrain records.

Layout of a registry folder:

    registry.db      SQLite database (WAL mode): versions, aliases, their history,
                     retrain decisions and the incoming files already used
    models/v<N>/     the artefact folder of version N, a copy of its run directory

Readers only follow database rows, and a row is committed after its folder has its
final name, so a reader never sees a half-written version. A process killed at any
point leaves the registry as it was before or after the change. Any folder it
leaves behind is referenced by no row, and `gc()` removes it.
"""

import logging
import shutil
from pathlib import Path

from vertical_tune.errors import RegistryError, format_error
from vertical_tune.registry import aliases as alias_ops
from vertical_tune.registry import artefacts, bookkeeping, queries
from vertical_tune.registry.database import DATABASE_NAME, migrate, opened, read_transaction, write_transaction
from vertical_tune.registry.records import utc_now, version_from_row
from vertical_tune.registry.references import validate_alias, version_name
from vertical_tune.registry.run_files import read_run_config, read_run_metrics
from vertical_tune.run_directory import check_run_directory

logger = logging.getLogger(__name__)

CHAMPION = "champion"


class Registry:
    """A model registry folder, created when it does not exist.

    Every method opens its own short-lived database connection, so one `Registry`
    may be shared by threads, and several processes may use the same folder.

    Args:
        path: str or PathLike. The registry folder (`registry.path` in the config).
        timeout: float. Seconds a write waits for another process's write to finish.

    Example:

    ```python
    registry = Registry("registry")
    info = registry.register("runs/finance", note="first model")
    registry.promote(info.version, reason="initial release")
    registry.get("champion").path
    ```
    """

    def __init__(self, path, *, timeout=30.0):
        self.path = Path(path).expanduser().resolve()
        self.timeout = timeout
        if self.path.exists() and not self.path.is_dir():
            raise RegistryError(
                format_error(
                    "The registry path is a file, not a folder.",
                    received=str(self.path),
                    fix="Set `registry.path` (or --registry) to a folder.",
                )
            )
        self.models_dir.mkdir(parents=True, exist_ok=True)
        with self._connection() as connection:
            migrate(connection, self.database_path)

    @classmethod
    def open(cls, path, *, create=False, timeout=30.0):
        """Open a registry; unless `create` is True, raise `RegistryError` when there is none.

        Args:
            path: str or PathLike. The registry folder.
            create: bool. Create the registry when the folder has none.
            timeout: float. Seconds a write waits for another process's write to finish.

        Returns:
            Registry.
        """
        database = Path(path).expanduser().resolve() / DATABASE_NAME
        if not create and not database.is_file():
            raise RegistryError(
                format_error(
                    "No model registry found.",
                    where=str(database.parent),
                    received=f"no {DATABASE_NAME} in that folder",
                    expected=f"a registry folder that contains {DATABASE_NAME}",
                    fix="Check `registry.path` in the config (or --registry); a registry is created when the first run is registered.",
                )
            )
        return cls(path, timeout=timeout)

    @property
    def database_path(self):
        """Path of `registry.db`."""
        return self.path / DATABASE_NAME

    @property
    def models_dir(self):
        """Path of the folder that contains one artefact folder per version."""
        return self.path / artefacts.MODELS_DIR

    def __repr__(self):
        return f"Registry({str(self.path)!r})"

    # Versions

    def register(self, run_dir, *, data_fingerprint=None, lineage=None, metrics=None, note=None):
        """Copy a run directory into the registry as the next version.

        The copy goes to a staging folder first. One transaction then takes the next
        version number, renames the staging folder to `models/v<N>` and inserts the
        row, so a crash leaves either no new version or a complete one.

        Args:
            run_dir: str or PathLike. A finished run directory (`FineTuner.save`).
            data_fingerprint: str, dict or None. What identifies the training data.
            lineage: dict or None. Where the model came from, e.g. parent version or job
                id. `source_run` (the absolute run directory) is added unless given.
            metrics: dict or None. Defaults to the run's `metrics.json` (or `{}` without one).
            note: str or None. Free text shown by `vtune registry list`.

        Returns:
            VersionInfo of the new version.
        """
        run_dir = check_run_directory(run_dir).resolve()
        self._check_outside(run_dir)
        config = read_run_config(run_dir / "config.yaml")
        if metrics is None:
            metrics = read_run_metrics(run_dir / "metrics.json")
        lineage = {"source_run": str(run_dir), **(lineage or {})}

        staging = artefacts.copy_to_staging(run_dir, self.models_dir)
        try:
            manifest = artefacts.build_manifest(staging)
            version = self._publish(
                staging,
                config=config,
                data_fingerprint=data_fingerprint,
                metrics=metrics,
                lineage=lineage,
                note=note,
                manifest=manifest,
            )
        finally:
            # After a successful rename the staging path no longer exists.
            shutil.rmtree(staging, ignore_errors=True)
        logger.info("Registered %s as %s in %s.", run_dir, version_name(version), self.path)
        return self.get(version)

    def _check_outside(self, run_dir):
        # Copying a folder that contains the registry would copy the copy into itself.
        if run_dir == self.path or run_dir in self.path.parents:
            raise RegistryError(
                format_error(
                    "The registry is inside the run directory to register.",
                    where=str(self.path),
                    received=str(run_dir),
                    fix="Move the registry (`registry.path`) out of the run directory.",
                )
            )

    def _publish(self, staging, **fields):
        with self._connection() as connection, write_transaction(connection):
            version = queries.next_version(connection)
            target = self.models_dir / version_name(version)
            artefacts.publish(staging, target)
            try:
                queries.insert_version(
                    connection, version=version, created_at=utc_now(), folder=target.name, **fields
                )
            except BaseException:
                # Still inside the transaction: no other writer can have taken this number yet.
                shutil.rmtree(target, ignore_errors=True)
                raise
        return version

    def get(self, version_or_alias):
        """Return a version by number (`3`, `"3"`, `"v3"`) or by alias name.

        Returns:
            VersionInfo.
        """
        with self._connection() as connection, read_transaction(connection):
            row = queries.resolve(connection, version_or_alias, str(self.path))
            names = [alias for alias, version in queries.alias_map(connection).items() if version == row["version"]]
        return version_from_row(row, self.models_dir, names)

    def versions(self):
        """Return every version, oldest first, as a list of `VersionInfo`."""
        with self._connection() as connection, read_transaction(connection):
            rows = queries.version_rows(connection)
            alias_map = queries.alias_map(connection)
        return [
            version_from_row(row, self.models_dir, [a for a, v in alias_map.items() if v == row["version"]])
            for row in rows
        ]

    def aliases(self):
        """Return {alias: version number} of every alias."""
        with self._connection() as connection:
            return queries.alias_map(connection)

    # Aliases

    def set_alias(self, alias, version, *, reason=None):
        """Point an alias at a version, after checking that its folder is complete.

        Args:
            alias: str. Letters, digits, `_` and `-`, starting with a letter.
            version: int or str. A version number or another alias.
            reason: str or None. Stored in the alias history.

        Returns:
            AliasChange.
        """
        validate_alias(alias)
        with self._connection() as connection, write_transaction(connection):
            row = queries.resolve(connection, version, str(self.path))
            change = alias_ops.move_alias(connection, self.models_dir, alias, row, action="set", reason=reason)
        logger.info("Alias %s -> %s (was %s).", alias, version_name(change.version), _name_or_none(change.previous))
        return change

    def promote(self, version, *, alias=CHAMPION, reason=None):
        """Make a version the champion (or the version of another alias).

        Returns:
            AliasChange.
        """
        return self.set_alias(alias, version, reason=reason)

    def rollback(self, *, alias=CHAMPION, reason=None):
        """Point an alias back at the version it pointed at before its current one.

        Repeated rollbacks walk further back through the versions the alias was set to.

        Returns:
            AliasChange.
        """
        validate_alias(alias)
        with self._connection() as connection, write_transaction(connection):
            target = alias_ops.rollback_target(connection, alias, str(self.path))
            row = queries.resolve(connection, target, str(self.path))
            change = alias_ops.move_alias(connection, self.models_dir, alias, row, action="rollback", reason=reason)
        logger.info("Rolled back %s to %s (was %s).", alias, version_name(change.version), _name_or_none(change.previous))
        return change

    def alias_history(self, alias=None):
        """Return the changes of one alias (or of all), oldest first, as a list of `AliasChange`."""
        with self._connection() as connection:
            return alias_ops.history(connection, alias)

    # Retrain records

    def record_decision(self, record):
        """Store a retrain decision (a JSON-serialisable dict) and return its id."""
        with self._connection() as connection, write_transaction(connection):
            return bookkeeping.insert_decision(connection, record)

    def decisions(self, limit=None):
        """Return the stored decisions, newest first, each as {"id", "created_at", "record"}.

        Args:
            limit: int or None. Return at most this many.
        """
        with self._connection() as connection:
            return bookkeeping.select_decisions(connection, limit)

    def seen_files(self):
        """Return {sha256: {"path", "rows", "first_seen", "job"}} of the incoming files already used."""
        with self._connection() as connection:
            return bookkeeping.select_seen_files(connection)

    def mark_seen(self, files, *, job):
        """Record incoming files as used by a retrain job, all in one transaction.

        Args:
            files: list of dict with `path`, `sha256` and `rows`. A file whose sha256
                is already recorded keeps its first entry.
            job: str or None. The job that used the files.

        Returns:
            int, the number of files that were new.
        """
        with self._connection() as connection, write_transaction(connection):
            return bookkeeping.insert_seen_files(connection, files, job)

    # Maintenance

    def gc(self):
        """Delete artefact folders that no version references, and abandoned staging folders.

        Staging folders of processes still running on this host are kept, so a
        registration in progress elsewhere is not disturbed.

        Returns:
            list of Path, the removed folders.
        """
        with self._connection() as connection, write_transaction(connection):
            return artefacts.remove_orphans(self.models_dir, queries.folder_names(connection))

    def _connection(self):
        return opened(self.database_path, timeout=self.timeout)


def _name_or_none(version):
    return "none" if version is None else version_name(version)

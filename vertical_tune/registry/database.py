"""The registry's SQLite database: connections, transactions and schema migrations.

The database is switched to WAL mode when it is created, so readers see the last
committed state while a writer works and do not wait for it. Writers start with
`BEGIN IMMEDIATE`, which takes the single write lock up front. A second writer
therefore waits up to the busy timeout instead of failing half-way through its
transaction.
"""

import contextlib
import logging
import sqlite3

from vertical_tune.errors import RegistryError, format_error

logger = logging.getLogger(__name__)

DATABASE_NAME = "registry.db"

# Each entry upgrades the schema by one step; `PRAGMA user_version` stores how many ran.
MIGRATIONS = (
    """
    CREATE TABLE versions (
        version INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        folder TEXT NOT NULL UNIQUE,
        config TEXT NOT NULL,
        data_fingerprint TEXT,
        metrics TEXT NOT NULL,
        lineage TEXT NOT NULL,
        note TEXT,
        manifest TEXT NOT NULL
    );
    CREATE TABLE aliases (
        alias TEXT PRIMARY KEY,
        version INTEGER NOT NULL REFERENCES versions(version),
        updated_at TEXT NOT NULL
    );
    CREATE TABLE alias_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alias TEXT NOT NULL,
        version INTEGER NOT NULL REFERENCES versions(version),
        previous INTEGER REFERENCES versions(version),
        action TEXT NOT NULL CHECK (action IN ('set', 'rollback')),
        reason TEXT,
        changed_at TEXT NOT NULL
    );
    CREATE INDEX alias_history_by_alias ON alias_history (alias, id);
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE TABLE seen_files (
        sha256 TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        rows INTEGER,
        first_seen TEXT NOT NULL,
        job TEXT
    );
    """,
)


def connect(path, *, timeout):
    """Open a connection in autocommit mode, so transactions are started explicitly.

    Args:
        path: Path. The database file.
        timeout: float. Seconds a write waits for another writer's lock.

    Returns:
        sqlite3.Connection.
    """
    connection = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    connection.execute("PRAGMA foreign_keys = ON")
    # FULL syncs the WAL at every commit, so a promotion that was reported survives a power loss.
    connection.execute("PRAGMA synchronous = FULL")
    return connection


@contextlib.contextmanager
def opened(path, *, timeout):
    """Yield a connection that is closed on exit; lock and corruption errors become `RegistryError`."""
    try:
        connection = connect(path, timeout=timeout)
    except sqlite3.Error as error:
        raise _registry_error(error, path) from error
    try:
        yield connection
    except (sqlite3.OperationalError, sqlite3.DatabaseError) as error:
        if not _is_user_facing(error):
            raise
        raise _registry_error(error, path) from error
    finally:
        connection.close()


@contextlib.contextmanager
def write_transaction(connection):
    """Run the block in one `BEGIN IMMEDIATE` transaction: committed at the end, rolled back on any exception."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        # SQLite has already rolled back after some errors (a full disk, for one).
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


@contextlib.contextmanager
def read_transaction(connection):
    """Run several reads against one snapshot of the database."""
    connection.execute("BEGIN")
    try:
        yield connection
    finally:
        connection.execute("COMMIT")


def migrate(connection, path):
    """Switch the database to WAL mode and apply the migrations it has not seen yet.

    An up-to-date database is only read, so opening a registry takes no write lock.
    """
    if _schema_version(connection, path) == len(MIGRATIONS):
        return
    mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":
        # Some network file systems cannot share the WAL index; SQLite then keeps its rollback journal.
        logger.warning("SQLite could not switch %s to WAL mode (journal mode: %s); readers will wait for writers.", path, mode)
    with write_transaction(connection):
        # Another process may have migrated between the check above and the lock.
        current = _schema_version(connection, path)
        for number in range(current, len(MIGRATIONS)):
            for statement in _statements(MIGRATIONS[number]):
                connection.execute(statement)
        # PRAGMA takes no bound parameters; the value is an int from this module.
        connection.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")


def _schema_version(connection, path):
    current = connection.execute("PRAGMA user_version").fetchone()[0]
    if current > len(MIGRATIONS):
        raise RegistryError(
            format_error(
                "The registry was written by a newer vertical_tune.",
                where=str(path),
                received=f"schema version {current}",
                expected=f"schema version {len(MIGRATIONS)} or lower",
                fix="Upgrade vertical_tune on this machine (`pip install -U vertical-tune`).",
            )
        )
    return current


def _statements(script):
    # `executescript` would commit the open transaction first, so statements run one by one.
    return [part.strip() for part in script.split(";") if part.strip()]


def _is_user_facing(error):
    text = str(error).lower()
    return any(words in text for words in ("locked", "busy", "not a database", "malformed", "unable to open", "readonly"))


def _registry_error(error, path):
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        problem = "The registry is locked by another process that is writing to it."
        fix = "Retry when the other job has finished, or pass a longer timeout to `Registry`."
    elif "readonly" in text or "unable to open" in text:
        problem = "The registry database cannot be opened for writing."
        fix = "Check that this user may write to the registry folder and to registry.db."
    else:
        problem = "The registry database is damaged or is not a vertical_tune registry."
        fix = "Point `registry.path` (or --registry) at a registry folder, or restore registry.db from a backup."
    return RegistryError(format_error(problem, where=str(path), received=str(error), fix=fix))

"""Records of retrain jobs: their decisions, and the incoming files they have already used."""

from vertical_tune.errors import RegistryError, format_error
from vertical_tune.registry.records import from_json, to_json, utc_now

_FILE_KEYS = ("path", "sha256", "rows")


def insert_decision(connection, record):
    """Insert a decision record (a JSON-serialisable dict) and return its id."""
    if not isinstance(record, dict):
        raise RegistryError(
            format_error(
                "A decision record must be a dict.",
                received=type(record).__name__,
                expected="a JSON-serialisable dict, e.g. {'promoted': False, 'reason': '...'}",
            )
        )
    cursor = connection.execute(
        "INSERT INTO decisions (created_at, record) VALUES (?, ?)", (utc_now(), to_json(record))
    )
    return cursor.lastrowid


def select_decisions(connection, limit=None):
    """Return decisions newest first, each as {"id", "created_at", "record"}."""
    query = "SELECT * FROM decisions ORDER BY id DESC"
    parameters = ()
    if limit is not None:
        query += " LIMIT ?"
        parameters = (int(limit),)
    return [
        {"id": row["id"], "created_at": row["created_at"], "record": from_json(row["record"], {})}
        for row in connection.execute(query, parameters)
    ]


def select_seen_files(connection):
    """Return {sha256: {"path", "rows", "first_seen", "job"}} of every file already used."""
    return {
        row["sha256"]: {"path": row["path"], "rows": row["rows"], "first_seen": row["first_seen"], "job": row["job"]}
        for row in connection.execute("SELECT * FROM seen_files ORDER BY first_seen, sha256")
    }


def insert_seen_files(connection, files, job):
    """Record incoming files as used; a file already recorded keeps its first entry.

    Returns:
        int, the number of files that were new.
    """
    checked = [_checked_file(item) for item in files]
    first_seen = utc_now()
    before = connection.total_changes
    connection.executemany(
        "INSERT OR IGNORE INTO seen_files (sha256, path, rows, first_seen, job) VALUES (?, ?, ?, ?, ?)",
        [(item["sha256"], str(item["path"]), item["rows"], first_seen, job) for item in checked],
    )
    return connection.total_changes - before


def _checked_file(item):
    missing = [key for key in _FILE_KEYS if not isinstance(item, dict) or key not in item]
    if missing:
        raise RegistryError(
            format_error(
                "An incoming-file entry is missing keys.",
                received=item,
                expected="a dict with `path`, `sha256` (hex digest of the file) and `rows`",
                fix=f"Add {', '.join(missing)} to the entry.",
            )
        )
    return item

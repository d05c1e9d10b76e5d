"""SQL on the `versions` and `aliases` tables, run on a connection the caller opened."""

from vertical_tune.errors import RegistryError, format_error
from vertical_tune.registry.records import from_json, to_json
from vertical_tune.registry.references import parse_reference, version_name

_LIST_HINT = "Run `vtune registry list` to see the versions and aliases."


def next_version(connection):
    """Return the number the next registered version gets (call inside a write transaction)."""
    return connection.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM versions").fetchone()[0]


def insert_version(connection, *, version, created_at, folder, config, data_fingerprint, metrics, lineage, note, manifest):
    """Insert a `versions` row; the JSON columns are serialised here."""
    connection.execute(
        "INSERT INTO versions (version, created_at, folder, config, data_fingerprint, metrics, lineage, note, manifest) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            version,
            created_at,
            folder,
            to_json(config),
            None if data_fingerprint is None else to_json(data_fingerprint),
            to_json(metrics),
            to_json(lineage),
            note,
            to_json(manifest),
        ),
    )


def version_rows(connection):
    """Return every `versions` row, oldest first."""
    return connection.execute("SELECT * FROM versions ORDER BY version").fetchall()


def alias_map(connection):
    """Return {alias: version} of every alias, sorted by alias."""
    rows = connection.execute("SELECT alias, version FROM aliases ORDER BY alias").fetchall()
    return {row["alias"]: row["version"] for row in rows}


def folder_names(connection):
    """Return the folder names that rows reference."""
    return {row["folder"] for row in connection.execute("SELECT folder FROM versions")}


def manifest_of(row):
    """Return the registered {file: size} manifest of a `versions` row."""
    return from_json(row["manifest"], {})


def resolve(connection, reference, where):
    """Return the `versions` row that a version number or alias names.

    Args:
        connection: sqlite3.Connection.
        reference: int or str. `3`, `"3"`, `"v3"` or an alias name.
        where: str. The registry path, for error messages.

    Returns:
        sqlite3.Row.
    """
    version, alias = parse_reference(reference)
    if alias is not None:
        version = alias_target(connection, alias, where)
    row = connection.execute("SELECT * FROM versions WHERE version = ?", (version,)).fetchone()
    if row is None:
        raise RegistryError(
            format_error(
                f"Version {version_name(version)} not found in the registry.",
                where=where,
                received=reference,
                expected=_known_versions(connection),
                fix=_LIST_HINT,
            )
        )
    return row


def alias_target(connection, alias, where):
    """Return the version an alias points at, raising `RegistryError` for an unknown alias."""
    row = connection.execute("SELECT version FROM aliases WHERE alias = ?", (alias,)).fetchone()
    if row is None:
        known = ", ".join(alias_map(connection)) or "none yet"
        raise RegistryError(
            format_error(
                f"Alias {alias!r} not found in the registry.",
                where=where,
                received=alias,
                expected=f"a version number such as v1, or one of the aliases: {known}",
                fix=f"{_LIST_HINT} Point an alias at a version with `vtune registry promote VERSION --alias NAME`.",
            )
        )
    return row["version"]


def _known_versions(connection):
    low, high = connection.execute("SELECT MIN(version), MAX(version) FROM versions").fetchone()
    if low is None:
        return "a registered version, but the registry is empty"
    return f"a version from {version_name(low)} to {version_name(high)}, or an alias"

"""Move aliases and work out rollbacks from the alias history."""

from vertical_tune.errors import RegistryError, format_error
from vertical_tune.registry import artefacts, queries
from vertical_tune.registry.records import AliasChange, change_from_row, utc_now


def move_alias(connection, models_dir, alias, row, *, action, reason):
    """Point `alias` at the version of `row` and append the change to the history.

    Call inside a write transaction, so the alias and its history change together.

    Args:
        connection: sqlite3.Connection.
        models_dir: Path. The registry's `models/` folder.
        alias: str. A validated alias name.
        row: sqlite3.Row. The target `versions` row.
        action: str. `set` or `rollback`.
        reason: str or None. Free text stored with the change.

    Returns:
        AliasChange.
    """
    artefacts.check_complete(models_dir / row["folder"], queries.manifest_of(row), version=row["version"])
    previous = queries.alias_map(connection).get(alias)
    changed_at = utc_now()
    connection.execute(
        "INSERT INTO aliases (alias, version, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at",
        (alias, row["version"], changed_at),
    )
    connection.execute(
        "INSERT INTO alias_history (alias, version, previous, action, reason, changed_at) VALUES (?, ?, ?, ?, ?, ?)",
        (alias, row["version"], previous, action, reason, changed_at),
    )
    return AliasChange(alias, row["version"], previous, action, reason, changed_at)


def history(connection, alias=None):
    """Return the alias changes, oldest first, of one alias or of all."""
    if alias is None:
        rows = connection.execute("SELECT * FROM alias_history ORDER BY id").fetchall()
    else:
        rows = connection.execute("SELECT * FROM alias_history WHERE alias = ? ORDER BY id", (alias,)).fetchall()
    return [change_from_row(row) for row in rows]


def version_stack(changes):
    """Replay an alias's changes into the stack of versions a rollback walks down.

    A `set` to a new version pushes it; a `rollback` pops the current version. So
    after promoting v1, v2 and v3, two rollbacks lead to v2 and then v1, and a third
    finds no earlier version.
    """
    stack = []
    for change in changes:
        if change.action == "set":
            if not stack or stack[-1] != change.version:
                stack.append(change.version)
            continue
        if stack:
            stack.pop()
        if not stack or stack[-1] != change.version:
            stack = [change.version]
    return stack


def rollback_target(connection, alias, where):
    """Return the version `alias` pointed at before its current one, raising when there is none."""
    current = queries.alias_target(connection, alias, where)
    stack = version_stack(history(connection, alias))
    if len(stack) < 2:
        raise RegistryError(
            format_error(
                f"Alias {alias!r} has no earlier version to roll back to.",
                where=where,
                received=f"{alias} -> v{current}, with no earlier version in its history",
                fix=f"Point it at a version explicitly: `vtune registry promote VERSION --alias {alias}`.",
            )
        )
    return stack[-2]

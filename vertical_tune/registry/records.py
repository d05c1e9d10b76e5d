"""Registered versions and alias changes, as the registry returns them, built from database rows."""

import dataclasses
import datetime
import json
from pathlib import Path
from typing import Any, Optional


@dataclasses.dataclass(frozen=True)
class VersionInfo:
    """One registered model version.

    Attributes:
        version: int. The version number, from 1 up.
        created_at: str. UTC time of registration, ISO 8601.
        path: Path. Absolute path of the version's artefact folder (a complete run directory).
        config: dict. The run's `config.yaml`.
        data_fingerprint: str, dict or None. What identifies the training data.
        metrics: dict. The run's `metrics.json`, or the metrics given to `register`.
        lineage: dict. Where the version came from (source run, parent version, job id).
        note: str or None. Free text.
        aliases: list of str. The aliases pointing at this version, sorted.
    """

    version: int
    created_at: str
    path: Path
    config: dict
    data_fingerprint: Any
    metrics: dict
    lineage: dict
    note: Optional[str]
    aliases: list

    @property
    def name(self):
        """The display name, e.g. `v3`."""
        return f"v{self.version}"

    @property
    def selection(self):
        """(metric name, validation value) of the run's selection metric; either can be None."""
        return selection_score(self.metrics, self.config)

    @property
    def train_rows(self):
        """Rows of training data recorded in the metrics, or None."""
        train = (self.metrics.get("data") or {}).get("train") or {}
        return train.get("rows")

    def to_dict(self):
        """Return the fields as JSON-ready builtins (the path as a string)."""
        data = dataclasses.asdict(self)
        data["path"] = str(self.path)
        return data


@dataclasses.dataclass(frozen=True)
class AliasChange:
    """One move of an alias, as stored in the alias history.

    Attributes:
        alias: str. The alias that moved.
        version: int. The version it points at after the change.
        previous: int or None. The version it pointed at before, None for a new alias.
        action: str. `set` (by `set_alias` or `promote`) or `rollback`.
        reason: str or None. Free text given with the change.
        changed_at: str. UTC time of the change, ISO 8601.
    """

    alias: str
    version: int
    previous: Optional[int]
    action: str
    reason: Optional[str]
    changed_at: str

    def to_dict(self):
        """Return the fields as a dict."""
        return dataclasses.asdict(self)


def selection_score(metrics, config):
    """Return (metric name, validation value) of the metric that selected the run's best epoch.

    Single-task runs store the name under `training.selection_metric` and the value in
    the `validation` report; multi-task runs store both under `validation.selection`.
    """
    validation = metrics.get("validation") or {}
    selection = validation.get("selection")
    if isinstance(selection, dict):
        return selection.get("metric"), selection.get("value")
    name = (metrics.get("training") or {}).get("selection_metric")
    if name is None:
        name = ((config or {}).get("training") or {}).get("selection_metric")
    value = validation.get(name) if name is not None else None
    return name, value if isinstance(value, (int, float)) else None


def utc_now():
    """Return the current UTC time as ISO 8601 with seconds, e.g. `2025-01-31T08:00:00+00:00`."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def to_json(value):
    """Serialise `value` as JSON, converting numpy scalars and arrays and paths to builtins."""
    return json.dumps(value, ensure_ascii=False, default=_builtin)


def _builtin(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable: {value!r}")


def from_json(text, default=None):
    """Parse stored JSON; None stays `default`."""
    return default if text is None else json.loads(text)


def version_from_row(row, models_dir, aliases):
    """Build a `VersionInfo` from a `versions` row and the aliases pointing at it."""
    return VersionInfo(
        version=row["version"],
        created_at=row["created_at"],
        path=(models_dir / row["folder"]).resolve(),
        config=from_json(row["config"], {}),
        data_fingerprint=from_json(row["data_fingerprint"]),
        metrics=from_json(row["metrics"], {}),
        lineage=from_json(row["lineage"], {}),
        note=row["note"],
        aliases=sorted(aliases),
    )


def change_from_row(row):
    """Build an `AliasChange` from an `alias_history` row."""
    return AliasChange(
        alias=row["alias"],
        version=row["version"],
        previous=row["previous"],
        action=row["action"],
        reason=row["reason"],
        changed_at=row["changed_at"],
    )

"""The model registry: numbered versions of trained runs, and aliases such as `champion`."""

from vertical_tune.registry.records import AliasChange, VersionInfo
from vertical_tune.registry.store import CHAMPION, Registry

__all__ = ["CHAMPION", "AliasChange", "Registry", "VersionInfo"]

"""Parse the ways a user names a version (`3`, `"3"`, `"v3"`) or an alias (`champion`)."""

import re

from vertical_tune.errors import RegistryError, format_error

_VERSION = re.compile(r"[vV]?([0-9]+)")
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
ALIAS_RULE = (
    "1 to 64 letters, digits, `_` or `-`, starting with a letter, and not a version "
    "name such as `v3`; e.g. champion, challenger, staging-eu"
)


def parse_reference(reference):
    """Split a reference into a version number or an alias name.

    Args:
        reference: int or str. `3`, `"3"` and `"v3"` name version 3; any other
            string is an alias name.

    Returns:
        (int, None) for a version, or (None, str) for an alias.
    """
    if isinstance(reference, bool) or not isinstance(reference, (int, str)):
        raise RegistryError(
            format_error(
                "A version or alias must be an int or a string.",
                received=reference,
                expected="a version such as 3 or 'v3', or an alias such as 'champion'",
            )
        )
    if isinstance(reference, int):
        return reference, None
    match = _VERSION.fullmatch(reference.strip())
    if match:
        return int(match.group(1)), None
    return None, reference.strip()


def validate_alias(alias):
    """Raise `RegistryError` unless `alias` is a valid alias name; return it otherwise."""
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias) or _VERSION.fullmatch(alias):
        raise RegistryError(
            format_error(
                "Invalid alias name.",
                received=alias,
                expected=ALIAS_RULE,
                fix="Choose a name that follows these rules.",
            )
        )
    return alias


def version_name(version):
    """Return the display name of a version number, e.g. `v3`."""
    return f"v{version}"

"""Exceptions raised for bad input, with one message template for all of them."""


class VTuneError(Exception):
    """Base class of every error caused by user input.

    The CLI prints the message (no traceback) and exits with code 2.
    """


class ConfigError(VTuneError):
    """A configuration file, preset or override is invalid."""


class DataError(VTuneError):
    """A data file or DataFrame cannot be used for training or evaluation."""


class BackboneError(VTuneError):
    """A backbone cannot be resolved or loaded."""


class RunError(VTuneError):
    """A run directory is missing, incomplete or cannot be written."""


class ProjectError(VTuneError):
    """`vtune init` cannot render the project."""


def format_error(problem, *, where=None, received=None, expected=None, fix=None):
    """Build a message: what failed, where, the value received, what is allowed, the fix.

    Args:
        problem: str. One sentence saying what failed.
        where: str or None. The file, line, column or config key involved.
        received: object or None. The offending value; shown with `repr`.
        expected: str or None. What is allowed.
        fix: str or None. What the user should do next.
    """
    lines = [problem]
    if where is not None:
        lines.append(f"  Where: {where}")
    if received is not None:
        lines.append(f"  Received: {received!r}")
    if expected is not None:
        lines.append(f"  Expected: {expected}")
    if fix is not None:
        lines.append(f"  Fix: {fix}")
    return "\n".join(lines)


class RegistryError(VTuneError):
    """The model registry cannot be opened, or a version or alias does not exist."""


class LockError(VTuneError):
    """Another job holds the lock of this project."""

"""Console output: results on stdout, diagnostics on stderr, plain lines when not interactive."""

import contextlib
import json
import logging
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

# Piped output gets wide tables, so key names and paths are not cut at 80 columns.
_PIPE_WIDTH = 200
stdout = Console(soft_wrap=True, width=None if sys.stdout.isatty() else _PIPE_WIDTH)
stderr = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else _PIPE_WIDTH)


def print_error(message):
    # The message is escaped: a value such as `[x]` in it must print as it is.
    stderr.print(f"[bold red]Error:[/bold red] {escape(str(message))}", highlight=False, markup=True, soft_wrap=True)


def print_json(data, indent=2):
    sys.stdout.write(json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def configure_logging(quiet=False):
    """Send `vertical_tune` logs to stderr; rich formatting only on a terminal."""
    level = logging.WARNING if quiet else logging.INFO
    root = logging.getLogger("vertical_tune")
    root.setLevel(level)
    root.handlers.clear()
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler = RichHandler(console=stderr, show_path=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.propagate = False


@contextlib.contextmanager
def log_to_file(path):
    """Also write `vertical_tune` logs (INFO and up) to `path` while the block runs.

    The folder is created when missing; lines are appended, so one file keeps the
    history of every scheduled job.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("vertical_tune")
    previous_level = root.level
    root.setLevel(min(previous_level or logging.INFO, logging.INFO))
    for other in root.handlers:
        # The console keeps the level the user asked for (`--quiet` shows warnings only).
        if other.level == logging.NOTSET:
            other.setLevel(previous_level or logging.INFO)
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(previous_level)

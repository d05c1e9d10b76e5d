"""Console output: results on stdout, diagnostics on stderr, plain lines when not interactive."""

import json
import logging
import sys

from rich.console import Console

# Piped output gets wide tables, so key names and paths are not cut at 80 columns.
_PIPE_WIDTH = 200
stdout = Console(soft_wrap=True, width=None if sys.stdout.isatty() else _PIPE_WIDTH)
stderr = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else _PIPE_WIDTH)


def print_error(message):
    stderr.print(f"[bold red]Error:[/bold red] {message}", highlight=False, markup=True, soft_wrap=True)


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

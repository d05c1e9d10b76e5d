"""Plain tables of formatted cells and their Markdown, text, HTML and rich renderings.

`EvaluationReport` builds its tables once as `Table` objects, so every rendering
shows the same cells. The first column contains names and is left-aligned. The
other columns contain numbers and are right-aligned.
"""

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

# ASCII punctuation that Markdown could read as markup inside a table cell.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


@dataclass(frozen=True)
class Table:
    """A titled table whose cells are already formatted strings."""

    title: str
    header: list
    rows: list
    note: Optional[str] = None


def format_value(value):
    """Format a metric for display: 4 decimals for floats, "n/a" for None."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def to_markdown(table):
    lines = [f"## {table.title}", ""]
    if table.note:
        lines += [escape_markdown(table.note), ""]

    lines.append(_markdown_row(table.header))
    alignments = [":--"] + ["--:"] * (len(table.header) - 1)
    lines.append("| " + " | ".join(alignments) + " |")
    lines += [_markdown_row(row) for row in table.rows]
    return "\n".join(lines)


def _markdown_row(cells):
    return "| " + " | ".join(escape_markdown(cell) for cell in cells) + " |"


def escape_markdown(text):
    """Return `text` on one line with Markdown punctuation backslash-escaped."""
    single_line = " ".join(str(text).splitlines())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", single_line)


def escape_html(value):
    return html.escape(str(value))


def to_text(table):
    """Render aligned columns for a terminal, counting wide CJK characters as 2 columns."""
    rows = [table.header] + table.rows
    widths = [max(_display_width(row[column]) for row in rows) for column in range(len(table.header))]

    lines = [table.title, "-" * len(table.title)]
    if table.note:
        lines.append(table.note)
    for row in rows:
        cells = [_pad(cell, widths[column], right=column > 0) for column, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _display_width(text):
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


def _pad(text, width, *, right):
    padding = " " * (width - _display_width(text))
    return padding + text if right else text + padding


def to_html(table):
    parts = [f"<h4>{escape_html(table.title)}</h4>"]
    if table.note:
        parts.append(f"<p>{escape_html(table.note)}</p>")

    parts.append("<table>")
    header = "".join(f"<th>{escape_html(cell)}</th>" for cell in table.header)
    parts.append(f"<thead><tr>{header}</tr></thead>")
    parts.append("<tbody>")
    for row in table.rows:
        name = f'<th style="text-align: left">{escape_html(row[0])}</th>'
        values = "".join(f'<td style="text-align: right">{escape_html(cell)}</td>' for cell in row[1:])
        parts.append(f"<tr>{name}{values}</tr>")
    parts.append("</tbody></table>")
    return "\n".join(parts)


def to_rich(table):
    """Build a `rich.table.Table`, passing cells as `Text` so rich markup in names stays literal."""
    import rich.table
    from rich.text import Text

    caption = Text(table.note) if table.note else None
    rendered = rich.table.Table(title=Text(table.title), caption=caption)
    for column, name in enumerate(table.header):
        rendered.add_column(Text(name), justify="right" if column > 0 else "left")
    for row in table.rows:
        rendered.add_row(*(Text(cell) for cell in row))
    return rendered

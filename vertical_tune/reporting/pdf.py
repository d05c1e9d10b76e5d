"""PDF version of the evaluation report: A4 pages drawn with matplotlib's `PdfPages`.

The document is first listed as blocks (headings, paragraphs, tables, images), then
laid out on pages top to bottom, then drawn. The layout uses estimated text widths,
not measured ones, so the same report always gets the same pages.
"""

import datetime
import io
import os
import secrets
import unicodedata
import warnings
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.patches import Rectangle

from vertical_tune.evaluation import fonts
from vertical_tune.reporting._markdown import _FIGURE_TITLES

A4_INCHES = (8.27, 11.69)
_MARGIN = 0.6
_CONTENT_WIDTH = A4_INCHES[0] - 2 * _MARGIN
_CONTENT_HEIGHT = A4_INCHES[1] - 2 * _MARGIN - 0.3  # the last 0.3 in is the page number line
_BODY_SIZE = 8.0
_LINE_HEIGHT = _BODY_SIZE / 72 * 1.45
# Estimated advance of a Latin character in DejaVu Sans: 0.55 to 0.65 em, so 0.66 em per unit.
# East Asian wide characters take 1 em, so they count as two units.
_UNIT_WIDTH = _BODY_SIZE / 72 * 0.66
_CONTENT_UNITS = int(_CONTENT_WIDTH / _UNIT_WIDTH)
_HEADING_SIZES = {1: 16.0, 2: 13.0, 3: 11.0}
_CELL_LINES = 3
_MIN_COLUMN_UNITS = 5
_PNG_DPI = 100
# Low enough that the ROC and precision-recall figures share a page.
_MAX_IMAGE_HEIGHT = 4.4


def write_pdf(contexts, comparison, path, *, title):
    """Write the report of prepared run contexts as an A4 PDF file.

    Each run gets a first page with its summary and headline metrics, then the
    per-class table, every figure of the HTML report, and the most confident
    mistakes. With several runs the comparison table comes last. The file is written
    to a temporary name and renamed, so a failure leaves no partial `path`.

    Args:
        contexts: list of run contexts from `build_contexts`.
        comparison: `Table` or None.
        path: str or Path. The PDF file to write; its directory must exist.
        title: str. Document title, also stored as the PDF Title.

    Returns:
        The `Path` written.
    """
    path = Path(path)
    pages = _paginate(_document_blocks(contexts, comparison, title))
    metadata = {
        "Title": title,
        "Creator": "vertical_tune",
        "CreationDate": datetime.datetime.now(datetime.timezone.utc),
    }
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with matplotlib.rc_context({"font.family": fonts.font_families()}), warnings.catch_warnings():
            # Characters that no installed font has are drawn as boxes, and the first page notes it.
            warnings.filterwarnings("ignore", message="Glyph .* missing from")
            with PdfPages(temporary, metadata=metadata) as document:
                for number, page in enumerate(pages, start=1):
                    document.savefig(_draw_page(page, f"{title} | page {number} of {len(pages)}"))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _document_blocks(contexts, comparison, title):
    blocks = [("heading", title, 1)]
    if not fonts.can_draw(_all_text(contexts, comparison)):
        blocks.append(
            (
                "text",
                "Some characters of this report have no glyph in the installed fonts and are drawn as boxes; "
                f"report.html shows them. To draw them, {fonts.FONT_PACKAGE_HINT}.",
            )
        )
    for position, context in enumerate(contexts):
        if position:
            blocks.append(("page_break",))
        blocks += _run_blocks(context, several=len(contexts) > 1)
    if comparison is not None:
        blocks += [("page_break",), ("heading", "Comparison", 2), ("table", comparison, ())]
    return blocks


def _run_blocks(context, *, several):
    tables = _with_stand_ins(context)
    level = 3 if several else 2
    blocks = [("heading", f"Run: {context['name']}", 2)] if several else []
    blocks += [("heading", "Summary", level)]
    blocks += [("table", tables[name], (1, 2)) for name in ("summary", "data", "versions") if tables[name]]
    blocks += [("heading", "Headline metrics", level), ("table", tables["headline"], ())]
    if tables["operating_point"]:
        blocks.append(("table", tables["operating_point"], ()))

    blocks += [("page_break",), ("heading", "Per-class metrics", level), ("table", tables["per_class"], ())]
    figures = context["figures"]
    blocks.append(("heading", _FIGURE_TITLES["training_curves"], level))
    if figures["training_curves"]:
        blocks.append(("image", figures["training_curves"]))
    else:
        blocks.append(("text", "This run has no training history."))
    blocks += [("heading", "Confusion matrix", level), ("image", figures["confusion_matrix"])]
    blocks += _label_key_blocks(context)
    blocks += [("heading", "ROC and precision-recall curves", level)]
    blocks += [("image", figures["roc_curves"]), ("image", figures["pr_curves"])]
    blocks += _label_key_blocks(context) + [("table", tables["curve_areas"], ())]
    blocks += [
        ("heading", "Calibration", level),
        ("text", f"Expected calibration error (10 equal-width confidence bins): {context['ece']:.4f}"),
        ("image", figures["reliability_diagram"]),
    ]

    blocks.append(("heading", "Most confident mistakes", level))
    if tables["mistakes"].rows:
        blocks.append(("table", tables["mistakes"], (0, 1, 2)))
    else:
        blocks.append(("text", "Every validation example is predicted correctly."))
    return blocks


def _with_stand_ins(context):
    """Return the run's tables with every label that the fonts cannot draw replaced by its stand-in."""
    stand_ins = {label: stand_in for stand_in, label in context.get("label_key") or []}
    if not stand_ins:
        return context["tables"]
    tables = {}
    for name, table in context["tables"].items():
        if table is None:
            tables[name] = None
            continue
        rows = [[stand_ins.get(cell, cell) for cell in row] for row in table.rows]
        header = [stand_ins.get(cell, cell) for cell in table.header]
        tables[name] = type(table)(table.title, header, rows, table.note)
    return tables


def _label_key_blocks(context):
    pairs = context.get("label_key") or []
    if not pairs:
        return []
    # The labels themselves cannot be drawn here, so the key also gives their code points.
    entries = []
    for stand_in, label in pairs:
        code_points = " ".join(f"U+{ord(character):04X}" for character in label)
        entries.append(f"{stand_in} = {label} ({code_points})")
    return [("text", "No installed font can draw some labels, so the figures show stand-ins: " + "; ".join(entries))]


def _all_text(contexts, comparison):
    parts = []
    tables = [comparison] + [table for context in contexts for table in _with_stand_ins(context).values()]
    for table in tables:
        if table is not None:
            parts += [table.title, *table.header, *(cell for row in table.rows for cell in row)]
    return "".join(str(part) for part in parts)


# Layout: each block becomes one or more placed items `(kind, top, height, payload)`,
# where `top` is in inches below the top of the content area.


def _paginate(blocks):
    pages, page, used = [], [], 0.0

    def new_page():
        nonlocal page, used
        if page:
            pages.append(page)
        page, used = [], 0.0

    pieces = [_pieces(block) if block[0] != "page_break" else None for block in blocks]
    for position, block in enumerate(blocks):
        kind = block[0]
        if kind == "page_break":
            new_page()
            continue
        for item_height, payload, keep in pieces[position]:
            if kind == "heading" and position + 1 < len(blocks) and pieces[position + 1]:
                # A heading goes to the next page unless the first piece below it fits too.
                keep = pieces[position + 1][0][0]
            if used + item_height + keep > _CONTENT_HEIGHT and page:
                new_page()
            page.append((kind, used, item_height, payload))
            used += item_height
    new_page()
    return pages


def _pieces(block):
    """Split a block into pieces that each fit on a page: (height, payload, space to keep below)."""
    kind = block[0]
    if kind == "heading":
        _, text, level = block
        size = _HEADING_SIZES[level]
        return [(size / 72 * 2.0, (text, size), 0.0)]
    if kind == "text":
        lines = _wrap(block[1], _CONTENT_UNITS, max_lines=20)
        return [(len(lines) * _LINE_HEIGHT + 0.1, lines, 0.0)]
    if kind == "image":
        return [_image_piece(block[1])]
    return _table_pieces(block[1], block[2])


def _image_piece(png):
    pixels = imread(io.BytesIO(png), format="png")
    height, width = pixels.shape[0] / _PNG_DPI, pixels.shape[1] / _PNG_DPI
    scale = min(1.0, _CONTENT_WIDTH / width, _MAX_IMAGE_HEIGHT / height)
    return (height * scale + 0.15, (pixels, width * scale, height * scale), 0.0)


def _table_pieces(table, text_columns):
    widths = _column_widths([table.header] + table.rows)
    header = [_wrap(cell, width - 1, _CELL_LINES) for cell, width in zip(table.header, widths)]
    rows = [[_wrap(cell, width - 1, _CELL_LINES) for cell, width in zip(row, widths)] for row in table.rows]
    caption_height = _LINE_HEIGHT * 1.3
    row_height = [max(len(lines) for lines in row) * _LINE_HEIGHT + 0.04 for row in [header] + rows]

    pieces, start = [], 0
    while start < len(rows) or not pieces:
        # One piece is a caption, the header and as many rows as fit on an empty page.
        height, end = caption_height + row_height[0], start
        while end < len(rows) and height + row_height[end + 1] <= _CONTENT_HEIGHT:
            height += row_height[end + 1]
            end += 1
        end = max(end, start + 1) if rows else end
        title = table.title if not pieces else f"{table.title} (continued)"
        payload = (title, widths, text_columns, header, rows[start:end], row_height[0], row_height[start + 1 : end + 1])
        pieces.append((height, payload, 0.0))
        start = end
    if table.note:
        # A note is a list of lines, which `_draw_page` draws as a paragraph.
        lines = _wrap(table.note, _CONTENT_UNITS, max_lines=5)
        pieces.append((len(lines) * _LINE_HEIGHT + 0.08, lines, 0.0))
    pieces[-1] = (pieces[-1][0] + 0.12, pieces[-1][1], 0.0)
    return pieces


def _column_widths(rows):
    """Return each column's width in character units, shrinking the widest until the table fits."""
    widths = [max(_units(str(row[column])) for row in rows) + 2 for column in range(len(rows[0]))]
    while sum(widths) > _CONTENT_UNITS and max(widths) > _MIN_COLUMN_UNITS:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    return widths


def _wrap(text, width, max_lines):
    """Break `text` into lines of at most `width` units, at spaces where possible, and cut it with "…"."""
    width = max(width, 2)
    lines, current = [], ""
    for character in " ".join(str(text).split()):
        if _units(current + character) > width:
            cut = current.rfind(" ")
            if character != " " and cut > 0:
                lines.append(current[:cut])
                current = current[cut + 1 :]
            else:
                lines.append(current)
                current = ""
        if current or character != " ":
            current += character
    lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and _units(last) + 1 > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


def _units(text):
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


# Drawing: figure coordinates are fractions of the page, with y = 1 at the top.


def _draw_page(items, footer):
    figure = Figure(figsize=A4_INCHES)
    for kind, top, height, payload in items:
        if kind == "heading":
            text, size = payload
            _text(figure, _MARGIN, top + height * 0.25, text, size=size, weight="bold")
        elif kind == "text" or (kind == "table" and isinstance(payload, list)):
            for index, line in enumerate(payload):
                _text(figure, _MARGIN, top + index * _LINE_HEIGHT, line, color="#59636e")
        elif kind == "image":
            _draw_image(figure, top, payload)
        else:
            _draw_table(figure, top, payload)
    _text(figure, _MARGIN, A4_INCHES[1] - 2 * _MARGIN, footer, size=7, color="#59636e")
    return figure


def _draw_image(figure, top, payload):
    pixels, width, height = payload
    left = _MARGIN + (_CONTENT_WIDTH - width) / 2
    bottom = A4_INCHES[1] - _MARGIN - top - height
    axes = figure.add_axes([left / A4_INCHES[0], bottom / A4_INCHES[1], width / A4_INCHES[0], height / A4_INCHES[1]])
    axes.imshow(pixels, interpolation="none", aspect="auto")
    axes.set_axis_off()


def _draw_table(figure, top, payload):
    title, widths, text_columns, header, rows, header_height, row_heights = payload
    _text(figure, _MARGIN, top, title, color="#59636e", style="italic")
    y = top + _LINE_HEIGHT * 1.3
    table_width = sum(widths) * _UNIT_WIDTH
    _rectangle(figure, _MARGIN, y, table_width, header_height, facecolor="#f6f8fa")
    _draw_row(figure, y, header, widths, text_columns, header=True)
    y += header_height
    for row, height in zip(rows, row_heights):
        _draw_row(figure, y, row, widths, text_columns, header=False)
        y += height
        _rectangle(figure, _MARGIN, y, table_width, 0.0, edgecolor="#d0d7de", facecolor="none")


def _draw_row(figure, top, cells, widths, text_columns, *, header):
    x = _MARGIN
    for column, (lines, width) in enumerate(zip(cells, widths)):
        # Names and texts are left-aligned, numbers right-aligned, as in the HTML report.
        right = not header and column != 0 and column not in text_columns
        anchor = x + (width - 1) * _UNIT_WIDTH if right else x + 0.5 * _UNIT_WIDTH
        for index, line in enumerate(lines):
            _text(
                figure,
                anchor,
                top + 0.02 + index * _LINE_HEIGHT,
                line,
                ha="right" if right else "left",
                weight="bold" if header else "normal",
            )
        x += width * _UNIT_WIDTH


def _text(figure, x, top, text, *, size=_BODY_SIZE, **properties):
    figure.text(
        x / A4_INCHES[0],
        1 - (_MARGIN + top) / A4_INCHES[1],
        text,
        fontsize=size,
        va="top",
        parse_math=False,
        **properties,
    )


def _rectangle(figure, x, top, width, height, **properties):
    bottom = A4_INCHES[1] - _MARGIN - top - height
    figure.patches.append(
        Rectangle(
            (x / A4_INCHES[0], bottom / A4_INCHES[1]),
            width / A4_INCHES[0],
            height / A4_INCHES[1],
            transform=figure.transFigure,
            figure=figure,
            linewidth=0.5,
            **properties,
        )
    )

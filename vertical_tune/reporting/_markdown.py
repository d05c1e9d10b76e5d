"""Markdown version of the evaluation report: the same tables, with links to the PNG files."""

from vertical_tune.evaluation._tables import escape_markdown

_FIGURE_TITLES = {
    "training_curves": "Training curves",
    "confusion_matrix": "Confusion matrix",
    "roc_curves": "ROC curves",
    "pr_curves": "Precision-recall curves",
    "reliability_diagram": "Reliability diagram",
}


def render_markdown(contexts, comparison, figure_paths, *, title):
    """Render prepared run contexts as Markdown.

    Args:
        contexts: list of run contexts from `build_contexts`.
        comparison: `Table` or None.
        figure_paths: list, per run, of figure name to a path relative to the report.
        title: str. Top-level heading.

    Returns:
        The Markdown text.
    """
    lines = [f"# {escape_markdown(title)}", ""]
    if comparison is not None:
        lines += ["## Comparison", ""] + _table(comparison)
    several = len(contexts) > 1
    for context, paths in zip(contexts, figure_paths):
        lines += _run_lines(context, paths, level="###" if several else "##", several=several)
    return "\n".join(lines).rstrip() + "\n"


def _run_lines(context, paths, *, level, several):
    tables = context["tables"]
    lines = [f"## Run: {escape_markdown(context['name'])}", ""] if several else []
    lines += [f"{level} Summary", ""]
    for name in ("summary", "data", "versions"):
        lines += _table(tables[name])
    lines += [f"{level} Headline metrics", ""] + _table(tables["headline"]) + _table(tables["operating_point"])
    lines += [f"{level} Training curves", ""] + _figure(paths, "training_curves", "This run has no training history.")
    lines += [f"{level} Per-class metrics", ""] + _table(tables["per_class"])
    lines += [f"{level} Confusion matrix", ""] + _figure(paths, "confusion_matrix") + _label_key(context)
    lines += _table(tables["confusion"])
    lines += [f"{level} ROC and precision-recall curves", ""]
    lines += _figure(paths, "roc_curves") + _figure(paths, "pr_curves") + _label_key(context)
    lines += _table(tables["curve_areas"])
    lines += [f"{level} Calibration", ""]
    lines += [f"Expected calibration error (10 equal-width confidence bins): **{context['ece']:.4f}**", ""]
    lines += _figure(paths, "reliability_diagram")
    lines += [f"{level} Most confident mistakes", ""]
    if tables["mistakes"].rows:
        lines += _table(tables["mistakes"])
    else:
        lines += ["Every validation example is predicted correctly.", ""]
    return lines


def _table(table):
    if table is None:
        return []
    lines = [f"*{escape_markdown(table.title)}*", ""]
    lines.append(_row(table.header))
    lines.append("|" + "|".join(" --- " if index == 0 else " ---: " for index in range(len(table.header))) + "|")
    lines += [_row(row) for row in table.rows]
    lines.append("")
    if table.note:
        lines += [escape_markdown(table.note), ""]
    return lines


def _row(cells):
    return "| " + " | ".join(escape_markdown(cell) for cell in cells) + " |"


def _label_key(context):
    pairs = context.get("label_key") or []
    if not pairs:
        return []
    key = ", ".join(f"{escape_markdown(stand_in)} = {escape_markdown(label)}" for stand_in, label in pairs)
    return [f"No installed font can draw some labels, so the figures show stand-ins: {key}.", ""]


def _figure(paths, name, missing_text=None):
    if name not in paths:
        return [missing_text, ""] if missing_text else []
    return [f"![{_FIGURE_TITLES[name]}]({paths[name]})", ""]

"""Render run views as a self-contained HTML report, and write it with Markdown and PNG files."""

import base64
from pathlib import Path

import jinja2
from markupsafe import Markup

from vertical_tune.errors import format_error
from vertical_tune.evaluation._io import write_bytes_atomically
from vertical_tune.reporting._markdown import render_markdown
from vertical_tune.evaluation import fonts
from vertical_tune.reporting._run_context import FIGURE_NAMES, build_run_context, comparison_table, unique_slugs
from vertical_tune.resources import package_folder

REPORT_FORMATS = ("html", "md", "pdf")
DEFAULT_FORMATS = ("html", "md")
FIGURES_DIR = "figures"


def render_html(runs, *, title=None):
    """Render one or more run views as a standalone HTML document.

    Every section has an `id`: `summary`, `metrics`, `training-curves`, `per-class`,
    `confusion-matrix`, `roc-pr`, `calibration` and `mistakes`. With several runs the
    document starts with a `comparison` section, and each run's section ids get the
    prefix `<run slug>-`, where the slug is the run name reduced to letters, digits,
    `-` and `_`. Figures are embedded as base64 PNG data URIs and the CSS sits in a
    `<style>` block, so the file references nothing outside itself.

    Args:
        runs: list of run view dicts, at least one.
        title: str or None. Document title. Defaults to "Evaluation report: " and
            the run names.

    Returns:
        The HTML text.
    """
    return render_contexts(*build_contexts(runs), title=title, standalone=True)


def write_report(runs, directory, *, formats=DEFAULT_FORMATS, title=None):
    """Write `report.html`, `report.md`, optionally `report.pdf`, and every figure as PNG into `directory`.

    Figures go to `directory/figures/`, one file per figure (`confusion_matrix.png`,
    `roc_curves.png`, `pr_curves.png`, `reliability_diagram.png` and, when the run
    has a history, `training_curves.png`). With several runs each run gets its own
    `figures/<run slug>/` folder. `report.md` links those files, while `report.html`
    embeds the same images, and `report.pdf` draws them on A4 pages. The directory
    is created when missing.

    Args:
        runs: list of run view dicts, at least one.
        directory: str or Path. Output directory.
        formats: sequence of "html", "md" and "pdf". Defaults to html and md.
        title: str or None. Report title, as in `render_html`.

    Returns:
        dict mapping each format to the `Path` written.

    Raises:
        ValueError: a format is not "html", "md" or "pdf".
    """
    return write_contexts(*build_contexts(runs), directory, formats=formats, title=title)


def build_contexts(runs):
    """Compute the per-run tables and figures, and the comparison table when there are several runs."""
    runs = list(runs)
    if not runs:
        raise ValueError(format_error("A report needs at least one run view.", received=runs))
    slugs = unique_slugs(run.get("name") for run in runs)
    contexts = [build_run_context(run, slug) for run, slug in zip(runs, slugs)]
    for context in contexts:
        context["prefix"] = f"{context['slug']}-" if len(contexts) > 1 else ""
    for context, run in zip(contexts, runs):
        # Stand-in and label pairs of the labels that the figures cannot draw.
        context["label_key"] = [(stand_in, label) for label, stand_in in fonts.label_stand_ins(run["labels"]).items()]
    fonts.warn_about_stand_ins(label for context in contexts for _, label in context["label_key"])
    comparison = comparison_table(contexts, runs) if len(contexts) > 1 else None
    return contexts, comparison


def render_contexts(contexts, comparison, *, title=None, standalone=True):
    """Render prepared contexts as a full HTML document, or as a `<div>` fragment for notebooks."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        runs=contexts,
        comparison=comparison,
        title=title or _default_title(contexts),
        standalone=standalone,
    )


def write_contexts(contexts, comparison, directory, *, formats=DEFAULT_FORMATS, title=None):
    """Write prepared contexts to `directory`, as `write_report` describes."""
    formats = _check_formats(formats)
    directory = Path(directory)
    figure_paths = _write_figures(contexts, directory)

    written = {}
    if "html" in formats:
        text = render_contexts(contexts, comparison, title=title, standalone=True)
        written["html"] = write_bytes_atomically(directory / "report.html", text.encode("utf-8"))
    if "md" in formats:
        text = render_markdown(contexts, comparison, figure_paths, title=title or _default_title(contexts))
        written["md"] = write_bytes_atomically(directory / "report.md", text.encode("utf-8"))
    if "pdf" in formats:
        from vertical_tune.reporting.pdf import write_pdf

        pdf_title = title or _default_title(contexts)
        written["pdf"] = write_pdf(contexts, comparison, directory / "report.pdf", title=pdf_title)
    return written


def _write_figures(contexts, directory):
    """Write each figure as PNG and return, per run, figure name to its path relative to `directory`."""
    paths = []
    for context in contexts:
        relative_dir = Path(FIGURES_DIR) if len(contexts) == 1 else Path(FIGURES_DIR) / context["slug"]
        (directory / relative_dir).mkdir(parents=True, exist_ok=True)
        run_paths = {}
        for name in FIGURE_NAMES:
            png = context["figures"][name]
            if png is None:
                continue
            relative = relative_dir / f"{name}.png"
            write_bytes_atomically(directory / relative, png)
            run_paths[name] = relative.as_posix()
        paths.append(run_paths)
    return paths


def _check_formats(formats):
    if isinstance(formats, str):
        formats = (formats,)
    unknown = [name for name in formats if name not in REPORT_FORMATS]
    if unknown or not formats:
        raise ValueError(
            format_error(
                "Unknown or empty report formats.",
                received=list(formats),
                expected=f"one or more of {list(REPORT_FORMATS)}",
            )
        )
    return tuple(formats)


def _default_title(contexts):
    return "Evaluation report: " + ", ".join(context["name"] for context in contexts)


def _environment():
    folder = package_folder("templates") / "report"
    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (folder / name).read_text("utf-8")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["png_data_uri"] = _png_data_uri
    return environment


def _png_data_uri(png):
    # Base64 text has no character that HTML escaping would change.
    return Markup("data:image/png;base64," + base64.b64encode(png).decode("ascii"))

"""`MODEL_CARD.md`: intended use, data and licenses, metrics with intervals, limitations, training setup."""

import datetime

import yaml

from vertical_tune.evaluation._tables import escape_markdown, format_value

_HEADLINE = ("accuracy", "macro_f1", "macro_precision", "macro_recall", "roc_auc")


def render_model_card(view, config):
    """Return the Markdown model card of one run.

    Args:
        view: dict from `load_run_view` (metrics, bootstrap intervals, data files).
        config: dict, the run's `config.yaml`.

    Returns:
        str.
    """
    card = config.get("model_card") or {}
    summary = view["summary"]
    lines = [
        f"# Model card: {escape_markdown(view['name'])}",
        "",
        f"Written by vertical_tune {summary['versions'].get('vertical_tune', '')} on "
        f"{datetime.date.today().isoformat()}. The numbers come from the validation data of the run.",
        "",
        "## Model",
        "",
        f"- Industry preset: {summary.get('industry') or 'none'}",
        f"- Backbone: `{summary.get('backbone')}`",
        f"- Labels: {', '.join(escape_markdown(label) for label in view['labels'])}",
        f"- Training mode: {(config.get('training') or {}).get('mode')}, seed {summary.get('seed')}",
        "",
        "## Intended use",
        "",
        card.get("intended_use") or "Not stated: set `model_card.intended_use` in vtune.yaml.",
        "",
    ]
    if card.get("out_of_scope"):
        lines += ["Not intended for: " + card["out_of_scope"], ""]
    lines += ["## Data", ""]
    for source in card.get("data_sources") or []:
        url = f" ({source['url']})" if source.get("url") else ""
        lines.append(f"- {escape_markdown(source['name'])}{url}. License: {escape_markdown(source['license'])}.")
    if not card.get("data_sources"):
        lines.append("- Sources not stated: list them in `model_card.data_sources` of vtune.yaml.")
    lines += ["", "| role | file | rows | SHA-256 |", "|---|---|---|---|"]
    for role, entry in (summary.get("data") or {}).items():
        lines.append(f"| {role} | `{entry.get('path')}` | {entry.get('rows') or ''} | `{entry.get('sha256') or ''}` |")
    lines += ["", "## Metrics", "", _metrics_table(view), ""]
    point = view.get("operating_point")
    if point:
        rest = (
            " Below it, the most probable other label is predicted (one-vs-rest)." if point.get("one_vs_rest") else ""
        )
        lines += [
            f"Decision threshold for `{point['positive_label']}`: {point['threshold']:.4f} "
            f"(rule `{point['rule']}`): precision {point['precision']:.4f}, recall {point['recall']:.4f}, "
            f"chosen on the validation rows.{rest} The metrics above use this threshold.",
            "",
        ]
    lines += ["| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label, values in view["metrics"]["per_class"].items():
        lines.append(
            f"| {escape_markdown(label)} | {format_value(values['precision'])} | {format_value(values['recall'])} "
            f"| {format_value(values['f1'])} | {values['support']} |"
        )
    lines += ["", "## Limitations", ""]
    lines += [f"- {item}" for item in card.get("limitations") or []] or ["- None stated in `model_card.limitations`."]
    lines += [
        "- The metrics hold for data like the validation data; check them again on your own data before use.",
        "",
        "## Training configuration",
        "",
        "```yaml",
        yaml.safe_dump({"backbone": config.get("backbone"), "training": config.get("training")}, sort_keys=False).strip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def _metrics_table(view):
    intervals = view.get("intervals") or {}
    rows = ["| metric | value | 95% interval |", "|---|---|---|"]
    for name in _HEADLINE:
        value = view["metrics"].get(name)
        bounds = intervals.get(name) or {}
        interval = (
            f"{format_value(bounds['low'])} to {format_value(bounds['high'])}"
            if bounds.get("low") is not None
            else "n/a"
        )
        rows.append(f"| {name} | {format_value(value)} | {interval} |")
    return "\n".join(rows)

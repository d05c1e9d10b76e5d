"""The promotion gate: whether a retrained challenger replaces the champion.

Both models are scored on the same evaluation set, and `decide` compares their
metrics dicts (from `vertical_tune.evaluation.metrics.classification_metrics`)
under the rules of `GateConfig`:

- floors: each listed metric of the challenger is at least its floor;
- margin: the challenger's gate metric is at least the champion's plus `margin`;
- recall drop: no class loses more than `max_recall_drop` of recall.

The challenger is promoted only when every check passes. Without a champion (the
first model) only the floors apply. Every comparison allows `COMPARISON_TOLERANCE`
for floating-point rounding, so a challenger exactly `margin` better than the
champion passes, and so does a recall drop exactly equal to `max_recall_drop`.
"""

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Optional

from vertical_tune.config.schema import GATE_METRICS
from vertical_tune.errors import format_error
from vertical_tune.evaluation import _tables

# Absolute slack of every gate comparison. It is far below the 4 decimals that
# reports show, so it only absorbs floating-point rounding.
COMPARISON_TOLERANCE = 1e-9

# The gate metric used when the resolved one is `loss`. The margin rule assumes
# that a larger value is better, which is false for a loss.
LOSS_FALLBACK_METRIC = "macro_f1"

# Metrics shown side by side in `decision_markdown`, in display order.
_SUMMARY_METRICS = (
    ("accuracy", "Accuracy"),
    ("macro_precision", "Macro precision"),
    ("macro_recall", "Macro recall"),
    ("macro_f1", "Macro F1"),
    ("weighted_f1", "Weighted F1"),
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("loss", "Log loss"),
    ("n_examples", "Examples"),
)


@dataclass(frozen=True)
class GateCheck:
    """One rule of the gate applied to the challenger.

    Attributes:
        name: `floor:<metric>`, `margin:<metric>` or `recall_drop:<class>`.
        passed: whether the challenger satisfies the rule.
        value: the compared number: the challenger's metric for a floor, the
            challenger's gain over the champion for the margin, the champion's
            recall minus the challenger's for a recall drop. None when the
            number is undefined (a metric that is None, NaN or missing).
        threshold: the floor, the margin or `max_recall_drop`.
        detail: one sentence with the numbers, for logs and reports.
    """

    name: str
    passed: bool
    value: Optional[float]
    threshold: float
    detail: str

    def to_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class GateDecision:
    """The outcome of the gate.

    Attributes:
        promote: True when every check passed.
        checks: the checks in order: floors, margin, recall drops.
        reasons: sentences that explain the decision: notes on how the gate ran,
            then the failed checks, or every check when all passed.
        metric: the metric the margin was applied to, after the `loss` fallback.
    """

    promote: bool
    checks: list
    reasons: list
    metric: str

    def to_dict(self):
        """Return a dict that `json.dumps` accepts."""
        return {
            "promote": self.promote,
            "metric": self.metric,
            "checks": [check.to_dict() for check in self.checks],
            "reasons": list(self.reasons),
        }


def decide(challenger, champion, rules, *, metric):
    """Apply the gate rules to a challenger and decide whether to promote it.

    Args:
        challenger: dict. Metrics of the challenger on the evaluation set, as
            returned by `classification_metrics`.
        champion: dict or None. Metrics of the champion on the same evaluation
            set, or None when there is no champion yet. Then only the floors apply.
        rules: `GateConfig`. The floors, margin and maximum recall drop.
        metric: str. The gate metric, already resolved from `rules.metric` and
            `training.selection_metric` (see `resolve_metric`). `loss` is
            replaced by `macro_f1`, and the first reason states the substitution.

    Returns:
        A `GateDecision`.

    Raises:
        ValueError: `metric` is not a gate metric, a metrics dict is not a dict,
            or a metric value is not a number. The message shows the value.

    Example:

    >>> from vertical_tune.config.schema import GateConfig
    >>> per_class = {"legit": {"recall": 0.9}, "fraud": {"recall": 0.7}}
    >>> champion = {"macro_f1": 0.80, "per_class": per_class}
    >>> challenger = {"macro_f1": 0.82, "per_class": per_class}
    >>> decision = decide(challenger, champion, GateConfig(), metric="macro_f1")
    >>> decision.promote, decision.reasons[0]
    (True, 'macro_f1 0.8200 vs champion 0.8000: +0.0200 ≥ margin 0.0050')
    """
    _validate_metrics_dict("challenger", challenger)
    if champion is not None:
        _validate_metrics_dict("champion", champion)
    gate_metric, notes = _gate_metric(metric)

    checks = _floor_checks(challenger, rules.floors)
    if champion is None:
        notes.append("There is no champion yet, so only the floors apply.")
    else:
        checks.append(_margin_check(challenger, champion, gate_metric, rules.margin))
        checks += _recall_drop_checks(challenger, champion, rules.max_recall_drop)

    promote = all(check.passed for check in checks)
    return GateDecision(promote, checks, notes + _check_reasons(checks), gate_metric)


def resolve_metric(rules, selection_metric):
    """Return the gate metric: `rules.metric`, or the training selection metric when it is empty."""
    return rules.metric if rules.metric is not None else selection_metric


def _gate_metric(metric):
    if metric == "loss":
        note = (
            f"The gate metric resolved to loss, but the margin needs a metric where larger is "
            f"better, so {LOSS_FALLBACK_METRIC} is compared instead. Set retrain.gate.metric "
            f"to choose another."
        )
        return LOSS_FALLBACK_METRIC, [note]

    if metric not in GATE_METRICS:
        raise ValueError(
            format_error(
                "The gate metric is unknown.",
                received=metric,
                expected=f"one of {', '.join(GATE_METRICS)}, or loss",
            )
        )
    return metric, []


def _check_reasons(checks):
    if not checks:
        return ["No floors are set and there is no champion, so the challenger is promoted."]
    failed = [check for check in checks if not check.passed]
    return [check.detail for check in (failed or checks)]


def _floor_checks(challenger, floors):
    checks = []
    for name, floor in floors.items():
        value = _metric_value(challenger, name, "challenger")
        if value is None:
            detail = f"{name} is {_describe_missing(challenger, name)}, so it cannot meet the floor {floor:.4f}"
            checks.append(GateCheck(f"floor:{name}", False, None, floor, detail))
            continue

        passed = value >= floor - COMPARISON_TOLERANCE
        relation = "≥" if passed else "<"
        detail = f"{name} {value:.4f} {relation} floor {floor:.4f}"
        checks.append(GateCheck(f"floor:{name}", passed, value, floor, detail))
    return checks


def _margin_check(challenger, champion, metric, margin):
    name = f"margin:{metric}"
    challenger_value = _metric_value(challenger, metric, "challenger")
    champion_value = _metric_value(champion, metric, "champion")
    if challenger_value is None or champion_value is None:
        side, scores = ("challenger", challenger) if challenger_value is None else ("champion", champion)
        detail = f"{metric} of the {side} is {_describe_missing(scores, metric)}, so the models cannot be compared"
        return GateCheck(name, False, None, margin, detail)

    gain = challenger_value - champion_value
    passed = gain >= margin - COMPARISON_TOLERANCE
    relation = "≥" if passed else "<"
    detail = (
        f"{metric} {challenger_value:.4f} vs champion {champion_value:.4f}: "
        f"{gain:+.4f} {relation} margin {margin:.4f}"
    )
    return GateCheck(name, passed, gain, margin, detail)


def _recall_drop_checks(challenger, champion, max_drop):
    challenger_classes = _per_class(challenger, "challenger")
    champion_classes = _per_class(champion, "champion")

    checks = []
    for label in champion_classes:
        if label not in challenger_classes:
            # The challenger cannot predict a class the champion could.
            detail = f"class {label!r} is in the champion's metrics but not in the challenger's"
            checks.append(GateCheck(f"recall_drop:{label}", False, None, max_drop, detail))
            continue
        checks.append(_recall_drop_check(label, challenger_classes[label], champion_classes[label], max_drop))

    for label in challenger_classes:
        if label not in champion_classes:
            # A label that first appeared in the new data: nothing to compare with.
            detail = f"class {label!r} is new in the challenger, so it has no champion recall to compare"
            checks.append(GateCheck(f"recall_drop:{label}", True, None, max_drop, detail))
    return checks


def _recall_drop_check(label, challenger_scores, champion_scores, max_drop):
    name = f"recall_drop:{label}"
    challenger_recall = _metric_value(challenger_scores, "recall", f"challenger class {label!r}")
    champion_recall = _metric_value(champion_scores, "recall", f"champion class {label!r}")
    if challenger_recall is None or champion_recall is None:
        detail = f"recall of class {label!r} is undefined for one of the models, so its drop cannot be checked"
        return GateCheck(name, False, None, max_drop, detail)

    drop = champion_recall - challenger_recall
    passed = drop <= max_drop + COMPARISON_TOLERANCE
    relation = "≤" if passed else ">"
    detail = (
        f"class {label!r} recall {challenger_recall:.4f} vs champion {champion_recall:.4f}: "
        f"drop {drop:+.4f} {relation} allowed {max_drop:.4f}"
    )
    return GateCheck(name, passed, drop, max_drop, detail)


def _validate_metrics_dict(side, metrics):
    if not isinstance(metrics, Mapping):
        raise ValueError(
            format_error(
                f"The {side} metrics must be a dict.",
                received=metrics,
                expected="the dict returned by classification_metrics",
            )
        )


def _per_class(metrics, side):
    per_class = metrics.get("per_class")
    if not isinstance(per_class, Mapping):
        raise ValueError(
            format_error(
                f"The {side} metrics have no per_class dict, so recall drops cannot be checked.",
                received=per_class,
                expected="{label: {recall: float, ...}} as returned by classification_metrics",
            )
        )
    return per_class


def _metric_value(metrics, name, owner):
    """Return `metrics[name]` as a float, or None when it is missing, None or NaN."""
    value = metrics.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(
            format_error(
                f"The {owner} metric {name} is not a number.",
                received=value,
                expected="a float, or None when the metric is undefined",
            )
        )
    value = float(value)
    return None if math.isnan(value) else value


def _describe_missing(metrics, name):
    if name not in metrics:
        return "missing"
    return "None (undefined)" if metrics[name] is None else "NaN"


def decision_markdown(decision, challenger, champion):
    """Render the decision as a Markdown section: the verdict, the checks, both models' main metrics."""
    if decision.promote:
        verdict = "Decision: **promote the challenger**."
    else:
        failed = sum(not check.passed for check in decision.checks)
        verdict = f"Decision: **keep the champion** ({failed} of {len(decision.checks)} checks failed)."

    lines = ["## Promotion gate", "", verdict, ""]
    lines += [f"- {_tables.escape_markdown(reason)}" for reason in decision.reasons]
    sections = ["\n".join(lines)]
    if decision.checks:
        sections.append(_tables.to_markdown(_checks_table(decision)))
    sections.append(_tables.to_markdown(_comparison_table(challenger, champion)))
    return "\n\n".join(sections) + "\n"


def _checks_table(decision):
    rows = [
        [
            check.name,
            "pass" if check.passed else "FAIL",
            _tables.format_value(check.value),
            _tables.format_value(check.threshold),
            check.detail,
        ]
        for check in decision.checks
    ]
    note = (
        "Value is the challenger's metric for a floor, its gain over the champion for the "
        "margin, and the champion's recall minus the challenger's for a recall drop."
    )
    return _tables.Table("Gate checks", ["Check", "Result", "Value", "Threshold", "Detail"], rows, note)


def _comparison_table(challenger, champion):
    displayed = [
        (key, label) for key, label in _SUMMARY_METRICS if key in challenger or (champion and key in champion)
    ]
    if champion is None:
        rows = [[label, _tables.format_value(challenger.get(key))] for key, label in displayed]
        return _tables.Table("Challenger metrics", ["Metric", "Challenger"], rows, "There is no champion yet.")

    rows = []
    for key, label in displayed:
        new, old = challenger.get(key), champion.get(key)
        change = new - old if _is_number(new) and _is_number(old) else None
        rows.append([label, _tables.format_value(new), _tables.format_value(old), _format_change(change)])
    return _tables.Table("Challenger vs champion", ["Metric", "Challenger", "Champion", "Change"], rows)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _format_change(change):
    if change is None:
        return "n/a"
    if isinstance(change, int):
        return f"{change:+d}"
    return f"{change:+.4f}"

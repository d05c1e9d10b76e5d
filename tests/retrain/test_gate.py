import json
import math

import pytest

from vertical_tune.config.schema import GateConfig
from vertical_tune.evaluation.metrics import classification_metrics
from vertical_tune.retrain.gate import (
    COMPARISON_TOLERANCE,
    GateCheck,
    GateDecision,
    decide,
    decision_markdown,
    resolve_metric,
)

RULES = GateConfig(margin=0.005, floors={"macro_f1": 0.75}, max_recall_drop=0.02)


def metrics(macro_f1, *, legit=0.90, fraud=0.66, **overrides):
    """Return a metrics dict shaped like `classification_metrics` output, with the values given."""
    scores = {
        "n_examples": 200,
        "accuracy": 0.85,
        "macro_precision": 0.79,
        "macro_recall": 0.78,
        "macro_f1": macro_f1,
        "weighted_f1": 0.84,
        "roc_auc": 0.91,
        "pr_auc": 0.74,
        "loss": 0.35,
        "per_class": {
            "legit": {"precision": 0.9, "recall": legit, "f1": 0.9, "support": 150, "roc_auc": 0.91, "pr_auc": 0.95},
            "fraud": {"precision": 0.7, "recall": fraud, "f1": 0.68, "support": 50, "roc_auc": 0.91, "pr_auc": 0.55},
        },
    }
    scores.update(overrides)
    return scores


def failed_names(decision):
    return [check.name for check in decision.checks if not check.passed]


def test_decide_promotes_better_challenger():
    champion = metrics(0.80)
    challenger = metrics(0.82, legit=0.91, fraud=0.65)

    decision = decide(challenger, champion, RULES, metric="macro_f1")

    assert decision.promote is True
    assert decision.metric == "macro_f1"
    assert [check.name for check in decision.checks] == [
        "floor:macro_f1",
        "margin:macro_f1",
        "recall_drop:legit",
        "recall_drop:fraud",
    ]
    assert all(check.passed for check in decision.checks)
    assert decision.reasons == [
        "macro_f1 0.8200 ≥ floor 0.7500",
        "macro_f1 0.8200 vs champion 0.8000: +0.0200 ≥ margin 0.0050",
        "class 'legit' recall 0.9100 vs champion 0.9000: drop -0.0100 ≤ allowed 0.0200",
        "class 'fraud' recall 0.6500 vs champion 0.6600: drop +0.0100 ≤ allowed 0.0200",
    ]


def test_decide_check_values_and_thresholds():
    decision = decide(metrics(0.82, fraud=0.65), metrics(0.80), RULES, metric="macro_f1")
    floor, margin, legit, fraud = decision.checks

    assert (floor.value, floor.threshold) == (0.82, 0.75)
    assert margin.value == pytest.approx(0.02)
    assert margin.threshold == 0.005
    assert legit.value == pytest.approx(0.0)
    assert fraud.value == pytest.approx(0.01)
    assert fraud.threshold == 0.02


def test_decide_rejects_below_floor():
    rules = GateConfig(margin=0.005, floors={"macro_f1": 0.75, "macro_recall": 0.80})
    challenger = metrics(0.82, macro_recall=0.79)

    decision = decide(challenger, metrics(0.80), rules, metric="macro_f1")

    assert decision.promote is False
    assert failed_names(decision) == ["floor:macro_recall"]
    assert decision.reasons == ["macro_recall 0.7900 < floor 0.8000"]


def test_decide_rejects_gain_below_margin():
    decision = decide(metrics(0.803), metrics(0.80), RULES, metric="macro_f1")

    assert decision.promote is False
    assert failed_names(decision) == ["margin:macro_f1"]
    assert decision.reasons == ["macro_f1 0.8030 vs champion 0.8000: +0.0030 < margin 0.0050"]


def test_decide_rejects_worse_challenger():
    decision = decide(metrics(0.78), metrics(0.80), RULES, metric="macro_f1")

    assert decision.promote is False
    assert decision.reasons == ["macro_f1 0.7800 vs champion 0.8000: -0.0200 < margin 0.0050"]


@pytest.mark.parametrize(
    "champion_value, challenger_value, margin",
    [
        (0.81, 0.815, 0.005),
        # 0.30 - 0.29 is 0.00999999999999995 in binary floating point.
        (0.29, 0.30, 0.01),
        (0.80, 0.80, 0.0),
    ],
)
def test_decide_gain_at_margin_promotes(champion_value, challenger_value, margin):
    rules = GateConfig(margin=margin, max_recall_drop=0.02)

    decision = decide(metrics(challenger_value), metrics(champion_value), rules, metric="macro_f1")

    assert decision.promote is True
    assert "≥ margin" in decision.checks[0].detail


def test_decide_gain_just_below_margin_rejects():
    rules = GateConfig(margin=0.005)

    decision = decide(metrics(0.8149), metrics(0.81), rules, metric="macro_f1")

    assert decision.promote is False
    assert failed_names(decision) == ["margin:macro_f1"]


def test_decide_tolerance_is_tiny():
    rules = GateConfig(margin=0.005)
    just_below = 0.81 + 0.005 - 100 * COMPARISON_TOLERANCE

    decision = decide(metrics(just_below), metrics(0.81), rules, metric="macro_f1")

    assert decision.promote is False


def test_decide_rejects_recall_drop():
    challenger = metrics(0.85, fraud=0.63)

    decision = decide(challenger, metrics(0.80), RULES, metric="macro_f1")

    assert decision.promote is False
    assert failed_names(decision) == ["recall_drop:fraud"]
    assert decision.reasons == ["class 'fraud' recall 0.6300 vs champion 0.6600: drop +0.0300 > allowed 0.0200"]


def test_decide_recall_drop_at_limit_promotes():
    # 0.66 - 0.64 is 0.020000000000000018 in binary floating point.
    challenger = metrics(0.85, fraud=0.64)

    decision = decide(challenger, metrics(0.80), RULES, metric="macro_f1")

    assert decision.promote is True


def test_decide_class_missing_rejects():
    champion = metrics(0.80)
    challenger = metrics(0.85)
    del challenger["per_class"]["fraud"]

    decision = decide(challenger, champion, RULES, metric="macro_f1")

    assert decision.promote is False
    assert failed_names(decision) == ["recall_drop:fraud"]
    assert decision.reasons == ["class 'fraud' is in the champion's metrics but not in the challenger's"]


def test_decide_class_new_in_challenger_is_reported():
    challenger = metrics(0.85)
    challenger["per_class"]["chargeback"] = {"precision": 0.5, "recall": 0.4, "f1": 0.44, "support": 10}

    decision = decide(challenger, metrics(0.80), RULES, metric="macro_f1")

    assert decision.promote is True
    new_class = decision.checks[-1]
    assert new_class.name == "recall_drop:chargeback"
    assert new_class.passed is True
    assert new_class.value is None
    assert "new in the challenger" in new_class.detail


def test_decide_without_champion_applies_floors_only():
    # A challenger this weak would fail the margin and recall checks against any champion.
    challenger = metrics(0.76, legit=0.1, fraud=0.1)

    decision = decide(challenger, None, RULES, metric="macro_f1")

    assert decision.promote is True
    assert [check.name for check in decision.checks] == ["floor:macro_f1"]
    assert decision.reasons == [
        "There is no champion yet, so only the floors apply.",
        "macro_f1 0.7600 ≥ floor 0.7500",
    ]


def test_decide_without_champion_rejects_below_floor():
    decision = decide(metrics(0.70), None, RULES, metric="macro_f1")

    assert decision.promote is False
    assert decision.reasons == [
        "There is no champion yet, so only the floors apply.",
        "macro_f1 0.7000 < floor 0.7500",
    ]


def test_decide_without_champion_or_floors_promotes():
    decision = decide(metrics(0.10), None, GateConfig(), metric="macro_f1")

    assert decision.promote is True
    assert decision.checks == []
    assert decision.reasons[-1] == "No floors are set and there is no champion, so the challenger is promoted."


def test_decide_loss_falls_back_to_macro_f1():
    # The challenger has the lower (better) loss but the worse macro F1.
    challenger = metrics(0.78, loss=0.20)
    champion = metrics(0.80, loss=0.40)

    decision = decide(challenger, champion, RULES, metric="loss")

    assert decision.metric == "macro_f1"
    assert decision.promote is False
    assert failed_names(decision) == ["margin:macro_f1"]
    assert "resolved to loss" in decision.reasons[0]
    assert "macro_f1 is compared instead" in decision.reasons[0]


def test_decide_loss_fallback_noted_when_promoted():
    decision = decide(metrics(0.82), metrics(0.80), RULES, metric="loss")

    assert decision.promote is True
    assert "resolved to loss" in decision.reasons[0]
    assert decision.reasons[1].startswith("macro_f1 0.8200 ≥ floor")


def test_decide_uses_other_gate_metric():
    rules = GateConfig(margin=0.01)
    challenger = metrics(0.70, roc_auc=0.95)

    decision = decide(challenger, metrics(0.80, roc_auc=0.91), rules, metric="roc_auc")

    assert decision.promote is True
    assert decision.checks[0].name == "margin:roc_auc"
    assert decision.checks[0].value == pytest.approx(0.04)


@pytest.mark.parametrize(
    "value, described",
    [(math.nan, "NaN"), (None, "None (undefined)")],
)
def test_decide_undefined_metric_fails_floor(value, described):
    rules = GateConfig(floors={"roc_auc": 0.7})

    decision = decide(metrics(0.82, roc_auc=value), None, rules, metric="macro_f1")

    assert decision.promote is False
    floor = decision.checks[0]
    assert floor.name == "floor:roc_auc"
    assert floor.passed is False
    assert floor.value is None
    assert floor.detail == f"roc_auc is {described}, so it cannot meet the floor 0.7000"


def test_decide_missing_metric_fails_floor():
    challenger = metrics(0.82)
    del challenger["pr_auc"]

    decision = decide(challenger, None, GateConfig(floors={"pr_auc": 0.5}), metric="macro_f1")

    assert decision.promote is False
    assert decision.checks[0].detail == "pr_auc is missing, so it cannot meet the floor 0.5000"


def test_decide_undefined_champion_metric_rejects():
    champion = metrics(0.80, roc_auc=None)

    decision = decide(metrics(0.82), champion, GateConfig(), metric="roc_auc")

    assert decision.promote is False
    margin = decision.checks[0]
    assert margin.value is None
    assert margin.detail == "roc_auc of the champion is None (undefined), so the models cannot be compared"


def test_decide_rejects_unknown_metric():
    with pytest.raises(ValueError, match="gate metric is unknown") as raised:
        decide(metrics(0.82), metrics(0.80), RULES, metric="f1")

    assert "Received: 'f1'" in str(raised.value)
    assert "macro_f1" in str(raised.value)


def test_decide_rejects_non_numeric_metric():
    with pytest.raises(ValueError, match="challenger metric macro_f1 is not a number"):
        decide(metrics("0.82"), metrics(0.80), RULES, metric="macro_f1")


def test_decide_rejects_champion_without_per_class():
    champion = metrics(0.80)
    del champion["per_class"]

    with pytest.raises(ValueError, match="champion metrics have no per_class dict"):
        decide(metrics(0.82), champion, RULES, metric="macro_f1")


def test_decide_on_classification_metrics_output():
    labels = ["legit", "fraud"]
    y_true = [0, 0, 0, 1, 1, 1]
    champion = classification_metrics(y_true, [[0.9, 0.1]] * 4 + [[0.2, 0.8]] * 2, labels)
    challenger = classification_metrics(y_true, [[0.9, 0.1]] * 3 + [[0.2, 0.8]] * 3, labels)

    decision = decide(challenger, champion, GateConfig(floors={"roc_auc": 0.5}), metric="macro_f1")

    assert decision.promote is True
    assert [check.name for check in decision.checks] == [
        "floor:roc_auc",
        "margin:macro_f1",
        "recall_drop:legit",
        "recall_drop:fraud",
    ]


def test_resolve_metric_prefers_gate_metric():
    assert resolve_metric(GateConfig(metric="roc_auc"), "macro_f1") == "roc_auc"
    assert resolve_metric(GateConfig(), "accuracy") == "accuracy"
    assert resolve_metric(GateConfig(), "loss") == "loss"


def test_decision_to_dict_json_round_trip():
    challenger = metrics(0.82, roc_auc=math.nan)
    rules = GateConfig(floors={"roc_auc": 0.7})
    decision = decide(challenger, metrics(0.80), rules, metric="macro_f1")

    text = json.dumps(decision.to_dict(), allow_nan=False)
    restored = json.loads(text)

    assert restored == decision.to_dict()
    assert restored["promote"] is False
    assert restored["metric"] == "macro_f1"
    assert restored["checks"][0] == {
        "name": "floor:roc_auc",
        "passed": False,
        "value": None,
        "threshold": 0.7,
        "detail": "roc_auc is NaN, so it cannot meet the floor 0.7000",
    }


def test_decision_is_frozen():
    decision = GateDecision(True, [GateCheck("floor:macro_f1", True, 0.8, 0.7, "ok")], ["ok"], "macro_f1")

    with pytest.raises(AttributeError):
        decision.promote = False


def test_decision_markdown_rejected():
    challenger = metrics(0.85, fraud=0.63)
    champion = metrics(0.80)
    decision = decide(challenger, champion, RULES, metric="macro_f1")

    text = decision_markdown(decision, challenger, champion)

    assert text.startswith("## Promotion gate\n")
    assert "Decision: **keep the champion** (1 of 4 checks failed)." in text
    assert "- class 'fraud' recall 0.6300 vs champion 0.6600: drop +0.0300 \\> allowed 0.0200" in text
    assert "## Gate checks" in text
    assert "| recall\\_drop:fraud | FAIL | 0.0300 | 0.0200 |" in text
    assert "| floor:macro\\_f1 | pass | 0.8500 | 0.7500 |" in text
    assert "## Challenger vs champion" in text
    assert "| Macro F1 | 0.8500 | 0.8000 | +0.0500 |" in text
    assert "| Examples | 200 | 200 | +0 |" in text


def test_decision_markdown_promoted_without_champion():
    challenger = metrics(0.82, roc_auc=None)
    decision = decide(challenger, None, RULES, metric="macro_f1")

    text = decision_markdown(decision, challenger, None)

    assert "Decision: **promote the challenger**." in text
    assert "## Challenger metrics" in text
    assert "| ROC-AUC | n/a |" in text
    assert "Champion" not in text.split("## Challenger metrics")[1]

"""Evaluation: classification metrics that match scikit-learn, and reports of them."""

from vertical_tune.evaluation.metrics import (
    SELECTION_METRICS,
    UndefinedAUCWarning,
    classification_metrics,
)
from vertical_tune.evaluation.report import EvaluationReport

__all__ = [
    "SELECTION_METRICS",
    "EvaluationReport",
    "UndefinedAUCWarning",
    "classification_metrics",
]

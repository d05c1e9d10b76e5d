"""Synthetic run views for the report tests: no model, only numpy predictions."""

import numpy as np

from vertical_tune.evaluation.metrics import classification_metrics

CHINESE_TEXT = "央行宣布下调存款准备金率"
MARKUP_TEXT = "<b>bold claim</b> & <script>alert(1)</script>"


def make_run_view(name, labels, *, rows=300, seed=0, history=True, intervals=False, operating_point=None):
    """Build a run view from random but learnable predictions, as the report expects it."""
    rng = np.random.default_rng(seed)
    num_classes = len(labels)
    y_true = rng.integers(0, num_classes, size=rows)
    logits = rng.normal(size=(rows, num_classes))
    logits[np.arange(rows), y_true] += 1.5
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    texts = [f"example {index}" for index in range(rows)]
    # Put the special texts on confidently wrong rows, so they show in the mistakes table.
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    most_confident = wrong[np.argsort(-confidence[wrong])]
    texts[most_confident[0]] = MARKUP_TEXT
    texts[most_confident[1]] = CHINESE_TEXT

    metrics = classification_metrics(y_true, probabilities, labels)
    view = {
        "name": name,
        "path": f"/runs/{name}",
        "summary": {
            "industry": name,
            "preset": name,
            "backbone": "bert_tiny_en_uncased",
            "seed": seed,
            "data": {"validation": {"path": "data/validation.csv", "sha256": "ab" * 32, "rows": rows}},
            "versions": {"tensorflow": "2.19.0", "keras": "3.10.0", "keras_hub": "0.22.0", "vertical_tune": "0.1.0"},
            "seconds": 42.5,
            "selection_metric": "macro_f1",
            "best_epoch": 2,
        },
        "history": {},
        "labels": list(labels),
        "y_true": y_true,
        "probabilities": probabilities,
        "texts": texts,
        "metrics": metrics,
        "intervals": None,
        "operating_point": operating_point,
    }
    if history:
        view["history"] = {
            "loss": [1.0, 0.7, 0.5],
            "accuracy": [0.5, 0.65, 0.72],
            "val_loss": [0.9, 0.75, 0.7],
            "val_macro_f1": [0.45, 0.6, 0.66],
        }
    if intervals:
        view["intervals"] = {
            key: {"value": metrics[key], "low": metrics[key] - 0.05, "high": metrics[key] + 0.04}
            for key in ("accuracy", "macro_f1")
        }
    return view



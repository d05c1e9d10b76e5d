"""Data and helpers shared by the multi-task tests: one text, several label columns."""

import numpy as np
import pytest

from tests.helpers import sentiment_frame

# One task of each type on the columns of `review_frame`.
ALL_TASKS = [
    {"name": "sentiment", "type": "multiclass", "label_column": "label", "focal_gamma": 2.0},
    {"name": "positive", "type": "binary", "label_column": "is_positive", "class_weight": "balanced"},
    {"name": "topics", "type": "multilabel", "label_column": "topics", "delimiter": "|"},
    {"name": "cues", "type": "multilabel", "label_columns": ["has_good", "has_bad"]},
    {"name": "score", "type": "regression", "label_column": "score", "loss_weight": 0.5},
]

_SCORE_BY_LABEL = {"negative": 2.0, "neutral": 5.0, "positive": 8.0}


def review_frame(rows_per_class, seed=0):
    """Return texts of the tiny vocabulary with a label column for each task of `ALL_TASKS`.

    Every cell is a string, as when a CSV file is read with `dtype=str`.
    """
    frame = sentiment_frame(rows_per_class, seed=seed)
    words = frame["text"].str.split()
    rng = np.random.default_rng(seed)
    frame["is_positive"] = np.where(frame["label"] == "positive", "yes", "no")
    mood = frame["label"].map({"negative": "downbeat", "positive": "upbeat", "neutral": "calm"})
    about_market = words.apply(lambda tokens: "market" in tokens or "stock" in tokens)
    frame["topics"] = np.where(about_market, mood + "|market", mood)
    frame["has_good"] = words.apply(lambda tokens: "1" if "good" in tokens else "0")
    frame["has_bad"] = words.apply(lambda tokens: "1" if "bad" in tokens else "0")
    noise = rng.normal(0.0, 0.5, len(frame))
    frame["score"] = [f"{_SCORE_BY_LABEL[label] + delta:.2f}" for label, delta in zip(frame["label"], noise)]
    return frame


def blank_every_other(frame, column, start=0):
    """Return a copy of `frame` with `column` blank in rows start, start + 2, ..."""
    frame = frame.copy()
    frame.loc[frame.index[start::2], column] = ""
    return frame


def tuner_settings(tiny_preset, run_dir, *, tasks=ALL_TASKS, multitask=None, **training):
    """Keyword arguments of `FineTuner.from_preset` for a quick run on the tiny backbone."""
    settings = {
        "epochs": 2,
        "batch_size": 16,
        "learning_rate": 5e-3,
        "schedule": "constant",
        "warmup_ratio": 0.0,
        "early_stopping_patience": None,
    }
    settings.update(training)
    return {
        "task": {"text_column": "text"},
        "backbone": {"preset": tiny_preset, "sequence_length": 16},
        "normalization": {"profile": "general"},
        "training": settings,
        "tasks": tasks,
        "multitask": multitask or {},
        "output": {"run_dir": str(run_dir), "compare_baseline": False},
    }


@pytest.fixture
def reviews():
    """A small training frame and a validation frame with every task's columns."""
    return review_frame(12, seed=0), review_frame(4, seed=1)

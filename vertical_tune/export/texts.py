"""Pick the normalised texts that check and calibrate an export, from the run's data files."""

import numpy as np

from vertical_tune.errors import ConfigError, format_error


def check_texts(tuner, path, rows):
    """Return (up to `rows` normalised texts, their source) for the agreement check.

    Args:
        tuner: FineTuner loaded from a run.
        path: str or None. A data file with the run's text column. None uses
            `data.validation` of the run config, else `data.train`.
        rows: int. The first `rows` texts are kept, and 0 skips the check.
    """
    if rows == 0:
        return [], None
    data = tuner.config.data
    source = path or data.validation or data.train
    if source is None:
        raise ConfigError(
            format_error(
                "No texts for the export check: the run config has no data.validation or data.train.",
                where="--validation",
                fix="Pass --validation FILE, or --check-rows 0 to skip the check.",
            )
        )
    texts = _read_texts(tuner, source, role="validation")
    return texts[:rows], str(source)


def calibration_texts(tuner, rows):
    """Return a seeded random sample of `rows` normalised training texts (all of them when fewer)."""
    source = tuner.config.data.train
    if source is None:
        raise ConfigError(
            format_error(
                "No texts to calibrate the int8 LiteRT model: the run config has no data.train.",
                where="data.train",
                fix="Export without litert (--format keras,saved_model,onnx).",
            )
        )
    texts = _read_texts(tuner, source, role="train")
    if len(texts) <= rows:
        return texts
    generator = np.random.default_rng(tuner.config.data.split.seed)
    chosen = sorted(generator.choice(len(texts), size=rows, replace=False))
    return [texts[index] for index in chosen]


def _read_texts(tuner, source, *, role):
    """Load the text column of `source`, normalised with the run's profile, without blank texts."""
    loaded = tuner._load(source, require_labels=False, role=role)
    return [text for text in loaded.texts if text and text.strip()]

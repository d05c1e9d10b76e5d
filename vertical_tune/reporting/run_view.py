"""Build the report's input ("run view") from a run directory: predictions, metrics, provenance."""

import logging
from pathlib import Path

import yaml

from vertical_tune.run_directory import check_run_directory, read_json

logger = logging.getLogger(__name__)


def load_run_view(run_dir, *, intervals=True, resamples=1000, seed=0, predictions=None, evaluated_on=None):
    """Return the data the HTML report needs for one run directory.

    The validation predictions come from `predictions/validation.parquet`, which
    `vtune train` writes. A run without it (an older run, a compressed or distilled
    one) is evaluated again on its `data.validation` file.

    Args:
        run_dir: str or Path. A finished run directory.
        intervals: bool. Add bootstrap confidence intervals of the headline metrics.
        resamples: int. Bootstrap resamples.
        seed: int. Seed of the bootstrap, so the intervals are reproducible.
        predictions: str, Path or None. A predictions file written by
            `write_predictions` for other labelled data than the validation set
            (`vtune evaluate`); None uses the run's validation predictions.
        evaluated_on: str or None. Name of the data in `predictions`, shown in the
            report's title and summary.

    Returns:
        dict with `name`, `path`, `summary`, `history`, `labels`, `y_true`,
        `probabilities`, `y_pred`, `texts`, `metrics`, `intervals` and `operating_point`.
    """
    from vertical_tune.evaluation.metrics import classification_metrics
    from vertical_tune.evaluation.thresholds import apply_decision
    from vertical_tune.retrain.incoming import run_data_fingerprint
    from vertical_tune.run_summary import PREDICTIONS_FILE, library_versions, read_predictions

    run = check_run_directory(run_dir).resolve()
    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")) or {}
    metrics_file = _read_optional(run / "metrics.json") or {}
    labels = read_json(run / "label_map.json")["names"]
    if predictions is not None:
        texts, y_true, probabilities = read_predictions(Path(predictions))
    elif (run / PREDICTIONS_FILE).is_file():
        texts, y_true, probabilities = read_predictions(run / PREDICTIONS_FILE)
    else:
        texts, y_true, probabilities = _predict_again(run)
    decision = read_json(run / "threshold.json") if (run / "threshold.json").is_file() else None
    # With a saved threshold, predictions (and so every count-based metric) follow it, as `predict` does.
    y_pred = apply_decision(probabilities, decision)
    metrics = classification_metrics(y_true, probabilities, labels, y_pred=y_pred)
    training = metrics_file.get("training", {})
    summary = {
        "industry": config.get("industry"),
        "preset": config.get("industry"),
        "backbone": (config.get("backbone") or {}).get("preset"),
        "seed": (config.get("training") or {}).get("seed"),
        "data": run_data_fingerprint(run),
        "versions": metrics_file.get("versions") or library_versions(),
        "seconds": training.get("total_seconds"),
        "selection_metric": training.get("selection_metric") or (config.get("training") or {}).get("selection_metric"),
        "best_epoch": training.get("best_epoch"),
        "distribution": training.get("distribution"),
    }
    if evaluated_on is not None:
        summary["evaluated_on"] = evaluated_on
    view = {
        "name": run.name if evaluated_on is None else f"{run.name} on {evaluated_on}",
        "path": str(run),
        "summary": summary,
        "history": _read_optional(run / "history.json") or {},
        "labels": labels,
        "y_true": y_true,
        "probabilities": probabilities,
        "y_pred": y_pred,
        "texts": texts,
        "metrics": metrics,
        "intervals": None,
        "operating_point": decision,
    }
    if intervals:
        from vertical_tune.evaluation.bootstrap import bootstrap_intervals

        view["intervals"] = bootstrap_intervals(
            y_true, probabilities, labels, n_resamples=resamples, seed=seed, y_pred=y_pred
        )
    return view


def _predict_again(run):
    from vertical_tune.finetuner import FineTuner

    tuner = FineTuner.load(run)
    source = tuner.config.data.validation
    logger.info("%s has no saved validation predictions; predicting %s again.", run, source)
    data = tuner._load(source, role="validation")
    y_true = tuner.labels.encode(data.labels, source=data.source)
    return list(data.texts), y_true, tuner.predict_proba(data.texts)


def _read_optional(path):
    return read_json(path) if Path(path).is_file() else None

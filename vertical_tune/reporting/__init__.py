"""Self-contained HTML and Markdown evaluation reports of classification runs.

The input of every function is a "run view": a dict with `name`, `path`, `summary`,
`history`, `labels`, `y_true`, `probabilities`, `texts`, `metrics` (the output of
`vertical_tune.evaluation.metrics.classification_metrics`), and optionally
`intervals` and `operating_point`. `run_view.load_run_view` builds one from a run
directory.
"""

from vertical_tune.reporting.calibration import expected_calibration_error, reliability_bins
from vertical_tune.reporting.html import render_html, write_report
from vertical_tune.reporting.report import Report

__all__ = ["Report", "expected_calibration_error", "reliability_bins", "render_html", "write_report"]

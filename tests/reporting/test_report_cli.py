"""`vtune report` and `vertical_tune.report` on a trained tiny run."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score

import vertical_tune
from tests.helpers import run_cli, train_tiny_run
from vertical_tune.reporting.run_view import load_run_view
from vertical_tune.run_summary import PREDICTIONS_FILE


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    _, run_dir = train_tiny_run(tmp_path_factory.mktemp("report"), epochs=2)
    return run_dir


def test_run_saves_validation_predictions(run):
    view = load_run_view(run, resamples=200)
    assert (run / PREDICTIONS_FILE).is_file()
    assert len(view["texts"]) == len(view["y_true"]) == view["probabilities"].shape[0]
    assert view["summary"]["versions"]["keras"]


def test_view_metrics_match_sklearn(run):
    view = load_run_view(run, resamples=200)
    predicted = view["probabilities"].argmax(axis=1)
    assert view["metrics"]["accuracy"] == pytest.approx(accuracy_score(view["y_true"], predicted))
    assert view["metrics"]["macro_f1"] == pytest.approx(f1_score(view["y_true"], predicted, average="macro"))
    assert view["metrics"]["macro_recall"] == pytest.approx(recall_score(view["y_true"], predicted, average="macro"))


def test_intervals_reproducible_with_seed(run):
    first = load_run_view(run, resamples=200, seed=3)["intervals"]
    second = load_run_view(run, resamples=200, seed=3)["intervals"]
    assert first == second
    assert first["accuracy"]["low"] <= first["accuracy"]["value"] <= first["accuracy"]["high"]


def test_report_cli_writes_html(capsys, run, tmp_path):
    code, _, err = run_cli(capsys, "report", run, "--output", tmp_path / "out")
    assert code == 0, err
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert 'id="calibration"' in html
    assert (tmp_path / "out" / "report.md").is_file()
    assert list((tmp_path / "out" / "figures").glob("*.png"))


def test_report_compares_two_runs(run, tmp_path):
    html = vertical_tune.report(run, run, intervals=False)._repr_html_()
    assert 'id="comparison"' in html


def test_report_without_saved_predictions(run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / PREDICTIONS_FILE).unlink()
    view = load_run_view(copy, intervals=False)
    saved = load_run_view(run, intervals=False)
    np.testing.assert_allclose(view["probabilities"], saved["probabilities"], atol=1e-5)


def test_report_cli_writes_pdf(capsys, run, tmp_path):
    code, _, err = run_cli(capsys, "report", run, "--format", "html,pdf", "--no-intervals", "--output", tmp_path)
    assert code == 0, err
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "report.html").is_file()


@pytest.mark.parametrize("value, expected", [("docx", "Unknown report format"), (",", "Unknown report format")])
def test_report_bad_format(capsys, run, value, expected):
    code, _, err = run_cli(capsys, "report", run, "--format", value)
    assert code == 2
    assert expected in err
    assert repr(value) in err

import html
import re
import shutil
import subprocess

import pytest

from tests.reporting.synthetic_runs import CHINESE_TEXT, MARKUP_TEXT, make_run_view
from vertical_tune.evaluation._tables import format_value
from vertical_tune.reporting import Report, expected_calibration_error, render_html, write_report
from vertical_tune.reporting import figures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SECTION_IDS = (
    "summary",
    "metrics",
    "training-curves",
    "per-class",
    "confusion-matrix",
    "roc-pr",
    "calibration",
    "mistakes",
)
EXTERNAL_REFERENCES = (
    re.compile(r"""src\s*=\s*["']?https?:""", re.IGNORECASE),
    re.compile(r"""href\s*=\s*["']?https?:""", re.IGNORECASE),
    re.compile(r"<link\b", re.IGNORECASE),
    re.compile(r"<script\b[^>]*\bsrc\s*=", re.IGNORECASE),
    re.compile(r"@import", re.IGNORECASE),
    re.compile(r"url\(", re.IGNORECASE),
)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def multiclass_run():
    return make_run_view("finance", ["利率", "equity", "credit"], intervals=True)


@pytest.fixture(scope="module")
def binary_run():
    operating_point = {
        "threshold": 0.4,
        "precision": 0.7,
        "recall": 0.8,
        "f1": 0.7467,
        "rule": "max_f1",
        "positive_label": "fraud",
    }
    return make_run_view("fraud", ["legit", "fraud"], rows=200, seed=1, history=False, operating_point=operating_point)


@pytest.fixture(scope="module")
def single_html(multiclass_run):
    return render_html([multiclass_run])


@pytest.fixture(scope="module")
def pair_html(multiclass_run, binary_run):
    return render_html([multiclass_run, binary_run])


def section(document, section_id):
    match = re.search(rf'<section id="{re.escape(section_id)}">(.*?)</section>', document, re.DOTALL)
    assert match is not None, f"no section with id {section_id!r}"
    return match.group(1)


def table_cells(fragment):
    return [html.unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", fragment, re.DOTALL)]


def test_single_run_has_every_section(single_html):
    for section_id in SECTION_IDS:
        assert f'<section id="{section_id}">' in single_html


def test_single_run_has_no_comparison(single_html):
    assert 'id="comparison"' not in single_html


def test_images_embedded(single_html):
    images = re.findall(r'<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/=]+"', single_html)

    assert len(images) >= 5


def test_no_external_references(pair_html):
    for pattern in EXTERNAL_REFERENCES:
        assert pattern.search(pair_html) is None, pattern.pattern


def test_texts_escaped(single_html):
    mistakes = section(single_html, "mistakes")

    assert "<b>bold claim</b>" not in single_html
    assert "<script>" not in single_html
    assert html.escape(MARKUP_TEXT) in mistakes
    assert CHINESE_TEXT in mistakes


def test_mistakes_most_confident_first(single_html, multiclass_run):
    cells = table_cells(section(single_html, "mistakes"))
    rows = [cells[start : start + 4] for start in range(0, len(cells), 4)]
    confidences = [float(row[3]) for row in rows]

    assert len(rows) == 10
    assert confidences == sorted(confidences, reverse=True)
    assert rows[0][0] == MARKUP_TEXT
    assert rows[1][0] == CHINESE_TEXT


def test_per_class_numbers_equal_metrics(single_html, multiclass_run):
    cells = table_cells(section(single_html, "per-class"))
    per_class = multiclass_run["metrics"]["per_class"]

    for start, name in zip(range(0, len(cells), 5), multiclass_run["labels"]):
        scores = per_class[name]
        assert cells[start] == name
        assert cells[start + 1] == format_value(scores["precision"])
        assert cells[start + 2] == format_value(scores["recall"])
        assert cells[start + 3] == format_value(scores["f1"])
        assert cells[start + 4] == str(scores["support"])


def test_headline_numbers_and_intervals(single_html, multiclass_run):
    cells = table_cells(section(single_html, "metrics"))
    rows = {cells[start]: cells[start + 1 : start + 3] for start in range(0, 24, 3)}
    accuracy = multiclass_run["intervals"]["accuracy"]

    assert rows["accuracy"][0] == format_value(multiclass_run["metrics"]["accuracy"])
    assert rows["macro_f1"][0] == format_value(multiclass_run["metrics"]["macro_f1"])
    assert rows["accuracy"][1] == f"[{format_value(accuracy['low'])}, {format_value(accuracy['high'])}]"
    assert rows["loss"][1] == "n/a"


def test_confusion_table_equals_matrix(single_html, multiclass_run):
    cells = table_cells(section(single_html, "confusion-matrix"))
    counts = [int(cell) for cell in cells if cell.isdigit()]

    assert counts == [count for row in multiclass_run["metrics"]["confusion_matrix"] for count in row]


def test_calibration_shows_ece(single_html, multiclass_run):
    ece = expected_calibration_error(multiclass_run["y_true"], multiclass_run["probabilities"])

    assert f"{ece:.4f}" in section(single_html, "calibration")


def test_roc_pr_shows_aucs(single_html, multiclass_run):
    roc_pr = section(single_html, "roc-pr")

    assert format_value(multiclass_run["metrics"]["roc_auc"]) in roc_pr
    assert format_value(multiclass_run["metrics"]["pr_auc"]) in roc_pr


def test_comparison_with_two_runs(pair_html, multiclass_run, binary_run):
    comparison = section(pair_html, "comparison")
    cells = table_cells(comparison)
    accuracy_row = cells[cells.index("accuracy") : cells.index("accuracy") + 3]

    assert accuracy_row[1] == format_value(multiclass_run["metrics"]["accuracy"])
    assert accuracy_row[2] == format_value(binary_run["metrics"]["accuracy"])
    assert pair_html.count('id="comparison"') == 1


def test_two_runs_have_prefixed_sections(pair_html):
    for slug in ("finance", "fraud"):
        for section_id in SECTION_IDS:
            assert f'<section id="{slug}-{section_id}">' in pair_html


def test_binary_run_shows_operating_point(pair_html):
    metrics = section(pair_html, "fraud-metrics")

    assert "max_f1" in metrics
    assert "0.4000" in metrics


def test_missing_history_noted(pair_html):
    assert "no training history" in section(pair_html, "fraud-training-curves")


def test_write_report_files(tmp_path, multiclass_run):
    written = write_report([multiclass_run], tmp_path / "out")

    assert set(written) == {"html", "md"}
    figure_names = sorted(path.name for path in (tmp_path / "out" / "figures").iterdir())
    assert figure_names == [
        "confusion_matrix.png",
        "pr_curves.png",
        "reliability_diagram.png",
        "roc_curves.png",
        "training_curves.png",
    ]
    for path in (tmp_path / "out" / "figures").iterdir():
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE), path.name
        assert len(data) > 5000, path.name


def test_markdown_links_figures_and_tables(tmp_path, multiclass_run):
    written = write_report([multiclass_run], tmp_path, formats=("md",))
    markdown = written["md"].read_text("utf-8")

    assert set(written) == {"md"}
    assert not (tmp_path / "report.html").exists()
    assert "![Confusion matrix](figures/confusion_matrix.png)" in markdown
    assert format_value(multiclass_run["metrics"]["macro_f1"]) in markdown
    assert CHINESE_TEXT in markdown
    assert "<b>" not in markdown


def test_write_report_two_runs_separate_folders(tmp_path, multiclass_run, binary_run):
    write_report([multiclass_run, binary_run], tmp_path)

    assert (tmp_path / "figures" / "finance" / "roc_curves.png").is_file()
    assert (tmp_path / "figures" / "fraud" / "pr_curves.png").is_file()
    assert not (tmp_path / "figures" / "fraud" / "training_curves.png").exists()
    assert 'id="comparison"' in (tmp_path / "report.html").read_text("utf-8")


def test_unknown_format_rejected(tmp_path, multiclass_run):
    with pytest.raises(ValueError, match="docx"):
        write_report([multiclass_run], tmp_path, formats=("docx",))


def test_run_view_missing_keys_rejected():
    with pytest.raises(ValueError, match="missing required keys"):
        render_html([{"name": "broken"}])


def test_report_object(tmp_path, multiclass_run):
    report = Report(multiclass_run, title="Quarterly <review>")
    fragment = report._repr_html_()

    assert fragment.startswith('<div class="vt-report">')
    assert "<html" not in fragment
    assert "Quarterly &lt;review&gt;" in fragment
    assert report.to_html().startswith("<!DOCTYPE html>")
    assert set(report.save(tmp_path)) == {"html", "md"}


def test_training_curves_empty_history():
    assert figures.training_curves({}) is None


def test_curve_figures_are_png(binary_run):
    arguments = (binary_run["y_true"], binary_run["probabilities"], binary_run["labels"], binary_run["operating_point"])

    assert figures.roc_curves(*arguments).startswith(PNG_SIGNATURE)
    assert figures.pr_curves(*arguments).startswith(PNG_SIGNATURE)


def test_headless_browser_renders(tmp_path, multiclass_run, binary_run):
    browser = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if browser is None:
        pytest.skip(f"No headless browser found on PATH; looked for {', '.join(BROWSERS)}.")
    page = write_report([multiclass_run, binary_run], tmp_path, formats=("html",))["html"]
    screenshot = tmp_path / "screenshot.png"

    result = subprocess.run(
        [
            browser,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            # No connections to Google's services: this machine's network is closed.
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            # Console messages (and so script errors) go to stderr.
            "--enable-logging=stderr",
            f"--screenshot={screenshot}",
            "--window-size=1200,2000",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert screenshot.is_file(), result.stderr
    assert screenshot.read_bytes().startswith(PNG_SIGNATURE)
    assert screenshot.stat().st_size > 10_000
    uncaught = [line for line in result.stderr.splitlines() if "Uncaught" in line]
    console_errors = [line for line in result.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line]
    assert uncaught == []
    assert console_errors == []


def test_unknown_positive_label_rejected(binary_run):
    operating_point = dict(binary_run["operating_point"], positive_label="spam")

    with pytest.raises(ValueError, match="spam"):
        figures.roc_curves(binary_run["y_true"], binary_run["probabilities"], binary_run["labels"], operating_point)

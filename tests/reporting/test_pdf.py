"""PDF evaluation report: pages, section titles, metadata, atomic writing, API and CLI."""

import re

import matplotlib
import pytest

from tests.helpers import run_cli
from tests.reporting.synthetic_runs import make_run_view
from vertical_tune.errors import ConfigError
from vertical_tune.reporting import Report, pdf, write_report
from vertical_tune.reporting.api import parse_formats

# Titles without the letter pairs fi, fl and ff, which DejaVu Sans draws as one
# ligature glyph that the text extraction below cannot read back.
SECTION_TITLES = (
    "Summary",
    "Headline metrics",
    "Per-class metrics",
    "Training curves",
    "Confusion matrix",
    "ROC and precision-recall curves",
    "Calibration",
    "Most con",
)
STRING = re.compile(rb"\((?:\\.|[^\\)])*\)", re.DOTALL)


@pytest.fixture(scope="module")
def finance_run():
    return make_run_view("finance", ["negative", "positive", "neutral"], intervals=True)


@pytest.fixture(scope="module")
def fraud_run():
    operating_point = {"threshold": 0.4, "precision": 0.7, "recall": 0.8, "rule": "max_f1", "positive_label": "fraud"}
    return make_run_view("fraud", ["legit", "fraud"], rows=200, seed=1, history=False, operating_point=operating_point)


def write_uncompressed(runs, directory):
    # Uncompressed content streams keep the drawn text readable in the file.
    with matplotlib.rc_context({"pdf.compression": 0}):
        return Report(runs).save(directory, formats=("pdf",))["pdf"]


def page_count(data):
    return int(re.search(rb"/Type /Pages[^>]*/Count (\d+)", data).group(1))


def drawn_text(data):
    """Join the strings of every text-showing operator, so kerned pieces read as words."""
    pieces = []
    for block in re.findall(rb"BT(.*?)ET", data, re.DOTALL):
        for literal in STRING.findall(block):
            pieces.append(re.sub(rb"\\(.)", rb"\1", literal[1:-1]).decode("latin-1"))
        pieces.append("\n")
    return "".join(pieces)


def test_pdf_from_api(tmp_path, finance_run):
    path = write_uncompressed([finance_run], tmp_path)
    data = path.read_bytes()

    assert path == tmp_path / "report.pdf"
    assert data.startswith(b"%PDF")
    assert 3 <= page_count(data) <= 8
    assert not (tmp_path / "report.html").exists()


def test_pdf_has_section_titles(tmp_path, finance_run):
    text = drawn_text(write_uncompressed([finance_run], tmp_path).read_bytes())

    for title in SECTION_TITLES:
        assert title in text, title
    assert "Comparison" not in text


def test_pdf_metadata(tmp_path, finance_run):
    data = write_uncompressed([finance_run], tmp_path).read_bytes()

    assert b"/Title (Evaluation report: finance)" in data
    assert b"/Creator (vertical_tune)" in data
    assert re.search(rb"/CreationDate \(D:\d{14}", data)


def test_pdf_same_pages_twice(tmp_path, finance_run, fraud_run):
    first = write_uncompressed([finance_run, fraud_run], tmp_path / "first").read_bytes()
    second = write_uncompressed([finance_run, fraud_run], tmp_path / "second").read_bytes()

    assert page_count(first) == page_count(second)


def test_pdf_two_runs_has_comparison(tmp_path, finance_run, fraud_run):
    data = write_uncompressed([finance_run, fraud_run], tmp_path).read_bytes()
    text = drawn_text(data)

    assert "Comparison" in text
    assert "Run: fraud" in text
    assert "max_f1" in text
    assert 7 <= page_count(data) <= 16


def test_pdf_next_to_html_and_markdown(tmp_path, finance_run):
    written = write_report([finance_run], tmp_path, formats=("html", "md", "pdf"))

    assert set(written) == {"html", "md", "pdf"}
    assert written["pdf"].read_bytes().startswith(b"%PDF")


def test_pdf_failure_leaves_no_file(tmp_path, finance_run, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(pdf, "_draw_page", fail)

    with pytest.raises(RuntimeError, match="drawing failed"):
        Report([finance_run]).save(tmp_path, formats=("pdf",))
    assert not (tmp_path / "report.pdf").exists()
    assert not list(tmp_path.glob(".report.pdf.*"))


def test_long_text_wrapped_and_cut():
    lines = pdf._wrap("word " * 200, 40, max_lines=3)

    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert all(pdf._units(line) <= 40 for line in lines)


def test_wide_characters_count_double():
    assert pdf._units("正面") == 4
    assert pdf._units("ab") == 2


def test_parse_formats_accepts_pdf():
    assert parse_formats("html, PDF") == ("html", "pdf")


def test_parse_formats_rejects_unknown():
    with pytest.raises(ConfigError, match="Unknown report format"):
        parse_formats("docx")


def test_report_cli_writes_pdf(capsys, tmp_path, finance_run, monkeypatch):
    monkeypatch.setattr("vertical_tune.reporting.api.report", lambda *runs, **options: Report([finance_run]))

    code, _, err = run_cli(capsys, "report", tmp_path / "run", "--format", "pdf", "--output", tmp_path / "out")

    assert code == 0, err
    assert (tmp_path / "out" / "report.pdf").read_bytes().startswith(b"%PDF")
    assert "report.pdf" in err
    assert not (tmp_path / "out" / "report.html").exists()

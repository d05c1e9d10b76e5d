"""Glyph checks, CJK fallback fonts and stand-in labels of the report figures."""

import logging

import numpy as np
import pytest

from tests.reporting.synthetic_runs import make_run_view
from vertical_tune.evaluation import fonts
from vertical_tune.reporting import figures, render_html, write_report

LATIN_ONLY = ["DejaVu Sans"]
MATRIX = np.array([[5, 1], [2, 7]])


@pytest.fixture
def no_cjk_font(monkeypatch):
    """Make the figures see no CJK font, whatever this machine has installed."""
    monkeypatch.setattr(fonts, "installed_cjk_families", lambda: [])


@pytest.fixture(scope="module")
def sentiment_run():
    return make_run_view("reviews", ["正面", "负面"], rows=120, history=False)


def test_ascii_text_drawable():
    assert fonts.missing_characters("macro_f1 (AUC 0.912)", LATIN_ONLY) == []
    assert fonts.can_draw("accuracy", LATIN_ONLY)


def test_cjk_text_missing_from_latin_font():
    assert fonts.missing_characters("正面 正面", LATIN_ONLY) == ["正", "面"]
    assert not fonts.can_draw("负面", LATIN_ONLY)


def test_line_breaks_never_missing():
    assert fonts.missing_characters("a\nb", LATIN_ONLY) == []


def test_unknown_family_skipped():
    assert fonts.missing_characters("abc", ["No Such Font Family", "DejaVu Sans"]) == []


def test_installed_cjk_font_draws_cjk():
    installed = fonts.installed_cjk_families()
    if not installed:
        pytest.skip("No CJK font installed; Debian's fonts-noto-cjk provides one.")

    assert fonts.can_draw("正面", LATIN_ONLY + installed[:1])


def test_fallback_list_adds_installed_cjk(monkeypatch):
    monkeypatch.setattr(fonts, "installed_cjk_families", lambda: ["Noto Sans CJK SC"])

    assert fonts.font_families()[-1] == "Noto Sans CJK SC"


def test_stand_ins_for_cjk_labels():
    assert fonts.label_stand_ins(["正面", "负面"], LATIN_ONLY) == {"正面": "class 0", "负面": "class 1"}
    assert fonts.figure_labels(["利率", "equity"], LATIN_ONLY) == ["class 0", "equity"]


def test_stand_ins_avoid_label_clash():
    assert fonts.figure_labels(["利率", "class 0"], LATIN_ONLY) == ["class 0", "class 1"]


def test_no_stand_ins_for_ascii_labels():
    assert fonts.label_stand_ins(["negative", "positive"], LATIN_ONLY) == {}


def test_figures_use_stand_ins(no_cjk_font):
    chinese = figures.confusion_heatmaps(MATRIX, ["正面", "负面"])
    stand_ins = figures.confusion_heatmaps(MATRIX, ["class 0", "class 1"])

    assert chinese == stand_ins


def test_curve_figures_use_stand_ins(no_cjk_font, sentiment_run):
    arguments = (sentiment_run["y_true"], sentiment_run["probabilities"])
    chinese, stand_ins = ["正面", "负面"], ["class 0", "class 1"]

    assert figures.roc_curves(*arguments, chinese) == figures.roc_curves(*arguments, stand_ins)
    assert figures.pr_curves(*arguments, chinese) == figures.pr_curves(*arguments, stand_ins)


def test_ascii_figures_unchanged(no_cjk_font):
    named = figures.confusion_heatmaps(MATRIX, ["negative", "positive"])
    stand_ins = figures.confusion_heatmaps(MATRIX, ["class 0", "class 1"])

    assert named != stand_ins


def test_html_lists_stand_ins(no_cjk_font, sentiment_run):
    document = render_html([sentiment_run])

    assert document.count("class 0 = 正面, class 1 = 负面") == 2
    assert 'class="note label-key"' in document


def test_html_without_stand_ins(no_cjk_font):
    document = render_html([make_run_view("reviews", ["positive", "negative"], rows=120, history=False)])

    assert "label-key" not in document
    assert "stand-ins" not in document


def test_markdown_lists_stand_ins(no_cjk_font, sentiment_run, tmp_path):
    markdown = write_report([sentiment_run], tmp_path, formats=("md",))["md"].read_text("utf-8")

    assert markdown.count("class 0 = 正面, class 1 = 负面") == 2


def test_one_warning_names_characters(no_cjk_font, sentiment_run, caplog):
    with caplog.at_level(logging.WARNING, logger=fonts.__name__):
        render_html([sentiment_run, sentiment_run])

    warnings = [record.getMessage() for record in caplog.records if "stand-ins" in record.getMessage()]
    assert len(warnings) == 1
    assert "正 面 负" in warnings[0]
    assert "fonts-noto-cjk" in warnings[0]


def test_no_warning_for_ascii_labels(no_cjk_font, caplog):
    with caplog.at_level(logging.WARNING, logger=fonts.__name__):
        render_html([make_run_view("reviews", ["positive", "negative"], rows=120, history=False)])

    assert caplog.records == []


def test_pdf_key_gives_code_points(no_cjk_font, sentiment_run, tmp_path):
    from vertical_tune.reporting.html import build_contexts
    from vertical_tune.reporting.pdf import _document_blocks

    contexts, comparison = build_contexts([sentiment_run])
    texts = [block[1] for block in _document_blocks(contexts, comparison, "t") if block[0] == "text"]

    assert any("class 0 = 正面 (U+6B63 U+9762)" in text for text in texts)

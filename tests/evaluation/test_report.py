import json
import os
import warnings

import numpy as np
import pytest
from rich.console import Console
from rich.table import Table

from vertical_tune.errors import RunError
from vertical_tune.evaluation import _io
from vertical_tune.evaluation.metrics import UndefinedAUCWarning, classification_metrics
from vertical_tune.evaluation.report import EvaluationReport

LABELS = ["fraud", "legit", "review"]
Y_TRUE = [0, 0, 1, 1, 1, 2, 2, 0]
PROBABILITIES = [
    [0.7, 0.2, 0.1],
    [0.3, 0.6, 0.1],
    [0.1, 0.8, 0.1],
    [0.2, 0.7, 0.1],
    [0.1, 0.3, 0.6],
    [0.2, 0.2, 0.6],
    [0.5, 0.1, 0.4],
    [0.6, 0.3, 0.1],
]
# Rows are true labels: fraud -> [2, 1, 0], legit -> [0, 2, 1], review -> [1, 0, 1].
EXPECTED_MATRIX = [[2, 1, 0], [0, 2, 1], [1, 0, 1]]


@pytest.fixture
def report():
    return EvaluationReport.from_predictions(
        Y_TRUE, PROBABILITIES, LABELS, title="Card fraud", metadata={"backbone": "minilm"}
    )


def save_quietly(report, directory):
    """Save, ignoring matplotlib's missing-glyph warnings on machines without CJK fonts."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        return report.save(directory)


def test_matrix_fixture_matches_metrics(report):
    assert report["confusion_matrix"] == EXPECTED_MATRIX


def test_getitem_returns_top_level_metric(report):
    metrics = classification_metrics(Y_TRUE, PROBABILITIES, LABELS)

    assert report["macro_f1"] == metrics["macro_f1"]
    assert report["n_examples"] == 8
    assert report["per_class"]["legit"]["support"] == 3


def test_getitem_unknown_key_lists_metrics(report):
    with pytest.raises(KeyError) as error:
        report["f1_macro"]

    assert "f1_macro" in str(error.value)
    assert "macro_f1" in str(error.value)


def test_to_dict_contains_metrics_and_metadata(report):
    data = report.to_dict()

    assert data["accuracy"] == report["accuracy"]
    assert data["labels"] == LABELS
    assert data["metadata"] == {"backbone": "minilm"}
    assert data["title"] == "Card fraud"
    assert data["baselines"] == {}


def test_to_dict_is_a_copy(report):
    data = report.to_dict()
    data["per_class"]["fraud"]["f1"] = -1.0

    assert report["per_class"]["fraud"]["f1"] != -1.0


def test_markdown_summary_table(report):
    markdown = report.to_markdown()

    assert markdown.startswith("# Card fraud\n")
    assert "- backbone: minilm" in markdown
    assert "## Summary" in markdown
    assert f"| Accuracy | {report['accuracy']:.4f} |" in markdown
    assert f"| Macro F1 | {report['macro_f1']:.4f} |" in markdown
    assert f"| Weighted F1 | {report['weighted_f1']:.4f} |" in markdown
    assert f"| ROC-AUC | {report['roc_auc']:.4f} |" in markdown
    assert f"| PR-AUC | {report['pr_auc']:.4f} |" in markdown
    assert "| Examples | 8 |" in markdown


def test_markdown_per_class_table(report):
    markdown = report.to_markdown()
    legit = report["per_class"]["legit"]

    assert "## Per class" in markdown
    assert "| Label | Precision | Recall | F1 | Support | ROC-AUC | PR-AUC |" in markdown
    expected_row = (
        f"| legit | {legit['precision']:.4f} | {legit['recall']:.4f} | {legit['f1']:.4f} | 3 "
        f"| {legit['roc_auc']:.4f} | {legit['pr_auc']:.4f} |"
    )
    assert expected_row in markdown


def test_markdown_confusion_matrix_counts(report):
    markdown = report.to_markdown()

    assert "## Confusion matrix" in markdown
    assert "Rows are true labels and columns are predicted labels." in markdown
    assert "| True \\\\ Predicted | fraud | legit | review |" in markdown
    assert "| fraud | 2 | 1 | 0 |" in markdown
    assert "| legit | 0 | 2 | 1 |" in markdown
    assert "| review | 1 | 0 | 1 |" in markdown


def test_markdown_shows_none_as_na():
    with pytest.warns(UndefinedAUCWarning):
        report = EvaluationReport.from_predictions([0, 0, 2], PROBABILITIES[:3], LABELS)

    markdown = report.to_markdown()

    assert "| legit | 0.0000 | 0.0000 | 0.0000 | 0 | n/a | n/a |" in markdown


def test_markdown_escapes_table_characters():
    labels = ["a|b", "<b>bold</b>"]
    report = EvaluationReport.from_predictions([0, 1], [[0.9, 0.1], [0.2, 0.8]], labels)

    markdown = report.to_markdown()

    assert "| a\\|b | 1 | 0 |" in markdown
    assert "\\<b\\>bold\\</b\\>" in markdown
    assert "<b>" not in markdown
    assert "binary ROC-AUC of '\\<b\\>bold\\</b\\>'" in markdown


def test_baselines_table_in_markdown(report):
    with_baseline = EvaluationReport(
        report.to_dict(),
        LABELS,
        baselines={"tfidf_logreg": {"accuracy": np.float64(0.5), "macro_f1": 0.25}},
    )

    markdown = with_baseline.to_markdown()

    assert "## Compared with" in markdown
    assert "| Metric | this model | tfidf\\_logreg |" in markdown
    assert f"| Accuracy | {report['accuracy']:.4f} | 0.5000 |" in markdown
    assert f"| Macro F1 | {report['macro_f1']:.4f} | 0.2500 |" in markdown
    assert type(with_baseline.baselines["tfidf_logreg"]["accuracy"]) is float


def test_baseline_from_full_metrics(report):
    baseline = classification_metrics(Y_TRUE, np.full((8, 3), 1 / 3), LABELS)

    with_baseline = EvaluationReport(report.to_dict(), baselines={"uniform": baseline})
    markdown = with_baseline.to_markdown()

    assert "per_class" not in with_baseline.baselines["uniform"]
    assert with_baseline.baselines["uniform"]["macro_f1"] == baseline["macro_f1"]
    assert "| Metric | this model | uniform |" in markdown
    assert "| Examples | 8 | 8 |" in markdown
    assert f"| Accuracy | {report['accuracy']:.4f} | {baseline['accuracy']:.4f} |" in markdown


def test_no_baselines_no_comparison(report):
    assert "Compared with" not in report.to_markdown()


def test_invalid_baseline_value_raises(report):
    with pytest.raises(ValueError, match="tfidf"):
        EvaluationReport(report.to_dict(), baselines={"tfidf": {"accuracy": "high"}})
    with pytest.raises(ValueError, match="must map metric names"):
        EvaluationReport(report.to_dict(), baselines={"tfidf": 0.5})


def test_binary_summary_names_positive_class():
    report = EvaluationReport.from_predictions([0, 1], [[0.9, 0.1], [0.2, 0.8]], ["legit", "fraud"])

    assert "binary ROC-AUC of 'fraud'" in report.to_markdown()


def test_str_is_plain_text(report):
    text = str(report)

    assert text.startswith("Card fraud\n==========")
    assert "Per class" in text
    assert "|" not in text
    assert "fraud                 2      1       0" in text.splitlines()


def test_str_aligns_wide_characters():
    report = EvaluationReport.from_predictions([0, 1], [[0.9, 0.1], [0.2, 0.8]], ["欺诈", "正常交易"])

    lines = str(report).splitlines()
    header = next(line for line in lines if line.startswith("True \\ Predicted"))
    matrix_row = [line for line in lines if line.startswith("欺诈 ")][-1]

    assert header == "True \\ Predicted  欺诈  正常交易"
    assert matrix_row == "欺诈                 1         0"


def test_repr_is_short(report):
    text = repr(report)

    assert text.startswith("EvaluationReport(title='Card fraud'")
    assert "macro_f1=" in text
    assert "\n" not in text


def test_html_escapes_label_names():
    labels = ["<b>vip</b>", "normal & co"]
    report = EvaluationReport.from_predictions(
        [0, 1], [[0.9, 0.1], [0.2, 0.8]], labels, title="<i>t</i>", metadata={"data": "<x>"}
    )

    html_text = report._repr_html_()

    assert "&lt;b&gt;vip&lt;/b&gt;" in html_text
    assert "<b>" not in html_text
    assert "normal &amp; co" in html_text
    assert "&lt;i&gt;t&lt;/i&gt;" in html_text
    assert "&lt;x&gt;" in html_text
    assert html_text.count("<table>") == 3


def test_rich_tables_render(report):
    tables = report.rich_tables()
    console = Console(record=True, width=120)
    for table in tables:
        console.print(table)
    output = console.export_text()

    assert len(tables) == 3
    assert all(isinstance(table, Table) for table in tables)
    assert [str(table.title) for table in tables] == ["Summary", "Per class", "Confusion matrix"]
    assert "review" in output
    assert f"{report['macro_f1']:.4f}" in output


def test_rich_tables_keep_markup_literal():
    report = EvaluationReport.from_predictions([0, 1], [[0.9, 0.1], [0.2, 0.8]], ["[bold]x", "y"])
    console = Console(record=True, width=120)
    for table in report.rich_tables():
        console.print(table)

    assert "[bold]x" in console.export_text()


def test_save_writes_three_files(report, tmp_path):
    directory = save_quietly(report, tmp_path / "evaluation")

    assert sorted(os.listdir(directory)) == ["confusion_matrix.png", "metrics.json", "report.md"]
    assert (directory / "report.md").read_text(encoding="utf-8") == report.to_markdown()
    png = (directory / "confusion_matrix.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 1000


def test_save_load_round_trip(tmp_path):
    report = EvaluationReport.from_predictions(
        Y_TRUE,
        PROBABILITIES,
        LABELS,
        title="Card fraud",
        metadata={"backbone": "minilm"},
        baselines={"tfidf_logreg": {"macro_f1": 0.5}},
    )
    save_quietly(report, tmp_path)

    loaded = EvaluationReport.load(tmp_path)

    assert loaded.to_dict() == report.to_dict()
    assert loaded.title == "Card fraud"
    assert loaded.metadata == {"backbone": "minilm"}
    assert loaded.baselines == {"tfidf_logreg": {"macro_f1": 0.5}}
    assert loaded.to_markdown() == report.to_markdown()


def test_saved_json_keeps_chinese_readable(tmp_path):
    labels = ["欺诈", "正常"]
    report = EvaluationReport.from_predictions([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], labels)

    save_quietly(report, tmp_path)
    raw = (tmp_path / "metrics.json").read_bytes()

    assert "欺诈".encode("utf-8") in raw
    assert b"\\u" not in raw
    assert json.loads(raw.decode("utf-8"))["labels"] == labels
    assert EvaluationReport.load(tmp_path).label_names == labels
    assert "| 欺诈 | 1 | 0 |" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_saved_json_is_indented(report, tmp_path):
    save_quietly(report, tmp_path)

    text = (tmp_path / "metrics.json").read_text(encoding="utf-8")

    assert text.startswith('{\n  "n_examples": 8,')
    assert text.endswith("}\n")


def test_save_converts_metadata_values(tmp_path):
    report = EvaluationReport.from_predictions(
        [0, 1],
        [[0.9, 0.1], [0.2, 0.8]],
        ["a", "b"],
        metadata={"run_dir": tmp_path / "run", "seed": np.int64(3)},
    )

    save_quietly(report, tmp_path)
    metadata = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))["metadata"]

    assert metadata == {"run_dir": str(tmp_path / "run"), "seed": 3}


def test_save_leaves_no_temporary_files(report, tmp_path, monkeypatch):
    save_quietly(report, tmp_path)
    before = (tmp_path / "metrics.json").read_bytes()

    def fail_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(_io.os, "replace", fail_replace)
    with pytest.raises(OSError, match="disk full"):
        save_quietly(report, tmp_path)

    assert sorted(os.listdir(tmp_path)) == ["confusion_matrix.png", "metrics.json", "report.md"]
    assert (tmp_path / "metrics.json").read_bytes() == before


def test_load_missing_file_raises_run_error(tmp_path):
    with pytest.raises(RunError) as error:
        EvaluationReport.load(tmp_path)

    assert "metrics.json" in str(error.value)


def test_load_invalid_json_raises_run_error(tmp_path):
    (tmp_path / "metrics.json").write_text('{"accuracy": 0.5,', encoding="utf-8")

    with pytest.raises(RunError) as error:
        EvaluationReport.load(tmp_path)

    assert "not valid JSON" in str(error.value)
    assert "line 1" in str(error.value)


def test_load_incomplete_metrics_raises_run_error(tmp_path):
    (tmp_path / "metrics.json").write_text('{"accuracy": 0.5}', encoding="utf-8")

    with pytest.raises(RunError, match="macro_f1"):
        EvaluationReport.load(tmp_path)


def test_label_names_must_match_metrics(report):
    with pytest.raises(ValueError) as error:
        EvaluationReport(report.to_dict(), ["a", "b", "c"])

    assert "['fraud', 'legit', 'review']" in str(error.value)


def test_label_names_default_to_metrics(report):
    rebuilt = EvaluationReport(report.to_dict())

    assert rebuilt.label_names == LABELS

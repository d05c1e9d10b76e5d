import json
import warnings

import numpy as np
import pytest
from rich.console import Console
from rich.table import Table

from vertical_tune.errors import RunError
from vertical_tune.evaluation.metrics import UndefinedAUCWarning, classification_metrics
from vertical_tune.evaluation.multitask_report import MultiTaskReport
from vertical_tune.evaluation.report import EvaluationReport
from vertical_tune.evaluation.task_metrics import multilabel_metrics, regression_metrics

SENTIMENT_LABELS = ["negative", "neutral", "positive"]
TOPIC_LABELS = ["billing", "delivery", "quality"]
SELECTION = {
    "metric": "mean",
    "value": 0.71,
    "per_task": {"sentiment": {"metric": "macro_f1", "value": 0.6}, "price": {"metric": "mae", "value": 0.25}},
}


def build_tasks():
    """Return one task of each type, with metrics from the real metric functions."""
    sentiment = classification_metrics(
        [0, 1, 2, 2, 1],
        [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3], [0.2, 0.6, 0.2]],
        SENTIMENT_LABELS,
    )
    urgent = classification_metrics([0, 1, 1, 0], [[0.8, 0.2], [0.4, 0.6], [0.7, 0.3], [0.9, 0.1]], ["no", "yes"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAUCWarning)
        topics = multilabel_metrics(
            [[1, 0, 1], [0, 1, 1], [1, 1, 1]],
            [[0.9, 0.2, 0.6], [0.4, 0.7, 0.8], [0.6, 0.3, 0.9]],
            TOPIC_LABELS,
        )
    price = regression_metrics([10.0, 12.5, 9.0, 11.0], [10.5, 12.0, 9.5, 10.0])
    return {
        "sentiment": {"type": "multiclass", "metrics": sentiment, "labels": SENTIMENT_LABELS, "n_unlabelled": 3},
        "urgent": {"type": "binary", "metrics": urgent, "labels": ["no", "yes"], "n_unlabelled": 0},
        "topics": {"type": "multilabel", "metrics": topics, "labels": TOPIC_LABELS, "n_unlabelled": 1},
        "price": {"type": "regression", "metrics": price, "labels": None, "n_unlabelled": 7},
    }


@pytest.fixture
def report():
    return MultiTaskReport(
        build_tasks(), title="Support tickets", metadata={"data": "tickets.csv"}, selection=SELECTION
    )


def save_quietly(report, directory):
    """Save, ignoring matplotlib's missing-glyph warnings on machines without CJK fonts."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        return report.save(directory)


def test_getitem_returns_task_metrics(report):
    tasks = build_tasks()

    assert report.task_names == ["sentiment", "urgent", "topics", "price"]
    assert report["sentiment"] == tasks["sentiment"]["metrics"]
    assert report["price"]["mae"] == tasks["price"]["metrics"]["mae"]
    assert report.task("topics") == tasks["topics"]["metrics"]


def test_getitem_returns_copy(report):
    report["sentiment"]["macro_f1"] = -1.0

    assert report["sentiment"]["macro_f1"] != -1.0


def test_getitem_unknown_task_lists_tasks(report):
    with pytest.raises(KeyError) as error:
        report["sentimnet"]

    message = str(error.value)
    assert "'sentimnet' is not a task of this report" in message
    assert "sentiment, urgent, topics, price" in message


def test_classification_report_of_multiclass_task(report):
    single = report.classification_report("sentiment")

    assert isinstance(single, EvaluationReport)
    assert single["macro_f1"] == report["sentiment"]["macro_f1"]
    assert single.label_names == SENTIMENT_LABELS
    assert single.metadata == {"data": "tickets.csv"}


def test_classification_report_rejects_regression(report):
    with pytest.raises(ValueError) as error:
        report.classification_report("price")

    assert "is a regression task" in str(error.value)
    assert "['sentiment', 'urgent']" in str(error.value)


def test_to_dict_layout(report):
    data = report.to_dict()

    assert data["title"] == "Support tickets"
    assert data["metadata"] == {"data": "tickets.csv"}
    assert data["selection"] == SELECTION
    assert list(data["tasks"]) == ["sentiment", "urgent", "topics", "price"]
    assert data["tasks"]["price"] == {
        "type": "regression",
        "labels": None,
        "n_unlabelled": 7,
        "metrics": build_tasks()["price"]["metrics"],
    }
    assert json.loads(json.dumps(data, allow_nan=False)) == data


def test_save_load_round_trip(report, tmp_path):
    directory = save_quietly(report, tmp_path / "evaluation")
    loaded = MultiTaskReport.load(directory)

    assert directory == tmp_path / "evaluation"
    assert loaded == report
    assert loaded.to_dict() == report.to_dict()
    assert json.loads((directory / "metrics.json").read_text(encoding="utf-8")) == report.to_dict()
    assert (directory / "report.md").read_text(encoding="utf-8") == report.to_markdown()


def test_save_writes_png_for_classification_only(report, tmp_path):
    directory = save_quietly(report, tmp_path)
    pngs = sorted(path.name for path in directory.glob("*.png"))

    assert pngs == ["confusion_matrix_sentiment.png", "confusion_matrix_urgent.png"]
    for name in pngs:
        assert (directory / name).read_bytes().startswith(b"\x89PNG")


def test_save_png_names_sanitized(tmp_path):
    sentiment = build_tasks()["sentiment"]
    report = MultiTaskReport({"a/b": sentiment, "a b": sentiment})

    pngs = sorted(path.name for path in save_quietly(report, tmp_path).glob("*.png"))

    assert pngs == ["confusion_matrix_a_b.png", "confusion_matrix_a_b_2.png"]


def test_markdown_has_section_per_task(report):
    markdown = report.to_markdown()

    assert markdown.startswith("# Support tickets\n")
    assert "- data: tickets.csv" in markdown
    assert "Selection: mean = 0.7100 (sentiment: macro\\_f1 = 0.6000, price: mae = 0.2500)" in markdown
    for heading in (
        "## Task: sentiment (multiclass)",
        "## Task: urgent (binary)",
        "## Task: topics (multilabel)",
        "## Task: price (regression)",
    ):
        assert heading in markdown


def test_markdown_states_unlabelled_counts(report):
    markdown = report.to_markdown()

    assert "Excluded 3 rows whose label for this task is blank." in markdown
    assert "Excluded 0 rows whose label for this task is blank." in markdown
    assert "Excluded 1 row whose label for this task is blank." in markdown
    assert "Excluded 7 rows whose label for this task is blank." in markdown


def test_markdown_reuses_classification_report(report):
    markdown = report.to_markdown()
    single = EvaluationReport(report["sentiment"], SENTIMENT_LABELS).to_markdown()
    # The single-task tables, one heading level down.
    tables = single.split("\n\n", 1)[1].replace("## ", "### ")

    assert tables in markdown
    assert "\n## Summary" not in markdown


def test_markdown_multilabel_tables(report):
    markdown = report.to_markdown()
    topics = report["topics"]
    billing = topics["per_label"]["billing"]

    assert "### Per label" in markdown
    assert f"| Subset accuracy | {topics['subset_accuracy']:.4f} |" in markdown
    assert f"| Micro F1 | {topics['micro_f1']:.4f} |" in markdown
    assert f"| Samples F1 | {topics['samples_f1']:.4f} |" in markdown
    billing_row = (
        f"| billing | {billing['precision']:.4f} | {billing['recall']:.4f} | {billing['f1']:.4f} | 2 "
        f"| {billing['roc_auc']:.4f} |"
    )
    assert billing_row in markdown
    # Every row is positive for "quality", so its ROC-AUC is undefined.
    assert "| quality | 1.0000 | 1.0000 | 1.0000 | 3 | n/a |" in markdown


def test_markdown_regression_table(report):
    markdown = report.to_markdown()
    price = report["price"]

    assert f"| MAE | {price['mae']:.4f} |" in markdown
    assert f"| RMSE | {price['rmse']:.4f} |" in markdown
    assert f"| R² | {price['r2']:.4f} |" in markdown
    assert f"| Spearman | {price['spearman']:.4f} |" in markdown
    assert "| Examples | 4 |" in markdown


def test_str_is_plain_text(report):
    text = str(report)

    assert text.startswith("Support tickets\n===============")
    assert "Task: topics (multilabel)" in text
    assert "Excluded 7 rows whose label for this task is blank." in text
    assert "|" not in text


def test_html_escapes_text():
    tasks = build_tasks()
    report = MultiTaskReport({"<b>price</b>": tasks["price"]}, title="A & B")

    html = report._repr_html_()

    assert "<h2>A &amp; B</h2>" in html
    assert "&lt;b&gt;price&lt;/b&gt;" in html
    assert "<b>price</b>" not in html


def test_rich_tables_render_with_task_names(report):
    tables = report.rich_tables()
    console = Console(record=True, width=120)
    for table in tables:
        console.print(table)
    output = console.export_text()

    assert all(isinstance(table, Table) for table in tables)
    titles = [str(table.title) for table in tables]
    for name in report.task_names:
        assert any(title.startswith(f"{name}: ") for title in titles)
    assert "sentiment: Confusion matrix" in titles
    assert "topics: Per label" in titles
    assert "price: Regression metrics" in titles
    assert "Excluded 7 rows" in output


def test_task_without_labelled_rows():
    tasks = build_tasks()
    tasks["sentiment"] = {"type": "multiclass", "metrics": None, "labels": SENTIMENT_LABELS, "n_unlabelled": 5}
    report = MultiTaskReport(tasks)

    assert report["sentiment"] is None
    assert "No row has a label for this task" in report.to_markdown()
    with pytest.raises(ValueError, match="has no labelled rows"):
        report.classification_report("sentiment")


def test_selection_nan_value_stored_as_none():
    report = MultiTaskReport(build_tasks(), selection={"metric": "mean", "value": np.float64("nan")})

    assert report.selection == {"metric": "mean", "value": None}
    assert "Selection: mean = n/a" in report.to_markdown()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda tasks: tasks["price"].update(type="ordinal"), "['type'] is invalid"),
        (lambda tasks: tasks["price"].pop("n_unlabelled"), "exactly the keys"),
        (lambda tasks: tasks["price"].update(n_unlabelled=-1), "must be an int >= 0"),
        (lambda tasks: tasks["price"].update(labels=["price"]), "must be None for a regression task"),
        (lambda tasks: tasks["price"]["metrics"].pop("rmse"), "lacks the keys ['rmse']"),
        (lambda tasks: tasks["topics"].update(labels=["a", "b", "c"]), "differs from the labels"),
        (lambda tasks: tasks["sentiment"].update(labels=["a", "b", "c"]), "invalid classification metrics"),
        (lambda tasks: tasks["sentiment"].update(type="binary"), "must have exactly 2 labels"),
    ],
)
def test_invalid_task_raises(change, message):
    tasks = build_tasks()
    change(tasks)

    with pytest.raises(ValueError) as error:
        MultiTaskReport(tasks)

    assert message in str(error.value)


def test_selection_unknown_task_raises():
    selection = {"metric": "mean", "value": 0.5, "per_task": {"colour": {"metric": "macro_f1", "value": 0.5}}}

    with pytest.raises(ValueError, match="task names of this report"):
        MultiTaskReport(build_tasks(), selection=selection)


def test_load_missing_file_raises_run_error(tmp_path):
    with pytest.raises(RunError) as error:
        MultiTaskReport.load(tmp_path)

    message = str(error.value)
    assert str(tmp_path / "metrics.json") in message
    assert "MultiTaskReport.save" in message


def test_load_invalid_json_raises_run_error(tmp_path):
    (tmp_path / "metrics.json").write_text('{"tasks": {', encoding="utf-8")

    with pytest.raises(RunError) as error:
        MultiTaskReport.load(tmp_path)

    assert "not valid JSON" in str(error.value)
    assert "line 1" in str(error.value)
    assert "evaluate the model again" in str(error.value)


def test_load_single_task_report_rejected(tmp_path):
    single = EvaluationReport(build_tasks()["sentiment"]["metrics"])
    save_quietly(single, tmp_path)

    with pytest.raises(RunError) as error:
        MultiTaskReport.load(tmp_path)

    assert "no 'tasks' key" in str(error.value)
    assert "EvaluationReport.load" in str(error.value)


def test_load_invalid_task_raises_run_error(report, tmp_path):
    data = report.to_dict()
    del data["tasks"]["price"]["metrics"]["mae"]
    (tmp_path / "metrics.json").write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(RunError) as error:
        MultiTaskReport.load(tmp_path)

    message = str(error.value)
    assert "does not describe a valid multi-task report" in message
    assert str(tmp_path / "metrics.json") in message
    assert "lacks the keys ['mae']" in message

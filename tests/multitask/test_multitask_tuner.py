"""`MultiTaskTuner` end to end on the tiny backbone: every task type, masking, save and load, errors."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score
from sklearn.utils.class_weight import compute_class_weight

from tests.multitask.conftest import ALL_TASKS, blank_every_other, review_frame, tuner_settings
from vertical_tune import FineTuner, load
from vertical_tune.errors import ConfigError, DataError
from vertical_tune.multitask_tuner import MultiTaskTuner

TASK_NAMES = [task["name"] for task in ALL_TASKS]
EPOCHS = 2


def training_frame():
    # Half of the sentiment labels are blank, so that task trains on the other half only.
    return blank_every_other(review_frame(12, seed=0), "label")


def validation_frame():
    frame = blank_every_other(review_frame(6, seed=1), "label", start=1)
    frame.loc[frame.index[::3], "score"] = ""
    frame.loc[frame.index[1], "topics"] = ""
    return frame


@pytest.fixture(scope="module")
def trained(tiny_preset, tmp_path_factory):
    """A model with one task of each type, trained with uncertainty weighting and saved."""
    run_dir = tmp_path_factory.mktemp("runs") / "multitask"
    tuner = FineTuner.from_preset(
        "retail",
        **tuner_settings(tiny_preset, run_dir, epochs=EPOCHS, multitask={"loss_balancing": "uncertainty"}),
    )
    tuner.fit(training_frame(), validation_frame(), review_frame(3, seed=2), verbose=0)
    tuner.save()
    return tuner, run_dir


@pytest.fixture(scope="module")
def reloaded(trained):
    _, run_dir = trained
    return load(run_dir)


@pytest.fixture(scope="module")
def evaluation(trained):
    """The report of `evaluate` on the validation frame, and `predict` on its texts."""
    tuner, _ = trained
    frame = validation_frame()
    return frame, tuner.evaluate(frame), tuner.predict(frame["text"])


def test_config_with_tasks_gives_multitask_tuner(trained):
    tuner, _ = trained

    assert isinstance(tuner, MultiTaskTuner)


def test_every_task_type_gets_a_head(trained):
    tuner, _ = trained
    tasks = tuner.summary()["tasks"]

    assert [(task["name"], task["type"]) for task in tasks] == [
        ("sentiment", "multiclass"),
        ("positive", "binary"),
        ("topics", "multilabel"),
        ("cues", "multilabel"),
        ("score", "regression"),
    ]
    assert tasks[0]["labels"] == ["negative", "neutral", "positive"]
    assert tasks[1]["labels"] == ["no", "yes"]
    assert tasks[2]["labels"] == ["calm", "downbeat", "market", "upbeat"]
    assert tasks[3]["labels"] == ["has_good", "has_bad"]
    assert tasks[4]["labels"] is None


def test_task_settings_reach_the_heads(trained):
    tuner, _ = trained
    heads = {head["name"]: head for head in tuner.model.heads}
    positive = training_frame()["is_positive"]
    expected = compute_class_weight("balanced", classes=np.array(["no", "yes"]), y=positive)

    assert heads["sentiment"]["focal_gamma"] == 2.0
    assert heads["sentiment"]["class_weights"] is None
    np.testing.assert_allclose(heads["positive"]["class_weights"], expected, rtol=1e-6)
    assert heads["score"]["loss_weight"] == 0.5
    assert heads["score"]["mean"] == pytest.approx(training_frame()["score"].astype(float).mean())
    assert heads["cues"]["units"] == 2


def test_blank_labels_train_other_tasks(trained):
    tuner, _ = trained
    train = tuner.data_summary["train"]

    assert train["rows"] == 36
    assert train["tasks"]["sentiment"] == {
        "labelled_rows": 18,
        "unlabelled_rows": 18,
        "label_counts": train["tasks"]["sentiment"]["label_counts"],
    }
    assert sum(train["tasks"]["sentiment"]["label_counts"].values()) == 18
    assert train["tasks"]["positive"]["labelled_rows"] == 36


def test_masked_classification_metrics_match_sklearn(evaluation):
    frame, report, predictions = evaluation
    labelled = (frame["label"] != "").to_numpy()
    y_true = frame["label"][labelled]
    y_pred = predictions["sentiment_label"][labelled]
    names = ["negative", "neutral", "positive"]

    metrics = report["sentiment"]

    assert metrics["n_examples"] == 9
    assert report.to_dict()["tasks"]["sentiment"]["n_unlabelled"] == 9
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert metrics["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=names, average="macro", zero_division=0))


def test_binary_metrics_match_sklearn(evaluation):
    frame, report, predictions = evaluation

    metrics = report["positive"]

    assert report.to_dict()["tasks"]["positive"]["n_unlabelled"] == 0
    assert metrics["macro_f1"] == pytest.approx(
        f1_score(frame["is_positive"], predictions["positive_label"], labels=["no", "yes"], average="macro", zero_division=0)
    )


def test_masked_regression_metrics_match_sklearn(evaluation):
    frame, report, predictions = evaluation
    labelled = (frame["score"] != "").to_numpy()
    y_true = frame["score"][labelled].astype(float)
    y_pred = predictions["score_value"][labelled]

    metrics = report["score"]

    assert metrics["n_examples"] == 12
    assert report.to_dict()["tasks"]["score"]["n_unlabelled"] == 6
    assert metrics["mae"] == pytest.approx(mean_absolute_error(y_true, y_pred), rel=1e-5)
    assert metrics["r2"] == pytest.approx(r2_score(y_true, y_pred), rel=1e-5)


def test_masked_multilabel_metrics_match_sklearn(evaluation):
    frame, report, predictions = evaluation
    names = ["calm", "downbeat", "market", "upbeat"]
    labelled = (frame["topics"] != "").to_numpy()
    y_true = np.array([[name in cell.split("|") for name in names] for cell in frame["topics"][labelled]], dtype=int)
    probabilities = predictions[[f"topics_prob_{name}" for name in names]].to_numpy()[labelled]

    metrics = report["topics"]

    assert report.to_dict()["tasks"]["topics"]["n_unlabelled"] == 1
    assert metrics["n_examples"] == 17
    assert metrics["micro_f1"] == pytest.approx(f1_score(y_true, probabilities >= 0.5, average="micro", zero_division=0))
    assert metrics["macro_f1"] == pytest.approx(f1_score(y_true, probabilities >= 0.5, average="macro", zero_division=0))


def test_predict_has_column_group_per_task(trained):
    tuner, _ = trained

    predictions = tuner.predict(["good great stock", "bad poor loss"])

    assert list(predictions.columns) == [
        "text",
        "sentiment_label",
        "sentiment_confidence",
        "sentiment_prob_negative",
        "sentiment_prob_neutral",
        "sentiment_prob_positive",
        "positive_label",
        "positive_confidence",
        "positive_prob_no",
        "positive_prob_yes",
        "topics_labels",
        "topics_prob_calm",
        "topics_prob_downbeat",
        "topics_prob_market",
        "topics_prob_upbeat",
        "cues_labels",
        "cues_prob_has_good",
        "cues_prob_has_bad",
        "score_value",
    ]
    probabilities = predictions[["sentiment_prob_negative", "sentiment_prob_neutral", "sentiment_prob_positive"]]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert set(predictions["sentiment_label"]) <= {"negative", "neutral", "positive"}


def test_multilabel_labels_over_threshold(trained):
    tuner, _ = trained

    predictions = tuner.predict(["good great stock", "report today", "bad poor loss"])

    for _, row in predictions.iterrows():
        chosen = [name for name in ("calm", "downbeat", "market", "upbeat") if row[f"topics_prob_{name}"] >= 0.5]
        assert row["topics_labels"] == "|".join(chosen)


def test_predict_keeps_empty_texts_in_place(trained):
    tuner, _ = trained

    predictions = tuner.predict(pd.Series(["good great", None, "  ", float("nan"), "bad"]))

    assert len(predictions) == 5
    assert list(predictions["sentiment_label"] != "") == [True, False, False, False, True]
    assert list(predictions["topics_labels"].isin([""]))[1:4] == [True, True, True]
    assert predictions["score_value"].isna().tolist() == [False, True, True, True, False]
    assert predictions["cues_prob_has_good"].isna().tolist() == [False, True, True, True, False]


def test_predict_single_string_and_empty_list(trained):
    tuner, _ = trained

    single = tuner.predict("good great")
    empty = tuner.predict([])

    assert len(single) == 1
    assert len(empty) == 0
    assert list(empty.columns) == list(single.columns)


def test_predict_outputs_per_task_shapes(trained):
    tuner, _ = trained

    outputs = tuner.predict_outputs(["good", "bad", "fine"])

    assert outputs["sentiment"].shape == (3, 3)
    assert outputs["positive"].shape == (3, 2)
    assert outputs["topics"].shape == (3, 4)
    assert outputs["cues"].shape == (3, 2)
    assert outputs["score"].shape == (3,)


def test_load_returns_multitask_tuner(reloaded):
    assert isinstance(reloaded, MultiTaskTuner)
    assert [target.name for target in reloaded.targets] == TASK_NAMES


def test_save_load_predict_round_trip(trained, reloaded):
    tuner, _ = trained
    texts = ["good great stock", "", "bad poor loss", "report today price"]

    before, after = tuner.predict(texts), reloaded.predict(texts)

    assert list(after.columns) == list(before.columns)
    for column in before.columns:
        if pd.api.types.is_numeric_dtype(before[column]):
            np.testing.assert_allclose(after[column], before[column], atol=1e-5, err_msg=column)
        else:
            assert list(after[column]) == list(before[column]), column


def test_loaded_run_evaluates_like_original(trained, reloaded, evaluation):
    _, report, _ = evaluation

    again = reloaded.evaluate(validation_frame())

    for name in TASK_NAMES:
        assert again[name]["n_examples"] == report[name]["n_examples"], name
    assert again["sentiment"]["macro_f1"] == pytest.approx(report["sentiment"]["macro_f1"])
    assert again["score"]["mae"] == pytest.approx(report["score"]["mae"], rel=1e-5)


def test_run_directory_files(trained):
    _, run_dir = trained

    names = {path.name for path in run_dir.iterdir()}

    assert {"config.yaml", "label_map.json", "model.keras", "metrics.json", "history.json", "report.md"} <= names
    assert (run_dir / "validation" / "metrics.json").is_file()
    assert (run_dir / "test" / "metrics.json").is_file()
    assert (run_dir / "validation" / "confusion_matrix_sentiment.png").is_file()


def test_metrics_json_has_every_task(trained):
    _, run_dir = trained

    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))

    assert list(metrics["validation"]["tasks"]) == TASK_NAMES
    assert list(metrics["test"]["tasks"]) == TASK_NAMES
    assert metrics["validation"]["tasks"]["sentiment"]["n_unlabelled"] == 9
    assert metrics["validation"]["tasks"]["score"]["metrics"]["n_examples"] == 12
    assert [task["name"] for task in metrics["model"]["tasks"]] == TASK_NAMES
    assert metrics["data"]["train"]["tasks"]["sentiment"]["unlabelled_rows"] == 18
    assert len(metrics["training"]["loss_weights_per_epoch"]) == EPOCHS


def test_label_map_stores_each_task(trained):
    _, run_dir = trained

    saved = json.loads((run_dir / "label_map.json").read_text(encoding="utf-8"))["tasks"]

    assert [task["name"] for task in saved] == TASK_NAMES
    assert saved[4]["type"] == "regression"
    assert saved[4]["std"] > 0


def test_history_has_task_losses_and_weights(trained):
    tuner, run_dir = trained
    history = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))

    for name in TASK_NAMES:
        assert len(history[f"{name}_loss"]) == EPOCHS, name
        assert len(history[f"weight_{name}"]) == EPOCHS, name
    assert all(weight != 1.0 for weight in history["weight_sentiment"])
    assert history == tuner.training_result.history


def test_history_has_validation_metrics_per_task(trained):
    tuner, _ = trained
    history = tuner.training_result.history

    assert len(history["val_sentiment_macro_f1"]) == EPOCHS
    assert len(history["val_score_r2"]) == EPOCHS
    assert len(history["val_topics_micro_f1"]) == EPOCHS


def test_mean_selection_score_averages_task_metrics(trained):
    tuner, _ = trained
    history = tuner.training_result.history
    selected = ["val_sentiment_macro_f1", "val_positive_macro_f1", "val_topics_macro_f1", "val_cues_macro_f1", "val_score_r2"]

    expected = [np.mean([history[key][epoch] for key in selected]) for epoch in range(EPOCHS)]

    np.testing.assert_allclose(history["val_selection_score"], expected, rtol=1e-6)
    assert tuner.training_result.selection_metric == "mean"
    assert tuner.training_result.best_epoch == int(np.argmax(expected)) + 1


def test_report_markdown_names_every_task(trained):
    _, run_dir = trained

    report = (run_dir / "report.md").read_text(encoding="utf-8")

    for name in TASK_NAMES:
        assert f"`{name}`" in report, name
    assert "Loss balancing: `uncertainty`" in report


def test_selection_on_one_task_and_split(tiny_preset, tmp_path):
    tasks = [ALL_TASKS[0], ALL_TASKS[4]]
    settings = tuner_settings(tiny_preset, tmp_path / "run", tasks=tasks, epochs=2, multitask={"selection": "sentiment"})
    tuner = FineTuner.from_preset("retail", data={"split": {"validation": 0.25}}, **settings)

    # Without validation data, fit splits the training rows, stratified by the first
    # classification task with blank labels as a group of their own.
    result = tuner.fit(training_frame(), verbose=0)

    scores = result.history["val_sentiment_macro_f1"]
    assert result.selection_metric == "sentiment.macro_f1"
    assert result.history["val_selection_score"] == scores
    assert result.best_epoch == int(np.argmax(scores)) + 1
    assert result.best_validation["selection"]["score"] == pytest.approx(max(scores))
    assert not any(key.startswith("weight_") for key in result.history)
    assert result.loss_weights == [{"sentiment": 1.0, "score": 1.0}] * 2
    assert tuner.data_summary["validation"]["rows"] == 9
    assert tuner.data_summary["validation"]["tasks"]["sentiment"]["unlabelled_rows"] >= 1
    assert set(tuner.data_summary["validation"]["tasks"]["sentiment"]["label_counts"]) == {"negative", "neutral", "positive"}


def fit_error(tiny_preset, tmp_path, tasks, frame):
    tuner = FineTuner.from_preset("retail", **tuner_settings(tiny_preset, tmp_path / "run", tasks=tasks))
    with pytest.raises(DataError) as error:
        tuner.fit(frame, frame, verbose=0)
    return str(error.value)


def test_missing_column_names_task_and_suggests(tiny_preset, tmp_path):
    tasks = [{"name": "sentiment", "label_column": "label"}, {"name": "score", "type": "regression", "label_column": "scores"}]

    message = fit_error(tiny_preset, tmp_path, tasks, review_frame(2))

    assert "Column 'scores' not found" in message
    assert "tasks[1] (score).label_column" in message
    assert "Did you mean 'score'?" in message


def test_missing_indicator_column_names_task(tiny_preset, tmp_path):
    tasks = [{"name": "cues", "type": "multilabel", "label_columns": ["has_good", "has_ugly"]}]

    message = fit_error(tiny_preset, tmp_path, tasks, review_frame(2))

    assert "Column 'has_ugly' not found" in message
    assert "tasks[0] (cues).label_columns" in message


def test_regression_text_value_is_an_error(tiny_preset, tmp_path):
    frame = review_frame(2)
    frame.loc[3, "score"] = "n/a"

    message = fit_error(tiny_preset, tmp_path, [{"name": "score", "type": "regression", "label_column": "score"}], frame)

    assert "Task 'score'" in message
    assert "column 'score'" in message
    assert "'n/a'" in message
    assert "data row 3" in message


def test_multilabel_wrong_delimiter_is_an_error(tiny_preset, tmp_path):
    frame = review_frame(2)
    frame.loc[2, "topics"] = "calm;market"
    tasks = [
        {"name": "topics", "type": "multilabel", "label_column": "topics", "delimiter": "|",
         "labels": ["calm", "downbeat", "market", "upbeat"]},
    ]

    message = fit_error(tiny_preset, tmp_path, tasks, frame)

    assert "Task 'topics'" in message
    assert "column 'topics'" in message
    assert "'calm;market'" in message
    assert "separated by '|'" in message


def test_task_without_labels_is_an_error(tiny_preset, tmp_path):
    frame = review_frame(2).assign(label="")
    tasks = [{"name": "sentiment", "label_column": "label"}, {"name": "score", "type": "regression", "label_column": "score"}]

    message = fit_error(tiny_preset, tmp_path, tasks, frame)

    assert "Task 'sentiment' has no labelled row in the training data" in message
    assert "'label'" in message


def test_duplicate_task_names_fail_before_training(tiny_preset, tmp_path):
    tasks = [{"name": "sentiment", "label_column": "label"}, {"name": "sentiment", "label_column": "is_positive"}]

    with pytest.raises(ConfigError) as error:
        FineTuner.from_preset("retail", **tuner_settings(tiny_preset, tmp_path / "run", tasks=tasks))

    assert "'sentiment' appears more than once" in str(error.value)


def test_predict_before_fit_is_an_error(tiny_preset, tmp_path):
    tuner = FineTuner.from_preset("retail", **tuner_settings(tiny_preset, tmp_path / "run"))

    with pytest.raises(ConfigError, match="not trained yet"):
        tuner.predict(["good"])

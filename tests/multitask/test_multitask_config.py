"""The `tasks` and `multitask` config sections: validation messages, preset variants, docs."""

from pathlib import Path

import pytest

from vertical_tune.config.loader import load_config, validate_config
from vertical_tune.config.presets import list_presets
from vertical_tune.errors import ConfigError


def config_error(tasks, **sections):
    """Validate a config with `tasks` and return the `ConfigError` message."""
    with pytest.raises(ConfigError) as error:
        validate_config({"tasks": tasks, **sections}, source="vtune.yaml")
    return str(error.value)


def test_valid_tasks_get_default_selection_metric():
    config = validate_config(
        {
            "tasks": [
                {"name": "rating", "type": "regression", "label_column": "stars"},
                {"name": "topic", "label_column": "topic"},
                {"name": "tags", "type": "multilabel", "label_columns": ["a", "b"]},
            ]
        }
    )

    assert config.is_multitask
    assert [task.selection_metric for task in config.tasks] == ["r2", "macro_f1", "macro_f1"]
    assert config.tasks[2].columns == ["a", "b"]
    assert config.multitask.loss_balancing == "fixed"
    assert config.multitask.selection == "mean"


def test_single_task_config_is_not_multitask():
    assert not validate_config({}).is_multitask


def test_duplicate_task_names():
    message = config_error(
        [{"name": "rating", "label_column": "a"}, {"name": "rating", "label_column": "b"}]
    )

    assert "Invalid value for `tasks`" in message
    assert "'rating' appears more than once" in message


def test_duplicate_task_names_point_at_yaml_line(tmp_path):
    path = tmp_path / "vtune.yaml"
    path.write_text(
        "task:\n  text_column: body\n"
        "tasks:\n"
        "  - {name: rating, label_column: a}\n"
        "  - {name: rating, label_column: b}\n",
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as error:
        load_config(path)

    assert f"{path}, line 3, column 1" in str(error.value)
    assert "'rating' appears more than once" in str(error.value)


def test_empty_task_list():
    message = config_error([])

    assert "`tasks` is empty" in message


def test_multilabel_column_without_delimiter():
    message = config_error([{"name": "tags", "type": "multilabel", "label_column": "tag_list"}])

    assert "`tasks.0`" in message
    assert "task 'tags'" in message
    assert "needs a `delimiter`" in message
    assert "'tag_list'" in message


def test_multilabel_needs_exactly_one_column_form():
    message = config_error(
        [{"name": "tags", "type": "multilabel", "label_column": "x", "delimiter": "|", "label_columns": ["a"]}]
    )

    assert "task 'tags'" in message
    assert "not both or neither" in message


def test_delimiter_on_multiclass_task():
    message = config_error([{"name": "topic", "label_column": "topic", "delimiter": "|"}])

    assert "task 'topic'" in message
    assert "for multilabel tasks only" in message


def test_regression_with_class_weight():
    message = config_error(
        [{"name": "rating", "type": "regression", "label_column": "stars", "class_weight": "balanced"}]
    )

    assert "`tasks.0`" in message
    assert "task 'rating'" in message
    assert "'balanced'" in message
    assert "need a classification task" in message


def test_regression_with_focal_loss():
    message = config_error(
        [{"name": "rating", "type": "regression", "label_column": "stars", "focal_gamma": 2.0}]
    )

    assert "task 'rating'" in message
    assert "need a classification task" in message


def test_regression_with_labels():
    message = config_error([{"name": "rating", "type": "regression", "label_column": "stars", "labels": ["1", "2"]}])

    assert "task 'rating'" in message
    assert "has no `labels`" in message


@pytest.mark.parametrize(
    "task_type, metric, allowed",
    [
        ("regression", "macro_f1", "r2, mae, rmse"),
        ("multiclass", "r2", "macro_f1, weighted_f1, accuracy"),
        ("multilabel", "accuracy", "macro_f1, micro_f1, samples_f1, subset_accuracy"),
    ],
)
def test_selection_metric_must_fit_task_type(task_type, metric, allowed):
    task = {"name": "target", "type": task_type, "selection_metric": metric}
    if task_type == "multilabel":
        task.update(label_columns=["a", "b"])
    else:
        task.update(label_column="y")

    message = config_error([task])

    assert "task 'target'" in message
    assert f"selection_metric {metric!r} does not apply to a {task_type} task" in message
    assert allowed in message


def test_selection_names_unknown_task():
    message = config_error(
        [{"name": "rating", "label_column": "a"}, {"name": "topic", "label_column": "b"}],
        multitask={"selection": "ratings"},
    )

    assert "Invalid value for `multitask`" in message
    assert "'ratings'" in message
    assert "rating, topic" in message


def test_selection_names_known_task():
    config = validate_config(
        {"tasks": [{"name": "rating", "label_column": "a"}], "multitask": {"selection": "rating"}}
    )

    assert config.multitask.selection == "rating"


def test_task_name_must_be_identifier():
    message = config_error([{"name": "star rating", "label_column": "a"}])

    assert "tasks.0.name" in message
    assert "'star rating'" in message
    assert "Task name: names the model output" in message


def test_loss_weight_must_be_positive():
    message = config_error([{"name": "rating", "label_column": "a", "loss_weight": 0}])

    assert "tasks.0.loss_weight" in message


def test_unknown_task_key_suggests_the_right_one():
    message = config_error([{"name": "rating", "label_colum": "a"}])

    assert "Unknown config key `tasks.0.label_colum`" in message
    assert "Did you mean `tasks.0.label_column`?" in message


def test_unknown_loss_balancing():
    message = config_error([{"name": "rating", "label_column": "a"}], multitask={"loss_balancing": "gradnorm"})

    assert "multitask.loss_balancing" in message
    assert "'gradnorm'" in message


def test_retail_multitask_preset_has_three_tasks():
    config = load_config(preset="retail/multitask")

    assert config.industry == "retail"
    assert [task.name for task in config.tasks] == ["rating", "recommended", "department"]
    assert [task.type for task in config.tasks] == ["multiclass", "binary", "multiclass"]
    assert config.tasks[1].labels == {"0": "not_recommended", "1": "recommended"}
    assert config.task.text_column == "Review Text"


def test_medical_multitask_preset_joins_review_fields():
    config = load_config(preset="medical/multitask")

    assert config.task.text_column == ["benefitsReview", "sideEffectsReview", "commentsReview"]
    assert [(task.name, task.type) for task in config.tasks] == [
        ("rating", "regression"),
        ("effectiveness", "multiclass"),
        ("side_effects", "multiclass"),
    ]
    assert config.tasks[1].selection_metric == "macro_recall"


def test_plain_preset_has_no_tasks():
    assert load_config(preset="retail").tasks is None


def test_overrides_win_over_variant():
    config = load_config(preset="retail/multitask", overrides={"multitask.selection": "department"})

    assert config.multitask.selection == "department"


def test_unknown_variant_lists_known_ones():
    with pytest.raises(ConfigError) as error:
        load_config(preset="retail/multi")

    message = str(error.value)
    assert "has no variant 'multi'" in message
    assert "retail/multitask" in message


def test_variant_of_unknown_industry():
    with pytest.raises(ConfigError) as error:
        load_config(preset="legal/multitask")

    assert "Unknown industry preset 'legal'" in str(error.value)


def test_preset_list_includes_variants():
    names = list_presets(variants=True)

    assert "retail/multitask" in names
    assert "medical/multitask" in names
    assert "finance/multitask" not in names


def test_config_docs_list_task_keys():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text(encoding="utf-8")

    for key in ("tasks[].name", "tasks[].type", "tasks[].delimiter", "multitask.loss_balancing", "multitask.selection"):
        assert f"`{key}`" in docs, key

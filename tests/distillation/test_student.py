"""Students made from the teacher's layers: which layers are kept, and that their weights are copied."""

import keras_hub
import numpy as np
import pytest

from vertical_tune.distillation.student import kept_layer_indices, shallow_student, shrink_backbone
from vertical_tune.errors import ConfigError


def tiny_bert(num_layers, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return keras_hub.models.BertBackbone(
        vocabulary_size=20, num_layers=num_layers, num_heads=2, hidden_dim=8, intermediate_dim=16, max_sequence_length=16
    )


def assert_same_weights(first, second):
    first_weights, second_weights = first.get_weights(), second.get_weights()
    assert len(first_weights) == len(second_weights)
    for a, b in zip(first_weights, second_weights):
        np.testing.assert_array_equal(a, b)


def differs(first, second):
    return any(not np.array_equal(a, b) for a, b in zip(first.get_weights(), second.get_weights()))


@pytest.mark.parametrize(
    ("num_layers", "keep", "expected"),
    [(6, 2, [2, 5]), (12, 4, [2, 5, 8, 11]), (3, 1, [2]), (6, 3, [1, 3, 5]), (4, 3, [0, 2, 3])],
)
def test_kept_layer_indices(num_layers, keep, expected):
    assert kept_layer_indices(num_layers, keep) == expected


def test_kept_layer_indices_end_at_top_layer():
    for num_layers in range(2, 25):
        for keep in range(1, num_layers):
            indices = kept_layer_indices(num_layers, keep)
            assert len(indices) == keep
            assert indices[-1] == num_layers - 1
            assert indices == sorted(set(indices)), (num_layers, keep, indices)


def test_shrink_backbone_copies_chosen_layers():
    teacher = tiny_bert(6)
    student, indices = shrink_backbone(teacher, 2)

    assert indices == [2, 5]
    assert student.get_config()["num_layers"] == 2
    assert_same_weights(student.get_layer("transformer_layer_0"), teacher.get_layer("transformer_layer_2"))
    assert_same_weights(student.get_layer("transformer_layer_1"), teacher.get_layer("transformer_layer_5"))
    # Freshly built layers have other random weights, so equality above means a copy.
    assert differs(student.get_layer("transformer_layer_0"), teacher.get_layer("transformer_layer_0"))


def test_shrink_backbone_copies_embeddings_and_pooler():
    teacher = tiny_bert(6)
    student, _ = shrink_backbone(teacher, 2)

    names = ["token_embedding", "position_embedding", "segment_embedding", "embeddings_layer_norm", "pooled_dense"]
    for name in names:
        assert_same_weights(student.get_layer(name), teacher.get_layer(name))
    outside_stack = {layer.name for layer in teacher.layers if layer.weights and not layer.name.startswith("transformer_layer_")}
    assert outside_stack == set(names)


def test_shrunk_backbone_runs():
    student, _ = shrink_backbone(tiny_bert(6), 3)
    inputs = {
        "token_ids": np.array([[2, 7, 9, 3, 0, 0]]),
        "segment_ids": np.zeros((1, 6), dtype="int32"),
        "padding_mask": np.array([[1, 1, 1, 1, 0, 0]]),
    }
    outputs = student(inputs)
    assert tuple(outputs["sequence_output"].shape) == (1, 6, 8)
    assert tuple(outputs["pooled_output"].shape) == (1, 8)


@pytest.mark.parametrize("keep", [0, 6, 7])
def test_shrink_backbone_rejects_layer_count(keep):
    with pytest.raises(ConfigError) as raised:
        shrink_backbone(tiny_bert(6), keep)
    message = str(raised.value)
    assert "distillation.student_layers" in message
    assert f"Received: {keep}" in message
    assert "1 to 5 (the teacher has 6 layers)" in message


def test_shrink_backbone_rejects_shared_layers():
    albert = keras_hub.models.AlbertBackbone(
        vocabulary_size=20,
        num_layers=2,
        num_heads=2,
        num_groups=1,
        num_inner_repetitions=1,
        embedding_dim=8,
        hidden_dim=8,
        intermediate_dim=16,
        max_sequence_length=16,
    )
    with pytest.raises(ConfigError) as raised:
        shrink_backbone(albert, 1)
    message = str(raised.value)
    assert "AlbertBackbone" in message
    assert "distillation.student" in message


def test_shallow_student_starts_from_teacher(teacher_run):
    teacher, _ = teacher_run
    student, indices = shallow_student(teacher.model, 2, dropout=0.0)

    assert indices == [1, 2]
    assert student.preprocessor is teacher.model.preprocessor
    assert student.num_classes == teacher.model.num_classes
    assert_same_weights(student.backbone.get_layer("transformer_layer_0"), teacher.model.backbone.get_layer("transformer_layer_1"))
    assert_same_weights(student.backbone.get_layer("transformer_layer_1"), teacher.model.backbone.get_layer("transformer_layer_2"))
    head_layers = [layer for layer in teacher.model.layers if layer is not teacher.model.backbone and layer.weights]
    assert head_layers, "the teacher classifier has no head weights to compare"
    for layer in head_layers:
        assert_same_weights(student.get_layer(layer.name), layer)


def test_student_of_frozen_teacher_trains():
    # Distillation freezes the teacher; a student copied afterwards must still train.
    teacher = tiny_bert(4)
    teacher.trainable = False

    student, _ = shrink_backbone(teacher, 2)

    assert student.trainable
    assert len(student.trainable_weights) == len(student.weights)

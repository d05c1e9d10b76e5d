"""Build a distillation student: a shallower copy of the teacher, or another backbone."""

import re

from vertical_tune.errors import ConfigError, format_error

_LAYER_NAME = re.compile(r"^transformer_layer_(\d+)$")


def kept_layer_indices(num_layers, keep):
    """Return which teacher layers a student with `keep` layers starts from.

    The teacher's layers are cut into `keep` blocks of equal depth and the top layer
    of each block is kept, so the student's last layer is the teacher's last layer.
    With 6 layers and keep=2 this gives [2, 5]; with 12 and keep=4, [2, 5, 8, 11].
    """
    return [round((block + 1) * num_layers / keep) - 1 for block in range(keep)]


def layer_count(backbone, *, key, fix):
    """Return the number of separate transformer layers of a keras-hub backbone.

    Raises:
        ConfigError: the backbone has no `num_layers` setting with
            `transformer_layer_<i>` layers (ALBERT shares one layer, for instance).
            The message names the config `key` and suggests `fix`.
    """
    num_layers = backbone.get_config().get("num_layers")
    names = {layer.name for layer in backbone.layers}
    if not isinstance(num_layers, int) or f"transformer_layer_{num_layers - 1}" not in names:
        raise ConfigError(
            format_error(
                f"Cannot take a subset of layers of a {type(backbone).__name__}.",
                where=key,
                received=type(backbone).__name__,
                expected="a backbone with `num_layers` separate `transformer_layer_<i>` layers (BERT, RoBERTa, DistilBERT)",
                fix=fix,
            )
        )
    return num_layers


def backbone_with_layers(backbone, indices):
    """Return a copy of a keras-hub backbone made of the transformer layers at `indices`.

    Embeddings, the pooler and every other weight outside the transformer stack are
    copied, and new layer `j` gets the weights of layer `indices[j]`.
    """
    config = backbone.get_config()
    # A frozen backbone's config contains trainable=False, and the copy must train.
    copy = type(backbone).from_config({**config, "num_layers": len(indices), "trainable": True})
    for layer in copy.layers:
        if not layer.weights:
            continue
        match = _LAYER_NAME.match(layer.name)
        source = f"transformer_layer_{indices[int(match.group(1))]}" if match else layer.name
        layer.set_weights(backbone.get_layer(source).get_weights())
    return copy


def classifier_with_layers(classifier, indices, *, dropout):
    """Return a classifier like `classifier` whose backbone keeps the transformer layers at `indices`.

    The preprocessor is shared (same tokenizer) and the head starts from the original head.
    """
    backbone = backbone_with_layers(classifier.backbone, indices)
    copy = type(classifier)(
        backbone=backbone,
        num_classes=classifier.num_classes,
        preprocessor=classifier.preprocessor,
        dropout=dropout,
    )
    for layer in classifier.layers:
        if layer is not classifier.backbone and layer.weights:
            copy.get_layer(layer.name).set_weights(layer.get_weights())
    return copy


def student_layer_indices(backbone, keep):
    """Return the teacher layers a student with `keep` layers is copied from (see `kept_layer_indices`).

    Raises:
        ConfigError: `keep` is not between 1 and the teacher's layer count minus 1,
            or the backbone's layers cannot be taken apart (see `layer_count`).
    """
    num_layers = layer_count(
        backbone, key="distillation.student_layers", fix="Set `distillation.student` to a smaller backbone instead."
    )
    if not 1 <= keep < num_layers:
        raise ConfigError(
            format_error(
                "Invalid number of student layers.",
                where="distillation.student_layers",
                received=keep,
                expected=f"1 to {num_layers - 1} (the teacher has {num_layers} layers)",
                fix="Keep fewer layers than the teacher has.",
            )
        )
    return kept_layer_indices(num_layers, keep)


def shrink_backbone(backbone, keep):
    """Return a copy of a keras-hub backbone with `keep` of its transformer layers, and their indices."""
    indices = student_layer_indices(backbone, keep)
    return backbone_with_layers(backbone, indices), indices


def shallow_student(teacher, keep, *, dropout):
    """Return a classifier like the teacher's but with `keep` transformer layers.

    The layers are chosen by `kept_layer_indices`, the preprocessor is the teacher's
    (same tokenizer), and the classification head starts from the teacher's head.

    Args:
        teacher: keras_hub TextClassifier. The fine-tuned teacher.
        keep: int. Transformer layers of the student.
        dropout: float. Dropout before the student's head.

    Returns:
        (student classifier, list of the teacher layer indices it was copied from).
    """
    indices = student_layer_indices(teacher.backbone, keep)
    return classifier_with_layers(teacher, indices, dropout=dropout), indices

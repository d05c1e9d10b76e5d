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


def shrink_backbone(backbone, keep):
    """Return a copy of a keras-hub backbone with `keep` of its transformer layers.

    Embeddings, the pooler and every other weight outside the transformer stack are
    copied, and student layer `j` gets the weights of teacher layer
    `kept_layer_indices(...)[j]`.

    Raises:
        ConfigError: `keep` is not between 1 and the teacher's layer count minus 1,
            or the backbone has no `num_layers` setting with `transformer_layer_<i>`
            layers (ALBERT shares one layer, for instance).
    """
    config = backbone.get_config()
    num_layers = config.get("num_layers")
    names = {layer.name for layer in backbone.layers}
    if not isinstance(num_layers, int) or f"transformer_layer_{num_layers - 1}" not in names:
        raise ConfigError(
            format_error(
                f"Cannot take a subset of layers of a {type(backbone).__name__}.",
                where="distillation.student_layers",
                received=type(backbone).__name__,
                expected="a backbone with `num_layers` separate `transformer_layer_<i>` layers (BERT, RoBERTa, DistilBERT)",
                fix="Set `distillation.student` to a smaller backbone instead.",
            )
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
    indices = kept_layer_indices(num_layers, keep)
    # A frozen teacher's config contains trainable=False, and the student must train.
    student = type(backbone).from_config({**config, "num_layers": keep, "trainable": True})
    for layer in student.layers:
        if not layer.weights:
            continue
        match = _LAYER_NAME.match(layer.name)
        source = f"transformer_layer_{indices[int(match.group(1))]}" if match else layer.name
        layer.set_weights(backbone.get_layer(source).get_weights())
    return student, indices


def shallow_student(teacher, keep, *, dropout):
    """Return a classifier like the teacher's but with `keep` transformer layers.

    The backbone comes from `shrink_backbone`, the preprocessor is the teacher's
    (same tokenizer), and the classification head starts from the teacher's head.

    Args:
        teacher: keras_hub TextClassifier. The fine-tuned teacher.
        keep: int. Transformer layers of the student.
        dropout: float. Dropout before the student's head.

    Returns:
        (student classifier, list of the teacher layer indices it was copied from).
    """
    backbone, indices = shrink_backbone(teacher.backbone, keep)
    student = type(teacher)(
        backbone=backbone,
        num_classes=teacher.num_classes,
        preprocessor=teacher.preprocessor,
        dropout=dropout,
    )
    for layer in teacher.layers:
        if layer is not teacher.backbone and layer.weights:
            student.get_layer(layer.name).set_weights(layer.get_weights())
    return student, indices

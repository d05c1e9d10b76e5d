"""Trim a classifier to its bottom transformer layers."""

from vertical_tune.distillation.student import classifier_with_layers, layer_count
from vertical_tune.errors import ConfigError, format_error


def default_keep_layers(classifier):
    """Return the layers `trim` keeps when `compression.keep_layers` is empty: two thirds, at least 1."""
    num_layers = classifier.backbone.get_config().get("num_layers") or 3
    return max(1, (2 * num_layers) // 3)


def trim_layers(classifier, keep, *, dropout):
    """Return a copy of `classifier` with its bottom `keep` transformer layers.

    Lower layers carry the general language features that the top layers build on,
    so dropping the top of the stack and fine-tuning briefly loses the least.

    Args:
        classifier: keras_hub TextClassifier.
        keep: int. Transformer layers kept, from the bottom.
        dropout: float. Dropout before the head of the copy.

    Returns:
        (trimmed classifier, number of layers before trimming).

    Raises:
        ConfigError: `keep` would remove every layer or none, or the backbone
            shares one layer across depths (ALBERT).
    """
    num_layers = check_keep_layers(classifier, keep)
    return classifier_with_layers(classifier, list(range(keep)), dropout=dropout), num_layers


def check_keep_layers(classifier, keep):
    """Return the classifier's transformer layer count, raising `ConfigError` when `keep` does not fit it."""
    num_layers = layer_count(
        classifier.backbone, key="compression.keep_layers", fix="Use `lowrank` or `prune` on this backbone."
    )
    if not 1 <= keep < num_layers:
        raise ConfigError(
            format_error(
                "Invalid number of layers to keep.",
                where="compression.keep_layers",
                received=keep,
                expected=f"1 to {num_layers - 1} (the model has {num_layers} transformer layers)",
                fix="Keep at least one layer and fewer than the model has.",
            )
        )
    return num_layers

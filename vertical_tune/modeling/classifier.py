"""Build a keras-hub `TextClassifier` on a resolved backbone."""

import inspect

import keras
import keras_hub

from vertical_tune.errors import BackboneError, format_error

# keras-hub error texts (0.32) mapped to what the user should do about them.
_KNOWN_LOAD_ERRORS = {
    "Unknown preset identifier": "Check the name, or point `backbone.preset` at a local directory.",
    "has no converter": "Use a bert, distilbert, roberta, xlm-roberta or albert checkpoint.",
    "model.safetensors": "Convert pytorch_model.bin to model.safetensors once with torch.",
    "do_lower_case": "Add `\"do_lower_case\": true` (or false) to tokenizer_config.json.",
    "does not contain tensor": (
        "Hub checkpoints carry a `bert.`/`roberta.`/`distilbert.` key prefix; save the "
        "model with `save_pretrained` from its task class so the prefix is kept."
    ),
}


def load_tokenizer(backbone):
    """Load the backbone's tokenizer, applying `strip_accents` where the tokenizer has it."""
    tokenizer = _call_keras_hub(backbone, keras_hub.tokenizers.Tokenizer.from_preset, backbone.handle)
    requested = backbone.strip_accents
    # BertTokenizer passes `strip_accents` on to WordPieceTokenizer through **kwargs.
    accepts = any(
        "strip_accents" in inspect.signature(cls.__init__).parameters
        for cls in type(tokenizer).__mro__
        if "__init__" in vars(cls)
    )
    if requested is not None and accepts and getattr(tokenizer, "strip_accents", None) != requested:
        tokenizer = _call_keras_hub(
            backbone, keras_hub.tokenizers.Tokenizer.from_preset, backbone.handle, strip_accents=requested
        )
    return tokenizer


def build_text_classifier(backbone, *, num_classes, sequence_length, dropout, mode="full", lora_rank=8):
    """Create a classifier: the pretrained backbone, its preprocessor and a new head.

    Args:
        backbone: ResolvedBackbone.
        num_classes: int. Size of the classification head.
        sequence_length: int. Tokens per example after truncation and padding.
        dropout: float. Dropout before the head.
        mode: str. `full`, `frozen` (backbone weights fixed) or `lora`.
        lora_rank: int. Rank of the LoRA adapters when mode is `lora`.

    Returns:
        keras_hub.models.TextClassifier producing logits.
    """
    preprocessor = build_preprocessor(backbone, sequence_length)
    classifier = _call_keras_hub(
        backbone,
        keras_hub.models.TextClassifier.from_preset,
        backbone.handle,
        num_classes=num_classes,
        preprocessor=preprocessor,
        dropout=dropout,
    )
    apply_transfer_mode(classifier, mode, lora_rank)
    return classifier


def build_preprocessor(backbone, sequence_length):
    """Create the backbone's text preprocessor: tokenizer plus packing to `sequence_length`."""
    return _call_keras_hub(
        backbone,
        keras_hub.models.TextClassifierPreprocessor.from_preset,
        backbone.handle,
        sequence_length=sequence_length,
        tokenizer=load_tokenizer(backbone),
    )


def load_backbone(backbone):
    """Load the pretrained encoder (a `keras_hub.models.Backbone`) alone, with no head."""
    return _call_keras_hub(backbone, keras_hub.models.Backbone.from_preset, backbone.handle)


def apply_transfer_mode(classifier, mode, lora_rank):
    """Freeze the backbone (`frozen`), add LoRA adapters (`lora`) or leave it (`full`)."""
    if mode == "frozen":
        classifier.backbone.trainable = False
    elif mode == "lora":
        classifier.backbone.enable_lora(rank=lora_rank)


def count_parameters(model):
    """Return (trainable, total) parameter counts."""
    trainable = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
    return trainable, model.count_params()


def _call_keras_hub(backbone, function, *args, **kwargs):
    """Call a keras-hub loader, turning known load failures into `BackboneError`."""
    try:
        return function(*args, **kwargs)
    # keras-hub, safetensors and the converters raise unrelated exception types.
    except Exception as error:
        text = str(error)
        fix = next((f for key, f in _KNOWN_LOAD_ERRORS.items() if key in text), None)
        if fix is None and backbone.kind != "hub":
            raise
        raise BackboneError(
            format_error(
                f"keras-hub failed to load backbone {backbone.name!r}.",
                where=backbone.handle,
                received=text.splitlines()[0] if text else type(error).__name__,
                fix=fix or "Check the backbone name and that the hub is reachable.",
            )
        ) from error

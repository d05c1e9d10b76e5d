"""Keras export: the classifier as `model.keras` with `label_map.json` beside it."""

from vertical_tune.run_directory import write_json
from vertical_tune.run_summary import save_model_for_inference


def export_keras(tuner, directory):
    """Write `directory/keras/model.keras` and `label_map.json`, and return the artifact entry."""
    folder = directory / "keras"
    folder.mkdir()
    save_model_for_inference(tuner.model, folder / "model.keras")
    write_json(folder / "label_map.json", tuner.labels.to_dict())
    return {
        "format": "keras",
        "path": "keras/model.keras",
        "variant": _variant(tuner.model),
        "text_input": True,
        "inputs": {"text": "string [batch] (the preprocessor inside the model tokenises)"},
        "outputs": {"logits": "float32 [batch, classes]"},
    }


def quantization_modes(model):
    """Return the sorted Keras quantisation modes (e.g. `int8`) of the model's layers."""
    modes = {getattr(layer.dtype_policy, "quantization_mode", None) for layer in model._flatten_layers()}
    return sorted(mode for mode in modes if mode)


def _variant(model):
    modes = quantization_modes(model)
    return "+".join(f"keras_{mode}" for mode in modes) if modes else "float32"

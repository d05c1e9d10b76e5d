"""Save and load models whose structure their Keras config does not describe (low-rank kernels).

A factorised kernel replaces a sublayer inside a keras-hub transformer layer, whose
config does not list its sublayers, so `keras.saving.load_model` would rebuild the
original structure and fail on the weights. A run directory with such a model
stores the structure in `model_structure.json`. Loading rebuilds the model from
its config, applies the structure, and then loads the weights.
"""

import tempfile
from pathlib import Path

import keras

from vertical_tune.run_directory import read_json, write_json

STRUCTURE_FILE = "model_structure.json"


def read_structure(directory):
    """Return the model structure stored in a run directory, or {} for a plain Keras model."""
    path = Path(directory) / STRUCTURE_FILE
    return read_json(path) if path.is_file() else {}


def write_structure(directory, structure):
    """Write `structure` into a run directory when it describes anything."""
    if structure:
        write_json(Path(directory) / STRUCTURE_FILE, structure)


def load_model_file(path, structure=None):
    """Load a `.keras` file saved from a model with the given structure (see the module docstring)."""
    factorised = (structure or {}).get("factorised")
    if factorised:
        from vertical_tune.compression.lowrank import load_factorised_model

        return load_factorised_model(path, factorised)
    return keras.saving.load_model(path, compile=False)


def copy_model(model, structure=None):
    """Return an independent copy of `model` (same weights), through a saved file."""
    from vertical_tune.run_summary import save_model_for_inference

    with tempfile.TemporaryDirectory(prefix="vtune-copy-") as directory:
        path = Path(directory) / "model.keras"
        save_model_for_inference(model, path)
        return load_model_file(path, structure)

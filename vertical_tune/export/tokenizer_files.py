"""Ship the tokenizer and the loader beside models that take token ids."""

import json
import shutil
from importlib import resources

import keras

TOKENIZER_DIR = "tokenizer"
LOADER_NAME = "predict.py"


def write_tokenizer(classifier, directory):
    """Save the classifier's preprocessor as a keras-hub preset in `directory/tokenizer`.

    The preset contains the tokenizer (vocabulary under `assets/`) and the packing
    settings (sequence length, truncation), so
    `keras_hub.models.TextClassifierPreprocessor.from_preset` rebuilds the exact
    inputs. `vocabulary.txt` (one token a line, line number = token id) is written
    too, for runtimes without keras-hub.
    """
    folder = directory / TOKENIZER_DIR
    folder.mkdir()
    classifier.preprocessor.save_to_preset(str(folder))
    # keras-hub (0.32) reads the backbone class from config.json to choose the
    # preprocessor class, so the backbone config goes too, without its weights.
    config = keras.saving.serialize_keras_object(classifier.backbone)
    config.pop("build_config", None)
    config.pop("compile_config", None)
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    vocabulary = classifier.preprocessor.tokenizer.get_vocabulary()
    (folder / "vocabulary.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    return TOKENIZER_DIR


def write_loader(directory):
    """Copy the standalone loader script into `directory/predict.py`."""
    source = resources.files("vertical_tune.export").joinpath("predict_script.py")
    with resources.as_file(source) as path:
        shutil.copyfile(path, directory / LOADER_NAME)
    return LOADER_NAME

"""A tiny classifier trained once, and one export of it in every format, shared by the export tests."""

import keras_hub
import pytest

from tests.helpers import VOCABULARY, save_tiny_bert_preset, sentiment_frame
from vertical_tune import FineTuner

TRAINING = {
    "epochs": 5,
    "batch_size": 16,
    "learning_rate": 5e-3,
    "dropout": 0.0,
    "schedule": "constant",
    "warmup_ratio": 0.0,
    "early_stopping_patience": None,
}

# Normalised texts beyond the training vocabulary: accents, CJK, punctuation, truncation.
VARIED_TEXTS = [
    "Café résumé: the stock was GOOD!",
    "房间很干净，服务好。 great results",
    "bad, poor... terrible (loss) [miss]",
    " ".join(["profit"] * 40),
    "unknownword xyzzy the market",
]


@pytest.fixture(scope="package")
def trained_run(tmp_path_factory):
    """The run directory of a 3-layer BERT (hidden size 32) trained on the sentiment task.

    The tokenizer lowercases and strips accents, as uncased BERT checkpoints do, so
    the LiteRT export can put tokenisation in the graph.
    """
    root = tmp_path_factory.mktemp("export")
    preset = save_tiny_bert_preset(root / "preset", num_layers=3)
    # `backbone.strip_accents` does not reach BertTokenizer, which takes it through
    # **kwargs, so the preset itself is saved with accent stripping on.
    keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=True, strip_accents=True).save_to_preset(preset)
    train, validation = root / "train.csv", root / "validation.csv"
    sentiment_frame(30, seed=0).to_csv(train, index=False)
    sentiment_frame(8, seed=1).to_csv(validation, index=False)
    run_dir = root / "run"
    tuner = FineTuner.from_preset(
        "finance",
        task={"labels": "from_data"},
        data={"train": str(train), "validation": str(validation)},
        backbone={"preset": preset, "sequence_length": 16},
        normalization={"profile": "general"},
        training=TRAINING,
        output={"run_dir": str(run_dir), "compare_baseline": False},
    )
    tuner.fit(verbose=0)
    tuner.save()
    return run_dir


@pytest.fixture(scope="package")
def check_texts(trained_run):
    """Normalised validation texts plus the varied texts."""
    import vertical_tune

    tuner = vertical_tune.load(trained_run)
    return tuner.normalizer.normalize_all(list(sentiment_frame(8, seed=1).text) + VARIED_TEXTS)


@pytest.fixture(scope="package")
def full_export(trained_run, check_texts):
    """(tuner, export folder, manifest) of an export in every format."""
    import vertical_tune
    from vertical_tune.export import export_run

    tuner = vertical_tune.load(trained_run)
    calibration = tuner.normalizer.normalize_all(list(sentiment_frame(10, seed=0).text))
    directory = trained_run / "export"
    manifest = export_run(
        tuner, directory, check_texts=check_texts, calibration_texts=calibration, run_dir=trained_run
    )
    return tuner, directory, manifest

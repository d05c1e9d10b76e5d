"""A tiny classifier trained once, and one export of it in every format, shared by the export tests."""

import pytest

from tests.helpers import sentiment_frame, train_tiny_run

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
    _, run_dir = train_tiny_run(
        tmp_path_factory.mktemp("export"), validation_rows=8, backbone={"strip_accents": True}
    )
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

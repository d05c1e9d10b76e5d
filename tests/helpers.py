"""Shared test helpers: tiny backbones saved as local keras-hub presets, and small data sets."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras_hub  # noqa: E402
import pandas as pd  # noqa: E402

# Words of the synthetic sentiment data below, plus the BERT special tokens.
_WORDS = (
    "good great excellent fine happy love up rise gain profit strong beat "
    "bad poor terrible sad hate down fall loss weak miss worse "
    "the a stock market shares report today price company quarter results is was "
    "房 间 很 干 净 服 务 好 差 脏"
).split()
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(_WORDS))


def save_tiny_bert_preset(directory, *, hidden_dim=32, num_layers=2, seed=0):
    """Save a randomly initialised BERT backbone and its tokenizer as a keras-hub preset."""
    import keras

    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCABULARY),
        num_layers=num_layers,
        num_heads=2,
        hidden_dim=hidden_dim,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=64,
    )
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=True)
    backbone.save_to_preset(str(directory))
    tokenizer.save_to_preset(str(directory))
    return str(directory)


def sentiment_frame(rows_per_class=40, seed=0, labels=("negative", "positive", "neutral")):
    """Return a DataFrame with an easy, learnable 3-class text task."""
    import random

    rng = random.Random(seed)
    cue_words = {
        labels[0]: "bad poor terrible loss fall weak miss".split(),
        labels[1]: "good great excellent profit rise strong beat".split(),
        labels[2]: "report today price quarter results".split(),
    }
    filler = "the a stock market shares company is was".split()
    records = []
    for label in labels:
        for _ in range(rows_per_class):
            words = rng.sample(cue_words[label], 2) + rng.sample(filler, 3)
            rng.shuffle(words)
            records.append({"text": " ".join(words), "label": label})
    rng.shuffle(records)
    return pd.DataFrame(records)


# Fast, deterministic training of a tiny backbone on the sentiment task.
TINY_TRAINING = {
    "epochs": 5,
    "batch_size": 16,
    "learning_rate": 5e-3,
    "dropout": 0.0,
    "schedule": "constant",
    "warmup_ratio": 0.0,
    "early_stopping_patience": None,
}


def train_tiny_run(root, *, num_layers=3, validation_rows=6, backbone=None, **training):
    """Train a classifier on a tiny BERT preset (hidden size 32) and save its run.

    The train and validation CSV files are written under `root`, so the run config
    points at them (compression and export read them again).

    Args:
        root: Path. Folder for the preset, the data files and the run.
        num_layers: int. Transformer layers of the tiny backbone.
        validation_rows: int. Validation rows per class.
        backbone: dict or None. Extra `backbone` settings.
        **training: `training` keys replacing `TINY_TRAINING`.

    Returns:
        (trained FineTuner, run directory).
    """
    from vertical_tune import FineTuner

    preset = save_tiny_bert_preset(root / "preset", num_layers=num_layers)
    train, validation = root / "train.csv", root / "validation.csv"
    sentiment_frame(30, seed=0).to_csv(train, index=False)
    sentiment_frame(validation_rows, seed=1).to_csv(validation, index=False)
    tuner = FineTuner.from_preset(
        "finance",
        task={"labels": "from_data"},
        data={"train": str(train), "validation": str(validation)},
        backbone={"preset": preset, "sequence_length": 16, **(backbone or {})},
        normalization={"profile": "general"},
        training={**TINY_TRAINING, **training},
        output={"run_dir": str(root / "run"), "compare_baseline": False},
    )
    tuner.fit(verbose=0)
    return tuner, tuner.save()


def run_cli(capsys, *args):
    """Run `vtune ARGS` in-process; return (exit code, stdout, stderr)."""
    from vertical_tune.cli.main import main

    try:
        main(list(map(str, args)))
        code = 0
    except SystemExit as exit_:
        code = exit_.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err

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

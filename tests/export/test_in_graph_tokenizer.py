"""FastBertTokenizer packing against the keras-hub preprocessor it replaces in LiteRT graphs."""

import keras_hub
import numpy as np
import tensorflow as tf

from tests.helpers import VOCABULARY
from vertical_tune.export.in_graph_tokenizer import (
    PROBE_TEXTS,
    InGraphPacker,
    build_in_graph_packer,
    unsupported_reason,
)

SEQUENCE_LENGTH = 12


def preprocessor(lowercase=True, strip_accents=True):
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=lowercase, strip_accents=strip_accents)
    return keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=SEQUENCE_LENGTH)


def test_packer_matches_keras_hub_on_probes():
    keras_preprocessor = preprocessor()
    packed = InGraphPacker(keras_preprocessor)(tf.constant(PROBE_TEXTS))
    expected = keras_preprocessor(np.asarray(PROBE_TEXTS, dtype=object))

    for name in ("token_ids", "padding_mask", "segment_ids"):
        np.testing.assert_array_equal(packed[name].numpy(), np.asarray(expected[name]).astype(np.int32), err_msg=name)


def test_packer_truncates_long_text():
    packed = InGraphPacker(preprocessor())(tf.constant([" ".join(["good"] * 50)]))

    token_ids = packed["token_ids"].numpy()[0]
    assert token_ids[0] == VOCABULARY.index("[CLS]")
    assert token_ids[-1] == VOCABULARY.index("[SEP]")
    assert packed["padding_mask"].numpy().sum() == SEQUENCE_LENGTH


def test_lowercase_without_accent_stripping_unsupported():
    reason = unsupported_reason(preprocessor(lowercase=True, strip_accents=False).tokenizer)

    assert "lowercase=True and strip_accents=False" in reason


def test_cased_tokenizer_supported():
    packer, reason = build_in_graph_packer(preprocessor(lowercase=False, strip_accents=False), ["The market"])

    assert reason is None
    assert packer is not None


def test_unsupported_tokenizer_gives_reason():
    packer, reason = build_in_graph_packer(preprocessor(lowercase=True, strip_accents=False), ["good"])

    assert packer is None
    assert "FastBertTokenizer" in reason

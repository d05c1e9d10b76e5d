"""Tokenisation that LiteRT can run: `tensorflow_text.FastBertTokenizer` plus BERT packing.

The keras-hub WordPiece tokenizer splits words with `tf_text.regex_split`, which the
LiteRT converter cannot convert. `FastBertTokenizer` does the same BERT
pre-tokenisation (whitespace, punctuation and CJK splitting) and WordPiece lookup
with ops that have LiteRT kernels, registered through
`tensorflow_text.tflite_registrar.SELECT_TFTEXT_OPS`.

The two implementations are not identical on every input, because keras-hub case
folds while FastBertTokenizer lowercases. So the export compares the token ids of
both on the check texts and on `PROBE_TEXTS` and keeps the token-id inputs when any
row differs.
"""

import numpy as np
import tensorflow as tf

from vertical_tune.export.token_inputs import TOKEN_INPUTS

# Texts that exercise accents, case, punctuation, CJK, empty input and truncation.
PROBE_TEXTS = (
    "",
    "Plain words only",
    "Café, naïve résumé; ÉCOLE façade!",
    "房间很干净，服务好。",
    "Mixed 房 间 English and numbers 123,456.78 (up 5%)",
    "tabs\tand\nnew lines   and    spaces",
    "punctuation!?...--«quoted» [brackets] {braces}",
    "unknownwordsthatarenotinthevocabulary xyzzy",
    " ".join(["long"] * 600),
)


def unsupported_reason(tokenizer):
    """Return why `tokenizer` cannot be rebuilt with FastBertTokenizer, or None when it can.

    FastBertTokenizer either lowercases and strips accents together or does
    neither, and it always splits on punctuation and CJK characters.
    """
    import keras_hub

    if not isinstance(tokenizer, keras_hub.tokenizers.WordPieceTokenizer):
        return f"the tokenizer is a {type(tokenizer).__name__}, and only WordPiece tokenizers are rebuilt for LiteRT"
    if bool(tokenizer.lowercase) != bool(tokenizer.strip_accents):
        return (
            f"the tokenizer has lowercase={tokenizer.lowercase} and strip_accents={tokenizer.strip_accents}, "
            "but FastBertTokenizer lowercases and strips accents together or not at all"
        )
    if not tokenizer.split or not tokenizer.split_on_cjk:
        return "the tokenizer turns off splitting on whitespace, punctuation or CJK characters"
    if getattr(tokenizer, "special_tokens_in_strings", False):
        return "the tokenizer keeps special tokens written in the text, which FastBertTokenizer splits"
    return None


class InGraphPacker(tf.Module):
    """Tokenise strings and pack them as `[CLS] tokens [SEP] [PAD]...`, like the keras-hub preprocessor.

    Texts longer than `sequence_length - 2` tokens are truncated at the end, as the
    keras-hub packer does for a single segment.

    Args:
        preprocessor: keras_hub.models.TextClassifierPreprocessor with a WordPiece
            tokenizer that `unsupported_reason` accepts.
    """

    def __init__(self, preprocessor):
        import tensorflow_text

        super().__init__(name="in_graph_packer")
        tokenizer = preprocessor.tokenizer
        self.sequence_length = int(preprocessor.sequence_length)
        self.tokenizer = tensorflow_text.FastBertTokenizer(
            vocab=list(tokenizer.get_vocabulary()),
            suffix_indicator=tokenizer.suffix_indicator,
            unknown_token=tokenizer.oov_token,
            token_out_type=tf.int32,
            lower_case_nfd_strip_accents=bool(tokenizer.lowercase),
        )
        self.start_id = int(tokenizer.cls_token_id)
        self.end_id = int(tokenizer.sep_token_id)
        self.pad_id = int(tokenizer.pad_token_id)

    def __call__(self, text):
        """Return int32 `token_ids`, `padding_mask` and `segment_ids` of shape [batch, sequence_length]."""
        pieces = self.tokenizer.tokenize(text)
        if pieces.shape.rank == 3:
            pieces = pieces.merge_dims(-2, -1)
        body_length = self.sequence_length - 2
        body = pieces.to_tensor(default_value=self.pad_id, shape=[None, body_length])
        lengths = tf.minimum(tf.cast(pieces.row_lengths(), tf.int32), body_length)
        batch = tf.shape(body)[0]
        token_ids = tf.concat(
            [tf.fill([batch, 1], self.start_id), body, tf.fill([batch, 1], self.pad_id)], axis=1
        )
        positions = tf.range(self.sequence_length)[tf.newaxis, :]
        end_positions = lengths[:, tf.newaxis] + 1
        token_ids = tf.where(positions == end_positions, self.end_id, token_ids)
        padding_mask = tf.cast(positions <= end_positions, tf.int32)
        return {"token_ids": token_ids, "padding_mask": padding_mask, "segment_ids": tf.zeros_like(token_ids)}


def first_mismatch(preprocessor, packer, texts):
    """Return the first text whose packed inputs differ from the preprocessor's, or None."""
    texts = list(texts)
    for start in range(0, len(texts), 64):
        batch = texts[start : start + 64]
        expected = preprocessor(np.asarray(batch, dtype=object))
        received = packer(tf.constant(batch, dtype=tf.string))
        for name in TOKEN_INPUTS:
            wanted = np.asarray(expected[name]).astype(np.int32)
            got = received[name].numpy()
            rows = np.flatnonzero((wanted != got).any(axis=1))
            if rows.size:
                return batch[int(rows[0])]
    return None


def build_in_graph_packer(preprocessor, check_texts):
    """Return (packer, None) when in-graph tokenisation matches the preprocessor, else (None, reason).

    Args:
        preprocessor: keras_hub.models.TextClassifierPreprocessor of the classifier.
        check_texts: list of str. Normalised texts, to which `PROBE_TEXTS` are added.
    """
    reason = unsupported_reason(preprocessor.tokenizer)
    if reason is not None:
        return None, reason
    packer = InGraphPacker(preprocessor)
    mismatch = first_mismatch(preprocessor, packer, list(check_texts) + list(PROBE_TEXTS))
    if mismatch is not None:
        shown = mismatch if len(mismatch) <= 80 else mismatch[:77] + "..."
        return None, f"FastBertTokenizer gave other token ids than keras-hub for the text {shown!r}"
    return packer, None

"""The drift report of a retrain: how the new data differs from the training data.

The champion was trained on the training data, and the report compares the new
data with it on three measures, each with a warning threshold from `DriftConfig`:

- label distribution: total variation distance between the label shares;
- text length in words: relative change of the mean, plus a two-sample
  Kolmogorov-Smirnov test for information;
- vocabulary: the out-of-vocabulary (OOV) rate, the share of word tokens that
  never occur in the training texts. The fixed evaluation set is the baseline,
  because even data from the same source has some OOV rate.

Words are what `words` returns: NFKC-normalized, case-folded runs of letters,
digits and combining marks. Each Chinese character and each Japanese kana is a
word of its own, because those scripts do not separate words with spaces.
Punctuation, symbols and whitespace separate words and are never words.
"""

import functools
import re
import sys
import unicodedata
from collections import Counter

import numpy as np
from scipy import stats

from vertical_tune.errors import format_error
from vertical_tune.evaluation import _tables

# Values within this of a threshold do not warn, so a value exactly at the
# threshold never warns because of floating-point rounding.
_TOLERANCE = 1e-9

# How many of the most frequent out-of-vocabulary words the report lists.
TOP_UNSEEN_WORDS = 10

# Scripts written without spaces between words, where each character counts as
# one word: Han ideographs (with the iteration mark and ideographic zero) and
# Japanese kana. Hangul is not here, because Korean separates words with spaces.
_CJK_RANGES = (
    ("\u3005", "\u3005"),  # ideographic iteration mark
    ("\u3007", "\u3007"),  # ideographic number zero
    ("\u3040", "\u30ff"),  # Hiragana, Katakana
    ("\u31f0", "\u31ff"),  # Katakana phonetic extensions
    ("\u3400", "\u4dbf"),  # CJK Unified Ideographs Extension A
    ("\u4e00", "\u9fff"),  # CJK Unified Ideographs
    ("\uf900", "\ufaff"),  # CJK Compatibility Ideographs
    ("\U00020000", "\U000323af"),  # Extensions B to H, Compatibility Supplement
)


def words(text):
    """Split a text into lowercase words as the drift report counts them.

    >>> words("Room was CLEAN, 房间很干净!")
    ['room', 'was', 'clean', '房', '间', '很', '干', '净']
    """
    normalized = unicodedata.normalize("NFKC", text).casefold()
    return _word_pattern().findall(normalized)


@functools.cache
def _word_pattern():
    # Python's `re` has no Unicode property classes and its `\w` excludes
    # combining marks, which would split words of Indic scripts such as Hindi.
    # So the marks are collected from `unicodedata` once per process.
    cjk = "".join(_class_range(first, last) for first, last in _CJK_RANGES)
    marks = "".join(_class_range(first, last) for first, last in _combining_mark_ranges())
    # A CJK character is a word only if it is a letter or digit, so CJK
    # punctuation in the same blocks (e.g. the katakana middle dot) is not.
    cjk_word = rf"(?=\w)[{cjk}]"
    other_word = rf"(?:[^\W_{cjk}]|[{marks}])+"
    return re.compile(f"{cjk_word}|{other_word}")


def _combining_mark_ranges():
    ranges = []
    for code_point in range(sys.maxunicode + 1):
        if not unicodedata.category(chr(code_point)).startswith("M"):
            continue
        if ranges and ranges[-1][1] == code_point - 1:
            ranges[-1][1] = code_point
        else:
            ranges.append([code_point, code_point])
    return [(chr(first), chr(last)) for first, last in ranges]


def _class_range(first, last):
    if first == last:
        return re.escape(first)
    return f"{re.escape(first)}-{re.escape(last)}"


def drift_report(
    train_texts, train_labels, reference_texts, reference_labels, new_texts, new_labels, *, thresholds
):
    """Compare new data with the training data of the champion.

    Args:
        train_texts, train_labels: sequences of str of equal length. The data the
            champion was trained on.
        reference_texts, reference_labels: sequences of str of equal length. The
            fixed evaluation set, the baseline of the OOV rate.
        new_texts, new_labels: sequences of str of equal length. The new data.
            Labels that are not strings are converted with `str`.
        thresholds: `DriftConfig`. The warning thresholds `label_shift`,
            `length_shift` and `oov_increase`.

    Returns:
        A dict of Python ints, floats, strings, bools, lists, dicts and None, so
        `json.dumps` accepts it:

        - `sizes`: {training, reference, new}: row counts.
        - `labels`: `names` (sorted union of all labels); `training`,
          `reference` and `new`, each {counts: {label: int}, shares: {label:
          float}} over all `names`; `total_variation` (training vs new);
          `unseen_in_training` (labels of the new data absent from the training
          data); `threshold`; `warn`.
        - `length`: `training` and `new`, each {mean, median, p95} in words;
          `relative_change` of the mean (None when the training mean is 0);
          `ks_statistic` and `ks_pvalue` (`scipy.stats.ks_2samp`); `threshold`;
          `warn`.
        - `oov`: `training_vocabulary` (distinct training words); `new_rate`,
          `reference_rate` (None for data without words) and `increase` (new
          minus reference, None when either rate is None); `new_words` and
          `reference_words` (token counts); `top_unseen` (up to
          `TOP_UNSEEN_WORDS` {word, count} of the new data, most frequent
          first); `threshold`; `warn`.
        - `warnings`: one sentence with the numbers per warning.

        A measure warns when its value exceeds the threshold (`>`), so a value
        equal to the threshold does not warn.

    Raises:
        ValueError: a text is not a string, texts and labels differ in length,
            or a data set is empty. The message names the data set.
    """
    training = _Dataset.build("training", train_texts, train_labels)
    reference = _Dataset.build("reference", reference_texts, reference_labels)
    new = _Dataset.build("new", new_texts, new_labels)

    labels = _label_section(training, reference, new, thresholds.label_shift)
    length = _length_section(training, new, thresholds.length_shift)
    oov = _oov_section(training, reference, new, thresholds.oov_increase)
    return {
        "sizes": {"training": training.size, "reference": reference.size, "new": new.size},
        "labels": labels,
        "length": length,
        "oov": oov,
        "warnings": _label_warnings(labels, new) + _length_warnings(length) + _oov_warnings(oov),
    }


class _Dataset:
    """The tokenized texts and string labels of one data set."""

    def __init__(self, name, tokens, labels):
        self.name = name
        self.tokens = tokens
        self.labels = labels
        self.size = len(labels)

    @classmethod
    def build(cls, name, texts, labels):
        texts, labels = list(texts), [str(label) for label in labels]
        if len(texts) != len(labels):
            raise ValueError(
                format_error(
                    f"The {name} data has {len(texts)} texts but {len(labels)} labels.",
                    expected="one label per text",
                )
            )
        if not texts:
            raise ValueError(format_error(f"The {name} data is empty.", expected="at least one row"))

        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(
                    format_error(
                        f"Text {index} of the {name} data is not a string.",
                        received=text,
                        fix="drop or fill missing texts before the drift report",
                    )
                )
        return cls(name, [words(text) for text in texts], labels)


def _label_section(training, reference, new, threshold):
    names = sorted(set(training.labels) | set(reference.labels) | set(new.labels))
    distributions = {
        dataset.name: _label_distribution(dataset.labels, names) for dataset in (training, reference, new)
    }
    training_shares, new_shares = distributions["training"]["shares"], distributions["new"]["shares"]
    total_variation = 0.5 * sum(abs(training_shares[name] - new_shares[name]) for name in names)
    seen = set(training.labels)

    return {
        "names": names,
        **distributions,
        "total_variation": total_variation,
        "unseen_in_training": sorted(set(new.labels) - seen),
        "threshold": float(threshold),
        "warn": total_variation > threshold + _TOLERANCE,
    }


def _label_distribution(labels, names):
    counts = Counter(labels)
    return {
        "counts": {name: counts[name] for name in names},
        "shares": {name: counts[name] / len(labels) for name in names},
    }


def _length_section(training, new, threshold):
    training_lengths = [len(tokens) for tokens in training.tokens]
    new_lengths = [len(tokens) for tokens in new.tokens]
    training_mean = float(np.mean(training_lengths))
    new_mean = float(np.mean(new_lengths))
    relative_change = (new_mean - training_mean) / training_mean if training_mean > 0 else None
    # `ks_2samp` assumes continuous data. Lengths are integers with many ties,
    # so the p-value is approximate.
    ks = stats.ks_2samp(training_lengths, new_lengths)

    return {
        "training": _length_summary(training_lengths),
        "new": _length_summary(new_lengths),
        "relative_change": relative_change,
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "threshold": float(threshold),
        "warn": relative_change is not None and abs(relative_change) > threshold + _TOLERANCE,
    }


def _length_summary(lengths):
    return {
        "mean": float(np.mean(lengths)),
        "median": float(np.median(lengths)),
        "p95": float(np.percentile(lengths, 95)),
    }


def _oov_section(training, reference, new, threshold):
    vocabulary = {word for tokens in training.tokens for word in tokens}
    new_unseen = Counter(word for tokens in new.tokens for word in tokens if word not in vocabulary)
    new_count = sum(len(tokens) for tokens in new.tokens)
    reference_count = sum(len(tokens) for tokens in reference.tokens)
    reference_unseen = sum(word not in vocabulary for tokens in reference.tokens for word in tokens)

    new_rate = sum(new_unseen.values()) / new_count if new_count else None
    reference_rate = reference_unseen / reference_count if reference_count else None
    increase = new_rate - reference_rate if new_rate is not None and reference_rate is not None else None
    # Most frequent first, ties in word order, so the list does not depend on hashing.
    top_unseen = sorted(new_unseen.items(), key=lambda item: (-item[1], item[0]))[:TOP_UNSEEN_WORDS]

    return {
        "training_vocabulary": len(vocabulary),
        "new_rate": new_rate,
        "reference_rate": reference_rate,
        "increase": increase,
        "new_words": new_count,
        "reference_words": reference_count,
        "top_unseen": [{"word": word, "count": count} for word, count in top_unseen],
        "threshold": float(threshold),
        "warn": increase is not None and increase > threshold + _TOLERANCE,
    }


def _label_warnings(labels, new):
    warnings = []
    if labels["warn"]:
        warnings.append(
            f"The label distribution shifted: the total variation distance between training and "
            f"new data is {labels['total_variation']:.4f}, above the threshold {labels['threshold']:.4f}."
        )

    unseen = labels["unseen_in_training"]
    if unseen:
        counts = labels["new"]["counts"]
        listed = ", ".join(f"{name!r} ({counts[name]} of {_rows(new.size)})" for name in unseen)
        warnings.append(f"The new data contains labels never seen in training: {listed}.")
    return warnings


def _length_warnings(length):
    if not length["warn"]:
        return []
    return [
        f"The mean text length changed by {length['relative_change']:+.1%}, from "
        f"{length['training']['mean']:.2f} words in training to {length['new']['mean']:.2f} in the "
        f"new data, more than the threshold {length['threshold']:.1%}."
    ]


def _oov_warnings(oov):
    if not oov["warn"]:
        return []
    return [
        f"The out-of-vocabulary rate is {oov['new_rate']:.4f} on the new data and "
        f"{oov['reference_rate']:.4f} on the evaluation set, so it rose by {oov['increase']:.4f}, "
        f"more than the threshold {oov['threshold']:.4f}."
    ]


def drift_markdown(report):
    """Render a drift report as a Markdown section: the warnings, then one table per measure."""
    sizes = report["sizes"]
    lines = [
        "## Data drift",
        "",
        f"New data ({_rows(sizes['new'])}) compared with the training data ({_rows(sizes['training'])}). "
        f"The evaluation set ({_rows(sizes['reference'])}) is the baseline of the out-of-vocabulary rate.",
        "",
    ]
    if report["warnings"]:
        lines += [f"- {_tables.escape_markdown(warning)}" for warning in report["warnings"]]
    else:
        lines.append("No measure exceeds its threshold.")

    tables = [_label_table(report["labels"]), _length_table(report["length"]), _oov_table(report["oov"])]
    return "\n\n".join(["\n".join(lines)] + [_tables.to_markdown(table) for table in tables]) + "\n"


def _label_table(labels):
    header = ["Label", "Training", "Share", "New", "Share", "Evaluation", "Share"]
    rows = []
    for name in labels["names"]:
        row = [name]
        for dataset in ("training", "new", "reference"):
            row += [str(labels[dataset]["counts"][name]), _format_share(labels[dataset]["shares"][name])]
        rows.append(row)
    note = (
        f"Total variation distance, training vs new: {labels['total_variation']:.4f} "
        f"(warning above {labels['threshold']:.4f})."
    )
    return _tables.Table("Label distribution", header, rows, note)


def _length_table(length):
    rows = [
        [label, _tables.format_value(length["training"][key]), _tables.format_value(length["new"][key])]
        for key, label in (("mean", "Mean"), ("median", "Median"), ("p95", "95th percentile"))
    ]
    change = "n/a" if length["relative_change"] is None else f"{length['relative_change']:+.1%}"
    note = (
        f"Change of the mean: {change} (warning above ±{length['threshold']:.1%}). "
        f"Kolmogorov-Smirnov statistic {length['ks_statistic']:.4f}, p-value {length['ks_pvalue']:.4g}."
    )
    return _tables.Table("Text length in words", ["Statistic", "Training", "New"], rows, note)


def _oov_table(oov):
    rows = [
        ["OOV rate, new data", _tables.format_value(oov["new_rate"])],
        ["OOV rate, evaluation set", _tables.format_value(oov["reference_rate"])],
        ["Increase", _tables.format_value(oov["increase"])],
        ["Words in the new data", str(oov["new_words"])],
        ["Distinct training words", str(oov["training_vocabulary"])],
    ]
    note = f"OOV words never occur in the training texts. Warning above an increase of {oov['threshold']:.4f}."
    if oov["top_unseen"]:
        listed = ", ".join(f"{item['word']} ({item['count']})" for item in oov["top_unseen"])
        note += f" Most frequent in the new data: {listed}."
    return _tables.Table("Vocabulary", ["Measure", "Value"], rows, note)


def _format_share(share):
    return f"{share:.1%}"


def _rows(count):
    return f"{count} row" if count == 1 else f"{count} rows"

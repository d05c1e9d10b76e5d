"""Stratified train/validation/test splits and stratified row limits for `LabeledTexts`."""

import math
from collections import Counter

import numpy as np
from sklearn.model_selection import train_test_split

from vertical_tune.errors import DataError, format_error


def stratified_split(data, *, validation, test=0.0, seed=0):
    """Split labelled data into train, validation and optional test parts, by label.

    Every label gets at least one example in every part. Each part keeps the row order
    of `data`, and the same seed gives the same split.

    Args:
        data: LabeledTexts with labels.
        validation: float in (0, 1). Fraction of rows for validation
            (`data.split.validation`). The row count is rounded up.
        test: float in [0, 1). Fraction of rows for the test part (`data.split.test`).
            0 makes no test part.
        seed: int. Seed of the shuffle (`data.split.seed`).

    Returns:
        `(train, validation, test)` LabeledTexts. `test` is None when `test` is 0.

    Raises:
        DataError: the fractions leave no training rows, or a label has too few examples
            to appear in every part.
    """
    labels = _require_labels(data, "split")
    sizes = _split_sizes(len(data), validation, test)
    _check_label_counts(data, labels, sizes, validation, test)

    indices = np.arange(len(data))
    test_indices = None
    if sizes["test"]:
        indices, test_indices = train_test_split(
            indices, test_size=sizes["test"], stratify=labels, random_state=seed
        )
    train_indices, validation_indices = train_test_split(
        indices, test_size=sizes["validation"], stratify=labels[indices], random_state=seed
    )

    parts = [train_indices, validation_indices]
    if test_indices is not None:
        parts.append(test_indices)
    _check_every_part_has_every_label(data, labels, parts, sizes, validation, test)

    subsets = [data.subset(np.sort(part)) for part in parts]
    if test_indices is None:
        subsets.append(None)
    return tuple(subsets)


def stratified_sample(data, max_rows, *, seed=0):
    """Return at most `max_rows` rows of `data`, in label proportions, keeping every label.

    `data` is returned unchanged when it has at most `max_rows` rows. Unlabelled data
    gets a plain random sample. Rows keep their order in `data`.

    Raises:
        DataError: `max_rows` is smaller than the number of labels.
    """
    if max_rows < 1:
        raise DataError(
            format_error(
                "The row limit must be positive.",
                where="data.max_train_rows",
                received=max_rows,
                expected="an integer of at least 1",
            )
        )
    if len(data) <= max_rows:
        return data

    rng = np.random.default_rng(seed)
    if data.labels is None:
        return data.subset(np.sort(rng.choice(len(data), size=max_rows, replace=False)))

    labels = np.asarray(data.labels, dtype=object)
    counts = Counter(data.labels)
    if len(counts) > max_rows:
        raise DataError(
            format_error(
                f"{data.source} has {len(counts)} labels, more than the row limit can keep.",
                where="data.max_train_rows",
                received=max_rows,
                expected=f"at least {len(counts)}, one row per label",
                fix=f"Set data.max_train_rows to {len(counts)} or more, or remove it.",
            )
        )

    quotas = _proportional_quotas(counts, max_rows)
    chosen = [
        rng.choice(np.flatnonzero(labels == label), size=quotas[label], replace=False)
        for label in sorted(quotas)
    ]
    return data.subset(np.sort(np.concatenate(chosen)))


def _require_labels(data, action):
    if data.labels is None:
        raise DataError(
            format_error(
                f"Cannot {action} unlabelled data by label.",
                where=data.source,
                expected="data loaded with task.label_column",
            )
        )
    return np.asarray(data.labels, dtype=object)


def _split_sizes(total, validation, test):
    if not 0 < validation < 1 or not 0 <= test < 1 or validation + test >= 1:
        raise DataError(
            format_error(
                "Invalid split fractions.",
                where="data.split.validation, data.split.test",
                received={"validation": validation, "test": test},
                expected="0 < validation < 1, 0 <= test < 1 and validation + test < 1",
            )
        )
    # Integer sizes, rounded up for the held-out parts, so that the second
    # train_test_split does not round the training part down a second time.
    test_rows = math.ceil(test * total) if test else 0
    validation_rows = math.ceil(validation * total)
    return {
        "train": total - validation_rows - test_rows,
        "validation": validation_rows,
        "test": test_rows,
    }


def _check_label_counts(data, labels, sizes, validation, test):
    part_sizes = [size for size in sizes.values() if size]
    # A label with at least total / part_size rows gets one row in every part. This held
    # in a randomized check of many fractions and label counts with sklearn 1.9. The
    # check after splitting catches any case it misses.
    if sizes["train"] < 1:
        minimum = math.inf
    else:
        minimum = max(math.ceil(len(data) / size) for size in part_sizes)
    counts = Counter(labels)
    too_few = {label: count for label, count in sorted(counts.items()) if count < minimum}
    if too_few:
        raise _too_few_error(data, too_few, minimum, sizes, validation, test)


def _check_every_part_has_every_label(data, labels, parts, sizes, validation, test):
    # _check_label_counts should prevent a missing label. This check guards against a
    # change in how sklearn rounds per-label counts.
    counts = Counter(labels)
    for part in parts:
        missing = sorted(set(counts) - set(labels[part]))
        if missing:
            too_few = {label: counts[label] for label in missing}
            raise _too_few_error(data, too_few, None, sizes, validation, test)


def _too_few_error(data, too_few, minimum, sizes, validation, test):
    if minimum is None:
        needed = "more examples"
    elif math.isinf(minimum):
        needed = "a training part, but validation and test take every row"
    else:
        needed = f"at least {minimum} examples per label"
    return DataError(
        format_error(
            f"{len(too_few)} label(s) have too few examples to appear in every split.",
            where=f"{data.source}, {getattr(data, 'split_key', 'labels')}",
            received=too_few,
            expected=(
                f"{needed} for data.split.validation={validation} and data.split.test={test} "
                f"({sizes['train']} train / {sizes['validation']} validation / "
                f"{sizes['test']} test rows of {len(data)})"
            ),
            fix=(
                "Add examples of these labels, merge each into a related label, or give "
                "separate files in data.validation (and data.test) so that no split is needed."
            ),
        )
    )


def _proportional_quotas(counts, total):
    """Share `total` rows among labels in proportion to `counts`, with at least 1 each."""
    size = sum(counts.values())
    exact = {label: count * total / size for label, count in counts.items()}
    quotas = {
        label: min(counts[label], max(1, math.floor(share))) for label, share in exact.items()
    }

    # Largest remainders go first, and ties go to the label that sorts first, so results repeat.
    by_remainder = sorted(exact, key=lambda label: (math.floor(exact[label]) - exact[label], label))
    while sum(quotas.values()) < total:
        for label in by_remainder:
            if sum(quotas.values()) == total:
                break
            if quotas[label] < counts[label]:
                quotas[label] += 1

    # Raising small labels to 1 row can overshoot, so the excess comes off the largest.
    while sum(quotas.values()) > total:
        largest = max(sorted(quotas), key=lambda label: quotas[label])
        quotas[largest] -= 1
    return quotas

"""Build the sample data that `vtune init` copies into a new project.

Reads the original data set files, checks their sha256 sums, draws stratified
samples with a fixed seed and writes `templates/data/<industry>/train.csv` and
`validation.csv`. Running it twice on the same files gives byte-identical output.
The NOTICE.md beside each sample is written by hand and states the same sizes.

Usage:
    .venv/bin/python tools/make_samples.py --source DIR [--output templates/data]

DIR contains one folder per data set, as published:
    twitter_financial_news_sentiment/sent_train.csv, sent_valid.csv
    medical_abstracts/medical_tc_test.csv
    womens_clothing_reviews/Womens Clothing E-Commerce Reviews.csv
"""

import argparse
import hashlib
import pathlib
import sys

import pandas as pd
from sklearn.model_selection import train_test_split

SEED = 0

FINANCE_DIR = "twitter_financial_news_sentiment"
MEDICAL_DIR = "medical_abstracts"
RETAIL_DIR = "womens_clothing_reviews"

# sha256 of the published files the samples were drawn from. Another version of a
# file would give another sample, so a mismatch stops the script.
SOURCE_SHA256 = {
    f"{FINANCE_DIR}/sent_train.csv": "184e6322b7f0e84c3103a83d198f1be8203de8b63a857f67a2964321b71c4e8d",
    f"{FINANCE_DIR}/sent_valid.csv": "393572beac5064ed60c9f608a57dc66af2b41a91b89c149932d5c57f827e25da",
    f"{MEDICAL_DIR}/medical_tc_test.csv": "1eecea73c9ecad292c55e10403bd139fab9580545d6878482997c5564d51ac05",
    f"{RETAIL_DIR}/Womens Clothing E-Commerce Reviews.csv": "bd93cc515747ad1f87b8bc863c9e40da758509e6db6506a96d06976e61e36ee0",
}

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def read_source_csv(source_dir, relative_path, **read_options):
    """Read one published CSV as strings, after checking its sha256 sum.

    Every cell stays text (empty cells stay empty strings), so writing the rows
    back reproduces the original values exactly.
    """
    path = source_dir / relative_path
    if not path.is_file():
        sys.exit(f"Source file not found: {path}. Pass the data set folder with --source.")

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    expected = SOURCE_SHA256[relative_path]
    if digest != expected:
        sys.exit(
            f"Source file {path} has sha256 {digest}, expected {expected}. "
            "The samples are defined on that exact file version."
        )

    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8", **read_options)


def stratified_sample(frame, label_column, size):
    """Return `size` rows of `frame` with the label proportions of the whole, in file order."""
    sample, _ = train_test_split(
        frame, train_size=size, stratify=frame[label_column], random_state=SEED
    )
    return sample.sort_index()


def stratified_split(frame, label_column, train_size, validation_size):
    """Split `frame` into disjoint stratified train and validation sets, in file order."""
    train, validation = train_test_split(
        frame,
        train_size=train_size,
        test_size=validation_size,
        stratify=frame[label_column],
        random_state=SEED,
    )
    return train.sort_index(), validation.sort_index()


def sample_finance(source_dir):
    """Draw 1200 rows from the train file and 400 from the validation file."""
    train = read_source_csv(source_dir, f"{FINANCE_DIR}/sent_train.csv")
    validation = read_source_csv(source_dir, f"{FINANCE_DIR}/sent_valid.csv")
    return stratified_sample(train, "label", 1200), stratified_sample(validation, "label", 400)


def sample_medical(source_dir):
    """Split the single published file into 1000 training and 300 validation rows.

    Abstracts stored twice with two different labels are dropped entirely: a
    single-label classifier cannot learn both, and a copy in each split would leak.
    """
    frame = read_source_csv(source_dir, f"{MEDICAL_DIR}/medical_tc_test.csv")

    labels_per_text = frame.groupby("medical_abstract")["condition_label"].nunique()
    multi_label_texts = labels_per_text.index[labels_per_text > 1]
    frame = frame[~frame["medical_abstract"].isin(multi_label_texts)]
    frame = frame.drop_duplicates(subset="medical_abstract")

    return stratified_split(frame, "condition_label", 1000, 300)


def sample_retail(source_dir):
    """Split the reviews that have text into 1000 training and 300 validation rows.

    The first, unnamed column is the original row number and is kept, so every
    sampled row can be traced back to the published file. Repeated review texts
    keep only their first row, so no text lands in both splits.
    """
    frame = read_source_csv(
        source_dir, f"{RETAIL_DIR}/Womens Clothing E-Commerce Reviews.csv", index_col=0
    )
    frame = frame[frame["Review Text"].str.strip() != ""]
    frame = frame.drop_duplicates(subset="Review Text")

    # The row numbers are text here, so sort them as numbers to keep file order.
    frame.index = frame.index.astype(int)
    frame.index.name = None
    return stratified_split(frame, "Recommended IND", 1000, 300)


def write_sample(frame, path, *, keep_index):
    """Write one sample as UTF-8 CSV with minimal double-quote quoting and LF line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=keep_index, encoding="utf-8", lineterminator="\n")


def describe(frame, label_column):
    counts = frame[label_column].value_counts().sort_index()
    return ", ".join(f"{label}: {count}" for label, count in counts.items())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        required=True,
        type=pathlib.Path,
        help="Folder that contains the published data sets, one sub-folder each (see above).",
    )
    parser.add_argument(
        "--output",
        type=pathlib.Path,
        default=REPO_ROOT / "templates" / "data",
        help="Folder to write <industry>/train.csv and validation.csv into (default: %(default)s).",
    )
    args = parser.parse_args(argv)

    samples = {
        "finance": (sample_finance(args.source), "label", False),
        "medical": (sample_medical(args.source), "condition_label", False),
        "retail": (sample_retail(args.source), "Recommended IND", True),
    }
    for industry, ((train, validation), label_column, keep_index) in samples.items():
        for split, frame in (("train", train), ("validation", validation)):
            path = args.output / industry / f"{split}.csv"
            write_sample(frame, path, keep_index=keep_index)
            print(f"{path}: {len(frame)} rows ({describe(frame, label_column)})")


if __name__ == "__main__":
    main()

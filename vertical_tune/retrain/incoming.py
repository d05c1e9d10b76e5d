"""Find the data a retrain has not seen yet, and fingerprint every data file it uses.

New data arrives in two ways: files dropped into `retrain.incoming`, or a changed
`data.train` file. A file is identified by the SHA-256 of its bytes, so renaming
it does not make it new and editing it does. Files whose names start with `.` or
`~`, or end in `.tmp`/`.part`/`.partial`, are still being written and are skipped.
"""

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from vertical_tune.data.dataset import LabeledTexts

DATA_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")
_IN_PROGRESS = (".tmp", ".part", ".partial")


@dataclasses.dataclass
class DataFile:
    """One data file with its content hash and the rows it contributed."""

    path: str
    sha256: str
    rows: int | None = None

    def to_dict(self):
        return dataclasses.asdict(self)


def sha256_of(path):
    """Return the hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def incoming_files(folder):
    """Return the finished data files in `folder` (not recursive), sorted by name."""
    if folder is None or not Path(folder).is_dir():
        return []
    files = []
    for path in sorted(Path(folder).iterdir()):
        name = path.name
        if not path.is_file() or name.startswith((".", "~")) or name.endswith(_IN_PROGRESS):
            continue
        if path.suffix.lower() in DATA_SUFFIXES:
            files.append(DataFile(str(path.resolve()), sha256_of(path)))
    return files


def concatenate(parts, source):
    """Join LabeledTexts parts into one, named `source`."""
    parts = [part for part in parts if part is not None and len(part)]
    return LabeledTexts(
        texts=[text for part in parts for text in part.texts],
        labels=[label for part in parts for label in part.labels],
        source=source,
        dropped_empty_texts=sum(part.dropped_empty_texts for part in parts),
        dropped_missing_labels=sum(part.dropped_missing_labels for part in parts),
    )


def hold_out(data, fraction, *, seed):
    """Split new data into (train part, evaluation part), stratified by label when possible.

    A label with a single row cannot be split by label; then the split is plain random.
    `fraction` 0, or fewer than 2 rows, hold nothing out.
    """
    if not fraction or len(data) < 2:
        return data, None
    indices = np.arange(len(data))
    labels = np.asarray(data.labels)
    _, counts = np.unique(labels, return_counts=True)
    size = max(1, round(fraction * len(data)))
    stratify = labels if counts.min() >= 2 and size >= len(counts) and len(data) - size >= len(counts) else None
    kept, held = train_test_split(indices, test_size=size, random_state=seed, stratify=stratify)
    return data.subset(sorted(kept)), data.subset(sorted(held))


def run_data_fingerprint(run_dir):
    """Return {role: {path, sha256, rows}} for the data files a run directory was trained on.

    Sources and row counts come from the run's `metrics.json` (paths from its
    `config.yaml` for older runs). A part split off the training file is named
    `split of PATH`; data that is not a file (a DataFrame, a retrain's training
    pool, a `tfds:` source) or a file that no longer exists gets no hash.
    """
    import json

    import yaml

    run_dir = Path(run_dir)
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
    metrics_path = run_dir / "metrics.json"
    summary = json.loads(metrics_path.read_text(encoding="utf-8")).get("data", {}) if metrics_path.is_file() else {}
    fingerprint = {}
    train_source = (summary.get("train") or {}).get("source")
    for role in ("train", "validation", "test"):
        part = summary.get(role) or {}
        source = part.get("source") or (config.get("data") or {}).get(role)
        if not source:
            continue
        rows = part.get("rows")
        path = Path(str(source))
        if role != "train" and source == train_source:
            # Split off the training file: its rows are a part of that file, so no hash of its own.
            fingerprint[role] = DataFile(f"split of {source}", None, rows).to_dict()
            continue
        fingerprint[role] = DataFile(str(source), sha256_of(path) if path.is_file() else None, rows).to_dict()
    return fingerprint

"""The `manifest.json` of a folder of tokenized TFRecord shards written by `vtune data prepare`."""

import json
from pathlib import Path

from vertical_tune.data.labels import FROM_DATA, LabelVocabulary
from vertical_tune.errors import DataError, format_error

MANIFEST_NAME = "manifest.json"
MANIFEST_KIND = "vertical_tune.prepared_data"
MANIFEST_VERSION = 1
_PREPARE_AGAIN = "Run `vtune data prepare` again with this config, into a new --output folder."


def read_manifest(directory):
    """Read and check the manifest of a prepared folder.

    Args:
        directory: str or Path. Folder written by `vtune data prepare`.

    Returns:
        dict. The manifest.

    Raises:
        DataError: the manifest is missing, not JSON, of another kind or version, or
            names a shard file that does not exist.
    """
    directory = Path(directory)
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise DataError(
            format_error(
                f"The folder has no {MANIFEST_NAME}, so it was not written by `vtune data prepare`.",
                where=str(directory.resolve()),
                expected=f"a folder with {MANIFEST_NAME} and train-*.tfrecord shards",
                fix=(
                    "Run `vtune data prepare CONFIG --output DIR`, or point data.train at "
                    "the data files with a glob such as `data/train-*.csv`."
                ),
            )
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _invalid_manifest(path, str(error)) from None
    if not isinstance(manifest, dict) or manifest.get("kind") != MANIFEST_KIND:
        raise _invalid_manifest(path, "missing or wrong `kind`")
    if manifest.get("manifest_version") != MANIFEST_VERSION:
        raise _invalid_manifest(path, f"manifest_version {manifest.get('manifest_version')!r}")
    for path_of_shard in shard_paths(directory, manifest):
        if not Path(path_of_shard).is_file():
            raise DataError(
                format_error(
                    "A shard named in the manifest is missing.",
                    where=str(path),
                    received=path_of_shard,
                    fix=_PREPARE_AGAIN,
                )
            )
    return manifest


def shard_paths(directory, manifest):
    """Return the absolute paths of the shard files in manifest order."""
    directory = Path(directory).resolve()
    return [str(directory / shard["file"]) for shard in manifest["shards"]]


def manifest_vocabulary(manifest):
    """Return the `LabelVocabulary` the shards were encoded with."""
    return LabelVocabulary.from_dict(manifest["labels"], source=MANIFEST_NAME)


def check_manifest(manifest, config, directory):
    """Raise `DataError` when the shards were prepared with other settings than `config`.

    The backbone preset, `strip_accents`, the sequence length, the normalization and
    the label set (unless `task.labels` is `from_data`) must match, because the
    shards hold the token ids that these settings produce.

    Args:
        manifest: dict from `read_manifest`.
        config: VTuneConfig.
        directory: str or Path. The prepared folder, named in the message.
    """
    expected = preparation_settings(config)
    differences = {
        key: {"prepared": manifest.get(key), "config": value}
        for key, value in expected.items()
        if manifest.get(key) != value
    }
    if config.task.labels != FROM_DATA:
        configured = LabelVocabulary.from_spec(config.task.labels, None).to_dict()
        if manifest.get("labels") != configured:
            differences["labels"] = {"prepared": manifest.get("labels"), "config": configured}
    if differences:
        raise DataError(
            format_error(
                "The TFRecord shards were prepared with other settings than this config.",
                where=str(Path(directory).resolve() / MANIFEST_NAME),
                received=differences,
                expected="the backbone, sequence length, normalization and labels of the config",
                fix=_PREPARE_AGAIN,
            )
        )


def preparation_settings(config):
    """Return the config settings that decide the content of the shards, for the manifest."""
    return {
        "backbone": {
            "preset": config.backbone.preset,
            "strip_accents": config.backbone.strip_accents,
        },
        "sequence_length": config.backbone.sequence_length,
        "normalization": {
            "profile": config.normalization.profile,
            "mask_urls": config.normalization.mask_urls,
        },
    }


def _invalid_manifest(path, reason):
    return DataError(
        format_error(
            "Invalid manifest of prepared data.",
            where=str(path),
            received=reason,
            expected=f"a {MANIFEST_NAME} written by `vtune data prepare`",
            fix=_PREPARE_AGAIN,
        )
    )

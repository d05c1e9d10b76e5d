"""`tfds:` sources, read from a tiny data set prepared in a temporary directory."""

import numpy as np
import pytest

from vertical_tune.data.dataset import load_labeled_texts
from vertical_tune.data.readers import read_table
from vertical_tune.errors import DataError

tfds = pytest.importorskip("tensorflow_datasets")

TRAIN_ROWS = [("good hotel", 1), ("bad room", 0), ("café au lait, 很好", 1), ("", 0)]
TEST_ROWS = [("fine", 1), ("noisy", 0)]
DATASET_NAME = "vtune_tiny_reviews"


class VtuneTinyReviews(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Reviews from the lists above; tfds derives the name `vtune_tiny_reviews`."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        features = tfds.features.FeaturesDict(
            {
                "text": tfds.features.Text(),
                "label": tfds.features.ClassLabel(names=["negative", "positive"]),
                "stars": tfds.features.Scalar(dtype=np.int32),
            }
        )
        return tfds.core.DatasetInfo(builder=self, features=features)

    def _split_generators(self, dl_manager):
        return {
            "train": self._generate_examples(TRAIN_ROWS),
            "test": self._generate_examples(TEST_ROWS),
        }

    def _generate_examples(self, rows):
        for index, (text, label) in enumerate(rows):
            yield index, {"text": text, "label": label, "stars": 4 * label + 1}


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds")
    builder = VtuneTinyReviews(data_dir=str(data_dir))
    # No GCS lookup and nothing to download: the examples come from the lists above.
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False)
    )
    return data_dir


def test_tfds_default_split_is_train(tfds_dir):
    table = read_table(f"tfds:{DATASET_NAME}", tfds_data_dir=tfds_dir)

    rows = sorted(zip(table["text"], table["label"], table["stars"]))
    assert rows == sorted((text, str(label), str(4 * label + 1)) for text, label in TRAIN_ROWS)


def test_tfds_split_and_version(tfds_dir):
    table = read_table(f"tfds:{DATASET_NAME}:1.0.0:test", tfds_data_dir=tfds_dir)

    assert sorted(table["text"]) == ["fine", "noisy"]


def test_tfds_load_labeled_texts(tfds_dir):
    data = load_labeled_texts(
        f"tfds:{DATASET_NAME}", text_column="text", label_column="label", tfds_data_dir=tfds_dir
    )

    assert data.source == f"tfds:{DATASET_NAME}"
    assert len(data) == 3
    assert data.dropped_empty_texts == 1
    assert "café au lait, 很好" in data.texts


def test_tfds_not_prepared_error(tmp_path):
    with pytest.raises(DataError) as error:
        read_table(f"tfds:{DATASET_NAME}:test", tfds_data_dir=tmp_path)

    message = str(error.value)
    assert f"tfds data set '{DATASET_NAME}' is not prepared in {tmp_path}." in message
    assert f"tfds build {DATASET_NAME} --data_dir DIR" in message
    assert "data.tfds_data_dir" in message


def test_tfds_catalog_name_not_prepared_error(tmp_path):
    with pytest.raises(DataError) as error:
        read_table("tfds:imdb_reviews", tfds_data_dir=tmp_path)

    assert f"tfds data set 'imdb_reviews' is not prepared in {tmp_path}." in str(error.value)


def test_tfds_unknown_split_error(tfds_dir):
    with pytest.raises(DataError) as error:
        read_table(f"tfds:{DATASET_NAME}:validation", tfds_data_dir=tfds_dir)

    message = str(error.value)
    assert "Cannot load the tfds split." in message
    assert "Received: 'validation'" in message
    assert "train" in message

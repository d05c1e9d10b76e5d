import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

from vertical_tune.evaluation.plots import plot_confusion_matrix

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("normalize", [True, False])
def test_png_written_and_non_empty(tmp_path, normalize):
    path = tmp_path / "matrix.png"

    written = plot_confusion_matrix([[5, 1], [2, 7]], ["negative", "positive"], path, normalize=normalize)

    assert written == path
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 1000
    assert os.listdir(tmp_path) == ["matrix.png"]


def test_pyplot_figures_untouched(tmp_path):
    before = plt.get_fignums()

    plot_confusion_matrix([[1, 0], [0, 1]], ["a", "b"], tmp_path / "matrix.png")

    assert plt.get_fignums() == before


def test_empty_row_gives_no_runtime_warning(tmp_path):
    matrix = [[3, 1, 0], [0, 0, 0], [1, 0, 4]]

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        plot_confusion_matrix(matrix, ["a", "absent", "c"], tmp_path / "matrix.png")

    assert (tmp_path / "matrix.png").stat().st_size > 0


def test_many_long_labels(tmp_path):
    names = [f"very_long_category_name_number_{index}" for index in range(30)]
    matrix = np.random.default_rng(0).integers(0, 20, size=(30, 30))

    plot_confusion_matrix(matrix, names, tmp_path / "matrix.png")

    assert (tmp_path / "matrix.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    ("matrix", "names"),
    [
        ([[1, 0], [0, 1]], ["a", "b", "c"]),
        ([[1, 0, 0], [0, 1, 0]], ["a", "b"]),
        ([1, 0], ["a", "b"]),
    ],
)
def test_shape_mismatch_raises(tmp_path, matrix, names):
    with pytest.raises(ValueError, match="must have shape"):
        plot_confusion_matrix(matrix, names, tmp_path / "matrix.png")

    assert not list(tmp_path.iterdir())

"""A tiny 3-layer run trained once and shared by the compression tests."""

import pytest

from tests.helpers import train_tiny_run


@pytest.fixture(scope="package")
def trained_run(tmp_path_factory):
    """A trained classifier on a 3-layer backbone (hidden size 32) and its run directory."""
    return train_tiny_run(tmp_path_factory.mktemp("compression"), epochs=3)

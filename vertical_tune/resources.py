"""Locate the preset and template folders, installed or in a source checkout."""

import importlib.resources
from pathlib import Path


def package_folder(name):
    """Return a Traversable for `industry_presets` or `templates`.

    An installed package has them as the subpackages `vertical_tune.<name>`
    (see setup.py). A source checkout imported without installing has them
    next to the `vertical_tune/` folder instead.
    """
    try:
        return importlib.resources.files(f"vertical_tune.{name}")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / name

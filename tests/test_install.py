"""A plain (non-editable) install ships the presets and templates."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
from vertical_tune.resources import package_folder
presets = sorted(p.name for p in package_folder("industry_presets").iterdir() if p.name.endswith(".yaml"))
templates = package_folder("templates")
print(presets)
print((templates / "project" / "README.md.j2").is_file(), (templates / "data" / "finance" / "train.csv").is_file())
print(package_folder("templates").__class__.__name__)
"""


@pytest.mark.slow
def test_wheel_in_fresh_venv_finds_presets_and_templates(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        cwd=tmp_path,
    )
    wheel = next(tmp_path.glob("vertical_tune-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "vertical_tune/industry_presets/finance.yaml" in names
    assert "vertical_tune/templates/data/medical/NOTICE.md" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    # Run outside the checkout so the source tree cannot shadow the installed copy.
    result = subprocess.run([python, "-c", CHECK], check=True, capture_output=True, text=True, cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert lines[0] == "['finance.yaml', 'medical.yaml', 'retail.yaml']"
    assert lines[1] == "True True"

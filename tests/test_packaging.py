"""setup.py lists every subpackage, so a plain `pip install .` ships all of the code."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_setup_lists_every_subpackage():
    listed = set(re.findall(r'"(vertical_tune(?:\.\w+)*)"', (ROOT / "setup.py").read_text(encoding="utf-8")))
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "vertical_tune").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }

    missing = sorted(on_disk - listed)

    assert not missing, f"add {missing} to `packages` in setup.py"

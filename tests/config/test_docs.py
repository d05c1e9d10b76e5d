from pathlib import Path

from vertical_tune.config.docs import iter_fields, render_markdown
from vertical_tune.config.schema import VTuneConfig


def test_config_docs_are_up_to_date():
    docs = Path(__file__).resolve().parents[2] / "docs" / "config.md"
    assert docs.read_text(encoding="utf-8") == render_markdown(), (
        "docs/config.md is stale: run `python -m vertical_tune.config.docs > docs/config.md`"
    )


def test_every_field_has_a_description():
    rows = list(iter_fields())
    assert len(rows) > 30
    assert all(row.description for row in rows), [row.key for row in rows if not row.description]


def test_defaults_validate():
    assert VTuneConfig().training.epochs == 3

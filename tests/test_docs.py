"""The README documents every setting and every command (datasette's rule)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_it_documents_every_setting() -> None:
    settings_source = (ROOT / "founderops" / "settings.py").read_text()
    names = set(
        re.findall(r'env_(?:str|bool|int|float|list|choice)\(\s*"([A-Z_]+)"', settings_source)
    )
    missing = sorted(n for n in names if f"FOUNDEROPS_{n}" not in README)
    assert missing == []


def test_it_documents_every_command() -> None:
    found = (ROOT / "founderops").glob("*/management/commands/*.py")
    names = {p.stem for p in found if not p.stem.startswith("_")}
    missing = sorted(n for n in names if f"founderops {n}" not in README)
    assert missing == []


def test_it_keeps_a_changelog_and_an_architecture_map() -> None:
    assert (ROOT / "CHANGELOG.md").read_text().startswith("# Changelog")
    assert "## Jobs" in (ROOT / "docs" / "architecture.md").read_text()

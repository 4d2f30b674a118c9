"""docs/ARCHITECTURE.md stays true: it names every module, and every file it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ARCHITECTURE.md"
PACKAGES = ("cogs", "core", "db", "locales", "media", "moderation", "services", "sandbox")
NAMED = re.compile(r"`((?:[\w.]+/)*[\w.]+\.py)`")


def modules() -> set[str]:
    found = {"bot.py", "process_settings.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "versions" in relative.parts:
                continue  # migrations are listed by their folder
            if path.name == "__init__.py" and path.stat().st_size == 0:
                continue
            if path.name == "__init__.py" and relative.parent.as_posix() in PACKAGES:
                continue  # a layer's own docstring; the layer has its heading
            found.add(relative.as_posix())
    return found


def test_every_module_is_on_the_map() -> None:
    named = set(NAMED.findall(DOC.read_text()))
    assert sorted(modules() - named) == []


def test_every_file_the_map_names_exists() -> None:
    named = set(NAMED.findall(DOC.read_text()))
    assert sorted(name for name in named if not (ROOT / name).exists()) == []

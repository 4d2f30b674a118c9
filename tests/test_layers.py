"""The layers hold: `media/` and `db/` know nothing of Discord, `db/` nothing of `media/`, and
`core/` (the shared value types) needs nothing outside the standard library.

Read from the source with `ast`, so an import hidden inside a function counts too.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "media": {"discord", "db", "cogs", "services", "sandbox", "bot"},
    "db": {"discord", "media", "cogs", "services", "sandbox", "bot"},
    "core": {"discord", "media", "db", "cogs", "services", "sandbox", "bot"},
    "services": {"discord", "cogs", "sandbox", "bot"},
}


def imported_packages(path: Path) -> set[str]:
    """The top-level package of every absolute import in one module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_it_must_not(package: str) -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(package)
        for name in sorted(imported_packages(path) & FORBIDDEN[package])
    ]
    assert modules(package), f"no modules found under {package}/"
    assert offences == []


def test_core_needs_only_the_standard_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"core", "__future__"}
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules("core")
        for name in sorted(imported_packages(path) - allowed)
    ]
    assert offences == []


def test_the_checker_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "hidden.py"
    module.write_text("def later():\n    import discord.ui\n    from media import hashing\n")
    assert imported_packages(module) >= {"discord", "media"}

"""The layers hold: `media/` and `db/` know nothing of Discord, `db/` nothing of `media/`,
`core/` (the shared value types) needs nothing outside the standard library, and no cog
imports another (what cogs share lives in `moderation/`, as services on the bot).

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
    "locales": {"discord", "media", "db", "cogs", "services", "moderation", "sandbox", "bot"},
    "services": {"discord", "cogs", "moderation", "sandbox", "bot"},
    "moderation": {"cogs", "sandbox"},
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


def imported_modules(path: Path) -> set[str]:
    """The full dotted name of every absolute import in one module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_no_cog_imports_another_cog() -> None:
    offences = []
    for path in modules("cogs"):
        own = "cogs." + path.relative_to(ROOT / "cogs").parts[0].removesuffix(".py")
        for name in imported_modules(path):
            if name.startswith("cogs.") and name.split(".")[:2] != own.split("."):
                offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offences == []


def test_no_cog_looks_another_up_by_name() -> None:
    offences = [
        str(path.relative_to(ROOT))
        for path in (*modules("cogs"), *modules("moderation"))
        if "get_cog(" in path.read_text()
    ]
    assert offences == []

"""Every catalog string the code puts where Discord limits the length fits that limit in every
language, counted in characters as Discord counts them: button labels (80), select options
(100) and their placeholders (150), form titles and field labels (45) and placeholders (100),
embed titles and field names (256), field values (1024), footers (2048), descriptions (4096),
message content (2000). Command names, descriptions and choices are checked in
tests/test_translations.py; forms, queue messages and entries built whole, with the longest
values, there too.

The code is read as pybabel reads it: a string is found where it is written (`tr("…")`,
`tr.plural("…", "…", n)`, or a module constant `N_("…")` sent as `tr(NAME)`) together with the
place it goes (the call and keyword, or `button.label = …`). Each placeholder counts as ten
characters (a number, a mention); what people wrote themselves is fitted where it is shown
(`moderation/shown_text.py`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

import locales
from moderation.buttons import ConfirmBan
from moderation.i18n import texts
from moderation.pagination import PageView
from moderation.unreadable import file_view

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("cogs", "moderation")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
STAND_IN = "x" * 10
# (call, keyword) -> Discord's limit in characters; "" is the first positional argument.
LIMITS: dict[tuple[str, str], int] = {
    ("Button", "label"): 80,
    ("button", "label"): 80,
    ("SelectOption", "label"): 100,
    ("SelectOption", "description"): 100,
    ("Select", "placeholder"): 150,
    ("TextInput", "label"): 45,
    ("TextInput", "placeholder"): 100,
    ("Label", "text"): 45,
    ("Label", "description"): 100,
    ("Modal", "title"): 45,
    ("Embed", "title"): 256,
    ("Embed", "description"): 4096,
    ("add_field", "name"): 256,
    ("add_field", "value"): 1024,
    ("set_field_at", "name"): 256,
    ("set_field_at", "value"): 1024,
    ("set_footer", "text"): 2048,
    ("set_author", "name"): 256,
    ("send", ""): 2000,
    ("send", "content"): 2000,
    ("send_message", ""): 2000,
    ("send_message", "content"): 2000,
    ("edit_message", "content"): 2000,
    ("edit_original_response", "content"): 2000,
    ("edit", "content"): 2000,
}
ATTRIBUTE_LIMITS = {"label": 80, "placeholder": 150, "title": 45}  # `item.label = tr(…)`
CATALOG_CALLS = {"tr", "plural", "count", "N_", "phrase", "plural_text"}


def called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def constants(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    """A module's `NAME = N_("…")` constants, and the marked strings in a constant dict or
    tuple (`CANT_ACT = {...: N_("…")}`, `TAKE_DOWN = (N_("Take down"), style)`)."""
    found: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            marked = tuple(
                arg.value
                for call in ast.walk(node.value)
                if isinstance(call, ast.Call) and called_name(call) == "N_"
                for arg in call.args[:1]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            )
            for target in targets:
                if isinstance(target, ast.Name) and marked:
                    found[target.id] = marked
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for name, value in zip(target.elts, node.value.elts, strict=True):
                        if isinstance(name, ast.Name):
                            found.update(constants(ast.Module([ast.Assign([name], value)], [])))
    return found


def marked_strings(node: ast.AST, named: dict[str, tuple[str, ...]]) -> Iterator[str]:
    """The catalog strings an expression shows (not those of phrases read inside it, which
    are checked where they are made)."""
    if isinstance(node, ast.Call) and called_name(node) in CATALOG_CALLS:
        for arg in (
            node.args[:2] if called_name(node) in ("plural", "plural_text") else node.args[:1]
        ):
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield arg.value
            elif isinstance(arg, ast.Name | ast.Subscript | ast.Attribute):
                name = arg.value if isinstance(arg, ast.Subscript) else arg
                if isinstance(name, ast.Name):
                    yield from named.get(name.id, ())
        return
    if isinstance(node, ast.Name):
        yield from named.get(node.id, ())
        return
    for child in ast.iter_child_nodes(node):
        yield from marked_strings(child, named)


def limited_strings(source: str) -> Iterator[tuple[int, int, str]]:
    """(line, limit, source string) for every catalog string put where Discord limits length."""
    tree = ast.parse(source)
    named = constants(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            call = called_name(node)
            places = [(kw.arg or "", kw.value) for kw in node.keywords]
            if node.args and (call, "") in LIMITS:
                places.append(("", node.args[0]))
            for keyword, value in places:
                limit = LIMITS.get((call, keyword))
                if limit is None and call == "__init__" and keyword == "title":
                    limit = 45  # a form's title, given to discord.ui.Modal
                if limit is not None:
                    for text in marked_strings(value, named):
                        yield node.lineno, limit, text
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr in ATTRIBUTE_LIMITS:
                    for text in marked_strings(node.value, named):
                        yield node.lineno, ATTRIBUTE_LIMITS[target.attr], text


@cache
def every_limited_string() -> tuple[tuple[str, int, int, str], ...]:
    return tuple(
        (str(path.relative_to(ROOT)), line, limit, text)
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, limit, text in limited_strings(path.read_text())
    )


@cache
def po(language: str) -> Catalog:
    path = locales.DIRECTORY / language / "LC_MESSAGES" / f"{locales.DOMAIN}.po"
    with path.open("rb") as file:
        return read_po(file, locale=language)


def translations(language: str, source: str) -> list[str]:
    if language == locales.SOURCE_LANGUAGE:
        return [source]
    entry = po(language).get(source) or next(
        (m for m in po(language) if isinstance(m.id, tuple) and source in m.id), None
    )
    if entry is None:
        return []  # tests/test_translations.py fails on a missing translation
    return list(entry.string) if isinstance(entry.string, tuple) else [entry.string]


def shown_length(text: str) -> int:
    return len(PLACEHOLDER.sub(STAND_IN, text))


def test_the_code_is_read_for_every_kind_of_limited_place() -> None:
    found = every_limited_string()
    limits = {limit for _, _, limit, _ in found}
    assert {45, 80, 100, 256, 1024, 2000} <= limits, limits
    assert len(found) > 100


@pytest.mark.parametrize("language", locales.LANGUAGES)
def test_every_limited_string_fits_in_every_language(language: str) -> None:
    too_long = [
        (f"{path}:{line}", limit, translated)
        for path, line, limit, text in every_limited_string()
        for translated in translations(language, text)
        if shown_length(translated) > limit
    ]
    assert too_long == []


def test_a_label_too_long_is_found() -> None:
    source = 'discord.ui.Button(label=tr("' + "long " * 20 + '"))'
    ((_, limit, text),) = limited_strings(source)
    assert limit == 80 and shown_length(text) > limit
    constant = (
        'CANCEL = N_("Cancel")\nclass V:\n    def f(self, tr):\n        self.b.label = tr(CANCEL)'
    )
    assert [(limit, text) for _, limit, text in limited_strings(constant)] == [(80, "Cancel")]


@pytest.mark.parametrize("language", locales.LANGUAGES)
def test_buttons_built_whole_fit_in_every_language(language: str) -> None:
    tr = texts(language)

    async def render(page: int) -> str:
        return ""

    views = [file_view(tr, 1, 2, 3, removed) for removed in (True, False)]
    views += [ConfirmBan(tr, 1), PageView(tr, 1, 10**6, render)]
    buttons = [getattr(item, "item", item) for view in views for item in view.children]
    labels = [button.label or "" for button in buttons]
    assert labels and all(len(label) <= 80 for label in labels), labels

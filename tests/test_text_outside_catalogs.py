"""No text a member reads is built outside the catalogs in the Discord-facing code.

Every literal with words that reaches Discord where people read it (message content, embed
titles, descriptions, fields and footers, button, select and form texts) must be a catalog
string: written inside `tr("…")`, `tr.plural(…)` or `phrase("…")`, or a module constant marked
`N_("…")` and translated where it is sent. Command names, descriptions and choices are exempt:
`CommandTranslator` translates them from the tree. The pseudo-locale run of the end-to-end
suite (`tests/e2e/test_languages.py`) checks the same at run time, in what the bot sent.

Below `moderation/` (core, db, media, services), nothing is sent, but reasons are made there
(why a file was refused, why an import line or a setting is bad, why a click is refused) and
shown in Discord: each must be a phrase (`core/phrases.py`), never a bare English string.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("bot.py", "cogs", "moderation")
# Calls whose texts people read in Discord, and the keywords that carry those texts.
SHOWN_CALLS = {
    "send",
    "send_message",
    "edit",
    "edit_message",
    "edit_original_response",
    "Embed",
    "add_field",
    "set_field_at",
    "set_footer",
    "set_author",
    "Button",
    "button",
    "TextInput",
    "Select",
    "SelectOption",
    "Label",
    "Modal",
    "TextDisplay",
}
SHOWN_KEYWORDS = {
    "content",
    "title",
    "description",
    "label",
    "placeholder",
    "name",
    "value",
    "text",
}
POSITIONAL_TEXT = {"send", "send_message"}  # their first argument is the message's content
# Calls whose strings are catalog strings already.
CATALOG_CALLS = {
    "tr",
    "N_",
    "phrase",
    "plural_phrase",
    "plural",
    "plural_text",
    "count",
    "read",
    "choice",
}
LOWER_LAYERS = ("core", "db", "media", "services")
# What carries a reason out of the lower layers to a moderator: every argument is a phrase.
REASON_CALLS = {
    "MediaCrafted",
    "MediaUnfinished",
    "MediaUnsupported",
    "FetchRejected",
    "FetchFailed",
    "PoolBusy",
    "_NotFinished",
    "PhrasedError",
    "Problem",
    "failed",
}
# The only literals with words allowed in shown places, each with why.
ALLOWED: dict[str, str] = {}
MARKUP = re.compile(r"\{[^{}]*\}|<[@#][!&]?\d*>|<t:\d*(:\w)?>|https?://\S+")


def python_files(folders: tuple[str, ...] = CHECKED) -> Iterator[Path]:
    for name in folders:
        path = ROOT / name
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def has_words(text: str) -> bool:
    return bool(re.search(r"[^\W\d_]{2,}", MARKUP.sub("", text)))


def loose_literals(node: ast.AST) -> Iterator[str]:
    """Literals with words in an expression, not counting those inside catalog calls."""
    if isinstance(node, ast.Call) and called_name(node) in CATALOG_CALLS:
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if has_words(node.value) and node.value not in ALLOWED:
            yield node.value
        return
    for child in ast.iter_child_nodes(node):
        yield from loose_literals(child)


def shown_expressions(tree: ast.AST) -> Iterator[tuple[int, ast.expr]]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or called_name(node) not in SHOWN_CALLS:
            continue
        if called_name(node) in POSITIONAL_TEXT and node.args:
            yield node.lineno, node.args[0]
        for keyword in node.keywords:
            if keyword.arg in SHOWN_KEYWORDS:
                yield keyword.value.lineno, keyword.value


def text_outside_catalogs(source: str) -> list[tuple[int, str]]:
    found = []
    for line, expression in shown_expressions(ast.parse(source)):
        found += [(line, text) for text in loose_literals(expression)]
    return found


def reasons_outside_catalogs(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and called_name(node) in REASON_CALLS:
            for argument in (*node.args, *(k.value for k in node.keywords)):
                found += [(node.lineno, text) for text in loose_literals(argument)]
    return found


def test_no_reason_below_moderation_is_an_english_string() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in python_files(LOWER_LAYERS)
        for line, text in reasons_outside_catalogs(path.read_text())
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        'raise MediaCrafted(f"it declares {width}x{height} pixels")',
        'return Problem(number, "the label is too long")',
        'raise PhrasedError("unknown setting")',
        'return MediaHashes.failed(Outcome.UNFINISHED, "the bot was busy")',
    ],
)
def test_a_reason_in_english_is_found(source: str) -> None:
    assert reasons_outside_catalogs(source) != []


def test_a_reason_as_a_phrase_passes() -> None:
    source = 'raise MediaCrafted(phrase("it declares {width} pixels", width=w))'
    assert reasons_outside_catalogs(source) == []


def test_no_shown_text_is_built_outside_the_catalogs() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in python_files()
        for line, text in text_outside_catalogs(path.read_text())
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        'await channel.send("Hello there")',
        'await i.response.send_message(f"Saved {n} rules", ephemeral=True)',
        'discord.Embed(title="Report #" + str(n))',
        'embed.add_field(name=tr("Where"), value="nowhere" if x else tr("here"))',
        'discord.ui.Button(label="Take down")',
    ],
)
def test_text_built_outside_the_catalogs_is_found(source: str) -> None:
    assert text_outside_catalogs(source) != []


@pytest.mark.parametrize(
    "source",
    [
        'await channel.send(tr("Hello there"))',
        'await channel.send(tr.plural("{count} rule", "{count} rules", n))',
        'embed.add_field(name=tr("Where"), value=f"<#{channel_id}> ({channel_id})")',
        "await channel.send(tr(NOT_A_MODERATOR))",
        'discord.ui.Button(label=tr(TAKE_DOWN), custom_id="lightstick:alert:1:takedown")',
    ],
)
def test_catalog_text_ids_and_markup_pass(source: str) -> None:
    assert text_outside_catalogs(source) == []

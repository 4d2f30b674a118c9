"""The catalogs are whole and agree with the code: every string the code marks (and every
command string the tree shows) has a translation in every language, with the same placeholders;
the shipped `.mo` is compiled from the `.po`; Korean command names are names Discord accepts;
and the forms and posts still fit Discord's limits in every language (counted in characters,
as Discord counts them)."""

from __future__ import annotations

import ast
import gettext
import re
import string
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import discord
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

import locales
from cogs.cases import describe_case
from cogs.reports import ReportForm
from cogs.rules import RuleModal, rules_embed
from cogs.takedowns.entries import entry_embed
from core.hashes import parse_hash
from core.vocabulary import AlertStatus, CaseKind
from db.alerts import MatchAlert
from db.cases import Case
from db.reports import Report, Reporter
from db.rules import Rule
from db.takedowns import TakedownEntry
from moderation.alert_buttons import alert_view
from moderation.i18n import texts
from moderation.report_buttons import DismissModal, report_view
from moderation.report_queue import ReportState, report_embed

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "tr": None,
    "plural": (1, 2),
    "plural_text": (1, 2),
    "phrase": None,
    "plural_phrase": (1, 2),
}
# Where marked strings live: the Discord side, and the lower layers' reasons (core/phrases.py).
FOLDERS = ("cogs", "moderation", "core", "db", "media", "services")
TRANSLATED = [language for language in locales.LANGUAGES if language != locales.SOURCE_LANGUAGE]
DISCORD_NAME = re.compile(r"^[-_'\w]{1,32}$")


@cache
def strings_in_the_code() -> frozenset[tuple[str | None, str]]:
    """(context, msgid) of every marked string and command string, extracted as pybabel does."""
    method_map = [("bot.py", "lightstick_commands"), ("**.py", "python")]
    found = set()
    for folder in (*FOLDERS, "."):
        for _name, _line, message, _comments, context in extract_from_dir(
            ROOT / folder if folder != "." else ROOT,
            method_map=method_map if folder == "." else [("**.py", "python")],
            keywords=KEYWORDS,
        ):
            if folder == "." and _name != "bot.py":
                continue
            msgid = message[0] if isinstance(message, tuple) else message
            found.add((context, msgid))
    return frozenset(found)


@cache
def po(language: str) -> Catalog:
    path = locales.DIRECTORY / language / "LC_MESSAGES" / f"{locales.DOMAIN}.po"
    with path.open("rb") as file:
        return read_po(file, locale=language)


def entries(language: str) -> list[Message]:
    return [m for m in po(language) if m.id]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def numbers_before_plural_nouns(source: str) -> list[tuple[int, str]]:
    """Calls that write a number with `tr.number` into a placeholder followed by a plural noun
    (`"{frames} frames"`, `"at least {days} days"`): one frame would read "1 frames". Such a
    count needs its own `tr.plural` ("{count} frame" / "{count} frames")."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute | ast.Name):
            continue
        texts = [a.value for a in node.args if isinstance(a, ast.Constant)]
        texts = [t for t in texts if isinstance(t, str)]
        for keyword in node.keywords:
            numbered = any(
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr == "number"
                for n in ast.walk(keyword.value)
            )
            field = re.escape("{" + (keyword.arg or ""))
            plural_noun = re.compile(field + r"(:[^}]*)?\} (?!is\b|was\b)[a-z]+s\b")
            if numbered and any(plural_noun.search(t) for t in texts):
                found.append((node.lineno, keyword.arg or ""))
    return found


def test_no_number_is_written_before_a_plural_noun_outside_a_plural() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for folder in ("cogs", "moderation")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, name in numbers_before_plural_nouns(path.read_text())
    ]
    assert found == []


def test_a_number_before_a_plural_noun_is_found() -> None:
    source = 'tr.plural("{frames} frames, {count} hash", "…", n, frames=tr.number(f))'
    assert numbers_before_plural_nouns(source) != []
    fixed = 'tr("{frames}, {hashes}", frames=tr.plural("{count} frame", "{count} frames", f))'
    assert numbers_before_plural_nouns(fixed) == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_in_the_code_has_a_translation(language: str) -> None:
    catalog = po(language)
    missing = []
    for context, msgid in sorted(strings_in_the_code(), key=str):
        entry = catalog.get(msgid, context=context)
        forms = entry.string if entry is not None else ""
        forms = forms if isinstance(forms, tuple) else (forms,)
        if entry is None or entry.fuzzy or not all(forms):
            missing.append((context, msgid))
    assert missing == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders_of_their_source(language: str) -> None:
    differ = []
    for entry in entries(language):
        sources = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = set().union(*(fields(source) for source in sources))
        differ += [(entry.id, form) for form in forms if fields(form) - expected]
        if not isinstance(entry.id, tuple):
            differ += [(entry.id, form) for form in forms if fields(form) != expected]
    assert differ == []


def test_a_placeholder_that_differs_is_found() -> None:
    assert fields("신고 **#{numbr}**") != fields("report **#{number}**")


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_shipped_catalog_is_compiled_from_the_po(language: str) -> None:
    compiled = gettext.translation(
        locales.DOMAIN, localedir=locales.DIRECTORY, languages=[language]
    )
    stale = []
    for entry in entries(language):
        if isinstance(entry.id, tuple):
            got = compiled.ngettext(entry.id[0], entry.id[1], 1)
            want = entry.string[0]
        elif entry.context:
            got, want = compiled.pgettext(entry.context, entry.id), entry.string
        else:
            got, want = compiled.gettext(entry.id), entry.string
        if got != want:
            stale.append(entry.id)
    assert stale == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_translated_command_names_are_names_discord_accepts(language: str) -> None:
    bad = []
    for entry in entries(language):
        if entry.context == "command name" and " " not in entry.id:  # a context menu has spaces
            ok = bool(DISCORD_NAME.match(entry.string)) and entry.string == entry.string.lower()
        elif entry.context == "command name":
            ok = 1 <= len(entry.string) <= 32
        elif entry.context == "option name":
            ok = bool(DISCORD_NAME.match(entry.string)) and entry.string == entry.string.lower()
        elif entry.context in ("command description", "option description", "choice"):
            ok = 1 <= len(entry.string) <= 100
        else:
            continue
        if not ok:
            bad.append((entry.context, entry.id, entry.string))
    assert bad == []


@pytest.mark.parametrize("language", locales.LANGUAGES)
def test_the_report_and_rule_forms_fit_discords_limits(language: str) -> None:
    tr = texts(language)

    async def done(*_: object) -> None:
        return None

    for form in (
        ReportForm(tr, "report:1", tr("Report this message"), done),
        ReportForm(tr, "report:2", tr("Report this member"), done),
        RuleModal(tr, tr("Edit rule {number}", number=25), done),
    ):
        assert len(form.title) <= 45
        payload = form.to_dict()
        for text in re.findall(r"'(?:label|text)': '([^']*)'", str(payload)):
            assert len(text) <= 45, text
        for text in re.findall(r"'(?:placeholder|description)': '([^']*)'", str(payload)):
            assert len(text) <= 100, text


@pytest.mark.parametrize("language", locales.LANGUAGES)
def test_the_rules_embed_framing_fits_with_the_longest_server_name(language: str) -> None:
    rule = Rule(1, 1, 25, "t" * 250, "b" * 1024, datetime.now(UTC))
    embed = rules_embed(texts(language), "n" * 100, [rule])
    assert len(embed.title or "") <= 256
    assert all(len(f.name or "") <= 256 for f in embed.fields)


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_reply_outgrows_a_discord_message(language: str) -> None:
    assert [e.id for e in entries(language) if len(str(e.string)) > 1800] == []


def fits_an_embed(embed: discord.Embed) -> bool:
    """Discord's embed limits, counted in characters as Discord counts them."""
    fields = embed.fields
    total = len(embed.title or "") + len(embed.description or "") + len(embed.footer.text or "")
    total += sum(len(f.name or "") + len(f.value or "") for f in fields)
    return (
        len(embed.title or "") <= 256
        and len(embed.description or "") <= 4096
        and len(embed.footer.text or "") <= 2048
        and all(len(f.name or "") <= 256 and len(f.value or "") <= 1024 for f in fields)
        and len(fields) <= 25
        and total <= 6000
    )


def the_fullest_report() -> ReportState:
    """A report with every part at its longest: an urgent, hidden message report closed with a
    reason, the most reporters shown with the longest details, ten cases."""
    now = datetime.now(UTC)
    report = Report(
        id=7, guild_id=10**18, number=10**6, target_kind="message", target_key="message:1",
        target_user_id=10**18, channel_id=10**18, message_id=10**18, category="deepfake",
        excerpt="e" * 2000, status="dismissed", hidden=True, queue_channel_id=None,
        queue_message_id=None, created_at=now, resolved_by=10**18, resolved_at=now,
        resolution_reason="r" * 300,
    )  # fmt: skip
    reporters = tuple(
        Reporter(
            7, 10**18 + n, "deepfake", "d" * 1000, "https://cdn.example/" + "x" * 200, True, now
        )
        for n in range(60)
    )
    cases = tuple(
        Case(n, 1, 10**6 + n, CaseKind.REPORT_DISMISSED, 10**18, 10**18, "r", None, None, None,
             None, 7, now)
        for n in range(12)
    )  # fmt: skip
    return ReportState(report, reporters, cases, hashes=3)


@pytest.mark.parametrize("language", locales.LANGUAGES)
def test_queue_messages_and_entries_fit_discords_limits_in_every_language(language: str) -> None:
    tr = texts(language)
    state = the_fullest_report()
    notes = [tr("Could not hide the message: {problem}", problem="p" * 200)] * 3
    for named in (True, False):
        assert fits_an_embed(report_embed(state, tr, notes, name_reporters=named))
    entry = TakedownEntry(
        10**9, 1, "l" * 100, True, "report", 10**18, datetime.now(UTC), True, 10**9,
        tuple(parse_hash("pdq:" + "f" * 64) for _ in range(40)),
    )  # fmt: skip
    assert fits_an_embed(entry_embed(tr, entry))
    for view in (report_view(state.report, tr), alert_view(open_alert(), tr)):
        assert all(len(item.item.label or "") <= 80 for item in view.children)  # type: ignore[attr-defined]
    form = DismissModal(tr, "dismiss:1", replace(state.report, number=10**6))
    assert len(form.title) <= 45
    for text in re.findall(r"'(?:label|text)': '([^']*)'", str(form.to_dict())):
        assert len(text) <= 45, text
    assert len(describe_case(tr, state.cases[0], 10**6)) <= 400


def open_alert() -> MatchAlert:
    fields = {name: None for name in MatchAlert.__dataclass_fields__}
    return MatchAlert(**{**fields, "id": 1, "status": AlertStatus.OPEN, "removed": False})

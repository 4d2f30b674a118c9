"""Evidence exports as files: CSV, JSON and a short summary, in the server's language.

Used by `/cases export` and by the **Evidence** button on alerts and reports. The rows come
from `db.evidence`, the files from `services.evidence`; this module words them (headings,
case kinds, outcomes, the summary) and checks they fit Discord's attachment limit. Nothing of
any picture is in them: ids, links, names and hashes only.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord

from core.vocabulary import AlertStatus, CaseKind, ReportStatus
from db import evidence as evidence_db
from db.evidence import EvidenceRow, Selection
from db.reports import CATEGORIES
from moderation.i18n import N_, Texts, guild_texts
from moderation.names import ALERT_DECISION_NAMES, CASE_KIND_NAMES, REPORT_OUTCOME_NAMES
from services.evidence import Server, iso, message_link, write_csv, write_json

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

# The CSV's headings, by column (services.evidence.COLUMNS), in the server's language.
HEADINGS: dict[str, str] = {
    "case": N_("Case"),
    "kind": N_("Kind"),
    "time_utc": N_("Time (UTC)"),
    "server_id": N_("Server ID"),
    "server": N_("Server"),
    "channel_id": N_("Channel ID"),
    "message_id": N_("Message ID"),
    "message_link": N_("Message link"),
    "author_id": N_("Author ID"),
    "author_name": N_("Author name at the time"),
    "entry_id": N_("Entry"),
    "entry_label": N_("Entry label"),
    "entry_list": N_("Entry list"),
    "entry_source": N_("Entry added from"),
    "algorithm": N_("Hash type"),
    "distance": N_("Distance"),
    "tier": N_("Match tier"),
    "pdq": N_("PDQ hash"),
    "phash": N_("pHash"),
    "removed": N_("Removed"),
    "report": N_("Report"),
    "report_categories": N_("Report categories"),
    "reporter_count": N_("Reporters"),
    "reporters": N_("Reporter IDs"),
    "moderator_id": N_("Moderator ID"),
    "outcome": N_("Outcome"),
    "reason": N_("Reason"),
}
UNDECIDED = {"report": N_("Report (no decision yet)"), "alert": N_("Match alert")}
LISTS = {"own": N_("this server's list"), "shared": N_("a shared list")}
TIERS = {"takedown": N_("confident"), "review": N_("review")}
YES_NO = {True: N_("yes"), False: N_("no")}
SUMMARY_CASES = 200  # cases the summary lists one by one; the files hold them all


@dataclass(frozen=True, slots=True)
class Export:
    """The files, or why there are none (a sentence in the reader's language)."""

    files: tuple[discord.File, ...] = ()
    count: int = 0
    problem: str | None = None


def _outcome(tr: Texts, value: str) -> str:
    for names, kind in (
        (REPORT_OUTCOME_NAMES, ReportStatus),
        (ALERT_DECISION_NAMES, AlertStatus),
    ):
        try:
            return tr(names[kind(value)])  # type: ignore[index]
        except (ValueError, KeyError):
            continue
    return value


def _kind(tr: Texts, value: str) -> str:
    if value in UNDECIDED:
        return tr(UNDECIDED[value])
    try:
        return tr(CASE_KIND_NAMES[CaseKind(value)])
    except ValueError:
        return value


def _categories(tr: Texts, counts: Mapping[str, int]) -> str:
    return "; ".join(
        f"{tr.choice(CATEGORIES[name]) if name in CATEGORIES else name} ×{count}"
        for name, count in sorted(counts.items())
    )


def cell_words(tr: Texts) -> Callable[[str, object], str]:
    """How each CSV value reads in the server's language."""

    def cell(column: str, value: object) -> str:
        if value is None:
            return ""
        if column == "kind":
            return _kind(tr, str(value))
        if column == "outcome":
            return _outcome(tr, str(value))
        if column == "entry_list":
            return tr(LISTS[str(value)])
        if column == "tier":
            return tr(TIERS.get(str(value), str(value)))
        if column == "removed":
            return tr(YES_NO[bool(value)])
        if column == "report_categories":
            return _categories(tr, value)  # type: ignore[arg-type]
        if column == "reporters":
            return " ".join(str(r["id"]) for r in value)  # type: ignore[attr-defined]
        return str(value)

    return cell


def summary(tr: Texts, rows: Sequence[EvidenceRow], server: Server, *, with_reporters: bool) -> str:
    """A short text a person can read before opening the files."""
    lines = [
        tr("# Evidence from {server}", server=server.name),
        tr(
            "Server ID {id}. Exported {time} (UTC) by moderator ID {moderator}.",
            id=server.id,
            time=iso(server.exported_at),
            moderator=server.exported_by,
        ),
        tr.plural("{count} case.", "{count} cases.", len(rows)),
        tr(
            "No image or video is included: only ids, links, names and perceptual hashes (PDQ, "
            "pHash), from which no picture can be rebuilt."
        ),
        "",
    ]
    for row in rows[:SUMMARY_CASES]:
        lines.append(_summary_line(tr, row, server, with_reporters=with_reporters))
    if len(rows) > SUMMARY_CASES:
        lines.append(
            tr.plural(
                "…and {count} more case: see the CSV or JSON file.",
                "…and {count} more cases: see the CSV or JSON file.",
                len(rows) - SUMMARY_CASES,
            )
        )
    return "\n".join(lines) + "\n"


def _summary_line(tr: Texts, row: EvidenceRow, server: Server, *, with_reporters: bool) -> str:
    number = f"#{row.case_number}" if row.case_number is not None else "—"
    parts = [f"- **{number}** {_kind(tr, row.kind)}, {iso(row.time)}"]
    link = message_link(server.id, row)
    if link:
        parts.append(tr("message {id} ({link})", id=row.message_id, link=link))
    if row.author_id is not None:
        name = row.author_name or tr("name not recorded")
        parts.append(tr("author {name} (ID {id})", name=name, id=row.author_id))
    if row.entry_id is not None:
        label = row.entry.label if row.entry and row.entry.label else tr("no label shown")
        parts.append(tr("entry #{entry} “{label}”", entry=row.entry_id, label=label))
    if row.distance is not None and row.algorithm:
        parts.append(
            tr(
                "{algorithm} distance {distance}",
                algorithm=row.algorithm.upper(),
                distance=row.distance,
            )
        )
    if row.pdq:
        parts.append(f"PDQ `{row.pdq}`")
    if row.report_number is not None:
        categories = _categories(tr, row.report_categories)
        parts.append(
            tr.plural(
                "report #{number}: {count} reporter ({categories})",
                "report #{number}: {count} reporters ({categories})",
                row.reporter_count,
                number=row.report_number,
                categories=categories,
            )
        )
        if with_reporters and row.reporters:
            ids = ", ".join(str(reporter_id) for reporter_id, _ in row.reporters)
            parts.append(tr("reporter IDs: {ids}", ids=ids))
    if row.moderator_id is not None:
        parts.append(tr("moderator ID {id}", id=row.moderator_id))
    if row.outcome:
        parts.append(tr("outcome: {outcome}", outcome=_outcome(tr, row.outcome)))
    return "; ".join(parts)


async def export(
    bot: Lightstick,
    guild: discord.Guild,
    selection: Selection,
    *,
    moderator_id: int,
    with_reporters: bool,
    size_limit: int,
    filters: Mapping[str, object],
    tr: Texts,
) -> Export:
    """The evidence files for `selection`, worded in the server's language; `tr` words a
    problem for whoever asked (`tr`). Files over `size_limit` bytes together are refused."""
    try:
        async with bot.db.connect() as conn:
            rows = await evidence_db.evidence_rows(conn, guild.id, selection)
    except evidence_db.TooMany:
        return Export(
            problem=tr.plural(
                "That is more than {count} case. Narrow it with `cases`, `since` or `until`.",
                "That is more than {count} cases. Narrow it with `cases`, `since` or `until`.",
                evidence_db.MAX_ROWS,
            )
        )
    if not rows:
        return Export(problem=tr("No cases match that. Nothing to export."))
    settings = await bot.guild_settings.get(guild.id)
    words = guild_texts(settings.language, guild)
    now = datetime.now(UTC)
    server = Server(guild.id, guild.name, moderator_id, now)
    headings = {column: words(heading) for column, heading in HEADINGS.items()}
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    texts = (
        (
            f"evidence-{guild.id}-{stamp}.csv",
            write_csv(rows, server, headings, cell_words(words), with_reporters=with_reporters),
        ),
        (
            f"evidence-{guild.id}-{stamp}.json",
            write_json(rows, server, with_reporters=with_reporters, filters=filters),
        ),
        (
            f"evidence-{guild.id}-{stamp}.md",
            summary(words, rows, server, with_reporters=with_reporters),
        ),
    )
    data = [(name, text.encode("utf-8")) for name, text in texts]
    total = sum(len(body) for _, body in data)
    if total > size_limit:
        log.info("Evidence export of %d cases in guild %s: %d bytes", len(rows), guild.id, total)
        return Export(
            problem=tr.plural(
                "That {count} case makes {size} MB of files, more than Discord lets me attach "
                "here ({limit} MB). Narrow it with `cases`, `since` or `until`.",
                "Those {count} cases make {size} MB of files, more than Discord lets me attach "
                "here ({limit} MB). Narrow it with `cases`, `since` or `until`.",
                len(rows),
                size=tr.number(round(total / 2**20, 1)),
                limit=tr.number(round(size_limit / 2**20, 1)),
            )
        )
    files = tuple(discord.File(io.BytesIO(body), filename=name) for name, body in data)
    return Export(files=files, count=len(rows))

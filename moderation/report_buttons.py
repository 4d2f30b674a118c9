"""The buttons on a report's queue message: **Take down**, **Dismiss**, **Timeout author**,
**Ban author**, and the dismissal form.

Take down and Dismiss decide a report once; Timeout and Ban stay until it is dismissed, so a
moderator can still act on the author after the message is gone. Each click reads the report
from the database and acts through `bot.actions`, so every decision is a case.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

import discord
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import CaseKind, ReportStatus
from db import reports as reports_db
from db import takedowns
from db.entry_signatures import report_signature
from db.guild_settings import GuildSettings
from db.reports import CATEGORIES, Report
from moderation.actions import CaseDraft, Decision
from moderation.buttons import (
    AUTHOR_LABELS,
    AUTHOR_STEPS,
    TAKE_DOWN,
    Label,
    OnAuthor,
    RecordButton,
    apologising,
    clicked_record,
    closes_report,
)
from moderation.evidence_buttons import add_evidence_buttons
from moderation.forms import form_id
from moderation.i18n import N_, Texts, member_texts
from moderation.sweeper import copies_text

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

ALREADY_DECIDED = N_("Someone already decided on this report.")
GONE = N_("That report no longer exists.")


def report_view(
    report: Report, tr: Texts, settings: GuildSettings | None = None, *, agency: bool = False
) -> discord.ui.View:
    """Take down and Dismiss decide once; Timeout and Ban stay until the report is dismissed.
    With the server's `settings`, **Evidence** too, and the agency link when `agency` (a
    sexualized or deepfake report). Labelled in the queue message's language (`tr`)."""
    view = discord.ui.View(timeout=None)
    decided = not report.is_open
    if report.target_kind == "message":
        view.add_item(ReportButton(report.id, "takedown", disabled=decided, tr=tr))
    view.add_item(ReportButton(report.id, "dismiss", disabled=decided, tr=tr))
    dismissed = report.status == ReportStatus.DISMISSED
    view.add_item(ReportButton(report.id, "timeout", disabled=dismissed, tr=tr))
    view.add_item(ReportButton(report.id, "ban", disabled=dismissed, tr=tr))
    if settings is not None:
        add_evidence_buttons(view, settings, "report", report.id, tr, agency=agency)
    return view


def report_reason(report: Report) -> str:
    """How actions on a report name it, on cases and takedown entries."""
    return f"Report #{report.number}: {CATEGORIES.get(report.category, report.category)}"


class DismissModal(discord.ui.Modal):
    """Dismissing a report, with an optional reason the moderators (not the reporters) see;
    in the language of the moderator who opened it (`tr`)."""

    def __init__(self, tr: Texts, custom_id: str, report: Report) -> None:
        super().__init__(
            title=tr("Dismiss report #{number}", number=report.number),
            timeout=None,
            custom_id=custom_id,
        )
        self.report_id = report.id
        self.reason = discord.ui.TextInput(
            custom_id="dismiss-reason",
            style=discord.TextStyle.paragraph,
            placeholder=tr("Optional: why no action is needed"),
            required=False,
            max_length=300,
        )
        self.add_item(
            discord.ui.Label(
                text=tr("Reason"),
                description=tr("Kept on the case; reporters don't see it."),
                component=self.reason,
            )
        )

    async def on_submit(self, interaction: discord.Interaction[Lightstick]) -> None:  # type: ignore[override]
        await on_report_button(
            interaction, self.report_id, "dismissed", reason=self.reason.value.strip()
        )


async def on_report_button(
    interaction: discord.Interaction[Lightstick],
    report_id: int,
    action: str,
    *,
    reason: str = "",
) -> None:
    """A queue button, or (`action` "dismissed") the dismissal form sent back."""
    clicked = await clicked_record(interaction, report_id, reports_db.get_report, GONE)
    if clicked is None:
        return
    moderator, report = clicked
    async with apologising(interaction, f"Report button {action} on report {report_id}"):
        if action == "takedown":
            await _take_down(interaction, report, moderator)
        elif action == "dismiss":
            await _ask_dismissal(interaction, report)
        elif action == "dismissed":
            await _dismiss(interaction, report, moderator, reason)
        else:
            await _act_on_author(interaction, report, moderator, action)


class ReportButton(
    RecordButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lightstick:report:(?P<id>[0-9]+):(?P<action>takedown|dismiss|timeout|ban)",
):
    """A button on a report's queue message; the report is read from the database on each click."""

    KIND = "report"
    LABELS: ClassVar[dict[str, Label]] = {
        "takedown": TAKE_DOWN,
        "dismiss": (N_("Dismiss"), discord.ButtonStyle.secondary),
        **AUTHOR_LABELS,
    }
    on_click = staticmethod(on_report_button)


def _draft(kind: CaseKind, report: Report, moderator: discord.Member, reason: str) -> CaseDraft:
    return CaseDraft(
        kind,
        reason,
        user_id=report.target_user_id,
        moderator_id=moderator.id,
        channel_id=report.channel_id,
        message_id=report.message_id,
        report_id=report.id,
    )


async def _take_down(
    interaction: discord.Interaction[Lightstick], report: Report, moderator: discord.Member
) -> None:
    bot = interaction.client
    guild = interaction.guild
    assert guild is not None
    tr = member_texts(interaction)
    if not report.is_open or report.target_kind != "message":
        await interaction.response.send_message(tr(ALREADY_DECIDED), ephemeral=True)
        return
    await interaction.response.defer(ephemeral=True, thinking=True)

    async def list_media(conn: AsyncConnection, closed: Report, draft: CaseDraft) -> CaseDraft:
        entry_id = await _list_reported_media(conn, closed, moderator)
        return dataclasses.replace(draft, entry_id=entry_id)

    decision = Decision(_closing(report, ReportStatus.TAKEN_DOWN, moderator), list_media)

    draft = _draft(
        CaseKind.REPORT_TAKEDOWN, report, moderator, f"{report_reason(report)}: taken down"
    )
    # Already deleted by its author is fine: the hashes were kept at report time.
    where = None
    if not report.hidden and report.channel_id and report.message_id:
        where = (report.channel_id, report.message_id)
    removal = await bot.actions.take_down(guild.id, where, draft, gate=decision)
    if removal.problem:
        await interaction.followup.send(tr.read(removal.problem), ephemeral=True)
        return
    case = removal.case
    if case is None:
        await interaction.followup.send(tr(ALREADY_DECIDED), ephemeral=True)
        return
    if case.entry_id is not None:
        await bot.takedown_index.sync()
        settings = await bot.guild_settings.get(guild.id)
        answer = " ".join(
            (
                tr(
                    "Taken down (case #{number}). Its picture is on the takedown list now.",
                    number=case.number,
                ),
                copies_text(tr, settings.recent_days),
            )
        )
    else:
        answer = tr(
            "Taken down (case #{number}). It had no picture to add to the takedown list.",
            number=case.number,
        )
    await interaction.followup.send(answer, ephemeral=True)
    await bot.report_queue.show(guild, report.id)
    assert decision.closed is not None
    bot.report_queue.tell_reporters(guild, decision.closed)


async def _list_reported_media(
    conn: AsyncConnection, report: Report, moderator: discord.Member
) -> int | None:
    """Put the hashes kept at report time on the takedown list: the entry's id, or None."""
    return await takedowns.list_picture(
        conn,
        report.guild_id,
        await reports_db.stored_hashes(conn, report.id),
        await reports_db.stored_hashes(conn, report.id, variants=True),
        label=report_reason(report),
        source="report",
        added_by=moderator.id,
        signature=await report_signature(conn, report.id),
    )


async def _ask_dismissal(interaction: discord.Interaction[Lightstick], report: Report) -> None:
    tr = member_texts(interaction)
    if not report.is_open:
        await interaction.response.send_message(tr(ALREADY_DECIDED), ephemeral=True)
        return
    form = DismissModal(tr, form_id("dismiss", interaction), report)
    await interaction.client.forms.show(interaction, form)


async def _dismiss(
    interaction: discord.Interaction[Lightstick],
    report: Report,
    moderator: discord.Member,
    reason: str,
) -> None:
    bot = interaction.client
    assert interaction.guild is not None
    decision = Decision(_closing(report, ReportStatus.DISMISSED, moderator, reason or None))
    text = f"{report_reason(report)}: dismissed" + (f" ({reason})" if reason else "")
    draft = _draft(CaseKind.REPORT_DISMISSED, report, moderator, text)
    tr = member_texts(interaction)
    case = await bot.actions.record(report.guild_id, draft, gate=decision)
    if case is None:
        await interaction.response.send_message(tr(ALREADY_DECIDED), ephemeral=True)
        return
    answer = (
        tr(
            "Dismissed (case #{number}). The message had been hidden and can't be restored; let "
            "its author know they may post it again.",
            number=case.number,
        )
        if report.hidden
        else tr("Dismissed (case #{number}).", number=case.number)
    )
    await interaction.response.send_message(answer, ephemeral=True)
    await bot.report_queue.show(interaction.guild, report.id)
    assert decision.closed is not None
    bot.report_queue.tell_reporters(interaction.guild, decision.closed)


async def _act_on_author(
    interaction: discord.Interaction[Lightstick],
    report: Report,
    moderator: discord.Member,
    action: str,
) -> None:
    """Timeout or ban the reported member (or the reported message's author)."""
    bot = interaction.client
    guild = interaction.guild
    assert guild is not None
    if report.status == ReportStatus.DISMISSED:
        await interaction.response.send_message(
            member_texts(interaction)(ALREADY_DECIDED), ephemeral=True
        )
        return
    step = OnAuthor(moderator, report.target_user_id, report_reason(report), report)
    done = await AUTHOR_STEPS[action](interaction, step)
    if not done:
        return
    await bot.report_queue.show(guild, report.id)
    if closes_report(report):
        async with bot.db.connect() as conn:
            closed = await reports_db.get_report(conn, report.id)
        if closed is not None and closed.status == ReportStatus.ACTIONED:
            bot.report_queue.tell_reporters(guild, closed)


def _closing(
    report: Report, status: ReportStatus, moderator: discord.Member, reason: str | None = None
) -> Callable[[AsyncConnection], Awaitable[Report | None]]:
    """Close the report as decided, unless someone already did."""

    async def close(conn: AsyncConnection) -> Report | None:
        return await reports_db.resolve(
            conn, report.id, status=status, resolved_by=moderator.id, reason=reason
        )

    return close

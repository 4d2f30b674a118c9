"""The buttons on a report's queue message: **Take down**, **Dismiss**, **Timeout author**,
**Ban author**, and the dismissal form.

Take down and Dismiss decide a report once; Timeout and Ban stay until it is dismissed, so a
moderator can still act on the author after the message is gone. Each click reads the report
from the database and acts through `bot.actions`, so every decision is a case.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, ClassVar

import discord
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import CaseKind, ReportStatus
from db import reports as reports_db
from db import takedowns
from db.reports import CATEGORIES, Report
from db.takedowns import NewEntry
from moderation.access import AccessDenied, require_moderator
from moderation.actions import CaseDraft
from moderation.buttons import RecordButton, ban_author, closes_report, timeout_author
from moderation.replies import apologise

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

ALREADY_DECIDED = "Someone already decided on this report."


class ReportButton(
    RecordButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lightstick:report:(?P<id>[0-9]+):(?P<action>takedown|dismiss|timeout|ban)",
):
    """A button on a report's queue message; the report is read from the database on each click."""

    KIND = "report"
    LABELS: ClassVar[dict[str, tuple[str, discord.ButtonStyle]]] = {
        "takedown": ("Take down", discord.ButtonStyle.danger),
        "dismiss": ("Dismiss", discord.ButtonStyle.secondary),
        "timeout": ("Timeout author", discord.ButtonStyle.primary),
        "ban": ("Ban author", discord.ButtonStyle.danger),
    }

    async def callback(self, interaction: discord.Interaction[Lightstick]) -> None:
        await on_report_button(interaction, self.record_id, self.action)


def report_view(report: Report) -> discord.ui.View:
    """Take down and Dismiss decide once; Timeout and Ban stay until the report is dismissed."""
    view = discord.ui.View(timeout=None)
    decided = not report.is_open
    if report.target_kind == "message":
        view.add_item(ReportButton(report.id, "takedown", disabled=decided))
    view.add_item(ReportButton(report.id, "dismiss", disabled=decided))
    dismissed = report.status == ReportStatus.DISMISSED
    view.add_item(ReportButton(report.id, "timeout", disabled=dismissed))
    view.add_item(ReportButton(report.id, "ban", disabled=dismissed))
    return view


def report_reason(report: Report) -> str:
    """How actions on a report name it, on cases and takedown entries."""
    return f"Report #{report.number}: {CATEGORIES.get(report.category, report.category)}"


class DismissModal(discord.ui.Modal):
    """Dismissing a report, with an optional reason the moderators (not the reporters) see."""

    def __init__(self, report: Report) -> None:
        super().__init__(title=f"Dismiss report #{report.number}", timeout=600)
        self.report_id = report.id
        self.reason = discord.ui.TextInput(
            custom_id="dismiss-reason",
            style=discord.TextStyle.paragraph,
            placeholder="Optional: why no action is needed",
            required=False,
            max_length=300,
        )
        self.add_item(
            discord.ui.Label(
                text="Reason",
                description="Kept on the case; reporters don't see it.",
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
    try:
        moderator = await require_moderator(interaction)
    except AccessDenied as exc:
        await interaction.response.send_message(str(exc), ephemeral=True)
        return
    async with interaction.client.db.connect() as conn:
        report = await reports_db.get_report(conn, report_id)
    if report is None or report.guild_id != interaction.guild_id:
        await interaction.response.send_message("That report no longer exists.", ephemeral=True)
        return
    try:
        if action == "takedown":
            await _take_down(interaction, report, moderator)
        elif action == "dismiss":
            await _ask_dismissal(interaction, report)
        elif action == "dismissed":
            await _dismiss(interaction, report, moderator, reason)
        else:
            await _act_on_author(interaction, report, moderator, action)
    except Exception:
        log.exception("Report button %s on report %s failed", action, report_id)
        await apologise(interaction)


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
    if not report.is_open or report.target_kind != "message":
        await interaction.response.send_message(ALREADY_DECIDED, ephemeral=True)
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    resolved: list[Report] = []

    async def resolve(conn: AsyncConnection, draft: CaseDraft) -> CaseDraft | None:
        done = await reports_db.resolve(
            conn, report.id, status=ReportStatus.TAKEN_DOWN, resolved_by=moderator.id
        )
        if done is None:
            return None
        resolved.append(done)
        entry_id = await _list_reported_media(conn, done, moderator)
        return dataclasses.replace(draft, entry_id=entry_id)

    draft = _draft(
        CaseKind.REPORT_TAKEDOWN, report, moderator, f"{report_reason(report)}: taken down"
    )
    if not report.hidden and report.channel_id and report.message_id:
        # Works for archived threads the cache doesn't hold. Already deleted by its author is
        # fine: the hashes were kept at report time.
        channel = bot.get_partial_messageable(report.channel_id, guild_id=guild.id)
        removal = await bot.actions.remove_message(
            channel.get_partial_message(report.message_id), guild.id, draft, gate=resolve
        )
        if removal.problem:
            await interaction.followup.send(removal.problem, ephemeral=True)
            return
        case = removal.case
    else:
        case = await bot.actions.record(guild.id, draft, gate=resolve)
    if case is None:
        await interaction.followup.send(ALREADY_DECIDED, ephemeral=True)
        return
    if case.entry_id is not None:
        await bot.takedown_index.sync()
        listed = "Copies of its picture will be removed automatically from now on."
    else:
        listed = "It had no picture to add to the takedown list."
    await interaction.followup.send(f"Taken down (case #{case.number}). {listed}", ephemeral=True)
    await bot.report_queue.show(guild, report.id)
    bot.report_queue.tell_reporters(guild, resolved[0])


async def _list_reported_media(
    conn: AsyncConnection, report: Report, moderator: discord.Member
) -> int | None:
    """Put the hashes kept at report time on the takedown list: the entry's id, or None."""
    own = await reports_db.stored_hashes(conn, report.id)
    if not own:
        return None
    existing = await takedowns.find_existing_hashes(conn, report.guild_id, own)
    fresh = tuple(h for h in own if h not in existing)
    if not fresh:
        return next(iter(existing.values()))
    variants = tuple(await reports_db.stored_hashes(conn, report.id, variants=True))
    entry = await takedowns.add_entry(
        conn,
        report.guild_id,
        NewEntry(fresh, label=report_reason(report), variants=variants),
        source="report",
        added_by=moderator.id,
    )
    return entry.id


async def _ask_dismissal(interaction: discord.Interaction[Lightstick], report: Report) -> None:
    if not report.is_open:
        await interaction.response.send_message(ALREADY_DECIDED, ephemeral=True)
        return
    await interaction.response.send_modal(DismissModal(report))


async def _dismiss(
    interaction: discord.Interaction[Lightstick],
    report: Report,
    moderator: discord.Member,
    reason: str,
) -> None:
    bot = interaction.client
    assert interaction.guild is not None
    resolved: list[Report] = []

    async def resolve(conn: AsyncConnection, draft: CaseDraft) -> CaseDraft | None:
        done = await reports_db.resolve(
            conn,
            report.id,
            status=ReportStatus.DISMISSED,
            resolved_by=moderator.id,
            reason=reason or None,
        )
        if done is not None:
            resolved.append(done)
        return draft if done is not None else None

    text = f"{report_reason(report)}: dismissed" + (f" ({reason})" if reason else "")
    draft = _draft(CaseKind.REPORT_DISMISSED, report, moderator, text)
    case = await bot.actions.record(report.guild_id, draft, gate=resolve)
    if case is None:
        await interaction.response.send_message(ALREADY_DECIDED, ephemeral=True)
        return
    after = (
        " The message had been hidden and can't be restored; let its author know they may "
        "post it again."
        if report.hidden
        else ""
    )
    await interaction.response.send_message(
        f"Dismissed (case #{case.number}).{after}", ephemeral=True
    )
    await bot.report_queue.show(interaction.guild, report.id)
    bot.report_queue.tell_reporters(interaction.guild, resolved[0])


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
        await interaction.response.send_message(ALREADY_DECIDED, ephemeral=True)
        return
    act = timeout_author if action == "timeout" else ban_author
    done = await act(interaction, moderator, report.target_user_id, report_reason(report), report)
    if not done:
        return
    await bot.report_queue.show(guild, report.id)
    if closes_report(report):
        async with bot.db.connect() as conn:
            closed = await reports_db.get_report(conn, report.id)
        if closed is not None and closed.status == ReportStatus.ACTIONED:
            bot.report_queue.tell_reporters(guild, closed)

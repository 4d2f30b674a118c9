"""The report queue: one message per reported message or member in the mod channel.

A queue message is drawn from the database every time, so any change (a new reporter, a
moderator's action, a restart in between) shows the same, whole picture. A queue message
someone deleted is posted again by the next report or by `/cases list`. Reporters are named only
where everyone who can read the channel is a moderator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import discord
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import CaseKind, ReportStatus
from db import cases as cases_db
from db import reports as reports_db
from db.cases import Case
from db.reports import CATEGORIES, URGENT_CATEGORIES, Report, Reporter
from moderation.access import public_mod_channel
from moderation.actions import CaseDraft, delete_message
from moderation.i18n import N_, Phrase, Texts, guild_texts
from moderation.messages import message_url
from moderation.mod_channel import mod_channel, preview_files
from moderation.names import CASE_KIND_NAMES, REPORT_OUTCOME_NAMES
from moderation.report_buttons import report_view
from moderation.shown_text import FIELD_VALUE, fit_embed, shorten

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

REPORT_COLOUR = discord.Colour.gold()
URGENT_COLOUR = discord.Colour.red()
DONE_COLOUR = discord.Colour.dark_grey()
EXCERPT_SHOWN = 300  # characters of the reported text on a queue message
REPORTERS_SHOWN = 10  # reporters named on a queue message; the rest are counted

PreviewSource = Callable[[], Awaitable[bytes | None]]


@dataclass(frozen=True, slots=True)
class ReportState:
    """Everything a report's queue message shows, read from the database each time."""

    report: Report
    reporters: tuple[Reporter, ...]
    cases: tuple[Case, ...]
    hashes: int  # hashes kept of the reported media

    @property
    def urgent(self) -> bool:
        return any(r.category in URGENT_CATEGORIES for r in self.reporters)

    @property
    def urgent_reporters(self) -> int:
        return sum(1 for r in self.reporters if r.category in URGENT_CATEGORIES)

    @property
    def category(self) -> str:
        """The first urgent category reported, else the first reporter's."""
        urgent = (r.category for r in self.reporters if r.category in URGENT_CATEGORIES)
        return next(urgent, self.report.category)

    @property
    def message_up(self) -> bool:
        """Whether the reported message should still be there (as far as the bot did anything)."""
        report = self.report
        return (
            report.target_kind == "message"
            and not report.hidden
            and report.status != ReportStatus.TAKEN_DOWN
        )


def _category(tr: Texts, category: str) -> str:
    """A report category as the /report choices name it, in `tr`'s language."""
    return tr.choice(CATEGORIES[category]) if category in CATEGORIES else category


def _reporter_line(tr: Texts, reporter: Reporter) -> str:
    line = tr(
        "{reporter} · {category}",
        reporter=f"<@{reporter.reporter_id}>",
        category=_category(tr, reporter.category),
    )
    if reporter.details:
        details = discord.utils.escape_markdown(" ".join(reporter.details.split()))
        line += f": “{shorten(details, 150)}”"
    if reporter.evidence_url:
        line += " · " + tr("[evidence]({link})", link=reporter.evidence_url)
    return line


def _reporter_lines(tr: Texts, reporters: Sequence[Reporter]) -> str:
    lines: list[str] = []
    for reporter in reporters[:REPORTERS_SHOWN]:
        line = _reporter_line(tr, reporter)
        if sum(len(x) + 1 for x in lines) + len(line) > 950:
            break
        lines.append(line)
    if len(lines) < len(reporters):
        more = len(reporters) - len(lines)
        lines.append(tr.plural("…and {count} more reporter", "…and {count} more reporters", more))
    return "\n".join(lines) or tr("None")


def _category_counts(tr: Texts, reporters: Sequence[Reporter]) -> str:
    counts: dict[str, int] = {}
    for reporter in reporters:
        counts[reporter.category] = counts.get(reporter.category, 0) + 1
    return " · ".join(
        tr("{category} ×{count}", category=_category(tr, c), count=tr.number(n))
        for c, n in counts.items()
    )


def _report_status(tr: Texts, state: ReportState) -> str:
    report = state.report
    if report.is_open:
        if report.hidden:
            return tr.plural(
                "🙈 Hidden pending review: removed after {count} report of sexualized content "
                "or deepfakes. Take down or dismiss it.",
                "🙈 Hidden pending review: removed after {count} reports of sexualized content "
                "or deepfakes. Take down or dismiss it.",
                state.urgent_reporters,
            )
        return tr("Open: waiting for a moderator")
    outcome = tr(
        "{outcome} by {moderator}",
        outcome=tr(REPORT_OUTCOME_NAMES[report.status]),
        moderator=f"<@{report.resolved_by}>",
    )
    if report.resolved_at is not None:
        outcome += f" <t:{int(report.resolved_at.timestamp())}:R>"
    if report.resolution_reason and report.status == ReportStatus.DISMISSED:
        outcome += "\n" + tr("Reason: {reason}", reason=report.resolution_reason)
    return outcome


def _case_line(tr: Texts, case: Case) -> str:
    kind = tr(CASE_KIND_NAMES[case.kind])
    if case.moderator_id:
        return tr(
            "Case #{number} · {kind} by {moderator}",
            number=case.number,
            kind=kind,
            moderator=f"<@{case.moderator_id}>",
        )
    return tr("Case #{number} · {kind} (automatic)", number=case.number, kind=kind)


def report_embed(
    state: ReportState,
    tr: Texts,
    notes: Sequence[str] = (),
    *,
    name_reporters: bool = True,
) -> discord.Embed:
    """The queue message of a report, in the server's language (`tr`): what, who, by whom, what
    was done. Urgent ones stand out.

    Reporters are named only where `name_reporters` (a channel fans can read would tell the
    reported member who reported them); their categories and count are shown either way.
    """
    report = state.report
    name = _category(tr, state.category)
    title = tr("Report #{number}: {category}", number=report.number, category=name)
    colour = REPORT_COLOUR
    if state.urgent:
        title = tr("🚨 Urgent report #{number}: {category}", number=report.number, category=name)
        colour = URGENT_COLOUR
    if not report.is_open:
        colour = DONE_COLOUR
    embed = discord.Embed(title=title, colour=colour, timestamp=report.created_at)
    user = report.target_user_id
    if report.target_kind == "message":
        text = shorten(report.excerpt, EXCERPT_SHOWN)
        embed.description = (
            f">>> {discord.utils.escape_markdown(text)}" if text else tr("*No text*")
        )
        where = tr(
            "Message by {member} (`{id}`) in {channel}",
            member=f"<@{user}>",
            id=user,
            channel=f"<#{report.channel_id}>",
        )
        if state.message_up and report.channel_id and report.message_id:
            link = message_url(report.guild_id, report.channel_id, report.message_id)
            where += " · " + tr("[jump]({link})", link=link)
    else:
        where = tr("Member {member} (`{id}`)", member=f"<@{user}>", id=user)
    embed.add_field(name=tr("Reported"), value=where, inline=False)
    reporters = (
        _reporter_lines(tr, state.reporters)
        if name_reporters
        else _category_counts(tr, state.reporters)
        + "\n"
        + tr(
            "Not named here: members who aren't moderators can read this channel "
            "(`/config check` says who)."
        )
    )
    embed.add_field(
        name=tr("Reporters ({count}), for moderators only", count=tr.number(len(state.reporters))),
        value=reporters,
        inline=False,
    )
    if report.target_kind == "message":
        media = (
            tr("Hashed when reported: **Take down** adds it to the takedown list.")
            if state.hashes
            else tr("No picture was hashed: **Take down** removes the message only.")
        )
        embed.add_field(name=tr("Media"), value=media, inline=False)
    embed.add_field(name=tr("Status"), value=_report_status(tr, state), inline=False)
    if state.cases:
        lines = [_case_line(tr, case) for case in state.cases[-10:]]
        embed.add_field(name=tr("Actions"), value="\n".join(lines), inline=False)
    if notes:
        embed.add_field(name=tr("Note"), value=shorten("\n".join(notes), FIELD_VALUE), inline=False)
    embed.set_footer(text=tr("Report #{number}", number=report.number))
    return fit_embed(embed)


class ReportQueue:
    """Posts and redraws queue messages, hides reported messages, and tells reporters."""

    REPOSTS_AT_ONCE = 10  # open reports /cases posts again at once
    # What a reporter hears when their report is closed; never who was punished or how.
    REPORTER_DM: ClassVar[dict[ReportStatus, str]] = {
        ReportStatus.TAKEN_DOWN: N_(
            "A moderator of **{guild}** reviewed your report #{number} and removed the message. "
            "Thank you for looking out for everyone there."
        ),
        ReportStatus.ACTIONED: N_(
            "A moderator of **{guild}** reviewed your report #{number} and took action. Thank "
            "you for looking out for everyone there."
        ),
        ReportStatus.DISMISSED: N_(
            "A moderator of **{guild}** reviewed your report #{number} and decided no action "
            "was needed this time. Thank you for telling them."
        ),
    }

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        self._background: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for task in self._background:
            task.cancel()

    async def state(self, report_id: int) -> ReportState | None:
        async with self.bot.db.connect() as conn:
            report = await reports_db.get_report(conn, report_id)
            if report is None:
                return None
            reporters = await reports_db.reporters(conn, report_id)
            cases = await cases_db.cases_for_report(conn, report_id)
            hashes = len(await reports_db.stored_hashes(conn, report_id))
        return ReportState(report, tuple(reporters), tuple(cases), hashes)

    async def show(
        self,
        guild: discord.Guild,
        report_id: int,
        *,
        preview: PreviewSource | None = None,
        notes: Sequence[str] = (),
        repost: bool = False,
    ) -> None:
        """Bring a report's queue message up to date, or post it when there is none.

        A queue message deleted by someone is posted again. `repost` replaces the message with a
        new one (a report that just became urgent pings the moderators, which an edit can't).
        `preview` makes the blurred preview, only when a message is posted.
        """
        state = await self.state(report_id)
        if state is None:
            return
        queued = self._queue_message(guild, state.report)
        settings = await self.bot.guild_settings.get(guild.id)
        tr = guild_texts(settings.language, guild)
        if queued is not None and repost:
            await delete_message(queued)
        elif queued is not None:
            channel = queued.channel
            private = public_mod_channel(channel, settings.mod_role_id) is None  # type: ignore[arg-type]
            embed = report_embed(state, tr, notes, name_reporters=private)
            try:
                await queued.edit(
                    embed=embed, view=report_view(state.report, tr, settings, agency=state.urgent)
                )
                return
            except discord.NotFound:
                log.info(
                    "Queue message of report #%d is gone; posting it again", state.report.number
                )
            except discord.HTTPException as exc:
                log.warning("Could not update report #%d: %s", state.report.number, exc)
                return
        await self._post(guild, state, notes, preview)

    def _queue_message(self, guild: discord.Guild, report: Report) -> discord.PartialMessage | None:
        if report.queue_channel_id is None or report.queue_message_id is None:
            return None
        channel = guild.get_channel(report.queue_channel_id)
        if not isinstance(channel, discord.TextChannel):
            return None
        return channel.get_partial_message(report.queue_message_id)

    async def _post(
        self,
        guild: discord.Guild,
        state: ReportState,
        notes: Sequence[str],
        preview: PreviewSource | None,
    ) -> None:
        report = state.report
        settings = await self.bot.guild_settings.get(guild.id)
        channel = mod_channel(guild, settings, f"Report #{report.number} is kept")
        if channel is None:
            return
        tr = guild_texts(settings.language, guild)
        private = public_mod_channel(channel, settings.mod_role_id) is None
        embed = report_embed(state, tr, notes, name_reporters=private)
        content, mentions = None, discord.AllowedMentions.none()
        if state.urgent and report.is_open and settings.mod_role_id:
            content = tr(
                "{role} urgent report #{number}: {category}",
                role=f"<@&{settings.mod_role_id}>",
                number=report.number,
                category=_category(tr, state.category),
            )
            mentions = discord.AllowedMentions(roles=[discord.Object(settings.mod_role_id)])
        data = await preview() if preview is not None and settings.previews else None
        files = preview_files(channel, data, embed, tr)
        try:
            posted = await channel.send(
                content,
                embed=embed,
                files=files,
                view=report_view(report, tr, settings, agency=state.urgent),
                allowed_mentions=mentions,
            )
        except discord.HTTPException as exc:
            log.warning("Could not post report #%d in guild %s: %s", report.number, guild.id, exc)
            return
        async with self.bot.db.transaction() as conn:
            await reports_db.set_queue_message(conn, report.id, channel.id, posted.id)

    async def hide_reported_message(
        self, message: discord.Message, report: Report, reporters: int
    ) -> Phrase | None:
        """Remove a reported message pending review; a sentence for the moderators if it failed."""
        assert message.guild is not None

        async def mark_hidden(conn: AsyncConnection, _case: Case) -> None:
            await reports_db.mark_hidden(conn, report.id)

        draft = CaseDraft(
            CaseKind.AUTO_HIDE,
            f"Hidden pending review after {reporters} reports of sexualized content or "
            f"deepfakes (report #{report.number})",
            user_id=message.author.id,
            user_name=message.author.name,
            channel_id=message.channel.id,
            message_id=message.id,
            report_id=report.id,
        )
        removal = await self.bot.actions.remove_message(
            message, message.guild.id, draft, follow=mark_hidden
        )
        return removal.problem

    async def repost_missing(self, guild: discord.Guild) -> int:
        """Post again the open reports that have no queue message; how many there were."""
        async with self.bot.db.connect() as conn:
            missing = await reports_db.open_reports_not_in_queue(
                conn, guild.id, limit=self.REPOSTS_AT_ONCE
            )
        for report in missing:
            await self.show(guild, report.id)
        return len(missing)

    async def forget_queue_messages(
        self, guild_id: int | None, channel_id: int, message_ids: Iterable[int]
    ) -> None:
        """A deleted queue message is posted again by the next report or /cases."""
        if guild_id is None:
            return
        settings = await self.bot.guild_settings.get(guild_id)
        if channel_id != settings.mod_channel_id:
            return
        async with self.bot.db.transaction() as conn:
            for message_id in message_ids:
                report = await reports_db.forget_queue_message(conn, message_id)
                if report is not None and report.is_open:
                    log.info("The queue message of open report #%d was deleted", report.number)

    def tell_reporters(self, guild: discord.Guild, report: Report) -> None:
        """DM each reporter that a moderator reviewed their report (if the guild wants that)."""
        task = asyncio.create_task(self._tell_reporters(guild, report))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _tell_reporters(self, guild: discord.Guild, report: Report) -> None:
        settings = await self.bot.guild_settings.get(guild.id)
        if not settings.dm_reporters or report.status not in self.REPORTER_DM:
            return
        tr = guild_texts(settings.language, guild)  # the DM speaks for the server
        text = tr(self.REPORTER_DM[report.status], guild=guild.name, number=report.number)
        async with self.bot.db.connect() as conn:
            reporters = await reports_db.reporters(conn, report.id)
        for reporter in reporters:
            try:
                user = self.bot.get_user(reporter.reporter_id) or await self.bot.fetch_user(
                    reporter.reporter_id
                )
                await user.send(text)
            except discord.HTTPException as exc:  # DMs closed (50007) and the like
                log.info(
                    "Could not DM reporter %s of report %s: %s",
                    reporter.reporter_id,
                    report.id,
                    exc,
                )

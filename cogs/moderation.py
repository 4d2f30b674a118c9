"""The one place that acts: removals, timeouts, bans, cases, the alerts and the report queue.

Every action, automatic or by a moderator, is recorded with `db.cases.create_case` in the same
transaction as the change it records, so the audit trail can't be skipped. Alerts and report
queue messages carry buttons that survive restarts (`DynamicItem`s whose custom id holds the
record id; the state is read from the database) and check that whoever clicks is a moderator.
A queue message is drawn from the database every time, so any change (a new reporter, a
moderator's action, a restart in between) shows the same, whole picture.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, Self

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncConnection

from cogs.access import AccessDenied, moderators_only, require_moderator
from cogs.pagination import send_pages
from db import alerts as alerts_db
from db import allowlist, takedowns
from db import cases as cases_db
from db import reports as reports_db
from db import rules as rules_db
from db.alerts import MatchAlert, NewAlert
from db.cases import Case
from db.guild_settings import GuildSettings
from db.reports import CATEGORIES, URGENT_CATEGORIES, Report, Reporter
from db.takedowns import NewEntry
from media.fetch import FetchError
from media.list_scope import ListMatch
from media.matching import Tier
from media.pipeline import HashedMedia
from media.preview import blurred_preview

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

CASE_KIND_NAMES = {
    "takedown": "Takedown",
    "flag": "Flagged match",
    "not_a_match": "Not a match",
    "timeout": "Timeout",
    "ban": "Ban",
    "report_takedown": "Report: taken down",
    "report_dismissed": "Report: dismissed",
    "auto_hide": "Hidden after reports",
    "takedown_list": "Takedown list change",
    "settings": "Settings change",
    "rules": "Rules change",
}
PREVIEW_NAME = "SPOILER_lightstick-preview.jpg"  # "SPOILER_" makes Discord blur it until clicked
REMOVED_COLOUR = discord.Colour.red()
REVIEW_COLOUR = discord.Colour.orange()
DONE_COLOUR = discord.Colour.dark_grey()
REPORT_COLOUR = discord.Colour.gold()
URGENT_COLOUR = discord.Colour.red()
OUTCOME_NAMES = {"taken_down": "Taken down", "dismissed": "Dismissed", "actioned": "Action taken"}
EXCERPT_SHOWN = 300  # characters of the reported text on a queue message
REPORTERS_SHOWN = 10  # reporters named on a queue message; the rest are counted

PreviewSource = Callable[[], Awaitable[bytes | None]]


def describe_case(case: Case, report_number: int | None = None) -> str:
    kind = CASE_KIND_NAMES.get(case.kind, case.kind.replace("_", " ").capitalize())
    parts = [f"**#{case.number} · {kind}** · <t:{int(case.created_at.timestamp())}:R>"]
    if case.user_id:
        parts.append(f"Member: <@{case.user_id}>")
    if case.moderator_id:
        parts.append(f"By: <@{case.moderator_id}>")
    if case.entry_id is not None:
        distance = f" at distance {case.distance}" if case.distance is not None else ""
        parts.append(f"Entry {case.entry_id}{distance}")
    if report_number is not None:
        parts.append(f"Report #{report_number}")
    elif case.report_id is not None:
        parts.append(f"Report id {case.report_id}")
    line = " · ".join(parts)
    return f"{line}\n{case.reason[:300]}" if case.reason else line


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What is left to do after a match was removed (or not) and recorded."""

    message: discord.Message
    settings: GuildSettings
    alert: MatchAlert
    case: Case
    preview: bytes | None  # blurred, made in memory
    problem: str | None  # what the bot could not do, for the alert
    removed: bool


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """What an alert may say about the matched entry (labels of other servers stay private)."""

    entry_id: int | None
    label: str
    added_by: int | None
    own_list: bool


def preview_files(
    channel: discord.TextChannel, preview: bytes | None, embed: discord.Embed
) -> list[discord.File]:
    """The blurred preview as a spoiler file, or a note on the embed when it can't be attached."""
    if not preview:
        return []
    if not channel.permissions_for(channel.guild.me).attach_files:
        embed.add_field(
            name="Preview", value="Not shown: I'm missing Attach Files here.", inline=False
        )
        return []
    return [discord.File(io.BytesIO(preview), PREVIEW_NAME, spoiler=True)]


def can_act_on(me: discord.Member, member: discord.Member) -> str | None:
    """Why the bot can't time out or ban `member` (role hierarchy), or None."""
    if member.id == member.guild.owner_id:
        return f"{member.mention} owns the server"
    if member.top_role >= me.top_role:
        return f"{member.mention}'s highest role is not below mine; move my role above it"
    return None


class RecordButton:
    """What alert and report buttons share: a label and style per action, and a custom id that
    holds the record's id, so the button works after a restart. Mixed into a `DynamicItem`."""

    KIND: ClassVar[str]  # "alert" or "report", the custom id's second part
    LABELS: ClassVar[dict[str, tuple[str, discord.ButtonStyle]]]

    def __init__(self, record_id: int, action: str, *, disabled: bool = False) -> None:
        label, style = self.LABELS[action]
        custom_id = f"lightstick:{self.KIND}:{record_id}:{action}"
        super().__init__(  # type: ignore[call-arg]
            discord.ui.Button(label=label, style=style, disabled=disabled, custom_id=custom_id)
        )
        self.record_id = record_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> Self:
        return cls(int(match["id"]), match["action"])


class AlertButton(
    RecordButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lightstick:alert:(?P<id>[0-9]+):(?P<action>takedown|notmatch|timeout|ban)",
):
    """A button on a match alert; the alert's state is read from the database on each click."""

    KIND = "alert"
    LABELS: ClassVar[dict[str, tuple[str, discord.ButtonStyle]]] = {
        "takedown": ("Take down", discord.ButtonStyle.danger),
        "notmatch": ("Not a match", discord.ButtonStyle.secondary),
        "timeout": ("Timeout author", discord.ButtonStyle.primary),
        "ban": ("Ban author", discord.ButtonStyle.danger),
    }

    async def callback(self, interaction: discord.Interaction[Lightstick]) -> None:
        cog: Moderation = interaction.client.get_cog("Moderation")  # type: ignore[assignment]
        await cog.on_alert_button(interaction, self.record_id, self.action)


def alert_view(alert: MatchAlert) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    closed = alert.status != "open"
    if not alert.removed:
        view.add_item(AlertButton(alert.id, "takedown", disabled=closed))
    view.add_item(AlertButton(alert.id, "notmatch", disabled=closed))
    view.add_item(AlertButton(alert.id, "timeout"))
    view.add_item(AlertButton(alert.id, "ban"))
    return view


class ConfirmBan(discord.ui.View):
    """A second click before a ban: bans are hard to undo for the member."""

    def __init__(self, owner_id: int) -> None:
        super().__init__(timeout=60)
        self.owner_id = owner_id
        self.confirmed: discord.Interaction | None = None

    @discord.ui.button(label="Ban", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("This isn't your confirmation.", ephemeral=True)
            return
        self.confirmed = interaction
        self.stop()

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content="Not banned.", view=None)
        self.stop()


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
            report.target_kind == "message" and not report.hidden and report.status != "taken_down"
        )


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
        cog: Moderation = interaction.client.get_cog("Moderation")  # type: ignore[assignment]
        await cog.on_report_button(interaction, self.record_id, self.action)


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
        cog: Moderation = interaction.client.get_cog("Moderation")  # type: ignore[assignment]
        await cog.on_report_button(
            interaction, self.report_id, "dismissed", reason=self.reason.value.strip()
        )


def _reporter_line(reporter: Reporter) -> str:
    line = f"<@{reporter.reporter_id}> · {CATEGORIES.get(reporter.category, reporter.category)}"
    if reporter.details:
        details = discord.utils.escape_markdown(" ".join(reporter.details.split()))
        line += f": “{details[:150]}{'…' if len(details) > 150 else ''}”"
    if reporter.evidence_url:
        line += f" · [evidence]({reporter.evidence_url})"
    return line


def _reporter_lines(reporters: Sequence[Reporter]) -> str:
    lines: list[str] = []
    for reporter in reporters[:REPORTERS_SHOWN]:
        line = _reporter_line(reporter)
        if sum(len(x) + 1 for x in lines) + len(line) > 950:
            break
        lines.append(line)
    if len(lines) < len(reporters):
        lines.append(f"…and {len(reporters) - len(lines)} more")
    return "\n".join(lines) or "None"


def _category_counts(reporters: Sequence[Reporter]) -> str:
    counts: dict[str, int] = {}
    for reporter in reporters:
        counts[reporter.category] = counts.get(reporter.category, 0) + 1
    return " · ".join(f"{CATEGORIES.get(c, c)} ×{n}" for c, n in counts.items())


def _report_status(state: ReportState) -> str:
    report = state.report
    if report.is_open:
        if report.hidden:
            return (
                f"🙈 Hidden pending review: removed after {state.urgent_reporters} reports of "
                "sexualized content or deepfakes. Take down or dismiss it."
            )
        return "Open: waiting for a moderator"
    outcome = f"{OUTCOME_NAMES.get(report.status, report.status)} by <@{report.resolved_by}>"
    if report.resolved_at is not None:
        outcome += f" <t:{int(report.resolved_at.timestamp())}:R>"
    if report.resolution_reason and report.status == "dismissed":
        outcome += f"\nReason: {report.resolution_reason}"
    return outcome


def _case_line(case: Case) -> str:
    kind = CASE_KIND_NAMES.get(case.kind, case.kind)
    who = f"by <@{case.moderator_id}>" if case.moderator_id else "(automatic)"
    return f"Case #{case.number} · {kind} {who}"


def is_private(channel: discord.TextChannel) -> bool:
    """Whether @everyone is kept out of the channel, so reporters can be named in it."""
    return not channel.permissions_for(channel.guild.default_role).view_channel


def report_embed(
    state: ReportState, notes: Sequence[str] = (), *, name_reporters: bool = True
) -> discord.Embed:
    """The queue message of a report: what, who, by whom, what was done. Urgent ones stand out.

    Reporters are named only where `name_reporters` (a channel everyone can read would tell the
    reported member who reported them); their categories and count are shown either way.
    """
    report = state.report
    name = CATEGORIES.get(state.category, state.category)
    title = f"Report #{report.number}: {name}"
    colour = REPORT_COLOUR
    if state.urgent:
        title, colour = f"🚨 Urgent report #{report.number}: {name}", URGENT_COLOUR
    if not report.is_open:
        colour = DONE_COLOUR
    embed = discord.Embed(title=title, colour=colour, timestamp=report.created_at)
    user = report.target_user_id
    if report.target_kind == "message":
        text = report.excerpt[:EXCERPT_SHOWN] + ("…" if len(report.excerpt) > EXCERPT_SHOWN else "")
        embed.description = f">>> {discord.utils.escape_markdown(text)}" if text else "*No text*"
        where = f"Message by <@{user}> (`{user}`) in <#{report.channel_id}>"
        if state.message_up:
            link = f"https://discord.com/channels/{report.guild_id}/{report.channel_id}/{report.message_id}"
            where += f" · [jump]({link})"
    else:
        where = f"Member <@{user}> (`{user}`)"
    embed.add_field(name="Reported", value=where, inline=False)
    reporters = (
        _reporter_lines(state.reporters)
        if name_reporters
        else f"{_category_counts(state.reporters)}\nNot named here: everyone can read this "
        "channel. Make it private to the moderators (deny @everyone View Channel)."
    )
    embed.add_field(
        name=f"Reporters ({len(state.reporters)}), for moderators only",
        value=reporters,
        inline=False,
    )
    if report.target_kind == "message":
        media = (
            "Hashed when reported: **Take down** adds it to the takedown list."
            if state.hashes
            else "No picture was hashed: **Take down** removes the message only."
        )
        embed.add_field(name="Media", value=media, inline=False)
    embed.add_field(name="Status", value=_report_status(state), inline=False)
    if state.cases:
        lines = [_case_line(case) for case in state.cases[-10:]]
        embed.add_field(name="Actions", value="\n".join(lines), inline=False)
    if notes:
        embed.add_field(name="Note", value="\n".join(notes)[:1024], inline=False)
    embed.set_footer(text=f"Report #{report.number}")
    return embed


def report_reason(report: Report) -> str:
    """How actions on a report name it, on cases and takedown entries."""
    return f"Report #{report.number}: {CATEGORIES.get(report.category, report.category)}"


def closes_report(report: Report | None) -> bool:
    """Timeout or ban decides a report on a member; on a message, its content still needs one."""
    return report is not None and report.target_kind == "user" and report.is_open


def report_view(state: ReportState) -> discord.ui.View:
    """Take down and Dismiss decide once; Timeout and Ban stay until the report is dismissed."""
    report = state.report
    view = discord.ui.View(timeout=None)
    decided = not report.is_open
    if report.target_kind == "message":
        view.add_item(ReportButton(report.id, "takedown", disabled=decided))
    view.add_item(ReportButton(report.id, "dismiss", disabled=decided))
    dismissed = report.status == "dismissed"
    view.add_item(ReportButton(report.id, "timeout", disabled=dismissed))
    view.add_item(ReportButton(report.id, "ban", disabled=dismissed))
    return view


class Moderation(commands.Cog):
    """Acts on matches and moderators' decisions, and keeps the numbered record of it all."""

    CASES_PER_PAGE = 8  # keeps a page well under an embed's 4096-character description
    TIMEOUT_MINUTES = 60  # the "Timeout author" button when no repeat timeout is configured
    DM_NOTICE = (
        "A message you posted in **{guild}** was removed: it matches an image on the server's "
        "takedown list of abusive edits and deepfakes{rule}. If you think this is a mistake, "
        "please contact the server's moderators."
    )
    # What a reporter hears when their report is closed; never who was punished or how.
    REPORTER_DM: ClassVar[dict[str, str]] = {
        "taken_down": "A moderator of **{guild}** reviewed your report #{number} and removed the "
        "message. Thank you for looking out for everyone there.",
        "actioned": "A moderator of **{guild}** reviewed your report #{number} and took action. "
        "Thank you for looking out for everyone there.",
        "dismissed": "A moderator of **{guild}** reviewed your report #{number} and decided no "
        "action was needed this time. Thank you for telling them.",
    }
    ALREADY_DECIDED = "Someone already decided on this report."
    REPOSTS_PER_CASES = 10  # open reports /cases posts again at once

    FOLLOW_UPS_WAITING = 200  # alerts waiting to be posted; past this, a burst is summarised
    FOLLOW_UPS_AT_SHUTDOWN_SECONDS = 5.0  # how long a shutdown waits for queued alerts

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        self._background: set[asyncio.Task[None]] = set()
        self._follow_ups: asyncio.Queue[FollowUp] = asyncio.Queue(self.FOLLOW_UPS_WAITING)
        self._unposted: Counter[int] = Counter()  # guild id -> alerts skipped in a burst
        self._poster: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(AlertButton, ReportButton)
        self._poster = asyncio.create_task(self._post_follow_ups(), name="match-alerts")

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(AlertButton, ReportButton)
        try:  # the connection is still open: post what is queued, within reason
            await asyncio.wait_for(self._follow_ups.join(), self.FOLLOW_UPS_AT_SHUTDOWN_SECONDS)
        except TimeoutError:
            log.warning(
                "Shutting down with %d match alerts not posted; their cases are recorded",
                self._follow_ups.qsize(),
            )
        for task in [*self._background, self._poster]:
            if task is not None:
                task.cancel()

    # -- acting on a match -------------------------------------------------------------------

    async def act_on_match(
        self,
        message: discord.Message,
        media: HashedMedia,
        found: ListMatch,
        settings: GuildSettings,
    ) -> bool:
        """Remove (when policy says so) and record; returns whether the message is gone.

        The alert, the DM to the author and a repeat timeout follow in the background, one at a
        time: in a raid, Discord rate-limits the mod channel, and removing the next re-upload
        must not wait for the last alert.
        """
        # Only an alert shows a preview: no mod channel, no decoding for nothing.
        shown = settings.previews and settings.mod_channel_id is not None
        data = await self._media_bytes(media) if shown else None  # before the file is deleted
        remove = found.removes and settings.takedown_action == "remove"
        problem = await self._delete(message) if remove else None
        removed = remove and problem is None
        alert, case = await self._record_match(message, media, found, removed)
        preview = await asyncio.to_thread(blurred_preview, data) if data else None
        self._follow_up(FollowUp(message, settings, alert, case, preview, problem, removed))
        return removed

    async def _media_bytes(self, media: HashedMedia) -> bytes | None:
        if media.data is not None:
            return media.data
        try:
            return await self.bot.pipeline.fetch(media.ref)
        except FetchError:
            return None

    def _follow_up(self, follow_up: FollowUp) -> None:
        try:
            self._follow_ups.put_nowait(follow_up)
        except asyncio.QueueFull:
            guild_id = follow_up.alert.guild_id
            self._unposted[guild_id] += 1
            log.warning(
                "Alert queue full: case #%d in guild %s is recorded but its alert is skipped",
                follow_up.case.number,
                guild_id,
            )

    async def _post_follow_ups(self) -> None:
        while True:
            follow_up = await self._follow_ups.get()
            message, settings = follow_up.message, follow_up.settings
            try:
                assert message.guild is not None
                await self.post_alert(
                    message.guild,
                    settings,
                    follow_up.alert,
                    follow_up.case,
                    follow_up.preview,
                    follow_up.problem,
                )
                if follow_up.removed:
                    await self._after_removal(message, settings)
                if self._follow_ups.empty():
                    await self._post_burst_summaries()
            except Exception:
                log.exception("Following up case #%d failed", follow_up.case.number)
            finally:
                self._follow_ups.task_done()

    async def _post_burst_summaries(self) -> None:
        """After a burst that overflowed the alert queue: one message per guild saying so."""
        while self._unposted:
            guild_id, skipped = self._unposted.popitem()
            guild = self.bot.get_guild(guild_id)
            settings = await self.bot.guild_settings.get(guild_id)
            channel = guild.get_channel(settings.mod_channel_id or 0) if guild else None
            if not isinstance(channel, discord.TextChannel):
                continue
            text = (
                f"During a burst of matches I recorded {skipped} more without posting an alert "
                "for each. Every one is a case: see `/cases`."
            )
            try:
                await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
            except discord.HTTPException as exc:
                log.warning("Could not post a burst summary in guild %s: %s", guild_id, exc)

    async def _delete(self, message: discord.Message) -> str | None:
        """Delete a message; a sentence for the moderators when it couldn't be done."""
        try:
            await message.delete()
        except discord.NotFound:
            return None  # already gone
        except discord.Forbidden:
            where = getattr(message.channel, "mention", "that channel")
            return f"I couldn't remove it: I'm missing **Manage Messages** in {where}."
        except discord.HTTPException as exc:
            log.warning("Deleting message %s failed: %s", message.id, exc)
            return "I couldn't remove it: Discord returned an error. Please remove it by hand."
        return None

    async def _record_match(
        self, message: discord.Message, media: HashedMedia, found: ListMatch, removed: bool
    ) -> tuple[MatchAlert, Case]:
        assert message.guild is not None
        frames = media.hashes.frames
        frame = frames[found.match.frame] if 0 <= found.match.frame < len(frames) else frames[0]
        tier = str(found.match.tier)
        async with self.bot.db.transaction() as conn:
            case = await cases_db.create_case(
                conn,
                message.guild.id,
                "takedown" if removed else "flag",
                user_id=message.author.id,
                channel_id=message.channel.id,
                message_id=message.id,
                entry_id=found.match.entry_id,
                distance=found.match.distance,
                reason=f"{tier} match ({found.match.algorithm}) of a takedown-list entry",
            )
            alert = await alerts_db.create_alert(
                conn,
                NewAlert(
                    guild_id=message.guild.id,
                    channel_id=message.channel.id,
                    message_id=message.id,
                    author_id=message.author.id,
                    entry_id=found.match.entry_id,
                    list_id=found.list_id,
                    algorithm=found.match.algorithm,
                    distance=found.match.distance,
                    tier=tier,
                    removed=removed,
                    upload_pdq=frame.pdq,
                    upload_phash=frame.phash,
                    case_id=case.id,
                ),
            )
            await takedowns.record_match(conn, found.match.entry_id)
        return alert, case

    async def _after_removal(self, message: discord.Message, settings: GuildSettings) -> None:
        assert message.guild is not None
        if settings.dm_author:
            await self._notify_author(message)
        if settings.timeout_on_repeat_minutes:
            since = datetime.now(UTC) - timedelta(hours=settings.repeat_window_hours)
            async with self.bot.db.connect() as conn:
                removals = await alerts_db.count_removals_since(
                    conn, message.guild.id, message.author.id, since
                )
            if removals >= 2 and isinstance(message.author, discord.Member):
                problem = await self.timeout_member(
                    message.author,
                    minutes=settings.timeout_on_repeat_minutes,
                    moderator=None,
                    reason=(
                        f"{removals} takedown-list matches within {settings.repeat_window_hours} h"
                    ),
                )
                if problem:
                    log.info(
                        "Repeat timeout in guild %s not applied: %s", message.guild.id, problem
                    )

    async def _notify_author(self, message: discord.Message) -> None:
        assert message.guild is not None
        rule = await self._takedown_rule(message.guild.id)
        text = self.DM_NOTICE.format(guild=message.guild.name, rule=rule)
        try:
            await message.author.send(text)
        except discord.HTTPException as exc:  # DMs closed (50007) and the like
            log.info("Could not DM the author of message %s: %s", message.id, exc)

    async def _takedown_rule(self, guild_id: int) -> str:
        """ ", see rule 3 (No deepfakes)" when a rule speaks of deepfakes or edits; else ""."""
        async with self.bot.db.connect() as conn:
            for rule in await rules_db.list_rules(conn, guild_id):
                text = f"{rule.title} {rule.body}".lower()
                if any(word in text for word in ("deepfake", "edit", "sexual", "nsfw")):
                    return f" (see rule {rule.position}: {rule.title})"
        return ""

    # -- alerts ------------------------------------------------------------------------------

    async def _entry_info(
        self, conn: AsyncConnection, guild_id: int, alert: MatchAlert
    ) -> EntryInfo:
        entry = (
            await takedowns.get_entry_any_list(conn, alert.entry_id)
            if alert.entry_id is not None
            else None
        )
        if entry is None:
            return EntryInfo(alert.entry_id, "(entry since removed)", None, True)
        own_list = await takedowns.list_owner(conn, entry.list_id) == guild_id
        label = entry.label if own_list or entry.label_shareable else "(label private)"
        return EntryInfo(
            entry.id, label or "(no label)", entry.added_by if own_list else None, own_list
        )

    async def alert_embed(
        self, guild: discord.Guild, alert: MatchAlert, case: Case | None, problem: str | None
    ) -> discord.Embed:
        async with self.bot.db.connect() as conn:
            entry = await self._entry_info(conn, guild.id, alert)
            earlier = await cases_db.count_cases(conn, guild.id, user_id=alert.author_id) - 1
        settings = await self.bot.guild_settings.get(guild.id)
        confident = (
            settings.pdq_confident_radius
            if alert.algorithm == "pdq"
            else settings.phash_confident_radius
        )
        if alert.removed:
            title, colour = "Removed a takedown-list match", REMOVED_COLOUR
        elif alert.tier == str(Tier.TAKEDOWN):
            title, colour = "Takedown-list match, not removed: please review", REVIEW_COLOUR
        else:
            title, colour = "Possible takedown-list match: please review", REVIEW_COLOUR
        embed = discord.Embed(title=title, colour=colour, timestamp=alert.created_at)
        embed.add_field(name="Posted by", value=f"<@{alert.author_id}> ({alert.author_id})")
        where = f"<#{alert.channel_id}>"
        if not alert.removed:
            where += f" · [jump](https://discord.com/channels/{guild.id}/{alert.channel_id}/{alert.message_id})"
        embed.add_field(name="Where", value=where)
        embed.add_field(name="When", value=f"<t:{int(alert.created_at.timestamp())}:f>")
        source = "this server's list" if entry.own_list else "a shared list"
        added = f", added by <@{entry.added_by}>" if entry.added_by else ""
        embed.add_field(
            name="Entry", value=f"#{entry.entry_id} · {entry.label} ({source}{added})", inline=False
        )
        kind = "confident match" if alert.tier == str(Tier.TAKEDOWN) else "possible match"
        embed.add_field(
            name="Match",
            value=(
                f"{alert.algorithm.upper()} distance {alert.distance}: {kind} "
                f"(the confident radius is {confident})"
            ),
        )
        embed.add_field(
            name="Author's history",
            value=f"{earlier} earlier case{'s' if earlier != 1 else ''}"
            if earlier > 0
            else "No earlier cases",
        )
        if problem:
            embed.add_field(name="Could not act", value=problem, inline=False)
        if alert.status != "open":
            decision = "Not a match" if alert.status == "not_a_match" else "Taken down"
            embed.add_field(
                name="Decision", value=f"{decision} by <@{alert.resolved_by}>", inline=False
            )
            embed.colour = DONE_COLOUR
        if case is not None:
            embed.set_footer(text=f"Case #{case.number}")
        return embed

    async def post_alert(
        self,
        guild: discord.Guild,
        settings: GuildSettings,
        alert: MatchAlert,
        case: Case,
        preview: bytes | None,
        problem: str | None,
    ) -> None:
        channel = guild.get_channel(settings.mod_channel_id) if settings.mod_channel_id else None
        if not isinstance(channel, discord.TextChannel):
            log.warning(
                "Match in guild %s (case #%d) but no mod channel is set; see /config check",
                guild.id,
                case.number,
            )
            return
        embed = await self.alert_embed(guild, alert, case, problem)
        content, mentions = None, discord.AllowedMentions.none()
        needs_action = not alert.removed
        if needs_action and settings.mod_role_id:
            content = f"<@&{settings.mod_role_id}> a takedown-list match needs review."
            mentions = discord.AllowedMentions(roles=[discord.Object(settings.mod_role_id)])
        files = preview_files(channel, preview, embed)
        try:
            posted = await channel.send(
                content, embed=embed, files=files, view=alert_view(alert), allowed_mentions=mentions
            )
        except discord.HTTPException as exc:
            log.warning(
                "Could not post the alert for case #%d in guild %s: %s", case.number, guild.id, exc
            )
            return
        async with self.bot.db.transaction() as conn:
            await alerts_db.set_alert_message(conn, alert.id, channel.id, posted.id)

    async def _refresh_alert(self, interaction: discord.Interaction, alert: MatchAlert) -> None:
        assert interaction.guild is not None
        embed = await self.alert_embed(interaction.guild, alert, None, None)
        if interaction.message is not None and interaction.message.embeds:
            footer = interaction.message.embeds[0].footer.text
            if footer:
                embed.set_footer(text=footer)
        try:
            if interaction.message is not None:
                await interaction.message.edit(embed=embed, view=alert_view(alert))
        except discord.HTTPException as exc:
            log.info("Could not update alert %s: %s", alert.id, exc)

    # -- alert buttons -----------------------------------------------------------------------

    async def on_alert_button(
        self, interaction: discord.Interaction[Lightstick], alert_id: int, action: str
    ) -> None:
        try:
            moderator = await require_moderator(interaction)
        except AccessDenied as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        async with self.bot.db.connect() as conn:
            alert = await alerts_db.get_alert(conn, alert_id)
        if alert is None or alert.guild_id != interaction.guild_id:
            await interaction.response.send_message("That alert no longer exists.", ephemeral=True)
            return
        reason = f"Takedown-list match (alert {alert.id})"
        try:
            if action == "notmatch":
                await self._not_a_match(interaction, alert, moderator)
            elif action == "takedown":
                await self._take_down_alert(interaction, alert, moderator)
            elif action == "timeout":
                await self._timeout_author(interaction, moderator, alert.author_id, reason)
            else:
                await self._ban_author(interaction, moderator, alert.author_id, reason)
        except Exception:
            log.exception("Alert button %s on alert %s failed", action, alert_id)
            await self._apologise(interaction)

    async def _apologise(self, interaction: discord.Interaction) -> None:
        message = "Sorry, that didn't work. It was logged; please try again."
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)

    async def _not_a_match(
        self, interaction: discord.Interaction, alert: MatchAlert, moderator: discord.Member
    ) -> None:
        async with self.bot.db.transaction() as conn:
            resolved = await alerts_db.resolve_alert(
                conn, alert.id, status="not_a_match", resolved_by=moderator.id
            )
            if resolved is None:
                decided = None
            else:
                for value in alert.upload_hashes:
                    await allowlist.allow(
                        conn,
                        alert.guild_id,
                        value,
                        decided_by=moderator.id,
                        entry_id=alert.entry_id,
                    )
                decided = await cases_db.create_case(
                    conn,
                    alert.guild_id,
                    "not_a_match",
                    user_id=alert.author_id,
                    moderator_id=moderator.id,
                    entry_id=alert.entry_id,
                    distance=alert.distance,
                    reason="Marked not a match; this picture is allowlisted here",
                )
        if resolved is None or decided is None:
            await interaction.response.send_message(
                "Someone already decided on this alert.", ephemeral=True
            )
            return
        await self.bot.takedown_index.sync()
        after = (
            "The message was already removed; let the author know they can post it again."
            if alert.removed
            else "The message stays up."
        )
        await interaction.response.send_message(
            f"Marked as not a match (case #{decided.number}). This picture won't be flagged here "
            f"again. {after}",
            ephemeral=True,
        )
        await self._refresh_alert(interaction, resolved)

    async def _take_down_alert(
        self, interaction: discord.Interaction, alert: MatchAlert, moderator: discord.Member
    ) -> None:
        assert interaction.guild is not None
        if alert.status != "open":
            await interaction.response.send_message(
                "Someone already decided on this alert.", ephemeral=True
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        channel = interaction.guild.get_channel_or_thread(alert.channel_id)
        problem = None
        if isinstance(channel, discord.TextChannel | discord.Thread):
            problem = await self._delete(channel.get_partial_message(alert.message_id))  # type: ignore[arg-type]
        if problem:
            await interaction.followup.send(problem, ephemeral=True)
            return
        async with self.bot.db.transaction() as conn:
            resolved = await alerts_db.resolve_alert(
                conn, alert.id, status="taken_down", resolved_by=moderator.id, removed=True
            )
            own = await takedowns.get_own_list(conn, alert.guild_id)
            if resolved is not None and alert.entry_id is not None and alert.list_id == own.id:
                await takedowns.add_variants(conn, alert.entry_id, alert.upload_hashes)
            case = await cases_db.create_case(
                conn,
                alert.guild_id,
                "takedown",
                user_id=alert.author_id,
                moderator_id=moderator.id,
                channel_id=alert.channel_id,
                message_id=alert.message_id,
                entry_id=alert.entry_id,
                distance=alert.distance,
                reason="Taken down from a match alert",
            )
        await self.bot.takedown_index.sync()
        await interaction.followup.send(
            f"Removed (case #{case.number}). Copies this close will be removed automatically.",
            ephemeral=True,
        )
        if resolved is not None:
            await self._refresh_alert(interaction, resolved)

    async def _member(self, guild: discord.Guild, user_id: int) -> discord.Member | None:
        member = guild.get_member(user_id)
        if member is None:
            try:
                member = await guild.fetch_member(user_id)
            except discord.HTTPException:
                return None
        return member

    async def _timeout_author(
        self,
        interaction: discord.Interaction,
        moderator: discord.Member,
        author_id: int,
        reason: str,
        report: Report | None = None,
    ) -> bool:
        """The "Timeout author" button of an alert or a report; whether the member is timed out."""
        assert interaction.guild is not None
        member = await self._member(interaction.guild, author_id)
        if member is None:
            await interaction.response.send_message(
                "The author is no longer in the server.", ephemeral=True
            )
            return False
        settings = await self.bot.guild_settings.get(interaction.guild.id)
        minutes = settings.timeout_on_repeat_minutes or self.TIMEOUT_MINUTES
        problem = await self.timeout_member(
            member,
            minutes=minutes,
            moderator=moderator,
            reason=reason,
            report_id=report.id if report else None,
            close_report=closes_report(report),
        )
        await interaction.response.send_message(
            problem or f"{member.mention} is timed out for {minutes} minutes.", ephemeral=True
        )
        return problem is None

    async def _ban_author(
        self,
        interaction: discord.Interaction,
        moderator: discord.Member,
        author_id: int,
        reason: str,
        report: Report | None = None,
    ) -> bool:
        """The "Ban author" button of an alert or a report, with a confirmation; whether banned."""
        assert interaction.guild is not None
        confirm = ConfirmBan(moderator.id)
        await interaction.response.send_message(
            f"Ban <@{author_id}> from the server? Their earlier messages stay.",
            view=confirm,
            ephemeral=True,
        )
        if await confirm.wait() or confirm.confirmed is None:
            return False
        problem = await self.ban_user(
            interaction.guild,
            discord.Object(author_id),
            moderator=moderator,
            reason=reason,
            report_id=report.id if report else None,
            close_report=closes_report(report),
        )
        await confirm.confirmed.response.edit_message(
            content=problem or f"<@{author_id}> is banned.", view=None
        )
        return problem is None

    # -- the report queue --------------------------------------------------------------------

    async def report_state(self, report_id: int) -> ReportState | None:
        async with self.bot.db.connect() as conn:
            report = await reports_db.get_report(conn, report_id)
            if report is None:
                return None
            reporters = await reports_db.reporters(conn, report_id)
            cases = await cases_db.cases_for_report(conn, report_id)
            hashes = len(await reports_db.stored_hashes(conn, report_id))
        return ReportState(report, tuple(reporters), tuple(cases), hashes)

    async def show_report(
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
        state = await self.report_state(report_id)
        if state is None:
            return
        queued = self._queue_message(guild, state.report)
        if queued is not None and repost:
            await self._delete(queued)  # type: ignore[arg-type]
        elif queued is not None:
            embed = report_embed(state, notes, name_reporters=is_private(queued.channel))  # type: ignore[arg-type]
            try:
                await queued.edit(embed=embed, view=report_view(state))
                return
            except discord.NotFound:
                log.info(
                    "Queue message of report #%d is gone; posting it again", state.report.number
                )
            except discord.HTTPException as exc:
                log.warning("Could not update report #%d: %s", state.report.number, exc)
                return
        await self._post_report(guild, state, notes, preview)

    def _queue_message(self, guild: discord.Guild, report: Report) -> discord.PartialMessage | None:
        if report.queue_channel_id is None or report.queue_message_id is None:
            return None
        channel = guild.get_channel(report.queue_channel_id)
        if not isinstance(channel, discord.TextChannel):
            return None
        return channel.get_partial_message(report.queue_message_id)

    async def _post_report(
        self,
        guild: discord.Guild,
        state: ReportState,
        notes: Sequence[str],
        preview: PreviewSource | None,
    ) -> None:
        report = state.report
        settings = await self.bot.guild_settings.get(guild.id)
        channel = guild.get_channel(settings.mod_channel_id) if settings.mod_channel_id else None
        if not isinstance(channel, discord.TextChannel):
            log.warning(
                "Report #%d in guild %s is kept, but no mod channel is set; see /config check",
                report.number,
                guild.id,
            )
            return
        embed = report_embed(state, notes, name_reporters=is_private(channel))
        content, mentions = None, discord.AllowedMentions.none()
        if state.urgent and report.is_open and settings.mod_role_id:
            name = CATEGORIES.get(state.category, state.category)
            content = f"<@&{settings.mod_role_id}> urgent report #{report.number}: {name}"
            mentions = discord.AllowedMentions(roles=[discord.Object(settings.mod_role_id)])
        data = await preview() if preview is not None and settings.previews else None
        files = preview_files(channel, data, embed)
        try:
            posted = await channel.send(
                content,
                embed=embed,
                files=files,
                view=report_view(state),
                allowed_mentions=mentions,
            )
        except discord.HTTPException as exc:
            log.warning("Could not post report #%d in guild %s: %s", report.number, guild.id, exc)
            return
        async with self.bot.db.transaction() as conn:
            await reports_db.set_queue_message(conn, report.id, channel.id, posted.id)

    async def hide_reported_message(
        self, message: discord.Message, report: Report, reporters: int
    ) -> str | None:
        """Remove a reported message pending review; a sentence for the moderators if it failed."""
        assert message.guild is not None
        problem = await self._delete(message)
        if problem:
            return problem
        async with self.bot.db.transaction() as conn:
            await reports_db.mark_hidden(conn, report.id)
            await cases_db.create_case(
                conn,
                message.guild.id,
                "auto_hide",
                user_id=message.author.id,
                channel_id=message.channel.id,
                message_id=message.id,
                report_id=report.id,
                reason=(
                    f"Hidden pending review after {reporters} reports of sexualized content or "
                    f"deepfakes (report #{report.number})"
                ),
            )
        return None

    async def repost_missing_reports(self, guild: discord.Guild) -> int:
        """Post again the open reports that have no queue message; how many there were."""
        async with self.bot.db.connect() as conn:
            missing = await reports_db.open_reports_not_in_queue(
                conn, guild.id, limit=self.REPOSTS_PER_CASES
            )
        for report in missing:
            await self.show_report(guild, report.id)
        return len(missing)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self._forget_queue_messages(
            payload.guild_id, payload.channel_id, [payload.message_id]
        )

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self._forget_queue_messages(payload.guild_id, payload.channel_id, payload.message_ids)

    async def _forget_queue_messages(
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
        text = self.REPORTER_DM[report.status].format(guild=guild.name, number=report.number)
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

    # -- report buttons ----------------------------------------------------------------------

    async def on_report_button(
        self,
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
        async with self.bot.db.connect() as conn:
            report = await reports_db.get_report(conn, report_id)
        if report is None or report.guild_id != interaction.guild_id:
            await interaction.response.send_message("That report no longer exists.", ephemeral=True)
            return
        try:
            if action == "takedown":
                await self._take_down_report(interaction, report, moderator)
            elif action == "dismiss":
                await self._ask_dismissal(interaction, report)
            elif action == "dismissed":
                await self._dismiss_report(interaction, report, moderator, reason)
            else:
                await self._punish_report_author(interaction, report, moderator, action)
        except Exception:
            log.exception("Report button %s on report %s failed", action, report_id)
            await self._apologise(interaction)

    async def _take_down_report(
        self, interaction: discord.Interaction, report: Report, moderator: discord.Member
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        if not report.is_open or report.target_kind != "message":
            await interaction.response.send_message(self.ALREADY_DECIDED, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        if not report.hidden and report.channel_id and report.message_id:
            # Works for archived threads the cache doesn't hold. Already deleted by its author is
            # fine: the hashes were kept at report time.
            channel = self.bot.get_partial_messageable(report.channel_id, guild_id=guild.id)
            problem = await self._delete(channel.get_partial_message(report.message_id))  # type: ignore[arg-type]
            if problem:
                await interaction.followup.send(problem, ephemeral=True)
                return
        async with self.bot.db.transaction() as conn:
            resolved = await reports_db.resolve(
                conn, report.id, status="taken_down", resolved_by=moderator.id
            )
            if resolved is not None:
                entry_id = await self._list_reported_media(conn, resolved, moderator)
                case = await cases_db.create_case(
                    conn,
                    guild.id,
                    "report_takedown",
                    user_id=report.target_user_id,
                    moderator_id=moderator.id,
                    channel_id=report.channel_id,
                    message_id=report.message_id,
                    entry_id=entry_id,
                    report_id=report.id,
                    reason=f"{report_reason(report)}: taken down",
                )
        if resolved is None:
            await interaction.followup.send(self.ALREADY_DECIDED, ephemeral=True)
            return
        if entry_id is not None:
            await self.bot.takedown_index.sync()
            listed = "Copies of its picture will be removed automatically from now on."
        else:
            listed = "It had no picture to add to the takedown list."
        await interaction.followup.send(
            f"Taken down (case #{case.number}). {listed}", ephemeral=True
        )
        await self.show_report(guild, report.id)
        self.tell_reporters(guild, resolved)

    async def _list_reported_media(
        self, conn: AsyncConnection, report: Report, moderator: discord.Member
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

    async def _ask_dismissal(self, interaction: discord.Interaction, report: Report) -> None:
        if not report.is_open:
            await interaction.response.send_message(self.ALREADY_DECIDED, ephemeral=True)
            return
        await interaction.response.send_modal(DismissModal(report))

    async def _dismiss_report(
        self,
        interaction: discord.Interaction,
        report: Report,
        moderator: discord.Member,
        reason: str,
    ) -> None:
        assert interaction.guild is not None
        async with self.bot.db.transaction() as conn:
            resolved = await reports_db.resolve(
                conn, report.id, status="dismissed", resolved_by=moderator.id, reason=reason or None
            )
            if resolved is not None:
                case = await cases_db.create_case(
                    conn,
                    report.guild_id,
                    "report_dismissed",
                    user_id=report.target_user_id,
                    moderator_id=moderator.id,
                    channel_id=report.channel_id,
                    message_id=report.message_id,
                    report_id=report.id,
                    reason=f"{report_reason(report)}: dismissed"
                    + (f" ({reason})" if reason else ""),
                )
        if resolved is None:
            await interaction.response.send_message(self.ALREADY_DECIDED, ephemeral=True)
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
        await self.show_report(interaction.guild, report.id)
        self.tell_reporters(interaction.guild, resolved)

    async def _punish_report_author(
        self,
        interaction: discord.Interaction,
        report: Report,
        moderator: discord.Member,
        action: str,
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        if report.status == "dismissed":
            await interaction.response.send_message(self.ALREADY_DECIDED, ephemeral=True)
            return
        act = self._timeout_author if action == "timeout" else self._ban_author
        done = await act(
            interaction, moderator, report.target_user_id, report_reason(report), report
        )
        if not done:
            return
        await self.show_report(guild, report.id)
        if closes_report(report):
            async with self.bot.db.connect() as conn:
                closed = await reports_db.get_report(conn, report.id)
            if closed is not None and closed.status == "actioned":
                self.tell_reporters(guild, closed)

    # -- the actions, each recorded as a case ------------------------------------------------

    async def remove_message(
        self,
        message: discord.Message,
        *,
        moderator: discord.Member | None,
        reason: str,
        entry_id: int | None = None,
        report_id: int | None = None,
        kind: str = "takedown",
    ) -> str | None:
        """Delete a message and record the case; a sentence for the moderator if it failed."""
        assert message.guild is not None
        problem = await self._delete(message)
        if problem:
            return problem
        async with self.bot.db.transaction() as conn:
            await cases_db.create_case(
                conn,
                message.guild.id,
                kind,
                user_id=message.author.id,
                moderator_id=moderator.id if moderator else None,
                channel_id=message.channel.id,
                message_id=message.id,
                entry_id=entry_id,
                report_id=report_id,
                reason=reason,
            )
        return None

    async def timeout_member(
        self,
        member: discord.Member,
        *,
        minutes: int,
        moderator: discord.Member | None,
        reason: str,
        report_id: int | None = None,
        close_report: bool = False,
    ) -> str | None:
        """Time a member out and record the case; a sentence for the moderator if it failed.

        With `close_report`, the report `report_id` is closed as acted on, in the same transaction.
        """
        guild = member.guild
        if not guild.me.guild_permissions.moderate_members:
            return "I can't time members out: I'm missing **Moderate Members**."
        blocked = can_act_on(guild.me, member)
        if blocked:
            return f"I can't time out {member.mention}: {blocked}."
        try:
            await member.timeout(timedelta(minutes=minutes), reason=reason)
        except discord.Forbidden:
            return f"Discord refused to time out {member.mention}: check my role and permissions."
        except discord.HTTPException as exc:
            log.warning("Timeout of %s failed: %s", member.id, exc)
            return "Discord returned an error; please try again."
        async with self.bot.db.transaction() as conn:
            await cases_db.create_case(
                conn,
                guild.id,
                "timeout",
                user_id=member.id,
                moderator_id=moderator.id if moderator else None,
                report_id=report_id,
                reason=f"{minutes} min: {reason}",
            )
            if close_report and report_id is not None and moderator is not None:
                await reports_db.resolve(
                    conn, report_id, status="actioned", resolved_by=moderator.id, reason=reason
                )
        return None

    async def ban_user(
        self,
        guild: discord.Guild,
        user: discord.abc.Snowflake,
        *,
        moderator: discord.Member,
        reason: str,
        report_id: int | None = None,
        close_report: bool = False,
    ) -> str | None:
        """Ban and record the case; a sentence for the moderator if it failed.

        With `close_report`, the report `report_id` is closed as acted on, in the same transaction.
        """
        if not guild.me.guild_permissions.ban_members:
            return "I can't ban: I'm missing **Ban Members**."
        member = guild.get_member(user.id)
        if member is not None:
            blocked = can_act_on(guild.me, member)
            if blocked:
                return f"I can't ban {member.mention}: {blocked}."
        try:
            # Explicit: discord.py would otherwise delete a day of their messages.
            await guild.ban(user, reason=reason, delete_message_seconds=0)
        except discord.Forbidden:
            return "Discord refused the ban: check my role and permissions."
        except discord.HTTPException as exc:
            log.warning("Ban of %s failed: %s", user.id, exc)
            return "Discord returned an error; please try again."
        async with self.bot.db.transaction() as conn:
            await cases_db.create_case(
                conn,
                guild.id,
                "ban",
                user_id=user.id,
                moderator_id=moderator.id,
                report_id=report_id,
                reason=reason,
            )
            if close_report and report_id is not None:
                await reports_db.resolve(
                    conn, report_id, status="actioned", resolved_by=moderator.id, reason=reason
                )
        return None

    # -- /cases ------------------------------------------------------------------------------

    @app_commands.command(name="cases", description="Moderators: the record of actions taken")
    @app_commands.describe(user="Only the cases about this member")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_messages=True)
    @moderators_only()
    async def cases(
        self, interaction: discord.Interaction[Lightstick], user: discord.User | None = None
    ) -> None:
        assert interaction.guild is not None
        await self._answer_cases(interaction, user)
        reposted = await self.repost_missing_reports(interaction.guild)
        if reposted:
            await interaction.followup.send(
                f"{reposted} open report{'s' if reposted != 1 else ''} had no message in the "
                "report queue; I posted them again.",
                ephemeral=True,
            )

    async def _answer_cases(
        self, interaction: discord.Interaction[Lightstick], user: discord.User | None
    ) -> None:
        assert interaction.guild is not None
        guild_id = interaction.guild.id
        user_id = user.id if user else None
        async with self.bot.db.connect() as conn:
            total = await cases_db.count_cases(conn, guild_id, user_id=user_id)
        if total == 0:
            whom = f" about {user.mention}" if user else ""
            await interaction.response.send_message(f"No cases{whom} yet.", ephemeral=True)
            return
        pages = math.ceil(total / self.CASES_PER_PAGE)
        title = f"Cases about {user}" if user else f"Cases in {interaction.guild.name}"

        async def render(page: int) -> discord.Embed:
            async with self.bot.db.connect() as conn:
                found = await cases_db.list_cases(
                    conn,
                    guild_id,
                    user_id=user_id,
                    limit=self.CASES_PER_PAGE,
                    offset=page * self.CASES_PER_PAGE,
                )
                numbers = await reports_db.report_numbers(
                    conn, [case.report_id for case in found if case.report_id is not None]
                )
            embed = discord.Embed(
                title=title,
                description="\n\n".join(
                    describe_case(case, numbers.get(case.report_id or 0)) for case in found
                ),
                colour=discord.Colour.dark_grey(),
            )
            embed.set_footer(text=f"{total} case{'s' if total != 1 else ''} · newest first")
            return embed

        await send_pages(interaction, pages, render)


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Moderation(bot))

"""Reports: fans flag a message or a member, and the moderators decide from one queue.

Three ways in, one path after. `/report` (a message link or a member, with details and a
screenshot), the message menu **Report message** and the member menu **Report user** (one short
form: what's wrong, and optional details) all end in `Reports.file`. Each reported message or
member has one open report that later reporters join, so the moderators see one queue message
with a count rather than a pile; the queue itself lives in `cogs.moderation`, which acts.

Why the media is hashed at report time: the author may delete the message a minute later, and
Discord drops its attachments with it. The hashes, never the bytes, are kept with the report, so
**Take down** can still put the picture on the takedown list.

Why a lock per reported thing: two fans reporting one message at once must not post two queue
messages, and a message must not be hidden before its media is hashed.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from db import reports as reports_db
from db.entry_signatures import keep_report_signature
from db.guild_settings import GuildSettings
from db.reports import CATEGORIES, URGENT_CATEGORIES, AlreadyReported, FiledReport, ReportTarget
from media.entries import EntryHashes, entry_hashes
from media.fetch import FetchError
from moderation.access import fetched_is_moderator, is_moderator
from moderation.forms import form_id
from moderation.i18n import N_, Phrase, Texts, guild_texts, member_texts, plural_text
from moderation.messages import media_name, media_refs, parse_message_link
from services.moderation_policy import established_reporter

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

THANKS = N_(
    "Thank you. Your report is **#{number}**, and the moderators will review it. The person you "
    "reported isn't told who reported them."
)
THANKS_JOINED = N_(
    "Thank you. Others reported this too, so your report joins **#{number}**; the moderators "
    "will review it. The person you reported isn't told who reported them."
)
ALREADY = N_(
    "You already reported this: it's report **#{number}**, and the moderators have it. There's "
    "no need to report it again."
)
OWN_MESSAGE = N_("That's your own message. You can delete it yourself if you want it gone.")
YOURSELF = N_("You can't report yourself. If something's wrong, please message a moderator.")
ABOUT_ME = N_(
    "That's me, the server's moderation bot. If I did something wrong, please tell a moderator."
)
TOO_NEW = plural_text(
    "Sorry, your account is too new to send reports here: this server asks for accounts at "
    "least {count} day old. If something is urgent, please message a moderator.",
    "Sorry, your account is too new to send reports here: this server asks for accounts at "
    "least {count} days old. If something is urgent, please message a moderator.",
)
TOO_MANY_NOW = plural_text(
    "Thank you for all your reports! You've sent a lot in the last minute, so please wait a "
    "little before sending more. The moderators have the ones you sent.",
    "Thank you for all your reports! You've sent a lot in the last {count} minutes, so please "
    "wait a little before sending more. The moderators have the ones you sent.",
)
TOO_MANY_TODAY = N_(
    "Thank you for all your reports! You've reached today's limit, so please try again "
    "tomorrow. If something is urgent, message a moderator directly."
)
NEED_TARGET = N_(
    "Tell me what to report: add a `message` link (long-press or right-click the message, then "
    "Copy Message Link) or a `user`."
)
BAD_LINK = N_(
    "That doesn't look like a message link. Long-press or right-click the message, choose Copy "
    "Message Link, and paste it in `message`."
)
OTHER_SERVER = N_("That message is in another server: please report it there.")
NOT_FOUND = N_(
    "I couldn't find that message; it may be deleted already. If it's still there, copy its "
    "link again and retry."
)
FORM_FAILED = N_("Sorry, something went wrong sending your report. Please try again.")


def excerpt_of(content: str, limit: int) -> str:
    """The reported text as moderators read it: one line, cut at a word, at most `limit`."""
    text = " ".join(content.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut + "…"


def limit_answer(tr: Texts, settings: GuildSettings, in_window: int, in_day: int) -> str | None:
    """The kind refusal for a reporter over the guild's limits, given what they already sent."""
    if in_window >= settings.reporter_limit_short:
        return tr.count(TOO_MANY_NOW, settings.reporter_window_short_minutes)
    if in_day >= settings.reporter_limit_daily:
        return tr(TOO_MANY_TODAY)
    return None


def account_too_new(created_at: datetime, min_days: int, now: datetime) -> bool:
    return min_days > 0 and now - created_at < timedelta(days=min_days)


@dataclass(frozen=True, slots=True)
class Reported:
    """What a fan reports: the target as stored, and the message when it is one."""

    target: ReportTarget
    message: discord.Message | None = None


@dataclass(frozen=True, slots=True)
class KeptMedia:
    """What hashing a reported message's media gave: a preview to show, and what failed."""

    preview: bytes | None = None
    problems: tuple[str, ...] = ()


class ReportForm(discord.ui.Modal):
    """The context menus' form: a category choice and an optional details box."""

    def __init__(
        self,
        tr: Texts,
        custom_id: str,
        heading: str,
        on_done: Callable[[discord.Interaction, str, str], Awaitable[None]],
    ) -> None:
        super().__init__(title=heading, timeout=None, custom_id=custom_id)
        self.tr = tr
        self.on_done = on_done
        self.category = discord.ui.Select(
            custom_id="report-category",
            placeholder=tr("Choose what fits best"),
            options=[
                discord.SelectOption(label=tr.choice(name), value=value)
                for value, name in CATEGORIES.items()
            ],
            required=True,
        )
        self.details = discord.ui.TextInput(
            custom_id="report-details",
            style=discord.TextStyle.paragraph,
            placeholder=tr("Optional: anything that helps the moderators"),
            required=False,
            max_length=Reports.DETAILS_LIMIT,
        )
        self.add_item(discord.ui.Label(text=tr("What's wrong?"), component=self.category))
        self.add_item(
            discord.ui.Label(
                text=tr("Details"),
                description=tr("Only the moderators see this."),
                component=self.details,
            )
        )

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        await self.on_done(interaction, self.category.values[0], self.details.value.strip())

    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction, error: Exception
    ) -> None:
        log.error("The report form failed in guild %s", interaction.guild_id, exc_info=error)
        failed = member_texts(interaction)(FORM_FAILED)
        if interaction.response.is_done():
            await interaction.followup.send(failed, ephemeral=True)
        else:
            await interaction.response.send_message(failed, ephemeral=True)


class Reports(commands.Cog):
    """Report a message or a member to the moderators, privately: /report, or the Report message
    and Report user menus. You get a report number; the person you report isn't told who."""

    DETAILS_LIMIT = 500  # room for context, short enough for the queue message
    EXCERPT_LIMIT = 500  # characters of the reported text kept with the report
    MEDIA_PER_REPORT = 10  # a message holds at most 10 attachments

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        self._locks: weakref.WeakValueDictionary[tuple[int, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self.message_menu = app_commands.ContextMenu(
            name="Report message", callback=self.report_message_menu
        )
        self.user_menu = app_commands.ContextMenu(
            name="Report user", callback=self.report_user_menu
        )
        for menu in (self.message_menu, self.user_menu):
            menu.guild_only = True

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.message_menu)
        self.bot.tree.add_command(self.user_menu)

    async def cog_unload(self) -> None:
        for menu in (self.message_menu, self.user_menu):
            self.bot.tree.remove_command(menu.name, type=menu.type)

    # -- the three ways in -------------------------------------------------------------------

    @app_commands.command(
        name="report", description="Privately report a message or a member to the moderators"
    )
    @app_commands.guild_only()
    @app_commands.describe(
        category="What's wrong",
        message="The message's link (long-press or right-click it, then Copy Message Link)",
        user="The member you're reporting",
        details="Anything that helps the moderators",
        evidence="A screenshot that shows the problem (only the moderators see it)",
    )
    @app_commands.choices(
        category=[app_commands.Choice(name=name, value=value) for value, name in CATEGORIES.items()]
    )
    async def report(
        self,
        interaction: discord.Interaction[Lightstick],
        category: app_commands.Choice[str],
        message: str | None = None,
        user: discord.User | None = None,
        details: app_commands.Range[str, 1, 500] | None = None,
        evidence: discord.Attachment | None = None,
    ) -> None:
        assert isinstance(interaction.user, discord.Member)
        await interaction.response.defer(ephemeral=True, thinking=True)
        reported: Reported | str
        if message:
            reported = await self._linked_message(interaction.user, message)
        elif user is not None:
            reported = Reported(ReportTarget("user", user.id, name=user.name))
        else:
            reported = NEED_TARGET
        if isinstance(reported, str):
            await interaction.followup.send(member_texts(interaction)(reported), ephemeral=True)
            return
        evidence_url = evidence.url if evidence is not None else None
        await self.file(interaction, reported, category.value, details or "", evidence_url)

    async def report_message_menu(
        self, interaction: discord.Interaction[Lightstick], message: discord.Message
    ) -> None:
        await self._open_form(interaction, self._message_target(message), N_("Report this message"))

    async def report_user_menu(
        self, interaction: discord.Interaction[Lightstick], member: discord.Member
    ) -> None:
        await self._open_form(
            interaction,
            Reported(ReportTarget("user", member.id, name=member.name)),
            N_("Report this member"),
        )

    async def _open_form(
        self, interaction: discord.Interaction[Lightstick], reported: Reported, heading: str
    ) -> None:
        """Refuse before the form when we already know the answer, so nobody types for nothing."""
        assert isinstance(interaction.user, discord.Member)
        tr = member_texts(interaction)
        refusal = await self.refusal(interaction.user, reported, tr)
        if refusal:
            await interaction.response.send_message(refusal, ephemeral=True)
            return

        async def send(submitted: discord.Interaction, category: str, details: str) -> None:
            await self.file(submitted, reported, category, details, None)  # type: ignore[arg-type]

        form = ReportForm(tr, form_id("report", interaction), tr(heading), send)
        await self.bot.forms.show(interaction, form)

    def _message_target(self, message: discord.Message) -> Reported:
        target = ReportTarget(
            "message",
            user_id=message.author.id,
            channel_id=message.channel.id,
            name=message.author.name,
            message_id=message.id,
            excerpt=excerpt_of(message.content, self.EXCERPT_LIMIT),
        )
        return Reported(target, message)

    async def _linked_message(self, member: discord.Member, text: str) -> Reported | str:
        """The message a link points to, if the reporter may read it; else why not."""
        link = parse_message_link(text)
        if link is None:
            return BAD_LINK
        if link.guild_id != member.guild.id:
            return OTHER_SERVER
        channel = member.guild.get_channel_or_thread(link.channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread | discord.VoiceChannel):
            return NOT_FOUND
        permissions = channel.permissions_for(member)
        if not (permissions.view_channel and permissions.read_message_history):
            return NOT_FOUND  # the same answer as a missing message: hidden channels stay hidden
        try:
            message = await channel.fetch_message(link.message_id)
        except discord.HTTPException:
            return NOT_FOUND
        return self._message_target(message)

    # -- checks ------------------------------------------------------------------------------

    async def refusal(self, member: discord.Member, reported: Reported, tr: Texts) -> str | None:
        """Why this member can't file this report, in words for them; None when they can."""
        target = reported.target
        if target.user_id == member.id:
            own = OWN_MESSAGE if target.kind == "message" else YOURSELF
            return tr(own)
        if self.bot.user is not None and target.user_id == self.bot.user.id:
            return tr(ABOUT_ME)
        guild_id = member.guild.id
        settings = await self.bot.guild_settings.get(guild_id)
        trusted = await is_moderator(self.bot, member)  # moderators aren't limited
        now = datetime.now(UTC)
        if not trusted and account_too_new(member.created_at, settings.min_account_age_days, now):
            return tr.count(TOO_NEW, settings.min_account_age_days)
        async with self.bot.db.connect() as conn:
            open_report = await reports_db.open_report_for(conn, guild_id, target.key)
            if open_report is not None and await reports_db.has_reported(
                conn, open_report.id, member.id
            ):
                return tr(ALREADY, number=open_report.number)
            if trusted:
                return None
            window = timedelta(minutes=settings.reporter_window_short_minutes)
            in_window = await reports_db.count_recent_reports_by(
                conn, guild_id, member.id, now - window
            )
            in_day = await reports_db.count_recent_reports_by(
                conn, guild_id, member.id, now - timedelta(days=1)
            )
        return limit_answer(tr, settings, in_window, in_day)

    # -- filing ------------------------------------------------------------------------------

    async def file(
        self,
        interaction: discord.Interaction[Lightstick],
        reported: Reported,
        category: str,
        details: str,
        evidence_url: str | None,
    ) -> None:
        """Record the report, thank the reporter, hash the media, maybe hide, update the queue."""
        member, guild = interaction.user, interaction.guild
        assert isinstance(member, discord.Member) and guild is not None
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=True, thinking=True)
        tr = member_texts(interaction)
        # again: the form may have been open long
        refusal = await self.refusal(member, reported, tr)
        if refusal:
            await interaction.followup.send(refusal, ephemeral=True)
            return
        target = reported.target
        settings = await self.bot.guild_settings.get(guild.id)
        async with self._lock(guild.id, target.key):
            try:
                async with self.bot.db.transaction() as conn:
                    filed = await reports_db.file_report(
                        conn,
                        guild.id,
                        target,
                        reporter_id=member.id,
                        category=category,
                        details=details[: self.DETAILS_LIMIT],
                        evidence_url=evidence_url,
                        established=established_reporter(
                            settings, member.created_at, member.joined_at, datetime.now(UTC)
                        ),
                    )
            except AlreadyReported as exc:
                await interaction.followup.send(
                    tr(ALREADY, number=exc.report.number), ephemeral=True
                )
                return
            log.debug(  # ids only: never the reported text or the reporter's note
                "Report #%d filed in guild %s by %s (%s)",
                filed.report.number,
                guild.id,
                member.id,
                category,
            )
            thanks = THANKS if filed.created else THANKS_JOINED
            await interaction.followup.send(tr(thanks, number=filed.report.number), ephemeral=True)
            await self._after_filing(guild, filed, reported, category)

    def _lock(self, guild_id: int, key: str) -> asyncio.Lock:
        lock = self._locks.get((guild_id, key))
        if lock is None:
            lock = self._locks[(guild_id, key)] = asyncio.Lock()
        return lock

    async def _after_filing(
        self, guild: discord.Guild, filed: FiledReport, reported: Reported, category: str
    ) -> None:
        report, message = filed.report, reported.message
        settings = await self.bot.guild_settings.get(guild.id)
        kept = KeptMedia()
        if message is not None:
            async with self.bot.db.connect() as conn:
                hashed_before = bool(await reports_db.stored_hashes(conn, report.id))
            if not hashed_before:
                kept = await self._keep_media(report.id, message, settings, guild)
        async with self.bot.db.connect() as conn:
            urgent = await reports_db.count_reporters(conn, report.id, categories=URGENT_CATEGORIES)
            counted = await reports_db.count_reporters(
                conn, report.id, categories=URGENT_CATEGORIES, established_only=True
            )
        notes = list(kept.problems)
        problem = await self._hide_if_reported_enough(guild, filed, message, counted, settings)
        if problem:
            tr = guild_texts(settings.language, guild)  # the queue speaks the server's language
            notes.append(tr("Could not hide the message: {problem}", problem=tr.read(problem)))
        # A report that just turned urgent is posted anew: an edit can't ping the moderators.
        became_urgent = not filed.created and category in URGENT_CATEGORIES and urgent == 1

        async def preview() -> bytes | None:
            return kept.preview or await self._fresh_preview(message)

        await self.bot.report_queue.show(
            guild, report.id, preview=preview, notes=notes, repost=became_urgent
        )

    # -- media -------------------------------------------------------------------------------

    async def _keep_media(
        self,
        report_id: int,
        message: discord.Message,
        settings: GuildSettings,
        guild: discord.Guild,
    ) -> KeptMedia:
        """Hash the message's media now and keep the hashes with the report (never the bytes)."""
        refs = media_refs(message)[: self.MEDIA_PER_REPORT]
        if not refs:
            return KeptMedia()
        results = await asyncio.gather(*(self.bot.pipeline.hash_for_entry(ref) for ref in refs))
        kept: EntryHashes = entry_hashes([media for media, _ in results])
        signature = next((m.signature for m, _ in results if m.signature is not None), None)
        if kept.usable:
            async with self.bot.db.transaction() as conn:
                await reports_db.add_hashes(conn, report_id, kept.own, variants=kept.variants)
                if signature is not None:
                    await keep_report_signature(conn, report_id, signature)
        tr = guild_texts(settings.language, guild)  # for the queue message
        problems = tuple(
            tr(
                "Couldn't hash {file}: {reason}",
                file=media_name(tr, ref),
                reason=tr.read(media.explanation),
            )
            for ref, (media, _) in zip(refs, results, strict=True)
            if not media.hashed
        )
        preview = None
        if settings.previews:
            decoded = next((data for media, data in results if media.hashed and data), None)
            if decoded is not None:
                preview = await self.bot.pipeline.blurred_preview(decoded)
        return KeptMedia(preview, problems)

    async def _fresh_preview(self, message: discord.Message | None) -> bytes | None:
        """A preview for a queue message posted again, from the message if it is still there."""
        refs = media_refs(message)[:1] if message is not None else []
        if not refs:
            return None
        try:
            data = await self.bot.pipeline.fetch(refs[0])
        except FetchError:
            return None
        return await self.bot.pipeline.blurred_preview(data)

    # -- auto-hide ---------------------------------------------------------------------------

    async def _hide_if_reported_enough(
        self,
        guild: discord.Guild,
        filed: FiledReport,
        message: discord.Message | None,
        urgent: int,
        settings: GuildSettings,
    ) -> Phrase | None:
        """Remove a message pending review once enough established members (`urgent`: accounts
        and memberships old enough, `/config reports`) report it as sexual or a deepfake.

        A moderator's message waits for the other moderators instead: a few accounts must not be
        able to hide the moderators' own posts. The message's text and hashes stay with the
        report (kept when it was reported), so the moderators see what was removed.
        """
        report = filed.report
        threshold = settings.auto_hide_threshold
        if not threshold or urgent < threshold or message is None or report.hidden:
            return None
        try:
            if await fetched_is_moderator(self.bot, guild, message.author.id):
                return None
        except discord.HTTPException as exc:
            log.warning("Auto-hide of report %s: could not fetch the author: %s", report.id, exc)
            return "I couldn't check whether its author is a moderator, so it stays up"
        return await self.bot.report_queue.hide_reported_message(message, report, urgent)


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Reports(bot))

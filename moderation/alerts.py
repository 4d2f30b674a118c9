"""Match alerts: a takedown-list match removed (or flagged) and recorded, then shown to the
moderators with a blurred preview and buttons. A member wearing a listed picture as a profile
picture (avatar, banner) is flagged the same way: the bot can't remove it, the buttons act on
the member.

Removing and recording happen at once; the alert, the DM to the author and a repeat timeout
follow through a bounded queue, one at a time: in a raid, Discord rate-limits the mod channel,
and removing the next re-upload must not wait for the last alert. A burst past the queue is
counted and summarised in one message per server; every match is a case either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import AlertStatus, CaseKind, FoundThrough, ProfilePicture
from db import alerts as alerts_db
from db import cases as cases_db
from db import takedowns
from db.alerts import MatchAlert, NewAlert
from db.cases import Case
from db.flood_holds import Verdict
from db.guild_settings import GuildSettings
from media.list_scope import ListMatch
from media.matching import Tier
from media.pipeline import HashedMedia
from moderation.actions import CaseDraft
from moderation.alert_buttons import alert_view
from moderation.explicit_review import score_words
from moderation.i18n import N_, Phrase, Texts, guild_texts, phrase
from moderation.messages import message_url
from moderation.mod_channel import mod_channel, post_burst_summary, preview_files
from moderation.names import ALERT_DECISION_NAMES, FOUND_THROUGH_NAMES, PICTURE_NAMES
from moderation.post_queue import PostQueue, QueuedPosts
from moderation.shown_text import fit_embed, inert

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

REMOVED_COLOUR = discord.Colour.red()
REVIEW_COLOUR = discord.Colour.orange()
DONE_COLOUR = discord.Colour.dark_grey()
ENTRY_REMOVED = N_("(entry since removed)")
LABEL_PRIVATE = N_("(label private)")
NO_LABEL = N_("(no label)")
# An alert on a profile picture, by whether the match is confident.
PICTURE_TITLES = {
    True: N_("A member's profile picture matches the takedown list"),
    False: N_("A member's profile picture may match the takedown list: please review"),
}


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What is left to do after a match was removed (or not) and recorded."""

    guild: discord.Guild
    message: discord.Message | None  # None for a profile picture
    settings: GuildSettings
    alert: MatchAlert
    case: Case
    preview: bytes | None  # blurred, made in memory
    problem: Phrase | None  # what the bot could not do, for the alert
    removed: bool
    held: bool = False  # flagged because its entry is held: the hold's message pinged already
    announce: bool = True  # False: a removal a sweep summarises; only the DM and timeout follow


@dataclass(frozen=True, slots=True)
class Acted:
    """What acting on a match did: whether the message is gone, and its case."""

    removed: bool
    case: Case


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """What an alert may say about the matched entry (labels of other servers stay private)."""

    entry_id: int | None
    label: str | None  # None: the entry since removed, or its label private or empty
    hidden: str | None  # why the label isn't shown (a marked sentence), when it isn't
    added_by: int | None
    own_list: bool


class MatchAlerts(QueuedPosts[FollowUp]):
    """Acts on a match (remove or flag, with its case) and posts the alert behind it, one at a
    time through a `PostQueue`; a burst past its room is summarised."""

    WAITING = 200  # alerts waiting to be posted; past this, a burst is summarised

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        self.posts = PostQueue("match alerts", self.WAITING, self._follow_up, self._summarise)

    # -- acting on a match -------------------------------------------------------------------

    async def act_on_match(
        self,
        message: discord.Message,
        media: HashedMedia,
        found: ListMatch,
        settings: GuildSettings,
    ) -> bool:
        """Remove (when policy says so) and record; returns whether the message is gone."""
        return (await self.act(message, media, found, settings)).removed

    async def act(
        self,
        message: discord.Message,
        media: HashedMedia,
        found: ListMatch,
        settings: GuildSettings,
        *,
        announce_removal: bool = True,
    ) -> Acted:
        """Remove (when policy says so) and record, then queue the alert. A removal with
        `announce_removal` False gets no alert of its own (a sweep posts one summary for all);
        a match left up is always alerted, since a moderator has to look at it."""
        assert message.guild is not None
        # Only an alert shows a preview: no mod channel, no decoding for nothing; and in a burst
        # that has filled the alert queue, the alert will be summarised, not posted.
        shown = settings.previews and settings.mod_channel_id is not None and self.posts.has_room
        remove = found.removes and settings.takedown_action == "remove"
        problem: Phrase | None = None
        held = False
        if remove:
            held = await self.bot.flood_holds.verdict(message, found, settings) != Verdict.REMOVE
        if held:
            remove = False  # the entry is held here: flagged for review instead
            problem = held_note(found.match.entry_id, settings.flood_limit)
        # Had before the file is deleted; a quiet removal needs one only if it fails.
        source = (
            await self.bot.pipeline.preview_source(media)
            if shown and (announce_removal or not remove)
            else None
        )
        recorded: list[MatchAlert] = []

        async def record_alert(conn: AsyncConnection, case: Case) -> None:
            where = (message.channel.id, message.id)
            alert = await self._record_alert(conn, where, message.author.id, media, found, case)
            recorded.append(alert)

        case = None
        if remove:
            removal = await self.bot.actions.remove_message(
                message, message.guild.id, _match_case(message, found, True), follow=record_alert
            )
            problem, case = removal.problem, removal.case
        removed = case is not None
        if case is None:
            case = await self.bot.actions.record(
                message.guild.id, _match_case(message, found, False), follow=record_alert
            )
        assert case is not None
        announce = announce_removal or not removed
        if shown and announce and source is None:
            source = await self.bot.pipeline.preview_source(media)  # a quiet removal refused
        preview = await self.bot.pipeline.blurred_preview(source) if source else None
        self.queue_follow_up(
            FollowUp(
                message.guild,
                message,
                settings,
                recorded[0],
                case,
                preview,
                problem,
                removed,
                held,
                announce,
            )
        )
        return Acted(removed, case)

    async def act_on_profile_match(
        self,
        member: discord.Member,
        picture: ProfilePicture,
        media: HashedMedia,
        found: ListMatch,
        settings: GuildSettings,
    ) -> MatchAlert:
        """Record a member's profile picture that matches (a flag: the bot can't remove it) and
        queue its alert, with a preview when the server shows them."""
        shown = settings.previews and settings.mod_channel_id is not None
        source = await self.bot.pipeline.preview_source(media) if shown else None
        recorded: list[MatchAlert] = []

        async def record_alert(conn: AsyncConnection, case: Case) -> None:
            alert = await self._record_alert(conn, None, member.id, media, found, case, picture)
            recorded.append(alert)

        draft = CaseDraft(
            CaseKind.FLAG,
            f"{found.match.tier} match ({found.match.algorithm}) of a takedown-list entry, "
            f"worn as their {picture.replace('_', ' ')}",
            user_id=member.id,
            entry_id=found.match.entry_id,
            distance=found.match.distance,
        )
        case = await self.bot.actions.record(member.guild.id, draft, follow=record_alert)
        assert case is not None
        preview = await self.bot.pipeline.blurred_preview(source) if source else None
        follow_up = FollowUp(member.guild, None, settings, recorded[0], case, preview, None, False)
        self.queue_follow_up(follow_up)
        return recorded[0]

    async def _record_alert(
        self,
        conn: AsyncConnection,
        where: tuple[int, int] | None,
        author_id: int,
        media: HashedMedia,
        found: ListMatch,
        case: Case,
        picture: ProfilePicture | None = None,
    ) -> MatchAlert:
        """The alert on a message at `where` (channel id, message id), or on a member's
        `picture`, written with its case."""
        frames = media.hashes.frames
        frame = frames[found.match.frame] if 0 <= found.match.frame < len(frames) else frames[0]
        alert = await alerts_db.create_alert(
            conn,
            NewAlert(
                guild_id=case.guild_id,
                channel_id=where[0] if where else None,
                message_id=where[1] if where else None,
                author_id=author_id,
                picture=str(picture) if picture else None,
                entry_id=found.match.entry_id,
                list_id=found.list_id,
                algorithm=found.match.algorithm,
                distance=found.match.distance,
                tier=str(found.match.tier),
                removed=case.kind is CaseKind.TAKEDOWN,
                found_through=found.match.found_through,
                upload_pdq=frame.pdq,
                upload_phash=frame.phash,
                case_id=case.id,
                explicit_score=media.hashes.explicit_score,
            ),
        )
        await takedowns.record_match(conn, found.match.entry_id)
        return alert

    # -- the queue behind removals -----------------------------------------------------------

    def queue_follow_up(self, follow_up: FollowUp) -> None:
        """Queue an alert; past the queue's room it is counted for the burst summary."""
        if not self.posts.put(follow_up.alert.guild_id, follow_up):
            log.warning(
                "Alert queue full: case #%d in guild %s is recorded but its alert is skipped",
                follow_up.case.number,
                follow_up.alert.guild_id,
            )

    async def _follow_up(self, follow_up: FollowUp) -> None:
        """The alert (unless a sweep summarises it), then the DM and a repeat timeout."""
        message, settings = follow_up.message, follow_up.settings
        if follow_up.announce:
            await self.post_alert(
                follow_up.guild,
                settings,
                follow_up.alert,
                follow_up.case,
                follow_up.preview,
                follow_up.problem,
                ping=not follow_up.held,
            )
        if follow_up.removed and message is not None:
            await self.bot.actions.after_removal(message, settings)

    async def _summarise(self, guild_id: int, skipped: int) -> None:
        await post_burst_summary(
            self.bot,
            guild_id,
            "a burst summary of match alerts",
            lambda tr: tr.plural(
                "During a burst of matches I recorded {count} more without posting an alert for "
                "it. Every one is a case: see `/cases list`.",
                "During a burst of matches I recorded {count} more without posting an alert for "
                "each. Every one is a case: see `/cases list`.",
                skipped,
            ),
        )

    # -- the alert ---------------------------------------------------------------------------

    async def post_alert(
        self,
        guild: discord.Guild,
        settings: GuildSettings,
        alert: MatchAlert,
        case: Case,
        preview: bytes | None,
        problem: Phrase | None,
        *,
        ping: bool = True,
    ) -> None:
        """Post the alert; one needing review pings the mod role, unless `ping` is False (a
        match of a held entry: the hold's one message asked for a decision already)."""
        channel = mod_channel(guild, settings, f"Match (case #{case.number})")
        if channel is None:
            return
        tr = guild_texts(settings.language, guild)
        embed = await self.alert_embed(guild, alert, case, problem)
        content, mentions = None, discord.AllowedMentions.none()
        needs_action = not alert.removed
        if needs_action and ping and settings.mod_role_id:
            role = f"<@&{settings.mod_role_id}>"
            content = (
                tr("{role} a takedown-list match needs review.", role=role)
                if alert.picture is None
                else tr("{role} a member wears a takedown-list picture.", role=role)
            )
            mentions = discord.AllowedMentions(roles=[discord.Object(settings.mod_role_id)])
        files = preview_files(channel, preview, embed, tr)
        try:
            posted = await channel.send(
                content,
                embed=embed,
                files=files,
                view=alert_view(alert, tr, settings),
                allowed_mentions=mentions,
            )
        except discord.HTTPException as exc:
            log.warning(
                "Could not post the alert for case #%d in guild %s: %s", case.number, guild.id, exc
            )
            return
        async with self.bot.db.transaction() as conn:
            await alerts_db.set_alert_message(conn, alert.id, channel.id, posted.id)

    async def refresh(self, interaction: discord.Interaction, alert: MatchAlert) -> None:
        """Redraw the alert a button was clicked on, keeping its case number."""
        assert interaction.guild is not None
        settings = await self.bot.guild_settings.get(interaction.guild.id)
        tr = guild_texts(settings.language, interaction.guild)
        embed = await self.alert_embed(interaction.guild, alert, None, None)
        if interaction.message is not None and interaction.message.embeds:
            footer = interaction.message.embeds[0].footer.text
            if footer:
                embed.set_footer(text=footer)
        try:
            if interaction.message is not None:
                await interaction.message.edit(embed=embed, view=alert_view(alert, tr, settings))
        except discord.HTTPException as exc:
            log.info("Could not update alert %s: %s", alert.id, exc)

    async def alert_embed(
        self, guild: discord.Guild, alert: MatchAlert, case: Case | None, problem: Phrase | None
    ) -> discord.Embed:
        """The alert, in the server's language."""
        async with self.bot.db.connect() as conn:
            entry = await entry_info(conn, guild.id, alert.entry_id)
            earlier = await cases_db.count_cases(conn, guild.id, user_id=alert.author_id) - 1
        settings = await self.bot.guild_settings.get(guild.id)
        tr = guild_texts(settings.language, guild)
        confident = (
            settings.pdq_confident_radius
            if alert.algorithm == "pdq"
            else settings.phash_confident_radius
        )
        if alert.picture is not None:
            title, colour = tr(PICTURE_TITLES[alert.tier == str(Tier.TAKEDOWN)]), REVIEW_COLOUR
        elif alert.removed:
            title, colour = tr("Removed a takedown-list match"), REMOVED_COLOUR
        elif alert.tier == str(Tier.TAKEDOWN):
            title, colour = tr("Takedown-list match, not removed: please review"), REVIEW_COLOUR
        else:
            title, colour = tr("Possible takedown-list match: please review"), REVIEW_COLOUR
        embed = discord.Embed(title=title, colour=colour, timestamp=alert.created_at)
        who = f"<@{alert.author_id}> ({alert.author_id})"
        if alert.picture is not None:
            embed.add_field(name=tr("Member"), value=who)
            picture = tr(PICTURE_NAMES[ProfilePicture(alert.picture)])
            embed.add_field(name=tr("Picture"), value=picture)
        else:
            embed.add_field(name=tr("Posted by"), value=who)
            embed.add_field(name=tr("Where"), value=_where(tr, guild, alert))
        embed.add_field(name=tr("When"), value=f"<t:{int(alert.created_at.timestamp())}:f>")
        embed.add_field(name=tr("Entry"), value=describe_entry(tr, entry), inline=False)
        values = {"algorithm": alert.algorithm.upper(), "distance": alert.distance}
        match = (
            tr(
                "{algorithm} distance {distance}: confident match (the confident radius is "
                "{radius})",
                radius=confident,
                **values,
            )
            if alert.tier == str(Tier.TAKEDOWN)
            else tr(
                "{algorithm} distance {distance}: possible match (the confident radius is "
                "{radius})",
                radius=confident,
                **values,
            )
        )
        if alert.found_through is not None:  # how it was found (why a near one only alerted)
            match += "\n" + tr(FOUND_THROUGH_NAMES[FoundThrough(alert.found_through)])
        embed.add_field(name=tr("Match"), value=match)
        if alert.explicit_score is not None:  # listed and explicit: handled once, as a match
            embed.add_field(
                name=tr("Explicit-image score"), value=score_words(tr, alert.explicit_score)
            )
        history = (
            tr.plural("{count} earlier case", "{count} earlier cases", earlier)
            if earlier > 0
            else tr("No earlier cases")
        )
        embed.add_field(
            name=tr("Author's history") if alert.picture is None else tr("Member's history"),
            value=history,
        )
        if alert.picture is not None and alert.status == AlertStatus.OPEN:
            embed.add_field(
                name=tr("What you can do"),
                value=tr(
                    "The bot can't remove a profile picture. Ask the member to change it, or "
                    "time them out, kick or ban them; **Not a match** clears the picture here."
                ),
                inline=False,
            )
        if problem:
            embed.add_field(name=tr("Could not act"), value=tr.read(problem), inline=False)
        if alert.status != AlertStatus.OPEN:
            embed.add_field(
                name=tr("Decision"),
                value=tr(
                    "{decision} by {moderator}",
                    decision=tr(ALERT_DECISION_NAMES[alert.status]),
                    moderator=f"<@{alert.resolved_by}>",
                ),
                inline=False,
            )
            embed.colour = DONE_COLOUR
        if case is not None:
            embed.set_footer(text=tr("Case #{number}", number=case.number))
        return fit_embed(embed)


def _where(tr: Texts, guild: discord.Guild, alert: MatchAlert) -> str:
    """The channel of the matched message, with a link while it is still up."""
    assert alert.channel_id is not None and alert.message_id is not None
    where = f"<#{alert.channel_id}>"
    if alert.removed:
        return where
    link = message_url(guild.id, alert.channel_id, alert.message_id)
    return tr("{channel} · [jump]({link})", channel=where, link=link)


def held_note(entry_id: int, limit: int) -> Phrase:
    """Why a match of a held entry was flagged, not removed (on its alert)."""
    return phrase(
        "Not removed: entry #{entry} is held in this server after removing more than {limit} "
        "messages within an hour. Its hold message has the buttons to keep removing or to stop "
        "using it.",
        entry=entry_id,
        limit=limit,
    )


def describe_entry(tr: Texts, entry: EntryInfo) -> str:
    """Which entry matched, whose list it is on, and who added it (own list only)."""
    # Another server wrote a shared list's label: it can't format, ping or link here.
    if entry.label is None:
        label = tr(entry.hidden or NO_LABEL)
    else:
        label = entry.label if entry.own_list else inert(entry.label)
    if entry.own_list and entry.added_by:
        return tr(
            "#{entry} · {label} (this server's list, added by {moderator})",
            entry=entry.entry_id,
            label=label,
            moderator=f"<@{entry.added_by}>",
        )
    if entry.own_list:
        return tr("#{entry} · {label} (this server's list)", entry=entry.entry_id, label=label)
    return tr("#{entry} · {label} (a shared list)", entry=entry.entry_id, label=label)


def _match_case(message: discord.Message, found: ListMatch, removed: bool) -> CaseDraft:
    tier = str(found.match.tier)
    return CaseDraft(
        CaseKind.TAKEDOWN if removed else CaseKind.FLAG,
        f"{tier} match ({found.match.algorithm}) of a takedown-list entry",
        user_id=message.author.id,
        user_name=message.author.name,
        channel_id=message.channel.id,
        message_id=message.id,
        entry_id=found.match.entry_id,
        distance=found.match.distance,
    )


async def entry_info(conn: AsyncConnection, guild_id: int, entry_id: int | None) -> EntryInfo:
    """What a post in `guild_id` may say about an entry (of any list)."""
    entry = await takedowns.entry_credit(conn, entry_id) if entry_id is not None else None
    if entry is None:
        return EntryInfo(entry_id, None, ENTRY_REMOVED, None, True)
    own_list = entry.owner_guild_id == guild_id
    if not own_list and not entry.label_shareable:
        return EntryInfo(entry.id, None, LABEL_PRIVATE, None, own_list)
    added_by = entry.added_by if own_list else None
    return EntryInfo(entry.id, entry.label or None, None, added_by, own_list)

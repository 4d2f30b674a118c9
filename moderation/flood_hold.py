"""The flood hold: an entry that removes more than the server's limit of different messages
within an hour is held in that server, and the moderators are told once.

A real deepfake is re-posted a few times; a meme added by mistake, or a bad entry on a shared
list, matches everything. Past the limit (`/config takedowns flood_limit`, 20 by default, 0:
never) the entry's further matches are flagged for review instead of removed, until a moderator
chooses **Keep removing** or **Stop using this entry** on the one message posted about it
(`moderation/hold_buttons.py`). `MatchAlerts.act_on_match` asks `verdict` before each removal;
the counting itself is `db.flood_holds`, one short transaction that allows no more removals
than the limit, however many processes count at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import CaseKind
from db import flood_holds
from db.flood_holds import Hold, Verdict
from db.guild_settings import GuildSettings
from media.list_scope import ListMatch
from moderation.actions import CaseDraft
from moderation.alerts import EntryInfo, describe_entry, entry_info
from moderation.hold_buttons import hold_view, ignored_view
from moderation.i18n import Texts, guild_texts
from moderation.messages import message_url
from moderation.mod_channel import mod_channel
from moderation.shown_text import fit_embed

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

HELD_COLOUR = discord.Colour.orange()
DONE_COLOUR = discord.Colour.dark_grey()


class FloodHolds:
    """`bot.flood_holds`: counts each removal against the server's limit, holds an entry past
    it (a case), and posts the one message about the hold."""

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        self._notices: set[asyncio.Task[None]] = set()

    async def verdict(
        self, message: discord.Message, found: ListMatch, settings: GuildSettings
    ) -> Verdict:
        """May this confident match be removed? Asked before every removal, in one transaction
        that also writes the hold's case when this match is the one past the limit."""
        assert message.guild is not None
        guild_id, entry_id = message.guild.id, found.match.entry_id
        verdicts: list[Verdict] = []

        async def count(conn: AsyncConnection, draft: CaseDraft) -> CaseDraft | None:
            verdicts.append(
                await flood_holds.count_removal(
                    conn, guild_id, entry_id, message.id, settings.flood_limit
                )
            )
            return draft if verdicts[-1] is Verdict.HOLD_NOW else None

        reason = (
            f"Held entry {entry_id}: it removed more than {settings.flood_limit} messages "
            "within an hour; its matches are flagged for review until a moderator decides"
        )
        draft = CaseDraft(
            CaseKind.ENTRY_HELD,
            reason,
            user_id=message.author.id,
            channel_id=message.channel.id,
            message_id=message.id,
            entry_id=entry_id,
        )
        try:
            case = await self.bot.actions.record(guild_id, draft, gate=count)
        except SQLAlchemyError:
            # The hold is a safety valve; a database that can't count must not leave a listed
            # picture up. The removal's own case will say whether the database is back.
            log.exception("Could not count a match of entry %s in guild %s", entry_id, guild_id)
            return Verdict.REMOVE
        if case is not None:
            log.warning(
                "Entry %s is held in guild %s after more than %d removals within an hour "
                "(case #%d)",
                entry_id,
                guild_id,
                settings.flood_limit,
                case.number,
            )
            task = asyncio.create_task(self._post_notice(message.guild, entry_id, case.number))
            self._notices.add(task)
            task.add_done_callback(self._notices.discard)
        return verdicts[0]

    async def close(self) -> None:
        """Let notices being posted finish, within reason."""
        if self._notices:
            await asyncio.wait(self._notices, timeout=5)

    async def _post_notice(self, guild: discord.Guild, entry_id: int, case_number: int) -> None:
        try:
            settings = await self.bot.guild_settings.get(guild.id)
            channel = mod_channel(guild, settings, f"Entry {entry_id} held")
            if channel is None:
                return
            tr = guild_texts(settings.language, guild)
            async with self.bot.db.connect() as conn:
                hold = await flood_holds.get_hold(conn, guild.id, entry_id)
                entry = await entry_info(conn, guild.id, entry_id)
            if hold is None or not hold.held:
                return  # decided (or the entry removed) before the notice went out
            content, mentions = None, discord.AllowedMentions.none()
            if settings.mod_role_id:
                content = tr(
                    "{role} a takedown-list entry is held and needs a decision.",
                    role=f"<@&{settings.mod_role_id}>",
                )
                mentions = discord.AllowedMentions(roles=[discord.Object(settings.mod_role_id)])
            embed = notice_embed(tr, hold, entry, settings.flood_limit, None)
            embed.set_footer(text=tr("Case #{number}", number=case_number))
            posted = await channel.send(
                content, embed=embed, view=hold_view(hold, tr), allowed_mentions=mentions
            )
            async with self.bot.db.transaction() as conn:
                await flood_holds.set_notice(conn, guild.id, entry_id, channel.id, posted.id)
        except discord.HTTPException as exc:
            log.warning(
                "Could not post the hold of entry %s in guild %s: %s", entry_id, guild.id, exc
            )
        except Exception:
            log.exception("Posting the hold of entry %s in guild %s failed", entry_id, guild.id)

    async def redraw_notice(self, guild: discord.Guild, hold: Hold) -> None:
        """Show a decision on the hold's message (its buttons then disabled)."""
        if hold.notice_channel_id is None or hold.notice_message_id is None:
            return
        settings = await self.bot.guild_settings.get(guild.id)
        tr = guild_texts(settings.language, guild)
        async with self.bot.db.connect() as conn:
            entry = await entry_info(conn, guild.id, hold.entry_id)
        channel = guild.get_channel(hold.notice_channel_id)
        if not isinstance(channel, discord.TextChannel):
            return
        notice = channel.get_partial_message(hold.notice_message_id)
        try:
            old = await notice.fetch()
            embed = notice_embed(tr, hold, entry, settings.flood_limit, old)
            await notice.edit(embed=embed, view=hold_view(hold, tr))
        except discord.HTTPException as exc:
            log.info("Could not update the hold message of entry %s: %s", hold.entry_id, exc)


def notice_embed(
    tr: Texts, hold: Hold, entry: EntryInfo, limit: int, old: discord.Message | None
) -> discord.Embed:
    """The message about a hold, in the server's language; `old`, the message as posted (its
    footer, the case number, is kept)."""
    embed = discord.Embed(
        title=tr("Entry held: it matched too many messages"),
        description=tr(
            "This entry removed more than {limit} different messages in this server within an "
            "hour. That is unusual for a deepfake and usual for a meme added by mistake or a bad "
            "entry on a shared list. Until you decide, its matches are flagged for review here "
            "instead of removed.",
            limit=tr.number(limit),
        ),
        colour=HELD_COLOUR if hold.held else DONE_COLOUR,
        timestamp=hold.held_at,
    )
    embed.add_field(name=tr("Entry"), value=describe_entry(tr, entry), inline=False)
    embed.add_field(
        name=tr("What the buttons do"),
        value="\n".join(
            (
                tr("**Keep removing**: it removes again; held again only after another flood."),
                tr(
                    "**Stop using this entry**: this server's own entry is removed from its "
                    "list; a shared list's entry stops matching here (other servers keep it)."
                ),
            )
        ),
        inline=False,
    )
    if not hold.held and hold.decided_by:
        decision = (
            tr("Kept removing, by {moderator}", moderator=f"<@{hold.decided_by}>")
            if hold.status == "counting"
            else tr("Stopped using this entry, by {moderator}", moderator=f"<@{hold.decided_by}>")
        )
        embed.add_field(name=tr("Decision"), value=decision, inline=False)
    if old is not None and old.embeds and old.embeds[0].footer.text:
        embed.set_footer(text=old.embeds[0].footer.text)
    return fit_embed(embed)


def hold_lines(
    tr: Texts, holds: list[Hold], guild_id: int, *, buttons_here: bool = False
) -> list[str]:
    """A line per held entry, for `/config check` and `/takedown info`: since when, and what to
    do (with a link to the hold's message when there is one; `buttons_here`: below)."""
    lines = []
    for hold in holds:
        since = f"<t:{int(hold.held_at.timestamp())}:R>" if hold.held_at else "?"
        if buttons_here:
            what = tr("decide with the buttons below.")
        elif hold.notice_message_id:
            link = message_url(guild_id, hold.notice_channel_id or 0, hold.notice_message_id)
            what = tr(
                "decide with Keep removing or Stop using this entry on [its message]({link}).",
                link=link,
            )
        else:
            what = tr(
                "decide with Keep removing or Stop using this entry in /takedown info "
                "entry:{entry}.",
                entry=hold.entry_id,
            )
        lines.append(
            tr(
                "Entry #{entry} held {since}: its matches are flagged, not removed; {what}",
                entry=hold.entry_id,
                since=since,
                what=what,
            )
        )
    return lines


async def held_entry_info(
    conn: AsyncConnection, tr: Texts, guild_id: int, entry_id: int, embed: discord.Embed | None
) -> tuple[discord.Embed | None, discord.ui.View | None]:
    """`/takedown info` of an entry: its standing in this server added to `embed` (this
    server's own entry), or an embed of its own for a shared list's entry held or ignored here;
    with the hold's buttons while it is held, **Use this entry again** while it is ignored.
    (None, None): nothing to show."""
    hold = await flood_holds.get_hold(conn, guild_id, entry_id)
    if hold is None or hold.status == "counting":
        return embed, None
    if embed is None:
        entry = await entry_info(conn, guild_id, entry_id)
        embed = discord.Embed(
            title=tr("Shared-list entry {entry}", entry=entry_id),
            description=describe_entry(tr, entry),
            colour=discord.Colour.dark_red(),
        )
    if hold.held:
        (line,) = hold_lines(tr, [hold], guild_id, buttons_here=True)
        embed.add_field(name=tr("Held in this server"), value=line, inline=False)
        return fit_embed(embed), hold_view(hold, tr)
    embed.add_field(
        name=tr("In this server"),
        value=tr(
            "Not used here: a moderator chose Stop using this entry ({moderator}).",
            moderator=f"<@{hold.decided_by}>",
        ),
        inline=False,
    )
    return fit_embed(embed), ignored_view(hold, tr)

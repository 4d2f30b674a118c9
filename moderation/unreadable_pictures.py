"""A member's profile picture the bot could not check: the moderators told, as the server's
unreadable-file policy says.

A picture the bot can't check is never treated as clean, or a listed one would get through
wrapped in a hostile file. There is nothing to remove, so any action but "ignore" alerts: the
member, which picture, why (the media layer's words), no preview (the bot shows only pictures a
worker decoded safely), and **Timeout**, **Kick**, **Ban**, whose custom ids hold the member's
id, so they work after a restart; each is a case through `bot.actions`. Alerts are posted
through a bounded queue, one at a time; past its room, a burst is counted and summarised in one
message per server (a raid of hostile avatars must not flood the mod channel).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import discord

from core.vocabulary import ProfilePicture
from db.guild_settings import GuildSettings
from media.pipeline import HashedMedia
from moderation import buttons
from moderation.access import AccessDenied, require_moderator
from moderation.buttons import OnAuthor
from moderation.i18n import N_, Texts, guild_texts, source_texts
from moderation.mod_channel import mod_channel, post_burst_summary
from moderation.names import PICTURE_NAMES
from moderation.post_queue import PostQueue, QueuedPosts
from moderation.unreadable import action_for

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

TITLE = N_("A member's profile picture could not be checked: please review")
WHY = N_(
    "A picture the bot can't check is never treated as clean. What happens to each kind is set "
    "in `/config takedowns` (crafted, unfinished, unsupported). No preview: the bot shows only "
    "pictures it could decode safely."
)


@dataclass(frozen=True, slots=True)
class PictureNotice:
    member: discord.Member
    picture: ProfilePicture
    media: HashedMedia
    settings: GuildSettings


class UnreadablePictures(QueuedPosts[PictureNotice]):
    """Alerts on profile pictures the bot could not check (owned by `bot.profile_pictures`),
    posted one at a time through a `PostQueue`; a burst past its room is summarised."""

    WAITING = 100  # alerts waiting to be posted; past this, a burst is summarised

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        self.posts = PostQueue("picture alerts", self.WAITING, self._post, self._summarise)

    def handle(self, notice: PictureNotice) -> None:
        """Queue an alert unless the server ignores this kind of file."""
        if action_for(notice.settings, notice.media.hashes.outcome) == "ignore":
            return
        if not self.posts.put(notice.member.guild.id, notice):
            log.warning(
                "The %s of %s in guild %s is not alerted on (burst)",
                notice.picture,
                notice.member.id,
                notice.member.guild.id,
            )

    async def _post(self, notice: PictureNotice) -> None:
        member = notice.member
        channel = mod_channel(member.guild, notice.settings, "A profile picture not checked")
        if channel is None:
            return
        tr = guild_texts(notice.settings.language, member.guild)
        embed = discord.Embed(title=tr(TITLE), colour=discord.Colour.orange())
        embed.add_field(name=tr("Member"), value=f"{member.mention} ({member.id})")
        embed.add_field(name=tr("Picture"), value=tr(PICTURE_NAMES[notice.picture]))
        embed.add_field(
            name=tr("Not checked against the takedown lists"),
            value=tr.read(notice.media.hashes.explanation)[:1024],
            inline=False,
        )
        embed.add_field(name=tr("Why this alert"), value=tr(WHY), inline=False)
        try:
            await channel.send(
                embed=embed,
                view=member_view(tr, member.id),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            log.warning("Could not post a picture alert in guild %s: %s", member.guild.id, exc)

    async def _summarise(self, guild_id: int, skipped: int) -> None:
        await post_burst_summary(
            self.bot,
            guild_id,
            "a burst summary of profile pictures not checked",
            lambda tr: tr.plural(
                "During a burst I could not check {count} more member's profile picture, "
                "without posting an alert for it; the bot's log names every one.",
                "During a burst I could not check {count} more members' profile pictures, "
                "without posting an alert for each; the bot's log names every one.",
                skipped,
            ),
        )


def member_view(tr: Texts, member_id: int) -> discord.ui.View:
    """**Timeout**, **Kick**, **Ban** on the member, labelled in the alert's language."""
    view = discord.ui.View(timeout=None)
    for action in ("timeout", "kick", "ban"):
        view.add_item(MemberButton(member_id, action, tr))
    return view


class MemberButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lightstick:member:(?P<member>[0-9]+):(?P<action>timeout|kick|ban)",
):
    """A button on a member's unchecked picture; the member's id is in its custom id."""

    def __init__(self, member_id: int, action: str, tr: Texts | None = None) -> None:
        label, style = buttons.MEMBER_LABELS[action]
        label = (tr or source_texts())(label)  # rebuilt from a click's custom id: never shown
        custom_id = f"lightstick:member:{member_id}:{action}"
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))
        self.member_id, self.action = member_id, action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> Self:
        return cls(int(match["member"]), match["action"])

    async def callback(self, interaction: discord.Interaction[Lightstick]) -> None:
        try:
            moderator = await require_moderator(interaction)
        except AccessDenied as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        step = OnAuthor(moderator, self.member_id, "A profile picture the bot could not check")
        async with buttons.apologising(interaction, f"Member button {self.action}"):
            await buttons.AUTHOR_STEPS[self.action](interaction, step)

"""Files the bot could not check: the server's policy applied, and the moderators told.

A file the bot can't check is never treated as clean, or a listed picture would get through
wrapped in one. Why it could not be checked (`media.outcomes`: crafted, unfinished,
unsupported) picks the server's action from `/config takedowns`: remove the message and alert,
alert only, or ignore (counted and logged). A message with several such files gets the
strongest action among them.

The alert names the message, each file and the reason in plain words, and carries **Take down**
(while the message is up), **Timeout author** and **Ban author**. Its buttons keep the message's
and author's ids in their custom ids, so they work after a restart without a record of their
own; every decision is a case through `bot.actions`. There is no preview: the bot shows only
pictures a hashing worker decoded safely, and these it could not.

Alerts are posted through a bounded queue, one at a time; a burst past its room is counted and
summarised in one message per server (a spam wave of crafted files must not flood the mod
channel). Removals are cases either way.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Self

import discord

from core.vocabulary import CaseKind
from db.cases import Case
from db.guild_settings import GuildSettings
from media.outcomes import Outcome
from media.pipeline import HashedMedia
from moderation import buttons
from moderation.access import moderator_clicking
from moderation.actions import CaseDraft
from moderation.buttons import OnAuthor
from moderation.i18n import Phrase, Texts, guild_texts, member_texts, source_texts
from moderation.messages import media_name, message_url
from moderation.mod_channel import mod_channel, post_burst_summary
from moderation.post_queue import PostQueue, QueuedPosts

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

STRENGTH = {"ignore": 0, "alert": 1, "remove": 2}
REMOVED_COLOUR = discord.Colour.red()
REVIEW_COLOUR = discord.Colour.orange()


def action_for(settings: GuildSettings, outcome: Outcome) -> str:
    """The server's action for a file with this outcome: "remove", "alert" or "ignore"."""
    return str(getattr(settings, f"{outcome}_action"))


def strongest_action(settings: GuildSettings, unchecked: list[HashedMedia]) -> str:
    return max((action_for(settings, m.hashes.outcome) for m in unchecked), key=STRENGTH.get)


@dataclass(frozen=True, slots=True)
class UnreadableNotice:
    """An alert to post about a message whose files could not be checked."""

    message: discord.Message
    settings: GuildSettings
    unchecked: tuple[HashedMedia, ...]
    case: Case | None  # the removal's case
    problem: Phrase | None  # why the bot could not remove it, when it should have


class UnreadableFiles(QueuedPosts[UnreadableNotice]):
    """Applies each server's policy to files the bot could not check, and alerts."""

    WAITING = 100  # alerts waiting to be posted; past this, a burst is summarised

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        self.posts = PostQueue(
            "unreadable-file alerts", self.WAITING, self._follow_up, self._summarise
        )

    async def handle(
        self, message: discord.Message, unchecked: list[HashedMedia], settings: GuildSettings
    ) -> bool:
        """Apply the server's policy to the message's unchecked files; whether it was removed."""
        guild = message.guild
        assert guild is not None and unchecked
        action = strongest_action(settings, unchecked)
        if action == "ignore":
            return False
        case, problem = None, None
        if action == "remove":
            removal = await self.bot.actions.remove_message(
                message, guild.id, _removal_case(message, unchecked)
            )
            case, problem = removal.case, removal.problem
        self._put(UnreadableNotice(message, settings, tuple(unchecked), case, problem))
        return case is not None

    def _put(self, notice: UnreadableNotice) -> None:
        if not self.posts.put(notice.settings.guild_id, notice):
            log.warning(
                "Unreadable-file alert queue full: message %s in guild %s is not posted",
                notice.message.id,
                notice.settings.guild_id,
            )

    async def _follow_up(self, notice: UnreadableNotice) -> None:
        """The alert, then (after a removal) the author's DM and a repeat timeout."""
        await self.post(notice)
        if notice.case is not None:
            await self.bot.actions.after_removal(notice.message, notice.settings)

    async def post(self, notice: UnreadableNotice) -> None:
        message = notice.message
        assert message.guild is not None
        channel = mod_channel(message.guild, notice.settings, "A file the bot could not check")
        if channel is None:
            return
        removed = notice.case is not None
        tr = guild_texts(notice.settings.language, message.guild)
        try:
            await channel.send(
                embed=unreadable_embed(tr, notice),
                view=file_view(tr, message.channel.id, message.id, message.author.id, removed),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            log.warning("Could not post an unreadable-file alert in %s: %s", message.guild.id, exc)

    async def _summarise(self, guild_id: int, skipped: int) -> None:
        await post_burst_summary(
            self.bot,
            guild_id,
            "a burst summary of files the bot could not check",
            lambda tr: tr.plural(
                "During a burst I found {count} more message with files I could not check, "
                "without posting an alert for it. Those removed are cases (see `/cases list`); "
                "the bot's log names every one.",
                "During a burst I found {count} more messages with files I could not check, "
                "without posting an alert for each. Those removed are cases (see `/cases list`); "
                "the bot's log names every one.",
                skipped,
            ),
        )


def unreadable_embed(tr: Texts, notice: UnreadableNotice) -> discord.Embed:
    """The alert, in the server's language (`tr`), each file's reason too."""
    message = notice.message
    assert message.guild is not None
    removed = notice.case is not None
    if removed:
        title, colour = tr("Removed a file the bot could not check"), REMOVED_COLOUR
    else:
        title, colour = tr("A file the bot could not check: please review"), REVIEW_COLOUR
    embed = discord.Embed(title=title, colour=colour, timestamp=message.created_at)
    embed.add_field(name=tr("Posted by"), value=f"<@{message.author.id}> ({message.author.id})")
    where = f"<#{message.channel.id}>"
    if not removed:
        link = message_url(message.guild.id, message.channel.id, message.id)
        where = tr("{channel} · [jump]({link})", channel=where, link=link)
    embed.add_field(name=tr("Where"), value=where)
    files = "\n".join(
        f"**{media_name(tr, media.ref)}**: {tr.read(media.hashes.explanation)}"
        for media in notice.unchecked
    )
    embed.add_field(
        name=tr("Not checked against the takedown lists"), value=files[:1024], inline=False
    )
    embed.add_field(
        name=tr("Why this alert"),
        value=tr(
            "A file the bot can't check is never treated as clean. What happens to each kind is "
            "set in `/config takedowns` (crafted, unfinished, unsupported). No preview: the bot "
            "shows only pictures it could decode safely."
        ),
        inline=False,
    )
    if notice.problem:
        embed.add_field(name=tr("Could not act"), value=tr.read(notice.problem), inline=False)
    if notice.case is not None:
        embed.set_footer(text=tr("Case #{number}", number=notice.case.number))
    return embed


def _removal_case(message: discord.Message, unchecked: list[HashedMedia]) -> CaseDraft:
    kinds = sorted({str(media.hashes.outcome) for media in unchecked})
    return CaseDraft(
        CaseKind.UNREADABLE,
        f"a file the bot could not check ({', '.join(kinds)}): {unchecked[0].hashes.explanation}",
        user_id=message.author.id,
        user_name=message.author.name,
        channel_id=message.channel.id,
        message_id=message.id,
    )


def file_view(
    tr: Texts, channel_id: int, message_id: int, author_id: int, removed: bool
) -> discord.ui.View:
    """The alert's buttons, labelled in the alert's language (`tr`)."""
    view = discord.ui.View(timeout=None)
    actions = ("timeout", "ban") if removed else ("takedown", "timeout", "ban")
    for action in actions:
        view.add_item(FileButton(channel_id, message_id, author_id, action, tr))
    return view


class FileButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=(
        r"lightstick:file:(?P<channel>[0-9]+):(?P<message>[0-9]+):(?P<author>[0-9]+)"
        r":(?P<action>takedown|timeout|ban)"
    ),
):
    """A button on an unreadable-file alert; the ids it acts on are in its custom id."""

    LABELS: ClassVar[dict[str, buttons.Label]] = {
        "takedown": buttons.TAKE_DOWN,
        **buttons.AUTHOR_LABELS,
    }

    def __init__(
        self,
        channel_id: int,
        message_id: int,
        author_id: int,
        action: str,
        tr: Texts | None = None,
    ) -> None:
        label, style = self.LABELS[action]
        label = (tr or source_texts())(label)  # rebuilt from a click's custom id: never shown
        custom_id = f"lightstick:file:{channel_id}:{message_id}:{author_id}:{action}"
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))
        self.channel_id, self.message_id, self.author_id = channel_id, message_id, author_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> Self:
        return cls(
            int(match["channel"]), int(match["message"]), int(match["author"]), match["action"]
        )

    async def callback(self, interaction: discord.Interaction[Lightstick]) -> None:
        moderator = await moderator_clicking(interaction)
        if moderator is None:
            return
        reason = "A file the bot could not check"
        async with buttons.apologising(interaction, f"Unreadable-file button {self.action}"):
            if self.action == "takedown":
                await self._take_down(interaction, moderator)
            else:
                step = OnAuthor(moderator, self.author_id, reason)
                await buttons.AUTHOR_STEPS[self.action](interaction, step)

    async def _take_down(
        self, interaction: discord.Interaction[Lightstick], moderator: discord.Member
    ) -> None:
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        draft = CaseDraft(
            CaseKind.UNREADABLE,
            "Removed from an alert on a file the bot could not check",
            user_id=self.author_id,
            moderator_id=moderator.id,
            channel_id=self.channel_id,
            message_id=self.message_id,
        )
        where = (self.channel_id, self.message_id)
        removal = await interaction.client.actions.take_down(interaction.guild.id, where, draft)
        tr = member_texts(interaction)
        if removal.problem or removal.case is None:
            await interaction.followup.send(
                tr.read(removal.problem) if removal.problem else tr("Nothing was removed."),
                ephemeral=True,
            )
            return
        await interaction.followup.send(
            tr("Removed (case #{number}).", number=removal.case.number), ephemeral=True
        )
        if interaction.message is not None:
            settings = await interaction.client.guild_settings.get(interaction.guild.id)
            shared = guild_texts(settings.language, interaction.guild)
            view = file_view(shared, self.channel_id, self.message_id, self.author_id, removed=True)
            try:
                await interaction.message.edit(view=view)
            except discord.HTTPException as exc:
                log.info("Could not update an unreadable-file alert: %s", exc)

"""Explicit-image review: a picture the classifier scored at or above the server's threshold is
flagged to the moderators, never removed by the bot.

The scanner hands over a message's scored files (`review`); those that reach the threshold and
that the server has not cleared as "Not explicit" become one flag: a case (`explicit_flag`) and
an `explicit_flags` row with the pictures' hashes, written together. The review message follows
through a bounded queue (`PostQueue`: a burst is summarised): a strongly blurred, spoiler-tagged
preview made in memory (none when previews are off), the score in words, the message's link and
author, and the buttons of `moderation.explicit_buttons`. A picture that is also on a takedown
list never gets here: the scanner handles it once, as a match, and the alert notes its score.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import discord
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import CaseKind, FlagStatus
from db import cases as cases_db
from db import explicit_flags as flags_db
from db.cases import Case
from db.explicit_flags import ExplicitFlag, NewFlag
from db.guild_settings import GuildSettings
from media.entries import entry_hashes
from media.pipeline import HashedMedia
from moderation.actions import CaseDraft
from moderation.explicit_buttons import flag_view
from moderation.i18n import Texts, guild_texts
from moderation.messages import message_url
from moderation.mod_channel import mod_channel, post_burst_summary, preview_files
from moderation.names import FLAG_DECISION_NAMES
from moderation.post_queue import PostQueue, QueuedPosts
from moderation.shown_text import fit_embed
from services.explicit_policy import flags, frame_pdq, is_cleared

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

REVIEW_COLOUR = discord.Colour.orange()
DONE_COLOUR = discord.Colour.dark_grey()


def score_words(tr: Texts, score: float) -> str:
    """A score as moderators read it: "likely explicit, 0.93"."""
    shown = f"{score:.2f}"
    if score >= 0.95:
        return tr("very likely explicit, {score}", score=shown)
    if score >= 0.8:
        return tr("likely explicit, {score}", score=shown)
    if score >= 0.5:
        return tr("possibly explicit, {score}", score=shown)
    return tr("unlikely to be explicit, {score}", score=shown)


@dataclass(frozen=True, slots=True)
class FlagPost:
    """A review message to post."""

    guild: discord.Guild
    settings: GuildSettings
    flag: ExplicitFlag
    case: Case
    preview: bytes | None  # strongly blurred, made in memory


class ExplicitReview(QueuedPosts[FlagPost]):
    """Flags likely explicit pictures for review and posts the review messages."""

    WAITING = 100  # review messages waiting to be posted; past this, a burst is summarised

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        # guild id -> files hashed but not scored since the start (the model could not run)
        self.unscored: Counter[int] = Counter()
        self.posts = PostQueue(
            "explicit-image review messages", self.WAITING, self.post, self._summarise
        )

    async def review(
        self, message: discord.Message, scored: list[HashedMedia], settings: GuildSettings
    ) -> ExplicitFlag | None:
        """Flag the message if a file in it reaches the threshold and was not cleared."""
        guild = message.guild
        assert guild is not None
        flagged = await self._worth_flagging(message, scored, settings)
        if not flagged:
            return None
        best = max(flagged, key=lambda m: m.hashes.explicit_score or 0.0)
        score = best.hashes.explicit_score or 0.0
        kept = entry_hashes([media.hashes for media in flagged])
        new = NewFlag(
            guild.id,
            message.channel.id,
            message.id,
            message.author.id,
            score,
            len(flagged),
            kept.own,
            kept.variants,
        )
        recorded: list[ExplicitFlag] = []

        async def record_flag(conn: AsyncConnection, case: Case) -> None:
            recorded.append(await flags_db.create_flag(conn, replace(new, case_id=case.id)))

        draft = CaseDraft(
            CaseKind.EXPLICIT_FLAG,
            f"likely explicit picture (score {score:.2f}), flagged for review",
            user_id=message.author.id,
            channel_id=message.channel.id,
            message_id=message.id,
        )

        async def once(conn: AsyncConnection, draft: CaseDraft) -> CaseDraft | None:
            """A picture is flagged once in a message: an edit or a rescan sees it again."""
            seen = await flags_db.flagged_before(conn, guild.id, message.id, kept.own)
            return None if seen else draft

        case = await self.bot.actions.record(guild.id, draft, gate=once, follow=record_flag)
        if case is None:
            return None
        # No preview for a flag a burst will summarise rather than post (the queue is full).
        shown = settings.previews and settings.mod_channel_id is not None and self.posts.has_room
        source = await self.bot.pipeline.preview_source(best) if shown else None
        preview = await self.bot.pipeline.blurred_preview(source) if source else None
        self.posts.put(guild.id, FlagPost(guild, settings, recorded[0], case, preview))
        return recorded[0]

    async def _worth_flagging(
        self, message: discord.Message, scored: list[HashedMedia], settings: GuildSettings
    ) -> list[HashedMedia]:
        """The files at or above the threshold that the server has not cleared; files the model
        could not score are counted for `/config check` and logged."""
        assert message.guild is not None
        guild_id = message.guild.id
        for media in scored:
            if media.hashes.hashed and media.hashes.explicit_score is None:
                self.unscored[guild_id] += 1
                log.warning(
                    "A file in message %s in guild %s was hashed but not scored (the "
                    "explicit-image model could not run; see the worker's log)",
                    message.id,
                    guild_id,
                )
        flagged = [media for media in scored if flags(settings, media.hashes)]
        if not flagged:
            return []
        async with self.bot.db.connect() as conn:
            cleared = await flags_db.cleared_pdq(conn, guild_id)
        kept = [m for m in flagged if not is_cleared(frame_pdq(m.hashes), cleared)]
        if len(kept) < len(flagged):
            log.info(
                "Message %s in guild %s: a picture cleared as not explicit", message.id, guild_id
            )
        return kept

    # -- the review message ------------------------------------------------------------------

    async def post(self, post: FlagPost) -> None:
        guild, settings, flag = post.guild, post.settings, post.flag
        channel = mod_channel(guild, settings, f"Explicit-image flag (case #{post.case.number})")
        if channel is None:
            return
        tr = guild_texts(settings.language, guild)
        footer = tr("Case #{number}", number=post.case.number)
        embed = await self.flag_embed(guild, flag, footer)
        content, mentions = None, discord.AllowedMentions.none()
        if settings.mod_role_id:
            content = tr(
                "{role} a picture that is likely explicit needs review.",
                role=f"<@&{settings.mod_role_id}>",
            )
            mentions = discord.AllowedMentions(roles=[discord.Object(settings.mod_role_id)])
        files = preview_files(channel, post.preview, embed, tr)
        try:
            posted = await channel.send(
                content,
                embed=embed,
                files=files,
                view=flag_view(flag, tr, settings),
                allowed_mentions=mentions,
            )
        except discord.HTTPException as exc:
            log.warning(
                "Could not post the flag of case #%d in guild %s: %s",
                post.case.number,
                guild.id,
                exc,
            )
            return
        async with self.bot.db.transaction() as conn:
            await flags_db.set_flag_message(conn, flag.id, channel.id, posted.id)

    async def _summarise(self, guild_id: int, skipped: int) -> None:
        await post_burst_summary(
            self.bot,
            guild_id,
            "a burst summary of explicit-image flags",
            lambda tr: tr.plural(
                "During a burst I flagged {count} more likely explicit picture without posting it "
                "for review. Each flag is a case: see `/cases list`.",
                "During a burst I flagged {count} more likely explicit pictures without posting "
                "them for review. Each flag is a case: see `/cases list`.",
                skipped,
            ),
        )

    async def refresh(self, interaction: discord.Interaction, flag: ExplicitFlag) -> None:
        """Redraw the review message a button was clicked on, with the decision."""
        assert interaction.guild is not None
        if interaction.message is None:
            return
        settings = await self.bot.guild_settings.get(interaction.guild.id)
        tr = guild_texts(settings.language, interaction.guild)
        shown = interaction.message.embeds
        footer = shown[0].footer.text if shown else None  # the case number, as posted
        embed = await self.flag_embed(interaction.guild, flag, footer)
        try:
            await interaction.message.edit(embed=embed, view=flag_view(flag, tr, settings))
        except discord.HTTPException as exc:
            log.info("Could not update the review message of flag %s: %s", flag.id, exc)

    async def flag_embed(
        self, guild: discord.Guild, flag: ExplicitFlag, footer: str | None
    ) -> discord.Embed:
        """The review message, in the server's language."""
        settings = await self.bot.guild_settings.get(guild.id)
        tr = guild_texts(settings.language, guild)
        async with self.bot.db.connect() as conn:
            earlier = await cases_db.count_cases(conn, guild.id, user_id=flag.author_id) - 1
        embed = discord.Embed(
            title=tr("Likely explicit picture: please review"),
            colour=REVIEW_COLOUR,
            timestamp=flag.created_at,
        )
        embed.add_field(name=tr("Posted by"), value=f"<@{flag.author_id}> ({flag.author_id})")
        where = f"<#{flag.channel_id}>"
        if flag.status is not FlagStatus.TAKEN_DOWN:
            link = message_url(guild.id, flag.channel_id, flag.message_id)
            where = tr("{channel} · [jump]({link})", channel=where, link=link)
        embed.add_field(name=tr("Where"), value=where)
        embed.add_field(name=tr("When"), value=f"<t:{int(flag.created_at.timestamp())}:f>")
        score = score_words(tr, flag.score)
        if flag.pictures > 1:
            score = tr.plural(
                "{score} (the highest of {count} flagged picture)",
                "{score} (the highest of {count} flagged pictures)",
                flag.pictures,
                score=score,
            )
        embed.add_field(name=tr("Explicit-image score"), value=score)
        embed.add_field(
            name=tr("Author's history"),
            value=(
                tr.plural("{count} earlier case", "{count} earlier cases", earlier)
                if earlier > 0
                else tr("No earlier cases")
            ),
        )
        embed.add_field(
            name=tr("Why this flag"),
            value=tr(
                "The explicit-image check (`/config explicit`) scored it at or above this "
                "server's threshold ({threshold}). It only flags: nothing was removed. It can "
                "score innocent pictures with a lot of skin high, so please look before acting.",
                threshold=f"{settings.explicit_threshold:.2f}",
            ),
            inline=False,
        )
        if not flag.is_open:
            embed.add_field(
                name=tr("Decision"),
                value=tr(
                    "{decision} by {moderator}",
                    decision=tr(FLAG_DECISION_NAMES[flag.status]),
                    moderator=f"<@{flag.resolved_by}>",
                ),
                inline=False,
            )
            embed.colour = DONE_COLOUR
        if footer:
            embed.set_footer(text=footer)
        return fit_embed(embed)

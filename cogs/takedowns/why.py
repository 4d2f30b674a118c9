"""/takedown why: why a message's pictures were (or weren't) removed, for moderators.

The message is read again and each file hashed through the scanner's pipeline (forwards'
snapshots too); `services.why` gives the scanner's verdict under the server's settings today
and the nearest entries however far. The answer is private and shows no picture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncConnection

from cogs.takedowns.group import takedown
from db import takedowns as takedowns_db
from db.guild_settings import GuildSettings
from media.list_scope import ListMatch, Near
from media.matching import Radii
from media.pipeline import HashedMedia
from moderation.access import moderators_only, require_moderator
from moderation.alerts import ENTRY_REMOVED, LABEL_PRIVATE, NO_LABEL
from moderation.i18n import Texts, member_texts
from moderation.messages import media_refs, message_url, parse_message_link
from moderation.shown_text import fit_embed, inert, shorten
from services.confirmation import confirmed
from services.why import Explained, Verdict, explain, match_policy

if TYPE_CHECKING:
    from bot import Lightstick

NEAREST_SHOWN = 4  # entries listed per file


class WhyCommand:
    """Mixed into the takedowns cog: /takedown why."""

    bot: Lightstick

    @takedown.command(name="why", description="Why a message's images were or weren't removed")
    @app_commands.describe(message="The message's link (right-click it, then Copy Message Link)")
    @moderators_only()
    async def why(self, interaction: discord.Interaction[Lightstick], message: str) -> None:
        member = await require_moderator(interaction)
        found = await self._message_to_explain(interaction, member, message)
        if found is None:
            return
        tr = member_texts(interaction)
        refs = media_refs(found)
        if not refs:
            await interaction.response.send_message(
                tr("That message has no images or videos, so there is nothing to match."),
                ephemeral=True,
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild is not None
        settings = await self.bot.guild_settings.get(interaction.guild.id)
        scope = await self.bot.takedown_index.scope(interaction.guild.id)
        # As scanning hashes: a busy pool is waited for, not taken for a file that can't be read.
        attempts = self.bot.scanner.BUSY_ATTEMPTS
        hashed = await asyncio.gather(
            *(self.bot.pipeline.hash_ref_patiently(ref, attempts) for ref in refs)
        )

        def confirm(media: HashedMedia, matches: list[ListMatch]) -> Awaitable[list[ListMatch]]:
            return confirmed(self.bot.db, self.bot.pipeline, media, matches)

        explained = [
            await explain(self.bot.takedown_index, settings, scope, media, confirm)
            for media in hashed
        ]
        async with self.bot.db.connect() as conn:
            labels = await _labels(conn, interaction.guild.id, explained)
        embed = discord.Embed(
            title=tr("Why this message was or wasn't removed"),
            description=_header(tr, found, settings),
            colour=discord.Colour.blurple(),
        )
        for number, result in enumerate(explained, start=1):
            name = inert(shorten(result.media.ref.name or result.media.ref.kind, 60))
            embed.add_field(
                name=f"{number}. {name}",
                value=_explained(tr, found, result, settings, labels),
                inline=False,
            )
        await interaction.edit_original_response(embed=fit_embed(embed))

    async def _message_to_explain(
        self, interaction: discord.Interaction[Lightstick], member: discord.Member, link: str
    ) -> discord.Message | None:
        """The linked message of this server, if the moderator can read it; else they are told
        why not, privately."""
        assert interaction.guild is not None
        tr = member_texts(interaction)
        found = parse_message_link(link)
        channel = interaction.guild.get_channel_or_thread(found.channel_id) if found else None
        problem = None
        if found is None:
            problem = tr(
                "That isn't a message link. Right-click the message (long-press on a phone) and "
                "choose Copy Message Link."
            )
        elif found.guild_id != interaction.guild.id:
            problem = tr("That message is in another server; ask there.")
        elif not isinstance(channel, discord.abc.Messageable):
            problem = tr("I can't find that channel in this server.")
        elif not channel.permissions_for(member).read_message_history:
            problem = tr("You can't read that channel, so I won't show its messages to you.")
        else:
            try:
                return await channel.fetch_message(found.message_id)
            except discord.NotFound:
                problem = tr(
                    "That message doesn't exist any more. If it was removed for a match, "
                    "`/cases list` has the case and `/cases export` its hashes."
                )
            except discord.Forbidden:
                problem = tr(
                    "I can't read {channel}: give my role View Channel and Read Message History "
                    "there.",
                    channel=channel.mention,
                )
        await interaction.response.send_message(problem, ephemeral=True)
        return None


def _header(tr: Texts, message: discord.Message, settings: GuildSettings) -> str:
    assert message.guild is not None
    channel = getattr(message.channel, "mention", f"<#{message.channel.id}>")
    link = message_url(message.guild.id, message.channel.id, message.id)
    lines = [
        tr(
            "Message by {author} in {channel} ([jump]({link})), hashed again just now.",
            author=message.author.mention,
            channel=channel,
            link=link,
        ),
        tr(
            "This server's radii: PDQ confident {pdq}, review {pdq_review}; pHash confident "
            "{phash}, review {phash_review}.",
            pdq=settings.pdq_confident_radius,
            pdq_review=settings.pdq_review_radius,
            phash=settings.phash_confident_radius,
            phash_review=settings.phash_review_radius,
        ),
    ]
    if _skipped(message, settings):
        lines.append(
            tr(
                "⚠️ Channel skipped: {channel} is not scanned (`/config channels`), so nothing "
                "posted there is removed, whatever it matches.",
                channel=channel,
            )
        )
    if message.author.bot:
        lines.append(tr("⚠️ A bot posted it: I don't scan bots' messages."))
    return "\n".join(lines)


def _skipped(message: discord.Message, settings: GuildSettings) -> bool:
    """Whether scanning skips the message's channel (or the thread's parent)."""
    parent = getattr(message.channel, "parent_id", None)
    return bool({message.channel.id, parent} & settings.skipped_channel_ids)


async def _labels(
    conn: AsyncConnection, guild_id: int, explained: Sequence[Explained]
) -> dict[int, tuple[str | None, str | None, bool]]:
    """entry id -> (label, why it isn't shown, on this server's own list)."""
    wanted = {near.entry_id for result in explained for near in result.nearest}
    wanted |= {r.match.match.entry_id for r in explained if r.match is not None}
    labels: dict[int, tuple[str | None, str | None, bool]] = {}
    for entry_id in sorted(wanted):
        entry = await takedowns_db.entry_credit(conn, entry_id)
        if entry is None:
            labels[entry_id] = (None, ENTRY_REMOVED, True)
            continue
        own = entry.owner_guild_id == guild_id
        if not own and not entry.label_shareable:
            labels[entry_id] = (None, LABEL_PRIVATE, own)
        else:
            labels[entry_id] = (entry.label or None, None if entry.label else NO_LABEL, own)
    return labels


def _entry(tr: Texts, entry_id: int, labels: dict[int, tuple[str | None, str | None, bool]]) -> str:
    label, hidden, own = labels.get(entry_id, (None, ENTRY_REMOVED, True))
    shown = tr(hidden) if label is None else (label if own else inert(label))
    if own:
        return tr("#{entry} “{label}” (this server's list)", entry=entry_id, label=shown)
    return tr("#{entry} “{label}” (a shared list)", entry=entry_id, label=shown)


def _algorithm(algorithm: str) -> str:
    return "PDQ" if algorithm == "pdq" else "pHash"


def _distance(tr: Texts, algorithm: str, distance: int, radii: Radii) -> str:
    values = {"algorithm": _algorithm(algorithm), "distance": distance}
    tier = radii.tier(distance)
    if tier is None:
        return tr("{algorithm} {distance} (beyond the review radius)", **values)
    if distance <= radii.confident:
        return tr("{algorithm} {distance} (within the confident radius)", **values)
    return tr("{algorithm} {distance} (within the review radius)", **values)


def _explained(
    tr: Texts,
    message: discord.Message,
    result: Explained,
    settings: GuildSettings,
    labels: dict[int, tuple[str | None, str | None, bool]],
) -> str:
    verdict = _verdict(tr, result, settings, labels)
    if _skipped(message, settings):
        verdict = tr(
            "**Not scanned**: the channel is skipped. If it were scanned: {verdict}",
            verdict=verdict,
        )
    lines = [verdict]
    if result.partly_allowlisted and result.verdict is not Verdict.ALLOWLISTED:
        lines.append(tr("Part of it was marked Not a match here, and is left out."))
    policy = match_policy(settings)
    by_entry: dict[int, list[Near]] = {}
    for near in result.nearest:
        by_entry.setdefault(near.entry_id, []).append(near)
    for entry_id, nears in list(by_entry.items())[:NEAREST_SHOWN]:
        distances = " · ".join(
            _distance(tr, n.algorithm, n.distance, policy.radii(n.algorithm))  # type: ignore[arg-type]
            for n in nears
        )
        lines.append(f"- {_entry(tr, entry_id, labels)}: {distances}")
    return "\n".join(lines)


def _verdict(
    tr: Texts,
    result: Explained,
    settings: GuildSettings,
    labels: dict[int, tuple[str | None, str | None, bool]],
) -> str:
    verdict = result.verdict
    if verdict is Verdict.UNCHECKED:
        kind = str(result.media.hashes.outcome)
        return tr(
            "Could not be checked: {reason}. This server's setting for that "
            "(`/config takedowns {option}`): **{action}**.",
            reason=result.media.hashes.explanation,
            option=tr.option(kind),
            action=tr.choice(getattr(settings, f"{kind}_action")),
        )
    if verdict is Verdict.EMPTY:
        return tr("No match: the takedown lists this server uses have no entries yet.")
    if verdict is Verdict.ALLOWLISTED:
        return tr("Not removed: moderators marked this picture Not a match here (allowlisted).")
    if verdict is Verdict.NO_MATCH:
        if not result.nearest:
            return tr("No match: no entry is near it.")
        near = result.nearest[0]
        policy = match_policy(settings)
        radius = policy.radii(near.algorithm).review  # type: ignore[arg-type]
        nearest = {
            "entry": _entry(tr, near.entry_id, labels),
            "algorithm": _algorithm(near.algorithm),
            "distance": near.distance,
            "radius": radius,
        }
        if near.distance <= radius:  # pHash between the radii, without PDQ to agree
            return tr(
                "No match: the nearest entry is {entry} at {algorithm} {distance}, within the "
                "review radius {radius}, but beyond {alone} pHash counts only when PDQ of the "
                "same picture agrees.",
                alone=policy.phash_alone,
                **nearest,
            )
        return tr(
            "No match: the nearest entry is {entry} at {algorithm} {distance}, beyond the review "
            "radius {radius}.",
            **nearest,
        )
    assert result.match is not None
    match = result.match.match
    radii = match_policy(settings).radii(match.algorithm)
    values = {
        "entry": _entry(tr, match.entry_id, labels),
        "algorithm": _algorithm(match.algorithm),
        "distance": match.distance,
        "confident": radii.confident,
        "review": radii.review,
    }
    if verdict is Verdict.REMOVED:
        return tr(
            "**Removed**: matched entry {entry} at {algorithm} {distance} (confident radius "
            "{confident}).",
            **values,
        )
    if verdict is Verdict.CONFIRMED and match.distance <= radii.confident:
        # pHash within its confident radius that PDQ didn't back: it alone would only alert.
        return tr(
            "**Removed**: entry {entry} at {algorithm} {distance} alone would only alert, but "
            "the picture's details agree with the entry's (moved, turned or resized), which "
            "confirms the match.",
            **values,
        )
    if verdict is Verdict.CONFIRMED:
        return tr(
            "**Removed**: entry {entry} at {algorithm} {distance} is beyond the confident radius "
            "{confident}, but the picture's details agree with the entry's (moved, turned or "
            "resized), which confirms the match.",
            **values,
        )
    if verdict is Verdict.REVIEW_TIER and match.region:
        # A quarter's PDQ: part of the picture, never a takedown on its own.
        return tr(
            "**Alerted, not removed**: a quarter of the picture is near one of entry {entry}'s "
            "at {algorithm} {distance}, where the rest may be covered by stickers or a caption; "
            "part of a picture only alerts unless the picture's details confirm the match.",
            **values,
        )
    if verdict is Verdict.REVIEW_TIER and match.variant and match.distance <= radii.confident:
        # Near a crop's pHash, however near: it removes only when PDQ or local features agree.
        return tr(
            "**Alerted, not removed**: entry {entry} at {algorithm} {distance} is near one of the "
            "crops the entry keeps, not its whole picture; through a crop, pHash removes only "
            "when PDQ of the same picture agrees or the picture's details confirm the match.",
            **values,
        )
    if verdict is Verdict.REVIEW_TIER and match.distance <= radii.confident:
        # The entry's own pHash: it alerts when PDQ doesn't agree, or through a view.
        return tr(
            "**Alerted, not removed**: entry {entry} at {algorithm} {distance} is within the "
            "confident radius {confident}, but pHash removes on its own only within {alone}, "
            "or when PDQ of the same picture agrees; through a picture found inside a "
            "screenshot or collage it only alerts.",
            alone=match_policy(settings).phash_alone,
            **values,
        )
    if verdict is Verdict.REVIEW_TIER:
        return tr(
            "**Alerted, not removed**: entry {entry} at {algorithm} {distance} is beyond the "
            "confident radius {confident}, within the review radius {review}.",
            **values,
        )
    if verdict is Verdict.FLAG_LIST:
        return tr(
            "**Alerted, not removed**: entry {entry} at {algorithm} {distance} is a confident "
            "match, but this server subscribes to its list to flag, not remove.",
            **values,
        )
    return tr(
        "**Alerted, not removed**: entry {entry} at {algorithm} {distance} is a confident match, "
        "but this server's takedown action is flag (`/config takedowns action`).",
        **values,
    )

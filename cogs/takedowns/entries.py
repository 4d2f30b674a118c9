"""Adding, removing and reviewing entries: `/takedown add|remove|info|list`, the **Add to
takedown list** menu, and the offer to delete the message whose media was just added."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from cogs.takedowns.group import record_list_change, takedown
from cogs.takedowns.texts import plural, quoted_label, short_hash
from core.hash_lists import LABEL_LIMIT
from core.hashes import Hash, parse_hash
from core.vocabulary import CaseKind
from db import takedowns as takedowns_db
from db.takedowns import NewEntry, TakedownEntry
from media.entries import entry_hashes, frame_hashes
from media.hashing import MediaHashes
from media.pipeline import MediaRef
from moderation.access import moderators_only, require_moderator
from moderation.actions import CaseDraft
from moderation.messages import media_refs, parse_message_link
from moderation.pagination import Slice, send_pages
from moderation.shown_text import fit_embed

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

SOURCE_NAMES = {
    "upload": "an upload",
    "message": "a message",
    "hash": "a hash",
    "import": "an import",
    "report": "a report taken down",
}


def media_problem(media: MediaHashes) -> str | None:
    """Why hashed media can't become an entry, in a moderator's words; None if it can."""
    if not media.hashed:
        return f"I couldn't use that file ({media.reason or media.outcome})"
    if not frame_hashes(media.frames):
        return (
            "that picture is almost a single flat colour, so its hash would match "
            "unrelated pictures"
        )
    return None


def describe_media(media: MediaHashes, entry: NewEntry) -> str:
    what = "1 picture" if media.kind == "image" else plural(len(media.frames), "frame")
    extra = f" + {len(entry.variants)} for crops and rotations" if entry.variants else ""
    return f"{what}, {plural(len(entry.hashes), 'hash', 'hashes')}{extra}"


def entry_line(entry: TakedownEntry) -> str:
    first = f"`{short_hash(entry.hashes[0])}`" if entry.hashes else "no hashes"
    more = f" (+{len(entry.hashes) - 1})" if len(entry.hashes) > 1 else ""
    matches = f" · {plural(entry.match_count, 'match', 'matches')}" if entry.match_count else ""
    return (
        f"**{entry.id}** · {first}{more} · {quoted_label(entry.label)}{matches}"
        f" · <t:{int(entry.added_at.timestamp())}:d>"
    )


def entry_embed(entry: TakedownEntry) -> discord.Embed:
    algorithms = sorted({h.algorithm for h in entry.hashes})
    embed = discord.Embed(title=f"Takedown entry {entry.id}", colour=discord.Colour.dark_red())
    embed.add_field(name="Label", value=quoted_label(entry.label), inline=False)
    embed.add_field(
        name="Algorithm",
        value=", ".join(
            f"{a} ×{sum(1 for h in entry.hashes if h.algorithm == a)}" for a in algorithms
        )
        or "none",
    )
    embed.add_field(name="Matches", value=f"{entry.match_count:,}")
    when = int(entry.added_at.timestamp())
    who = f"<@{entry.added_by}>" if entry.added_by else "unknown"
    source = SOURCE_NAMES.get(entry.source, entry.source)
    embed.add_field(
        name="Added", value=f"by {who} from {source}, <t:{when}:f> (<t:{when}:R>)", inline=False
    )
    shown = entry.hashes[:6]
    lines = "\n".join(f"`{h.algorithm}:{h.hex}`" for h in shown)
    if len(entry.hashes) > len(shown):
        lines += f"\n…and {len(entry.hashes) - len(shown)} more"
    embed.add_field(name="Hashes", value=lines or "none", inline=False)
    embed.set_footer(
        text="Label shown to subscribing servers"
        if entry.label_shareable
        else "Label kept private from subscribing servers"
    )
    return fit_embed(embed)


@dataclass(frozen=True, slots=True)
class AddedMedia:
    """One entry added from media, or the entry that already had its hashes."""

    entry_id: int
    hashes: tuple[Hash, ...]
    label: str
    description: str
    already: bool = False


class DeleteMessageButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lightstick:takedown:delete:(?P<channel>[0-9]+):(?P<message>[0-9]+):(?P<entry>[0-9]+)",
):
    """The offer to delete the message whose media was just added; it reads nothing from memory,
    so it keeps working after a restart."""

    def __init__(self, channel_id: int, message_id: int, entry_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Delete the message",
                style=discord.ButtonStyle.danger,
                custom_id=f"lightstick:takedown:delete:{channel_id}:{message_id}:{entry_id}",
            )
        )
        self.channel_id = channel_id
        self.message_id = message_id
        self.entry_id = entry_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> DeleteMessageButton:
        return cls(int(match["channel"]), int(match["message"]), int(match["entry"]))

    async def callback(self, interaction: discord.Interaction[Lightstick]) -> None:
        await delete_added_message(interaction, self.channel_id, self.message_id, self.entry_id)


async def delete_added_message(
    interaction: discord.Interaction[Lightstick],
    channel_id: int,
    message_id: int,
    entry_id: int,
) -> None:
    """The "Delete the message" button: moderation removes it and records the case."""
    member = await require_moderator(interaction)
    assert interaction.guild is not None
    channel = interaction.guild.get_channel_or_thread(channel_id)
    message = None
    if isinstance(channel, discord.TextChannel | discord.Thread):
        try:
            message = await channel.fetch_message(message_id)
        except discord.NotFound:
            message = None
        except discord.Forbidden:
            await interaction.response.send_message(
                f"I can't read {channel.mention} any more, so I can't delete the message.",
                ephemeral=True,
            )
            return
    if message is None:
        await interaction.response.edit_message(content="That message is already gone.", view=None)
        return
    draft = CaseDraft(
        CaseKind.TAKEDOWN,
        f"Added to the takedown list as entry {entry_id}",
        user_id=message.author.id,
        moderator_id=member.id,
        channel_id=message.channel.id,
        message_id=message.id,
        entry_id=entry_id,
    )
    removal = await interaction.client.actions.remove_message(message, member.guild.id, draft)
    if removal.problem:
        await interaction.response.send_message(removal.problem, ephemeral=True)
        return
    await interaction.response.edit_message(
        content=f"Deleted the message; its media is entry **{entry_id}** on the list.",
        view=None,
    )


class EntryCommands:
    """Mixed into the takedowns cog: the entries themselves."""

    bot: Lightstick
    _locks: defaultdict[int, asyncio.Lock]
    PER_PAGE = 10  # entries a page of /takedown list

    # -- adding ------------------------------------------------------------------------------

    @takedown.command(name="add", description="Add an image, video, message or hash to the list")
    @app_commands.describe(
        image="An image or video to add (it is hashed and not kept)",
        message_link="A link to a message whose images or videos to add",
        hash="A hash: pdq:<64 hex>, phash:<16 hex>, or 64 hex digits (PDQ)",
        label="A short note for moderators, e.g. who the deepfake targets",
        share_label="Show this label to servers that subscribe to this list",
    )
    @moderators_only()
    async def add(
        self,
        interaction: discord.Interaction[Lightstick],
        image: discord.Attachment | None = None,
        message_link: str | None = None,
        hash: str | None = None,
        label: app_commands.Range[str, 1, LABEL_LIMIT] | None = None,
        share_label: bool = False,
    ) -> None:
        member = await require_moderator(interaction)
        given = [source for source in (image, message_link, hash) if source]
        if len(given) != 1:
            await interaction.response.send_message(
                "Give one of `image`, `message_link` or `hash` to add. Nothing was added."
                if not given
                else "Give just one of `image`, `message_link` or `hash`. Nothing was added.",
                ephemeral=True,
            )
            return
        text = " ".join((label or "").split())
        if hash:
            await self._add_hash(interaction, member, hash, text, share_label)
        elif image is not None:
            ref = MediaRef(f"attachment:{image.id}", image.url, "attachment", image.filename)
            await interaction.response.defer(ephemeral=True, thinking=True)
            added = await self._add_media(member, [ref], "upload", text, share_label)
            await interaction.edit_original_response(content=self._added_text(added))
        else:
            assert message_link is not None
            message = await self._linked_message(interaction, member, message_link)
            if message is not None:
                await self._add_message(interaction, member, message, text, share_label)

    async def add_from_menu(
        self, interaction: discord.Interaction[Lightstick], message: discord.Message
    ) -> None:
        """The "Add to takedown list" menu: the message's media, in one step."""
        member = await require_moderator(interaction)
        channel = getattr(message.channel, "mention", "a channel")
        await self._add_message(interaction, member, message, f"From a message in {channel}", False)

    async def _add_hash(
        self,
        interaction: discord.Interaction[Lightstick],
        member: discord.Member,
        text: str,
        label: str,
        share_label: bool,
    ) -> None:
        try:
            value = parse_hash(text)
        except ValueError as exc:
            await interaction.response.send_message(
                f"That isn't a hash I can use: {exc}. Nothing was added.", ephemeral=True
            )
            return
        entry = NewEntry(hashes=(value,), label=label, label_shareable=share_label)
        added = await self._save_entry(member, entry, "hash", "1 hash")
        await interaction.response.send_message(self._added_text([added]), ephemeral=True)

    async def _linked_message(
        self, interaction: discord.Interaction[Lightstick], member: discord.Member, link: str
    ) -> discord.Message | None:
        """The message a link points to, if it's in this server and the moderator can see it."""
        assert interaction.guild is not None
        found = parse_message_link(link)
        problem = None
        if found is None:
            problem = (
                "That isn't a message link. Use **Copy Message Link** on the message "
                "(or the **Add to takedown list** menu)."
            )
        elif found.guild_id != interaction.guild.id:
            problem = "That message is in another server; add it there."
        channel = interaction.guild.get_channel_or_thread(found.channel_id) if found else None
        if problem is None and not isinstance(channel, discord.abc.Messageable):
            problem = "I can't find that channel in this server."
        elif problem is None and not channel.permissions_for(member).read_message_history:
            problem = "You can't read that channel, so you can't add from it."
        if problem is not None:
            await interaction.response.send_message(f"{problem} Nothing was added.", ephemeral=True)
            return None
        assert found is not None and isinstance(channel, discord.abc.Messageable)
        try:
            return await channel.fetch_message(found.message_id)
        except discord.NotFound:
            problem = "That message doesn't exist any more (or never did)."
        except discord.Forbidden:
            problem = (
                f"I can't read {channel.mention}: give my role View Channel and "
                "Read Message History there."
            )
        await interaction.response.send_message(f"{problem} Nothing was added.", ephemeral=True)
        return None

    async def _add_message(
        self,
        interaction: discord.Interaction[Lightstick],
        member: discord.Member,
        message: discord.Message,
        label: str,
        share_label: bool,
    ) -> None:
        refs = media_refs(message)
        if not refs:
            await interaction.response.send_message(
                "That message has no images or videos to add. Nothing was added.", ephemeral=True
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        added = await self._add_media(member, refs, "message", label, share_label)
        saved = [a for a in added if isinstance(a, AddedMedia)]
        view = discord.utils.MISSING
        if saved:
            view = discord.ui.View(timeout=900)  # the button itself works after that too
            view.add_item(DeleteMessageButton(message.channel.id, message.id, saved[0].entry_id))
        text = self._added_text(added)
        if saved:
            text += "\nThe message is still there; delete it now?"
        await interaction.edit_original_response(content=text, view=view)

    async def _add_media(
        self,
        member: discord.Member,
        refs: Sequence[MediaRef],
        source: str,
        label: str,
        share_label: bool,
    ) -> list[AddedMedia | str]:
        """Hash each piece of media (in memory) and add it as an entry; or say why not."""
        hashed = await asyncio.gather(*(self.bot.pipeline.hash_for_entry(ref) for ref in refs))
        results: list[AddedMedia | str] = []
        for media, _data in hashed:
            problem = media_problem(media)
            if problem is not None:
                results.append(problem)
                continue
            kept = entry_hashes([media])
            entry = NewEntry(
                hashes=kept.own,
                label=label,
                variants=kept.variants,
                label_shareable=share_label,
            )
            described = describe_media(media, entry)
            results.append(await self._save_entry(member, entry, source, described))
        return results

    async def _save_entry(
        self, member: discord.Member, entry: NewEntry, source: str, description: str
    ) -> AddedMedia:
        """Add one entry and its case, unless the list already holds one of its hashes."""
        guild_id = member.guild.id
        async with self._locks[guild_id], self.bot.db.transaction() as conn:
            existing = await takedowns_db.find_existing_hashes(conn, guild_id, entry.hashes)
            if existing:
                entry_id = existing.get(entry.hashes[0]) or next(iter(existing.values()))
                return AddedMedia(entry_id, entry.hashes, entry.label, description, already=True)
            saved = await takedowns_db.add_entry(
                conn, guild_id, entry, source=source, added_by=member.id
            )
            reason = (
                f"Added entry {saved.id} ({short_hash(entry.hashes[0])}, {description}) "
                f"from {SOURCE_NAMES[source]}; label: {entry.label or 'none'}"
            )
            await record_list_change(conn, member, reason, entry_id=saved.id)
        await self.bot.takedown_index.sync()
        return AddedMedia(saved.id, entry.hashes, entry.label, description)

    def _added_text(self, results: Sequence[AddedMedia | str]) -> str:
        lines = []
        for result in results:
            if isinstance(result, str):
                lines.append(f"{result}. Nothing was added for it.")
            elif result.already:
                lines.append(
                    f"Already on the list as entry **{result.entry_id}** "
                    f"(`{short_hash(result.hashes[0])}`). Nothing was added."
                )
            else:
                lines.append(
                    f"Added entry **{result.entry_id}**: `{short_hash(result.hashes[0])}`, "
                    f"{quoted_label(result.label)} ({result.description})."
                )
        if any(isinstance(r, AddedMedia) and not r.already for r in results):
            lines.append("Re-uploads will be removed from now on.")
        return "\n".join(lines)

    # -- reviewing ---------------------------------------------------------------------------

    @takedown.command(name="remove", description="Remove an entry from the list")
    @app_commands.describe(entry="The entry's number (see /takedown list)")
    @moderators_only()
    async def remove(self, interaction: discord.Interaction[Lightstick], entry: int) -> None:
        member = await require_moderator(interaction)
        guild_id = member.guild.id
        async with self._locks[guild_id], self.bot.db.transaction() as conn:
            found = await takedowns_db.get_entry(conn, guild_id, entry)
            if found is not None:
                await takedowns_db.remove_entry(conn, guild_id, entry)
                await record_list_change(
                    conn, member, f"Removed entry {entry}; label: {found.label or 'none'}"
                )
        if found is None:
            await interaction.response.send_message(
                f"There's no entry {entry} on this server's list. Nothing changed.",
                ephemeral=True,
            )
            return
        await self.bot.takedown_index.sync()
        await interaction.response.send_message(
            f"Removed entry **{entry}** ({quoted_label(found.label)}). It no longer matches, "
            "here or in any server that subscribes to this list.",
            ephemeral=True,
        )

    @takedown.command(name="info", description="Show one entry: label, hashes, who added it")
    @app_commands.describe(entry="The entry's number (see /takedown list)")
    @moderators_only()
    async def info(self, interaction: discord.Interaction[Lightstick], entry: int) -> None:
        assert interaction.guild is not None
        async with self.bot.db.connect() as conn:
            found = await takedowns_db.get_entry(conn, interaction.guild.id, entry)
        if found is None:
            await interaction.response.send_message(
                f"There's no entry {entry} on this server's list.", ephemeral=True
            )
            return
        await interaction.response.send_message(embed=entry_embed(found), ephemeral=True)

    @takedown.command(name="list", description="Page through the list, newest first")
    @app_commands.describe(label="Only entries whose label contains this")
    @moderators_only()
    async def list_entries(
        self, interaction: discord.Interaction[Lightstick], label: str | None = None
    ) -> None:
        assert interaction.guild is not None
        guild_id = interaction.guild.id
        async with self.bot.db.connect() as conn:
            total = await takedowns_db.count_entries(conn, guild_id, label_contains=label)
        if total == 0:
            await interaction.response.send_message(
                f"No entries have a label containing “{discord.utils.escape_markdown(label)}”."
                if label
                else "The takedown list is empty. Add to it with `/takedown add`.",
                ephemeral=True,
            )
            return

        async def render(rows: Slice) -> discord.Embed:
            async with self.bot.db.connect() as conn:
                found = await takedowns_db.list_entries(
                    conn, guild_id, label_contains=label, limit=rows.limit, offset=rows.offset
                )
            embed = discord.Embed(
                title="Takedown list" + (f" · labels containing “{label}”" if label else ""),
                description="\n".join(entry_line(e) for e in found) or "Nothing on this page.",
                colour=discord.Colour.dark_red(),
            )
            embed.set_footer(text=f"{plural(total, 'entry', 'entries')} · /takedown info for one")
            return fit_embed(embed)

        await send_pages(interaction, total, self.PER_PAGE, render)

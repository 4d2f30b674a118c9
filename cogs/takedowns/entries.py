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
from cogs.takedowns.texts import quoted_label, short_hash
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
from moderation.flood_hold import held_entry_info
from moderation.i18n import N_, Phrase, PhrasedError, Texts, member_texts, phrase, source_texts
from moderation.messages import media_refs, parse_message_link
from moderation.pagination import Slice, send_pages
from moderation.shown_text import fit_embed
from moderation.sweeper import copies_text

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

# Where an entry came from, as /takedown info says it; the case of a change keeps the source's
# own word ("upload", "hash", …).
SOURCE_NAMES = {
    "upload": N_("an upload"),
    "message": N_("a message"),
    "hash": N_("a hash"),
    "import": N_("an import"),
    "report": N_("a report taken down"),
    "explicit": N_("an explicit-image flag taken down"),
}
NOTHING_ADDED = N_("{problem} Nothing was added.")
DELETE_THE_MESSAGE = N_("Delete the message")


def media_problem(media: MediaHashes) -> Phrase | None:
    """Why hashed media can't become an entry, in a moderator's words; None if it can."""
    if not media.hashed:
        return phrase("I couldn't use that file ({reason})", reason=media.explanation)
    if not frame_hashes(media.frames):
        return phrase(
            "that picture is almost a single flat colour, so its hash would match unrelated "
            "pictures"
        )
    return None


def describe_media(tr: Texts, media: MediaHashes, entry: NewEntry) -> str:
    hashes = len(entry.hashes)
    if media.kind == "image" and entry.variants:
        return tr.plural(
            "1 picture, {count} hash + {variants} for crops and rotations",
            "1 picture, {count} hashes + {variants} for crops and rotations",
            hashes,
            variants=tr.number(len(entry.variants)),
        )
    if media.kind == "image":
        return tr.plural("1 picture, {count} hash", "1 picture, {count} hashes", hashes)
    # Translators: an animation or video added to the list, e.g. "12 frames, 24 hashes".
    return tr(
        "{frames}, {hashes}",
        frames=tr.plural("{count} frame", "{count} frames", len(media.frames)),
        hashes=tr.plural("{count} hash", "{count} hashes", hashes),
    )


def entry_line(tr: Texts, entry: TakedownEntry) -> str:
    first = f"`{short_hash(entry.hashes[0])}`" if entry.hashes else tr("no hashes")
    more = f" (+{len(entry.hashes) - 1})" if len(entry.hashes) > 1 else ""
    matches = (
        " · " + tr.plural("{count} match", "{count} matches", entry.match_count)
        if entry.match_count
        else ""
    )
    return (
        f"**{entry.id}** · {first}{more} · {quoted_label(tr, entry.label)}{matches}"
        f" · <t:{int(entry.added_at.timestamp())}:d>"
    )


def entry_embed(tr: Texts, entry: TakedownEntry) -> discord.Embed:
    algorithms = sorted({h.algorithm for h in entry.hashes})
    embed = discord.Embed(
        title=tr("Takedown entry {entry}", entry=entry.id), colour=discord.Colour.dark_red()
    )
    embed.add_field(name=tr("Label"), value=quoted_label(tr, entry.label), inline=False)
    embed.add_field(
        name=tr("Algorithm"),
        value=", ".join(
            f"{a} ×{sum(1 for h in entry.hashes if h.algorithm == a)}" for a in algorithms
        )
        or tr("none"),
    )
    embed.add_field(name=tr("Matches"), value=tr.number(entry.match_count))
    when = int(entry.added_at.timestamp())
    who = f"<@{entry.added_by}>" if entry.added_by else tr("unknown")
    source = tr(SOURCE_NAMES[entry.source]) if entry.source in SOURCE_NAMES else entry.source
    embed.add_field(
        name=tr("Added"),
        value=tr(
            "by {who} from {source}, {when} ({ago})",
            who=who,
            source=source,
            when=f"<t:{when}:f>",
            ago=f"<t:{when}:R>",
        ),
        inline=False,
    )
    shown = entry.hashes[:6]
    lines = "\n".join(f"`{h.algorithm}:{h.hex}`" for h in shown)
    if len(entry.hashes) > len(shown):
        more = len(entry.hashes) - len(shown)
        lines += "\n" + tr.plural("…and {count} more hash", "…and {count} more hashes", more)
    embed.add_field(name=tr("Hashes"), value=lines or tr("none"), inline=False)
    embed.set_footer(
        text=tr("Label shown to subscribing servers")
        if entry.label_shareable
        else tr("Label kept private from subscribing servers")
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

    def __init__(
        self, channel_id: int, message_id: int, entry_id: int, tr: Texts | None = None
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=(tr or source_texts())(DELETE_THE_MESSAGE),
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
    tr = member_texts(interaction)
    channel = interaction.guild.get_channel_or_thread(channel_id)
    message = None
    if isinstance(channel, discord.TextChannel | discord.Thread):
        try:
            message = await channel.fetch_message(message_id)
        except discord.NotFound:
            message = None
        except discord.Forbidden:
            await interaction.response.send_message(
                tr(
                    "I can't read {channel} any more, so I can't delete the message.",
                    channel=channel.mention,
                ),
                ephemeral=True,
            )
            return
    if message is None:
        await interaction.response.edit_message(
            content=tr("That message is already gone."), view=None
        )
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
        await interaction.response.send_message(tr.read(removal.problem), ephemeral=True)
        return
    await interaction.response.edit_message(
        content=tr(
            "Deleted the message; its media is entry **{entry}** on the list.", entry=entry_id
        ),
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
        tr = member_texts(interaction)
        given = [source for source in (image, message_link, hash) if source]
        if len(given) != 1:
            await interaction.response.send_message(
                tr("Give one of `image`, `message_link` or `hash` to add. Nothing was added.")
                if not given
                else tr("Give just one of `image`, `message_link` or `hash`. Nothing was added."),
                ephemeral=True,
            )
            return
        text = " ".join((label or "").split())
        if hash:
            await self._add_hash(interaction, member, hash, text, share_label)
        elif image is not None:
            ref = MediaRef(f"attachment:{image.id}", image.url, "attachment", image.filename)
            await interaction.response.defer(ephemeral=True, thinking=True)
            added = await self._add_media(tr, member, [ref], "upload", text, share_label)
            text = await self._added_text(tr, member.guild.id, added)
            await interaction.edit_original_response(content=text)
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
        channel = getattr(message.channel, "mention", f"<#{message.channel.id}>")
        label = member_texts(interaction)("From a message in {channel}", channel=channel)
        await self._add_message(interaction, member, message, label, False)

    async def _add_hash(
        self,
        interaction: discord.Interaction[Lightstick],
        member: discord.Member,
        text: str,
        label: str,
        share_label: bool,
    ) -> None:
        tr = member_texts(interaction)
        try:
            value = parse_hash(text)
        except PhrasedError as exc:
            await interaction.response.send_message(
                tr(
                    "That isn't a hash I can use: {reason}. Nothing was added.",
                    reason=tr.read(exc.phrase),
                ),
                ephemeral=True,
            )
            return
        entry = NewEntry(hashes=(value,), label=label, label_shareable=share_label)
        one = tr.plural("{count} hash", "{count} hashes", 1)
        added = await self._save_entry(member, entry, "hash", one)
        text = await self._added_text(tr, member.guild.id, [added])
        await interaction.response.send_message(text, ephemeral=True)

    async def _linked_message(
        self, interaction: discord.Interaction[Lightstick], member: discord.Member, link: str
    ) -> discord.Message | None:
        """The message a link points to, if it's in this server and the moderator can see it."""
        assert interaction.guild is not None
        tr = member_texts(interaction)
        found = parse_message_link(link)
        problem = None
        if found is None:
            problem = tr(
                "That isn't a message link. Use **Copy Message Link** on the message "
                "(or the **Add to takedown list** menu)."
            )
        elif found.guild_id != interaction.guild.id:
            problem = tr("That message is in another server; add it there.")
        channel = interaction.guild.get_channel_or_thread(found.channel_id) if found else None
        if problem is None and not isinstance(channel, discord.abc.Messageable):
            problem = tr("I can't find that channel in this server.")
        elif problem is None and not channel.permissions_for(member).read_message_history:
            problem = tr("You can't read that channel, so you can't add from it.")
        if problem is not None:
            await interaction.response.send_message(
                tr(NOTHING_ADDED, problem=problem), ephemeral=True
            )
            return None
        assert found is not None and isinstance(channel, discord.abc.Messageable)
        try:
            return await channel.fetch_message(found.message_id)
        except discord.NotFound:
            problem = tr("That message doesn't exist any more (or never did).")
        except discord.Forbidden:
            problem = tr(
                "I can't read {channel}: give my role View Channel and Read Message History there.",
                channel=channel.mention,
            )
        await interaction.response.send_message(tr(NOTHING_ADDED, problem=problem), ephemeral=True)
        return None

    async def _add_message(
        self,
        interaction: discord.Interaction[Lightstick],
        member: discord.Member,
        message: discord.Message,
        label: str,
        share_label: bool,
    ) -> None:
        tr = member_texts(interaction)
        refs = media_refs(message)
        if not refs:
            await interaction.response.send_message(
                tr("That message has no images or videos to add. Nothing was added."),
                ephemeral=True,
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert message.guild is not None
        self.bot.sweeper.spare(message.guild.id, message.id)  # the answer offers to delete it
        added = await self._add_media(tr, member, refs, "message", label, share_label)
        saved = [a for a in added if isinstance(a, AddedMedia)]
        view = discord.utils.MISSING
        if saved:
            view = discord.ui.View(timeout=900)  # the button itself works after that too
            button = DeleteMessageButton(message.channel.id, message.id, saved[0].entry_id, tr)
            view.add_item(button)
        text = await self._added_text(tr, message.guild.id, added)
        if saved:
            text += "\n" + tr("The message is still there; delete it now?")
        await interaction.edit_original_response(content=text, view=view)

    async def _add_media(
        self,
        tr: Texts,
        member: discord.Member,
        refs: Sequence[MediaRef],
        source: str,
        label: str,
        share_label: bool,
    ) -> list[AddedMedia | Phrase]:
        """Hash each piece of media (in memory) and add it as an entry; or say why not."""
        hashed = await asyncio.gather(*(self.bot.pipeline.hash_for_entry(ref) for ref in refs))
        results: list[AddedMedia | Phrase] = []
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
                signature=media.signature,
            )
            described = describe_media(tr, media, entry)
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

    async def _added_text(
        self, tr: Texts, guild_id: int, results: Sequence[AddedMedia | Phrase]
    ) -> str:
        lines = []
        for result in results:
            if isinstance(result, Phrase):
                lines.append(tr("{problem}. Nothing was added for it.", problem=tr.read(result)))
            elif result.already:
                lines.append(
                    tr(
                        "Already on the list as entry **{entry}** (`{hash}`). Nothing was added.",
                        entry=result.entry_id,
                        hash=short_hash(result.hashes[0]),
                    )
                )
            else:
                lines.append(
                    tr(
                        "Added entry **{entry}**: `{hash}`, {label} ({description}).",
                        entry=result.entry_id,
                        hash=short_hash(result.hashes[0]),
                        label=quoted_label(tr, result.label),
                        description=result.description,
                    )
                )
        if any(isinstance(r, AddedMedia) and not r.already for r in results):
            settings = await self.bot.guild_settings.get(guild_id)
            lines.append(copies_text(tr, settings.recent_days))
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
        tr = member_texts(interaction)
        if found is None:
            await interaction.response.send_message(
                tr("There's no entry {entry} on this server's list. Nothing changed.", entry=entry),
                ephemeral=True,
            )
            return
        await self.bot.takedown_index.sync()
        await interaction.response.send_message(
            tr(
                "Removed entry **{entry}** ({label}). It no longer matches, here or in any server "
                "that subscribes to this list.",
                entry=entry,
                label=quoted_label(tr, found.label),
            ),
            ephemeral=True,
        )

    @takedown.command(name="info", description="Show one entry: label, hashes, who added it")
    @app_commands.describe(entry="The entry's number (see /takedown list)")
    @moderators_only()
    async def info(self, interaction: discord.Interaction[Lightstick], entry: int) -> None:
        assert interaction.guild is not None
        tr = member_texts(interaction)
        async with self.bot.db.connect() as conn:
            found = await takedowns_db.get_entry(conn, interaction.guild.id, entry)
            embed, view = await held_entry_info(
                conn, tr, interaction.guild.id, entry, entry_embed(tr, found) if found else None
            )
        if embed is None:
            await interaction.response.send_message(
                tr("There's no entry {entry} on this server's list.", entry=entry), ephemeral=True
            )
            return
        await interaction.response.send_message(
            embed=embed, view=view or discord.utils.MISSING, ephemeral=True
        )

    @takedown.command(name="list", description="Page through the list, newest first")
    @app_commands.describe(label="Only entries whose label contains this")
    @moderators_only()
    async def list_entries(
        self, interaction: discord.Interaction[Lightstick], label: str | None = None
    ) -> None:
        assert interaction.guild is not None
        tr = member_texts(interaction)
        guild_id = interaction.guild.id
        async with self.bot.db.connect() as conn:
            total = await takedowns_db.count_entries(conn, guild_id, label_contains=label)
        if total == 0:
            await interaction.response.send_message(
                tr(
                    "No entries have a label containing “{label}”.",
                    label=discord.utils.escape_markdown(label),
                )
                if label
                else tr("The takedown list is empty. Add to it with `/takedown add`."),
                ephemeral=True,
            )
            return

        async def render(rows: Slice) -> discord.Embed:
            async with self.bot.db.connect() as conn:
                found = await takedowns_db.list_entries(
                    conn, guild_id, label_contains=label, limit=rows.limit, offset=rows.offset
                )
            embed = discord.Embed(
                title=tr("Takedown list · labels containing “{label}”", label=label)
                if label
                else tr("Takedown list"),
                description="\n".join(entry_line(tr, e) for e in found)
                or tr("Nothing on this page."),
                colour=discord.Colour.dark_red(),
            )
            embed.set_footer(
                text=tr.plural(
                    "{count} entry · /takedown info for one",
                    "{count} entries · /takedown info for one",
                    total,
                )
            )
            return fit_embed(embed)

        await send_pages(interaction, total, self.PER_PAGE, render)

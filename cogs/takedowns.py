"""/takedown ... and the "Add to takedown list" menu: the server's list of known abusive media.

A moderator adds a known deepfake once, from an upload, a message or a hash string; from then
on the scanner removes its re-uploads. Only hashes are kept: the media is downloaded into
memory, hashed in the worker pool and dropped, and no answer ever shows the picture. Lists
travel between servers by share code, and between platforms as hash list files
(`core.hash_lists`). Every change is a case, and the live index is synced right after the
change commits, so matching sees it at once.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import re
import time
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from cogs.access import admins_only, moderators_only, require_admin, require_moderator
from cogs.pagination import send_pages
from cogs.scanner import ScanResult, media_refs
from core.hash_lists import LABEL_LIMIT, MAX_LINES, ParsedList, parse_hash_list, write_hash_list
from core.hashes import Hash, parse_hash
from db import cases
from db import takedowns as takedowns_db
from db.takedowns import NewEntry, TakedownEntry
from media.fetch import FetchError
from media.hashing import FrameHashes, MediaHashes, Outcome
from media.pipeline import MediaRef
from media.workers import PoolBusy

if TYPE_CHECKING:
    from bot import Lightstick
    from cogs.moderation import Moderation
    from cogs.scanner import Scanner

log = logging.getLogger(__name__)

MESSAGE_LINK = re.compile(
    r"https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/([0-9]+)/([0-9]+)/([0-9]+)"
)
CASE_KIND = "takedown_list"
SCAN_LIMIT_DEFAULT = 100
SCAN_LIMIT_MAX = 1000  # messages one /takedown scan reads back
SOURCE_NAMES = {
    "upload": "an upload",
    "message": "a message",
    "hash": "a hash",
    "import": "an import",
    "report": "a report taken down",
}


def short_hash(value: Hash) -> str:
    return f"{value.algorithm}:{value.hex[:8]}…"


def quoted_label(label: str) -> str:
    return f"“{discord.utils.escape_markdown(label)}”" if label else "no label"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else many or word + 's'}"


def entry_hashes(frames: Sequence[FrameHashes]) -> tuple[Hash, ...]:
    """What an entry keeps of hashed frames: PDQ and pHash of every frame that can match.

    Near-uniform frames are left out: their hashes would match any other flat picture.
    """
    found: dict[Hash, None] = {}
    for frame in frames:
        if frame.matchable:
            found[frame.pdq] = None
            found[frame.phash] = None
    return tuple(found)


def variant_hashes(media: MediaHashes, own: Collection[Hash]) -> tuple[Hash, ...]:
    """What an entry keeps of a still image's crops and rotations, besides its own hashes."""
    found = dict.fromkeys((*entry_hashes(media.extra), *media.edge_phash))
    return tuple(h for h in found if h not in own)


def media_problem(media: MediaHashes) -> str | None:
    """Why hashed media can't become an entry, in a moderator's words; None if it can."""
    if not media.hashed:
        return f"I couldn't use that file ({media.reason or media.outcome})"
    if not entry_hashes(media.frames):
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
    return embed


def problems_text(parsed: ParsedList, limit: int) -> str:
    shown = [f"• {p}" for p in parsed.problems[:limit]]
    rest = len(parsed.problems) - len(shown)
    if rest:
        shown.append(f"…and {plural(rest, 'more problem')} (all listed in the attached file)")
    return "\n".join(shown)


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
        cog = interaction.client.get_cog("Takedowns")
        assert isinstance(cog, Takedowns)
        await cog.delete_added_message(interaction, self.channel_id, self.message_id, self.entry_id)


@dataclass
class ScanTally:
    """What one /takedown scan read, checked and did."""

    read: int = 0
    with_media: int = 0
    files: int = 0
    unreadable: int = 0
    removed: int = 0
    flagged: int = 0
    stopped: str = ""

    def add(self, result: ScanResult) -> None:
        self.with_media += 1
        self.files += len(result.hashed)
        self.unreadable += sum(1 for media in result.hashed if not media.hashes.hashed)
        if result.match is not None:
            if result.removed:
                self.removed += 1
            else:
                self.flagged += 1

    def progress(self, channel: discord.abc.GuildChannel | discord.Thread, limit: int) -> str:
        return (
            f"Scanning {channel.mention}… {self.read:,} of up to {limit:,} messages read, "
            f"{plural(self.with_media, 'with media', 'with media')}, "
            f"{plural(self.removed + self.flagged, 'match', 'matches')} so far."
        )

    def summary(self, channel: discord.abc.GuildChannel | discord.Thread, limit: int) -> str:
        lines = [
            f"Scanned {plural(self.read, 'message')} in {channel.mention}"
            + (f" (stopped early: {self.stopped})" if self.stopped else "")
            + f": {self.with_media:,} had images or videos ({plural(self.files, 'file')})."
        ]
        matched = self.removed + self.flagged
        if matched:
            lines.append(
                f"{plural(matched, 'message')} matched the takedown list: "
                f"{self.removed:,} removed, {self.flagged:,} sent to the moderators to review."
            )
        else:
            lines.append("Nothing matched the takedown list.")
        if self.unreadable:
            lines.append(
                f"{plural(self.unreadable, 'file')} couldn't be checked (rejected or unreadable)."
            )
        return "\n".join(lines)


class Takedowns(commands.Cog):
    """The takedown list: add, review, import, export and share hashes of known abusive media."""

    PER_PAGE = 10  # entries a page of /takedown list
    MAX_IMPORT_BYTES = 16 * 1024 * 1024  # 100,000 lines of ~80 characters fit with room to spare
    PROBLEMS_SHOWN = 15  # bad lines named in the answer; the rest come as a file
    SCAN_LIMIT_DEFAULT = SCAN_LIMIT_DEFAULT
    SCAN_LIMIT_MAX = SCAN_LIMIT_MAX
    PROGRESS_SECONDS = 2.0  # how often the scan's answer is edited with its progress

    takedown = app_commands.Group(
        name="takedown",
        description="The list of known abusive images and videos removed on sight",
        guild_only=True,
        default_permissions=discord.Permissions(manage_messages=True),
    )

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        # One change at a time per server in this process, so duplicate checks don't race.
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.add_menu = app_commands.ContextMenu(
            name="Add to takedown list", callback=self.add_from_menu
        )
        self.add_menu.guild_only = True
        self.add_menu.default_permissions = discord.Permissions(manage_messages=True)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.add_menu)
        self.bot.add_dynamic_items(DeleteMessageButton)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.add_menu.name, type=self.add_menu.type)
        self.bot.remove_dynamic_items(DeleteMessageButton)

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
        found = MESSAGE_LINK.search(link)
        problem = None
        if found is None:
            problem = (
                "That isn't a message link. Use **Copy Message Link** on the message "
                "(or the **Add to takedown list** menu)."
            )
        elif int(found[1]) != interaction.guild.id:
            problem = "That message is in another server; add it there."
        channel = interaction.guild.get_channel_or_thread(int(found[2])) if found else None
        if problem is None and not isinstance(channel, discord.abc.Messageable):
            problem = "I can't find that channel in this server."
        elif problem is None and not channel.permissions_for(member).read_message_history:  # type: ignore[union-attr]
            problem = "You can't read that channel, so you can't add from it."
        if problem is not None:
            await interaction.response.send_message(f"{problem} Nothing was added.", ephemeral=True)
            return None
        assert found is not None and channel is not None
        try:
            return await channel.fetch_message(int(found[3]))  # type: ignore[union-attr]
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
        hashed = await asyncio.gather(*(self._hash_for_entry(ref) for ref in refs))
        results: list[AddedMedia | str] = []
        for media in hashed:
            problem = media_problem(media)
            if problem is not None:
                results.append(problem)
                continue
            hashes = entry_hashes(media.frames)
            entry = NewEntry(
                hashes=hashes,
                label=label,
                variants=variant_hashes(media, hashes),
                label_shareable=share_label,
            )
            described = describe_media(media, entry)
            results.append(await self._save_entry(member, entry, source, described))
        return results

    async def _hash_for_entry(self, ref: MediaRef) -> MediaHashes:
        """The entry hashes of one file: its frames, and crops and rotations of a still image.

        The bytes live in this call only; the worker pool decodes them under its limits.
        """
        try:
            data = await self.bot.pipeline.fetch(ref)
            return await self.bot.pipeline.pool.entry_hashes(data)
        except FetchError as exc:
            return MediaHashes.failed(Outcome.REJECTED, exc.reason)
        except PoolBusy:
            return MediaHashes.failed(
                Outcome.REJECTED, "the bot is busy hashing other uploads; try again in a minute"
            )

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
            await cases.create_case(
                conn,
                guild_id,
                CASE_KIND,
                moderator_id=member.id,
                entry_id=saved.id,
                reason=(
                    f"Added entry {saved.id} ({short_hash(entry.hashes[0])}, {description}) "
                    f"from {SOURCE_NAMES[source]}; label: {entry.label or 'none'}"
                ),
            )
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

    async def delete_added_message(
        self,
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
            await interaction.response.edit_message(
                content="That message is already gone.", view=None
            )
            return
        problem = await self.moderation.remove_message(
            message,
            moderator=member,
            reason=f"Added to the takedown list as entry {entry_id}",
            entry_id=entry_id,
        )
        if problem:
            await interaction.response.send_message(problem, ephemeral=True)
            return
        await interaction.response.edit_message(
            content=f"Deleted the message; its media is entry **{entry_id}** on the list.",
            view=None,
        )

    @property
    def moderation(self) -> Moderation:
        cog = self.bot.get_cog("Moderation")
        assert cog is not None, "cogs.moderation must be loaded to delete messages"
        return cog  # type: ignore[return-value]

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
                await cases.create_case(
                    conn,
                    guild_id,
                    CASE_KIND,
                    moderator_id=member.id,  # no entry_id: the entry is gone, its number stays
                    reason=f"Removed entry {entry}; label: {found.label or 'none'}",
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
        pages = math.ceil(total / self.PER_PAGE)

        async def render(page: int) -> discord.Embed:
            async with self.bot.db.connect() as conn:
                found = await takedowns_db.list_entries(
                    conn,
                    guild_id,
                    label_contains=label,
                    limit=self.PER_PAGE,
                    offset=page * self.PER_PAGE,
                )
            embed = discord.Embed(
                title="Takedown list" + (f" · labels containing “{label}”" if label else ""),
                description="\n".join(entry_line(e) for e in found) or "Nothing on this page.",
                colour=discord.Colour.dark_red(),
            )
            embed.set_footer(text=f"{plural(total, 'entry', 'entries')} · /takedown info for one")
            return embed

        await send_pages(interaction, pages, render)

    # -- files -------------------------------------------------------------------------------

    @takedown.command(name="export", description="Admins: download the list as a CSV file")
    @admins_only()
    async def export(self, interaction: discord.Interaction[Lightstick]) -> None:
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        rows: list[tuple[Hash, str]] = []
        entries = 0
        async with self.bot.db.connect() as conn:
            async for entry in takedowns_db.iter_all_entries(conn, interaction.guild.id):
                entries += 1
                rows += [(value, entry.label) for value in entry.hashes]
        if not rows:
            await interaction.edit_original_response(
                content="The takedown list is empty, so there's nothing to export yet."
            )
            return
        text = await asyncio.to_thread(write_hash_list, rows)
        file = discord.File(io.BytesIO(text.encode()), filename="takedown-list.csv")
        await interaction.edit_original_response(
            content=(
                f"The takedown list: {plural(entries, 'entry', 'entries')}, "
                f"{plural(len(rows), 'hash', 'hashes')}, one a line (`algorithm,hash,label`). "
                "It holds hashes only, no pictures; labels are in it, so share it with care."
            ),
            attachments=[file],
        )

    @takedown.command(
        name="import", description="Admins: add every hash in a CSV or ThreatExchange file"
    )
    @app_commands.describe(file="A CSV with the header algorithm,hash,label, or lines `pdq <hex>`")
    @admins_only()
    async def import_list(
        self, interaction: discord.Interaction[Lightstick], file: discord.Attachment
    ) -> None:
        member = require_admin(interaction)
        if file.size > self.MAX_IMPORT_BYTES:
            await interaction.response.send_message(
                f"That file is {file.size / 1_048_576:.1f} MB; an import takes at most "
                f"{self.MAX_IMPORT_BYTES // 1_048_576} MB ({MAX_LINES:,} lines). "
                "Split it and import the parts. Nothing was imported.",
                ephemeral=True,
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        started = time.perf_counter()
        try:
            data = await file.read()
        except discord.HTTPException as exc:
            log.warning("Could not download import file %s: %s", file.id, exc)
            await interaction.edit_original_response(
                content="I couldn't download that file from Discord. Try again in a moment."
            )
            return
        downloaded = time.perf_counter()
        parsed = await asyncio.to_thread(parse_hash_list, data)
        log.info(
            "Import file of %d bytes: downloaded in %.2f s, checked in %.2f s, %d problems",
            len(data),
            downloaded - started,
            time.perf_counter() - downloaded,
            len(parsed.problems),
        )
        del data  # the file is checked; only the parsed lines are needed now
        if not parsed.ok:
            await self._refuse_import(interaction, file.filename, parsed)
            return
        added, skipped = await self._import(member, file.filename, parsed)
        seconds = time.perf_counter() - started
        log.info(
            "Imported %d entries (%d duplicates) into guild %s in %.2f s",
            added,
            len(skipped),
            member.guild.id,
            seconds,
        )
        lines = [
            f"Imported **{plural(added, 'entry', 'entries')}** from `{file.filename}` "
            f"in {seconds:.1f} s; they match from now on."
            if added
            else f"Nothing new in `{file.filename}`: every hash is already on the list."
        ]
        if skipped:
            shown = ", ".join(skipped[: self.PROBLEMS_SHOWN])
            more = len(skipped) - min(len(skipped), self.PROBLEMS_SHOWN)
            lines.append(
                f"Skipped {plural(len(skipped), 'duplicate')} (not added twice): {shown}"
                + (f" and {more:,} more" if more else "")
                + "."
            )
        await interaction.edit_original_response(content="\n".join(lines))

    async def _refuse_import(
        self, interaction: discord.Interaction[Lightstick], filename: str, parsed: ParsedList
    ) -> None:
        count = len(parsed.problems)
        text = (
            f"`{filename}` can't be imported, so nothing was: "
            f"{plural(count, 'problem')} to fix first.\n"
            + problems_text(parsed, self.PROBLEMS_SHOWN)
        )
        attachments = []
        if count > self.PROBLEMS_SHOWN:
            listing = "\n".join(str(p) for p in parsed.problems) + "\n"
            attachments.append(
                discord.File(io.BytesIO(listing.encode()), filename="import-problems.txt")
            )
        await interaction.edit_original_response(content=text[:2000], attachments=attachments)

    async def _import(
        self, member: discord.Member, filename: str, parsed: ParsedList
    ) -> tuple[int, list[str]]:
        """Add the file in one transaction with its case, then sync: how many, and what not."""
        guild_id = member.guild.id
        async with self._locks[guild_id]:
            started = time.perf_counter()
            async with self.bot.db.transaction() as conn:
                result = await takedowns_db.import_list(conn, guild_id, parsed, added_by=member.id)
                if result.entry_ids:
                    await cases.create_case(
                        conn,
                        guild_id,
                        CASE_KIND,
                        moderator_id=member.id,
                        reason=(
                            f"Imported {plural(len(result.entry_ids), 'entry', 'entries')} from "
                            f"{filename} ({parsed.format}); "
                            f"{plural(len(result.duplicates), 'duplicate')} skipped"
                        ),
                    )
            saved = time.perf_counter()
            while await self.bot.takedown_index.sync():
                pass  # a big import is more than one batch of the change log
            log.info(
                "Import of %d entries: saved in %.2f s, in the index %.2f s later",
                len(result.entry_ids),
                saved - started,
                time.perf_counter() - saved,
            )
        skipped = [
            f"line {d.line} (already entry {d.entry_id})"
            if d.entry_id is not None
            else f"line {d.line} (same hash as line {d.first_line})"
            for d in result.duplicates
        ]
        return len(result.entry_ids), skipped

    # -- scanning ----------------------------------------------------------------------------

    @takedown.command(name="scan", description="Check recent messages against the list")
    @app_commands.describe(
        channel="The channel to scan (default: this one)",
        limit=f"How many recent messages to check (default {SCAN_LIMIT_DEFAULT})",
    )
    @moderators_only()
    async def scan(
        self,
        interaction: discord.Interaction[Lightstick],
        channel: discord.TextChannel | discord.Thread | None = None,
        limit: app_commands.Range[int, 1, SCAN_LIMIT_MAX] = SCAN_LIMIT_DEFAULT,
    ) -> None:
        member = await require_moderator(interaction)
        guild = member.guild
        target = channel or interaction.channel
        problem = None
        scanner: Scanner | None = self.bot.get_cog("Scanner")  # type: ignore[assignment]
        if not isinstance(target, discord.TextChannel | discord.Thread):
            problem = "Pick a text channel or thread to scan."
        elif scanner is None:
            problem = "Scanning is switched off on this bot, so nothing can be checked."
        elif not target.permissions_for(member).read_message_history:
            problem = f"You can't read {target.mention}, so you can't scan it."
        elif not (perms := target.permissions_for(guild.me)).read_message_history or (
            not perms.view_channel
        ):
            problem = (
                f"I can't read {target.mention}: give my role View Channel and "
                "Read Message History there."
            )
        elif not self.bot.takedown_index.has_any(await self.bot.takedown_index.scope(guild.id)):
            problem = (
                "The takedown list is empty (and this server subscribes to no shared list), "
                "so there's nothing to look for. Add entries first."
            )
        if problem is not None:
            await interaction.response.send_message(
                f"{problem} Nothing was scanned.", ephemeral=True
            )
            return
        assert scanner is not None and isinstance(target, discord.TextChannel | discord.Thread)
        await interaction.response.send_message(
            f"Scanning the last {plural(limit, 'message')} in {target.mention}…", ephemeral=True
        )
        tally = await self._scan_history(interaction, scanner, target, limit)
        await interaction.edit_original_response(content=tally.summary(target, limit))

    async def _scan_history(
        self,
        interaction: discord.Interaction[Lightstick],
        scanner: Scanner,
        channel: discord.TextChannel | discord.Thread,
        limit: int,
    ) -> ScanTally:
        tally = ScanTally()
        last_progress = time.monotonic()
        try:
            async for message in channel.history(limit=limit):
                tally.read += 1
                if message.author.id == self.bot.user.id or not media_refs(message):  # type: ignore[union-attr]
                    continue
                result = await scanner.scan(message, skip_channels=False)
                tally.add(result)
                if time.monotonic() - last_progress >= self.PROGRESS_SECONDS:
                    last_progress = time.monotonic()
                    await interaction.edit_original_response(content=tally.progress(channel, limit))
        except discord.Forbidden:
            tally.stopped = "I lost access to the channel's history"
        except discord.HTTPException as exc:
            log.warning("Scan of channel %s stopped: %s", channel.id, exc)
            tally.stopped = "Discord stopped answering"
        return tally

    # -- sharing -----------------------------------------------------------------------------

    @takedown.command(name="share", description="Admins: let other servers subscribe to this list")
    @app_commands.describe(stop="Stop sharing: subscribers stop matching against this list")
    @admins_only()
    async def share(self, interaction: discord.Interaction[Lightstick], stop: bool = False) -> None:
        member = require_admin(interaction)
        guild_id = member.guild.id
        async with self.bot.db.transaction() as conn:
            before = await takedowns_db.get_own_list(conn, guild_id)
            after = await takedowns_db.set_shared(conn, guild_id, not stop)
            if before.shared != after.shared:
                await cases.create_case(
                    conn,
                    guild_id,
                    CASE_KIND,
                    moderator_id=member.id,
                    reason=f"{'Stopped sharing' if stop else 'Shared'} the takedown list",
                )
        await self.bot.takedown_index.sync()
        if stop:
            await interaction.response.send_message(
                "This server's list is no longer shared: subscribing servers stop matching "
                "against it now."
                if before.shared
                else "This server's list wasn't shared. Nothing changed.",
                ephemeral=True,
            )
            return
        await interaction.response.send_message(
            f"This server's takedown list is shared. Its code is `{after.share_code}`.\n"
            "Another server's admins can subscribe with "
            f"`/takedown subscribe code:{after.share_code} action:remove` (or `action:flag`). "
            "They match against your entries and see their labels only where you chose "
            "`share_label`. Entries you remove stop matching for them at once.",
            ephemeral=True,
        )

    @takedown.command(name="subscribe", description="Admins: match against another server's list")
    @app_commands.describe(
        code="The share code the other server's admins gave you",
        action="remove: take re-uploads down; flag: send them to the moderators to review",
    )
    @admins_only()
    async def subscribe(
        self,
        interaction: discord.Interaction[Lightstick],
        code: app_commands.Range[str, 1, 64],
        action: Literal["remove", "flag"],
    ) -> None:
        member = require_admin(interaction)
        guild_id = member.guild.id
        async with self.bot.db.transaction() as conn:
            found = await takedowns_db.get_list_by_code(conn, code)
            if found is not None and found.owner_guild_id != guild_id:
                await takedowns_db.subscribe(conn, guild_id, found.id, action, member.id)
                size = await takedowns_db.count_list_entries(conn, found.id)
                await cases.create_case(
                    conn,
                    guild_id,
                    CASE_KIND,
                    moderator_id=member.id,
                    reason=f"Subscribed to shared list {found.share_code} (action: {action})",
                )
        if found is None or found.owner_guild_id == guild_id:
            await interaction.response.send_message(
                "That's this server's own list; it is always used here. Nothing changed."
                if found is not None
                else f"No shared list has the code `{discord.utils.escape_markdown(code)}`. "
                "Check it with the other server's admins. Nothing changed.",
                ephemeral=True,
            )
            return
        await self.bot.takedown_index.sync()
        does = "removed" if action == "remove" else "sent to the moderators to review"
        await interaction.response.send_message(
            f"Subscribed to list `{found.share_code}` ({plural(size, 'entry', 'entries')}). "
            f"Re-uploads of its entries will be {does} here, from now on.",
            ephemeral=True,
        )

    @takedown.command(name="unsubscribe", description="Admins: stop matching a shared list")
    @app_commands.describe(code="The share code of the list to leave")
    @admins_only()
    async def unsubscribe(
        self, interaction: discord.Interaction[Lightstick], code: app_commands.Range[str, 1, 64]
    ) -> None:
        member = require_admin(interaction)
        guild_id = member.guild.id
        async with self.bot.db.transaction() as conn:
            found = await takedowns_db.get_list_by_code(conn, code, shared_only=False)
            left = found is not None and await takedowns_db.unsubscribe(conn, guild_id, found.id)
            if left:
                await cases.create_case(
                    conn,
                    guild_id,
                    CASE_KIND,
                    moderator_id=member.id,
                    reason=f"Unsubscribed from shared list {code.strip()}",
                )
        if not left:
            await interaction.response.send_message(
                f"This server isn't subscribed to `{discord.utils.escape_markdown(code)}`. "
                "Nothing changed.",
                ephemeral=True,
            )
            return
        await self.bot.takedown_index.sync()
        await interaction.response.send_message(
            f"Unsubscribed from `{code.strip()}`: its entries no longer match here.",
            ephemeral=True,
        )

    @unsubscribe.autocomplete("code")
    async def subscribed_codes(
        self, interaction: discord.Interaction[Lightstick], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild is None:
            return []
        async with self.bot.db.connect() as conn:
            found = await takedowns_db.subscribed_lists(conn, interaction.guild.id)
        return [
            app_commands.Choice(name=f"{hash_list.share_code} ({sub.action})", value=code)
            for sub, hash_list in found
            if (code := hash_list.share_code or "") and current.lower() in code.lower()
        ][:25]


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Takedowns(bot))

"""The list as a file: `/takedown export` and `/takedown import` (CSV or ThreatExchange lines),
checked whole before anything is applied."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections import defaultdict
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from cogs.takedowns.group import record_list_change, takedown
from cogs.takedowns.texts import plural
from core.hash_lists import MAX_LINES, ParsedList, parse_hash_list, write_hash_list
from core.hashes import Hash
from db import takedowns as takedowns_db
from moderation.access import admins_only, require_admin
from moderation.shown_text import MESSAGE, shorten

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)


def problems_text(parsed: ParsedList, limit: int) -> str:
    shown = [f"• {p}" for p in parsed.problems[:limit]]
    rest = len(parsed.problems) - len(shown)
    if rest:
        shown.append(f"…and {plural(rest, 'more problem')} (all listed in the attached file)")
    return "\n".join(shown)


class FileCommands:
    """Mixed into the takedowns cog: lists in and out as files."""

    bot: Lightstick
    _locks: defaultdict[int, asyncio.Lock]
    MAX_IMPORT_BYTES = 16 * 1024 * 1024  # 100,000 lines of ~80 characters fit with room to spare
    PROBLEMS_SHOWN = 15  # bad lines named in the answer; the rest come as a file

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
        await interaction.edit_original_response(
            content=shorten(text, MESSAGE), attachments=attachments
        )

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
                    reason = (
                        f"Imported {plural(len(result.entry_ids), 'entry', 'entries')} from "
                        f"{filename} ({parsed.format}); "
                        f"{plural(len(result.duplicates), 'duplicate')} skipped"
                    )
                    await record_list_change(conn, member, reason)
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

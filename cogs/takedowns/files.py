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
from core.hash_lists import MAX_LINES, ParsedList, parse_hash_list, write_hash_list
from core.hashes import Hash
from db import takedowns as takedowns_db
from db.takedowns import Duplicate
from moderation.access import admins_only, require_admin
from moderation.i18n import Texts, member_texts
from moderation.shown_text import MESSAGE, shorten
from moderation.sweeper import copies_text

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)


def problems_text(tr: Texts, parsed: ParsedList, limit: int) -> str:
    """The first bad lines of a refused import, in the moderator's language."""
    shown = [f"• {tr.read(p.said)}" for p in parsed.problems[:limit]]
    rest = len(parsed.problems) - len(shown)
    if rest:
        shown.append(
            tr.plural(
                "…and {count} more problem (all listed in the attached file)",
                "…and {count} more problems (all listed in the attached file)",
                rest,
            )
        )
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
        tr = member_texts(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        rows: list[tuple[Hash, str]] = []
        entries = 0
        async with self.bot.db.connect() as conn:
            async for entry in takedowns_db.iter_all_entries(conn, interaction.guild.id):
                entries += 1
                rows += [(value, entry.label) for value in entry.hashes]
        if not rows:
            await interaction.edit_original_response(
                content=tr("The takedown list is empty, so there's nothing to export yet.")
            )
            return
        text = await asyncio.to_thread(write_hash_list, rows)
        file = discord.File(io.BytesIO(text.encode()), filename="takedown-list.csv")
        await interaction.edit_original_response(
            content=tr(
                "The takedown list: {entries}, {hashes}, one a line (`algorithm,hash,label`). It "
                "holds hashes only, no pictures; labels are in it, so share it with care.",
                entries=tr.plural("{count} entry", "{count} entries", entries),
                hashes=tr.plural("{count} hash", "{count} hashes", len(rows)),
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
        tr = member_texts(interaction)
        if file.size > self.MAX_IMPORT_BYTES:
            await interaction.response.send_message(
                tr(
                    "That file is {size} MB; an import takes at most {most} MB ({lines}). "
                    "Split it and import the parts. Nothing was imported.",
                    size=tr.number(round(file.size / 1_048_576, 1)),
                    most=tr.number(self.MAX_IMPORT_BYTES // 1_048_576),
                    lines=tr.plural("{count} line", "{count} lines", MAX_LINES),
                ),
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
                content=tr("I couldn't download that file from Discord. Try again in a moment.")
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
            await self._refuse_import(tr, interaction, file.filename, parsed)
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
        settings = await self.bot.guild_settings.get(member.guild.id)
        lines = [
            tr.plural(
                "Imported **{count} entry** from `{file}` in {seconds} s.",
                "Imported **{count} entries** from `{file}` in {seconds} s.",
                added,
                file=file.filename,
                seconds=tr.number(round(seconds, 1)),
            )
            + " "
            + copies_text(tr, settings.recent_days)
            if added
            else tr(
                "Nothing new in `{file}`: every hash is already on the list.", file=file.filename
            )
        ]
        if skipped:
            shown = ", ".join(self._skipped_line(tr, d) for d in skipped[: self.PROBLEMS_SHOWN])
            more = len(skipped) - min(len(skipped), self.PROBLEMS_SHOWN)
            lines.append(
                tr.plural(
                    "Skipped {count} duplicate (not added twice): {lines}.",
                    "Skipped {count} duplicates (not added twice): {lines}.",
                    len(skipped),
                    lines=shown,
                )
                if not more
                else tr.plural(
                    "Skipped {count} duplicate (not added twice): {lines} and {more} more.",
                    "Skipped {count} duplicates (not added twice): {lines} and {more} more.",
                    len(skipped),
                    lines=shown,
                    more=tr.number(more),
                )
            )
        await interaction.edit_original_response(content="\n".join(lines))

    async def _refuse_import(
        self,
        tr: Texts,
        interaction: discord.Interaction[Lightstick],
        filename: str,
        parsed: ParsedList,
    ) -> None:
        count = len(parsed.problems)
        text = (
            tr.plural(
                "`{file}` can't be imported, so nothing was: {count} problem to fix first.",
                "`{file}` can't be imported, so nothing was: {count} problems to fix first.",
                count,
                file=filename,
            )
            + "\n"
            + problems_text(tr, parsed, self.PROBLEMS_SHOWN)
        )
        attachments = []
        if count > self.PROBLEMS_SHOWN:
            listing = "\n".join(tr.read(p.said) for p in parsed.problems) + "\n"
            attachments.append(
                discord.File(io.BytesIO(listing.encode()), filename="import-problems.txt")
            )
        await interaction.edit_original_response(
            content=shorten(text, MESSAGE), attachments=attachments
        )

    async def _import(
        self, member: discord.Member, filename: str, parsed: ParsedList
    ) -> tuple[int, list[Duplicate]]:
        """Add the file in one transaction with its case, then sync: how many, and what not."""
        guild_id = member.guild.id
        async with self._locks[guild_id]:
            started = time.perf_counter()
            async with self.bot.db.transaction() as conn:
                result = await takedowns_db.import_list(conn, guild_id, parsed, added_by=member.id)
                if result.entry_ids:
                    reason = (
                        f"Imported {len(result.entry_ids):,} entries from {filename} "
                        f"({parsed.format}); {len(result.duplicates):,} duplicates skipped"
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
        return len(result.entry_ids), list(result.duplicates)

    @staticmethod
    def _skipped_line(tr: Texts, duplicate: Duplicate) -> str:
        if duplicate.entry_id is not None:
            return tr(
                "line {line} (already entry {entry})",
                line=duplicate.line,
                entry=duplicate.entry_id,
            )
        return tr(
            "line {line} (same hash as line {first})",
            line=duplicate.line,
            first=duplicate.first_line,
        )

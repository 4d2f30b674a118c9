"""/cases list: the numbered record of every action, newest first, for moderators; /cases export:
the evidence files of chosen cases, for an agency's or the police's complaint.

Asking for the record also posts again any open report whose queue message went missing, so a
queue message someone deleted is never lost for good.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from db import cases as cases_db
from db import reports as reports_db
from db.cases import Case
from db.evidence import Selection
from moderation import evidence
from moderation.access import moderators_only
from moderation.evidence_buttons import evidence_note
from moderation.i18n import Texts, member_texts
from moderation.names import CASE_KIND_NAMES
from moderation.pagination import Slice, send_pages
from moderation.shown_text import fit_embed, shorten
from services.evidence import day_bounds, parse_case_numbers, parse_day

if TYPE_CHECKING:
    from bot import Lightstick


def describe_case(tr: Texts, case: Case, report_number: int | None = None) -> str:
    """One case as /cases lists it, in the moderator's language; its reason is quoted as the
    record has it (written when the case was, or typed by a moderator)."""
    kind = tr(CASE_KIND_NAMES[case.kind])
    parts = [f"**#{case.number} · {kind}** · <t:{int(case.created_at.timestamp())}:R>"]
    if case.user_id:
        parts.append(tr("Member: {member}", member=f"<@{case.user_id}>"))
    if case.moderator_id:
        parts.append(tr("By: {moderator}", moderator=f"<@{case.moderator_id}>"))
    if case.entry_id is not None and case.distance is not None:
        parts.append(
            tr("Entry {entry} at distance {distance}", entry=case.entry_id, distance=case.distance)
        )
    elif case.entry_id is not None:
        parts.append(tr("Entry {entry}", entry=case.entry_id))
    if report_number is not None:
        parts.append(tr("Report #{number}", number=report_number))
    elif case.report_id is not None:
        parts.append(tr("Report id {id}", id=case.report_id))
    line = " · ".join(parts)
    return f"{line}\n> {shorten(case.reason, 300)}" if case.reason else line


class Cases(commands.Cog):
    """The record of actions taken: who, what, which entry, by which moderator."""

    PER_PAGE = 8  # keeps a page well under an embed's 4096-character description

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot

    cases = app_commands.Group(
        name="cases",
        description="Moderators: the record of actions taken, and evidence files from it",
        guild_only=True,
        default_permissions=discord.Permissions(manage_messages=True),
    )

    @cases.command(name="list", description="Moderators: the record of actions taken")
    @app_commands.describe(user="Only the cases about this member")
    @moderators_only()
    async def list_cases(
        self, interaction: discord.Interaction[Lightstick], user: discord.User | None = None
    ) -> None:
        assert interaction.guild is not None
        await self._answer(interaction, user)
        reposted = await self.bot.report_queue.repost_missing(interaction.guild)
        if reposted:
            await interaction.followup.send(
                member_texts(interaction).plural(
                    "{count} open report had no message in the report queue; I posted it again.",
                    "{count} open reports had no message in the report queue; I posted them again.",
                    reposted,
                ),
                ephemeral=True,
            )

    async def _answer(
        self, interaction: discord.Interaction[Lightstick], user: discord.User | None
    ) -> None:
        assert interaction.guild is not None
        tr = member_texts(interaction)
        guild_id = interaction.guild.id
        user_id = user.id if user else None
        async with self.bot.db.connect() as conn:
            total = await cases_db.count_cases(conn, guild_id, user_id=user_id)
        if total == 0:
            none = (
                tr("No cases about {member} yet.", member=user.mention)
                if user
                else tr("No cases yet.")
            )
            await interaction.response.send_message(none, ephemeral=True)
            return
        title = (
            tr("Cases about {member}", member=str(user))
            if user
            else tr("Cases in {server}", server=interaction.guild.name)
        )

        async def render(rows: Slice) -> discord.Embed:
            async with self.bot.db.connect() as conn:
                found = await cases_db.list_cases(
                    conn, guild_id, user_id=user_id, limit=rows.limit, offset=rows.offset
                )
                numbers = await reports_db.report_numbers(
                    conn, [case.report_id for case in found if case.report_id is not None]
                )
            embed = discord.Embed(
                title=title,
                description="\n\n".join(
                    describe_case(tr, case, numbers.get(case.report_id or 0)) for case in found
                ),
                colour=discord.Colour.dark_grey(),
            )
            embed.set_footer(
                text=tr.plural("{count} case · newest first", "{count} cases · newest first", total)
            )
            return fit_embed(embed)

        await send_pages(interaction, total, self.PER_PAGE, render)

    @cases.command(
        name="export", description="Moderators: evidence files (CSV, JSON) for a complaint"
    )
    @app_commands.describe(
        user="The cases about this member",
        cases="Case numbers: a list or ranges, e.g. 12-15, 20",
        since="From this day on (UTC), as YYYY-MM-DD",
        until="Up to and including this day (UTC), as YYYY-MM-DD",
        reporters="Include who reported (their IDs): only for a complaint that needs them",
    )
    @moderators_only()
    async def export(
        self,
        interaction: discord.Interaction[Lightstick],
        user: discord.User | None = None,
        cases: app_commands.Range[str, 1, 200] | None = None,
        since: app_commands.Range[str, 1, 20] | None = None,
        until: app_commands.Range[str, 1, 20] | None = None,
        reporters: bool = False,
    ) -> None:
        assert interaction.guild is not None
        tr = member_texts(interaction)
        chosen = chosen_cases(tr, user, cases, since, until)
        if isinstance(chosen, str):
            await interaction.response.send_message(chosen, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        filters = {
            name: value
            for name, value in (
                ("user_id", str(user.id) if user else None),
                ("cases", cases),
                ("since", since),
                ("until", until),
                ("reporters", reporters),
            )
            if value
        }
        made = await evidence.export(
            self.bot,
            interaction.guild,
            chosen,
            moderator_id=interaction.user.id,
            with_reporters=reporters,
            size_limit=interaction.filesize_limit,
            filters=filters,
            tr=tr,
        )
        if made.problem:
            await interaction.edit_original_response(content=made.problem)
            return
        await interaction.edit_original_response(
            content=evidence_note(tr, made.count), attachments=list(made.files)
        )


def chosen_cases(
    tr: Texts,
    user: discord.abc.User | None,
    numbers: str | None,
    since: str | None,
    until: str | None,
) -> Selection | str:
    """The cases asked for, or why the request can't be read (in the moderator's language)."""
    if user is None and not numbers and not since and not until:
        return tr(
            "Choose which cases: `user`, `cases` (numbers or ranges like 12-15, 20), or a date "
            "range with `since` and `until`."
        )
    ranges: tuple[tuple[int, int], ...] = ()
    if numbers:
        try:
            ranges = parse_case_numbers(numbers)
        except ValueError:
            return tr(
                "I can't read `{cases}` as case numbers. Write numbers and ranges separated by "
                "commas, like 12-15, 20.",
                cases=shorten(numbers, 60),
            )
    days = []
    for given in (since, until):
        try:
            days.append(parse_day(given) if given else None)
        except ValueError:
            return tr(
                "I can't read `{day}` as a day. Write it as YYYY-MM-DD, like 2026-03-01.",
                day=shorten(given or "", 30),
            )
    if days[0] and days[1] and days[0] > days[1]:
        return tr("`since` is after `until`: nothing can be in between.")
    start, end = day_bounds(days[0], days[1])
    return Selection(numbers=ranges, user_id=user.id if user else None, since=start, until=end)


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Cases(bot))

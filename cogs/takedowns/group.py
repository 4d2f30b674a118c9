"""The `/takedown` command group, which every part of the takedowns cog adds to, and the case
every change to a list writes."""

from __future__ import annotations

import discord
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import CaseKind
from db import cases
from db.cases import Case

takedown = app_commands.Group(
    name="takedown",
    description="The list of known abusive images and videos removed on sight",
    guild_only=True,
    default_permissions=discord.Permissions(manage_messages=True),
)


async def record_list_change(
    conn: AsyncConnection,
    member: discord.Member,
    reason: str,
    entry_id: int | None = None,
) -> Case:
    """The case for a change to the takedown list, in the change's own transaction."""
    return await cases.create_case(
        conn,
        member.guild.id,
        CaseKind.TAKEDOWN_LIST,
        moderator_id=member.id,
        entry_id=entry_id,
        reason=reason,
    )

"""The `/takedown` command group, which every part of the takedowns cog adds to."""

from __future__ import annotations

import discord
from discord import app_commands

takedown = app_commands.Group(
    name="takedown",
    description="The list of known abusive images and videos removed on sight",
    guild_only=True,
    default_permissions=discord.Permissions(manage_messages=True),
)

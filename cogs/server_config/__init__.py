"""/config: admins set Lightstick up from Discord alone, and /config check finds the gaps.

One cog, one `/config` group, written in parts: what the settings look like (`summary`), saving
them (`group`), the subcommands that change them (`settings`, and `explicit` for explicit-image
review) and the check (`check`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord.ext import commands

from cogs.server_config.check import CheckCommand
from cogs.server_config.explicit import ExplicitCommand
from cogs.server_config.group import config
from cogs.server_config.settings import SettingCommands

if TYPE_CHECKING:
    from bot import Lightstick


class Config(SettingCommands, ExplicitCommand, CheckCommand, commands.Cog):
    """Server set-up for admins: channels, roles, takedown and report behaviour, explicit-image
    review, and a check."""

    config = config

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Config(bot))

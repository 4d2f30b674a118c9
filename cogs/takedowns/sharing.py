"""Lists shared between servers: `/takedown share|subscribe|unsubscribe`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

from cogs.takedowns.group import record_list_change, takedown
from cogs.takedowns.texts import plural
from db import takedowns as takedowns_db
from moderation.access import admins_only, require_admin

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)


class SharingCommands:
    """Mixed into the takedowns cog: share codes and subscriptions."""

    bot: Lightstick

    # -- sharing -----------------------------------------------------------------------------

    @takedown.command(name="share", description="Admins: let other servers subscribe to this list")
    @app_commands.describe(
        stop="Stop sharing: subscribers stop matching against this list",
        new_code="Replace the code (if it leaked): every current subscription ends",
    )
    @admins_only()
    async def share(
        self,
        interaction: discord.Interaction[Lightstick],
        stop: bool = False,
        new_code: bool = False,
    ) -> None:
        member = require_admin(interaction)
        guild_id = member.guild.id
        if new_code and not stop:
            await self._rotate(interaction, member)
            return
        async with self.bot.db.transaction() as conn:
            before = await takedowns_db.get_own_list(conn, guild_id)
            after = await takedowns_db.set_shared(conn, guild_id, not stop)
            if before.shared != after.shared:
                await record_list_change(
                    conn, member, f"{'Stopped sharing' if stop else 'Shared'} the takedown list"
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

    async def _rotate(
        self, interaction: discord.Interaction[Lightstick], member: discord.Member
    ) -> None:
        async with self.bot.db.transaction() as conn:
            rotated, ended = await takedowns_db.rotate_share_code(conn, member.guild.id)
            await record_list_change(
                conn, member, f"New share code; {plural(ended, 'subscription')} ended"
            )
        await self.bot.takedown_index.sync()
        state = "" if rotated.shared else " (the list isn't shared yet: `/takedown share`)"
        await interaction.response.send_message(
            f"This server's list has a new share code: `{rotated.share_code}`{state}. The old "
            f"code no longer works, and {plural(ended, 'subscription')} to the list ended: give "
            "the new code to the servers you want to share with.",
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
                await record_list_change(
                    conn, member, f"Subscribed to shared list {found.share_code} (action: {action})"
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
                await record_list_change(
                    conn, member, f"Unsubscribed from shared list {code.strip()}"
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

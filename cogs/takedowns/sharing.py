"""Lists shared between servers: `/takedown share|subscribe|unsubscribe`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncConnection

from cogs.takedowns.group import record_list_change, takedown
from db import takedowns as takedowns_db
from db.takedowns import HashList
from moderation.access import admins_only, require_admin
from moderation.i18n import Texts, member_texts

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
        tr = member_texts(interaction)
        if stop:
            await interaction.response.send_message(
                tr(
                    "This server's list is no longer shared: subscribing servers stop matching "
                    "against it now."
                )
                if before.shared
                else tr("This server's list wasn't shared. Nothing changed."),
                ephemeral=True,
            )
            return
        await interaction.response.send_message(
            tr(
                "This server's takedown list is shared. Its code is `{code}`.\n"
                "Another server's admins can subscribe with "
                "`/takedown subscribe code:{code} action:remove` (or `action:flag`). "
                "They match against your entries and see their labels only where you chose "
                "`share_label`. Entries you remove stop matching for them at once.",
                code=after.share_code,
            ),
            ephemeral=True,
        )

    async def _rotate(
        self, interaction: discord.Interaction[Lightstick], member: discord.Member
    ) -> None:
        async with self.bot.db.transaction() as conn:
            rotated, ended = await takedowns_db.rotate_share_code(conn, member.guild.id)
            await record_list_change(conn, member, f"New share code; {ended:,} subscriptions ended")
        await self.bot.takedown_index.sync()
        tr = member_texts(interaction)
        values = {"code": rotated.share_code}
        answer = (
            tr.plural(
                "This server's list has a new share code: `{code}`. The old code no longer works, "
                "and {count} subscription to the list ended: give the new code to the servers you "
                "want to share with.",
                "This server's list has a new share code: `{code}`. The old code no longer works, "
                "and {count} subscriptions to the list ended: give the new code to the servers "
                "you want to share with.",
                ended,
                **values,
            )
            if rotated.shared
            else tr.plural(
                "This server's list has a new share code: `{code}` (the list isn't shared yet: "
                "`/takedown share`). The old code no longer works, and {count} subscription to "
                "the list ended: give the new code to the servers you want to share with.",
                "This server's list has a new share code: `{code}` (the list isn't shared yet: "
                "`/takedown share`). The old code no longer works, and {count} subscriptions to "
                "the list ended: give the new code to the servers you want to share with.",
                ended,
                **values,
            )
        )
        await interaction.response.send_message(answer, ephemeral=True)

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
        # The index syncs and a large list is counted before the answer: past Discord's 3 s.
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self.bot.db.transaction() as conn:
            found = await takedowns_db.get_list_by_code(conn, code)
            if found is not None and found.owner_guild_id != guild_id:
                changed = await _subscribe(conn, member, found, action)
                size = await takedowns_db.count_list_entries(conn, found.id)
        tr = member_texts(interaction)
        if found is None or found.owner_guild_id == guild_id:
            await interaction.edit_original_response(
                content=tr(
                    "That's this server's own list; it is always used here. Nothing changed."
                )
                if found is not None
                else tr(
                    "No shared list has the code `{code}`. Check it with the other server's "
                    "admins. Nothing changed.",
                    code=discord.utils.escape_markdown(code),
                )
            )
            return
        assert found.share_code is not None  # a shared list has a code
        if not changed:  # swept when it was made: its copies were removed or alerted then
            await interaction.edit_original_response(
                content=tr(
                    "This server already subscribes to `{code}` with that action. Nothing changed.",
                    code=found.share_code,
                )
            )
            return
        await self.bot.takedown_index.sync()
        self.bot.sweeper.list_subscribed(guild_id, found.id, found.share_code)
        settings = await self.bot.guild_settings.get(guild_id)
        await interaction.edit_original_response(
            content=subscribed_text(tr, found.share_code, size, action, settings.recent_days)
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
        tr = member_texts(interaction)
        if not left:
            await interaction.response.send_message(
                tr(
                    "This server isn't subscribed to `{code}`. Nothing changed.",
                    code=discord.utils.escape_markdown(code),
                ),
                ephemeral=True,
            )
            return
        await self.bot.takedown_index.sync()
        await interaction.response.send_message(
            tr("Unsubscribed from `{code}`: its entries no longer match here.", code=code.strip()),
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


async def _subscribe(
    conn: AsyncConnection, member: discord.Member, hash_list: HashList, action: str
) -> bool:
    """Subscribe (or change the action), with its case; False when it was so already."""
    subscribed = await takedowns_db.subscribed_lists(conn, member.guild.id)
    if any(sub.list_id == hash_list.id and sub.action == action for sub, _ in subscribed):
        return False
    await takedowns_db.subscribe(conn, member.guild.id, hash_list.id, action, member.id)
    reason = f"Subscribed to shared list {hash_list.share_code} (action: {action})"
    await record_list_change(conn, member, reason)
    return True


def subscribed_text(tr: Texts, code: str, size: int, action: str, recent_days: int) -> str:
    """The answer to a subscription: what happens to re-uploads, and to copies already up."""
    subscribed = tr.plural(
        "Subscribed to list `{code}` ({count} entry).",
        "Subscribed to list `{code}` ({count} entries).",
        size,
        code=code,
    )
    if action == "remove":
        future = tr("From now on, re-uploads of its entries are removed here.")
        earlier = tr.plural(
            "Copies posted here in the last {count} day are being looked for now: any still "
            "up are removed, with one summary in the mod channel.",
            "Copies posted here in the last {count} days are being looked for now: any still "
            "up are removed, with one summary in the mod channel.",
            recent_days,
        )
    else:
        future = tr("From now on, re-uploads of its entries are sent to the moderators to review.")
        earlier = tr.plural(
            "Copies posted here in the last {count} day are being looked for now, and sent "
            "to the moderators to review too.",
            "Copies posted here in the last {count} days are being looked for now, and sent "
            "to the moderators to review too.",
            recent_days,
        )
    if not recent_days:
        earlier = tr(
            "Copies posted before now are not looked for: this server keeps no hashes of "
            "recent posts (`/config takedowns recent_days`)."
        )
    return f"{subscribed} {future} {earlier}"

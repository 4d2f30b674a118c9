"""/config explicit: explicit-image review on or off, its threshold, and what it skips."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from cogs.server_config.group import SavesSettings, config
from db.guild_settings import Exemption
from db.schema import EXPLICIT_THRESHOLD_RANGE
from moderation.access import admins_only
from moderation.i18n import N_, member_texts

if TYPE_CHECKING:
    from bot import Lightstick

LOW, HIGH = EXPLICIT_THRESHOLD_RANGE
TURNED_ON = N_(
    "Explicit-image review is on. Every picture posted here (outside age-restricted channels "
    "and what you skip) is now also scored by an on-device model: about 20 ms more CPU per "
    "picture, and some 100 MB more memory per hashing worker. It only flags: a likely explicit "
    "picture goes to the mod channel for review with a blurred preview, and nothing is removed "
    "unless a moderator presses **Take down**."
)
NO_MOD_CHANNEL = N_(
    "⚠️ No mod channel is set, so flags have nowhere to go. Set one with `/config channels`."
)
BOTH_WAYS = {
    "channel": N_("You can't skip and unskip the same channel at once. Nothing changed."),
    "role": N_("You can't skip and unskip the same role at once. Nothing changed."),
}


class ExplicitCommand(SavesSettings):
    """Mixed into the config cog: `/config explicit`."""

    @config.command(
        name="explicit", description="Flag likely explicit pictures for review (off by default)"
    )
    @app_commands.describe(
        enabled="Score every picture and flag likely explicit ones (more CPU; it never removes)",
        threshold="Flag at this score or above (0.5-0.99; default 0.8, where the model is sure)",
        skip_channel="A channel whose pictures are not scored (age-restricted ones never are)",
        unskip_channel="A skipped channel to score again",
        skip_role="Members with this role are not scored (e.g. trusted editors)",
        unskip_role="A skipped role to score again",
    )
    @admins_only()
    async def explicit(
        self,
        interaction: discord.Interaction[Lightstick],
        enabled: bool | None = None,
        threshold: app_commands.Range[float, LOW, HIGH] | None = None,
        skip_channel: discord.TextChannel | None = None,
        unskip_channel: discord.TextChannel | None = None,
        skip_role: discord.Role | None = None,
        unskip_role: discord.Role | None = None,
    ) -> None:
        assert interaction.guild is not None
        tr = member_texts(interaction)
        for kind, skip, unskip in (
            ("channel", skip_channel, unskip_channel),
            ("role", skip_role, unskip_role),
        ):
            if skip is not None and unskip is not None and skip.id == unskip.id:
                await interaction.response.send_message(tr(BOTH_WAYS[kind]), ephemeral=True)
                return
        changes: dict[str, Any] = {}
        if enabled is not None:
            changes["explicit_review"] = enabled
        if threshold is not None:
            changes["explicit_threshold"] = round(threshold, 2)
        exempt: dict[Exemption, bool] = {}
        for kind, target, flag in (
            ("channel", skip_channel, True),
            ("channel", unskip_channel, False),
            ("role", skip_role, True),
            ("role", unskip_role, False),
        ):
            if target is not None:
                exempt[(kind, target.id)] = flag
        settings = await self.bot.guild_settings.get(interaction.guild.id)
        notes: list[str] = []
        if enabled and not settings.explicit_review:
            notes.append(tr(TURNED_ON))
        if (enabled or (enabled is None and settings.explicit_review)) and not (
            settings.mod_channel_id
        ):
            notes.append(tr(NO_MOD_CHANNEL))
        await self._apply(interaction, changes, notes=tuple(notes), exempt=exempt)

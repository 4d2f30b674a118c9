"""/config show, channels, roles, takedowns, reports and language: the settings themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands

from cogs.server_config.group import SavesSettings, config
from cogs.server_config.summary import (
    AUTOMATIC,
    CANT_BE_LOG_CHANNEL,
    CANT_BE_MOD_CHANNEL,
    MOD_CHANNEL_NEEDS,
    UnreadableAction,
    describe_gaps,
    missing,
    settings_embed,
)
from db.guild_settings import LABEL_MAX, LINK_MAX, agency_link_problem
from moderation.access import admins_only, public_mod_channel
from moderation.i18n import member_texts

if TYPE_CHECKING:
    from bot import Lightstick


class SettingCommands(SavesSettings):
    """Mixed into the config cog: the subcommands that change settings."""

    @config.command(name="show", description="Show every Lightstick setting for this server")
    @admins_only()
    async def show(self, interaction: discord.Interaction[Lightstick]) -> None:
        assert interaction.guild is not None
        settings = await self.bot.guild_settings.get(interaction.guild.id)
        await interaction.response.send_message(
            embed=settings_embed(member_texts(interaction), interaction.guild, settings),
            ephemeral=True,
        )

    @config.command(name="channels", description="Set the mod and log channels; skip channels")
    @app_commands.describe(
        mod_channel="Where match alerts and the report queue go",
        log_channel="Where a short log of every action goes",
        skip="A channel Lightstick should not scan",
        unskip="A skipped channel to scan again",
    )
    @admins_only()
    async def channels(
        self,
        interaction: discord.Interaction[Lightstick],
        mod_channel: discord.TextChannel | None = None,
        log_channel: discord.TextChannel | None = None,
        skip: discord.TextChannel | None = None,
        unskip: discord.TextChannel | None = None,
    ) -> None:
        assert interaction.guild is not None
        tr = member_texts(interaction)
        me = interaction.guild.me
        settings = await self.bot.guild_settings.get(interaction.guild.id)
        changes: dict[str, Any] = {}
        notes: list[str] = []
        for refusal, channel, column in (
            (CANT_BE_MOD_CHANNEL, mod_channel, "mod_channel_id"),
            (CANT_BE_LOG_CHANNEL, log_channel, "log_channel_id"),
        ):
            if channel is None:
                continue
            gaps = missing(channel.permissions_for(me), MOD_CHANNEL_NEEDS)
            blocking = [need for need in gaps if need.attribute != "attach_files"]
            if blocking:
                names = ", ".join(tr(need.name) for need in blocking)
                await interaction.response.send_message(
                    tr(refusal, channel=channel.mention, permissions=names), ephemeral=True
                )
                return
            if gaps:
                notes.append(
                    tr(
                        "Note: in {channel}, {gaps}.",
                        channel=channel.mention,
                        gaps=describe_gaps(tr, gaps),
                    )
                )
            public = (
                public_mod_channel(channel, settings.mod_role_id)
                if column == "mod_channel_id"
                else None
            )
            if public:
                notes.append(tr("⚠️ Saved, but: {warning}", warning=tr.read(public)))
            changes[column] = channel.id
        if skip is not None and unskip is not None and skip.id == unskip.id:
            await interaction.response.send_message(
                tr("You can't skip and unskip the same channel at once. Nothing changed."),
                ephemeral=True,
            )
            return
        skipped = {c.id: flag for c, flag in ((skip, True), (unskip, False)) if c is not None}
        await self._apply(interaction, changes, skipped, tuple(notes))

    @config.command(name="roles", description="Set the moderator role")
    @app_commands.describe(
        mod_role="Members with this role can act on alerts and reports",
        clear="Remove the mod role (only Manage Messages counts as moderator then)",
    )
    @admins_only()
    async def roles(
        self,
        interaction: discord.Interaction[Lightstick],
        mod_role: discord.Role | None = None,
        clear: bool = False,
    ) -> None:
        tr = member_texts(interaction)
        if mod_role is not None and mod_role.is_default():
            await interaction.response.send_message(
                tr("@everyone can't be the mod role. Nothing changed."), ephemeral=True
            )
            return
        if mod_role is not None and mod_role.managed:
            await interaction.response.send_message(
                tr(
                    "{role} is a bot or integration role and can't be the mod role. "
                    "Nothing changed.",
                    role=mod_role.mention,
                ),
                ephemeral=True,
            )
            return
        if mod_role is not None and clear:
            await interaction.response.send_message(
                tr("Choose a mod role or clear it, not both. Nothing changed."), ephemeral=True
            )
            return
        changes: dict[str, Any] = {}
        if mod_role is not None:
            changes["mod_role_id"] = mod_role.id
        elif clear:
            changes["mod_role_id"] = None
        await self._apply(interaction, changes)

    @config.command(name="takedowns", description="What happens when a posted image matches")
    @app_commands.describe(
        action="On a confident match: remove the message, or only alert the moderators",
        confident_radius="PDQ distance for a confident match (0-128; default 31)",
        review_radius="PDQ distance up to which moderators are asked to review (default 62)",
        dm_author="Send the author a short, neutral notice citing the rule",
        timeout_minutes="Time out an author whose upload matches again within a day (0: never)",
        previews="Show a small blurred preview in alerts",
        crafted="A file built to hurt decoders (no camera makes one): default remove and alert",
        unfinished="A file too large, long or slow to check to the end: default alert",
        unsupported="A file in a format the bot doesn't read, or corrupt: default alert",
        recent_days="Days the hashes of posted pictures are kept to remove earlier copies (0: off)",
        flood_limit="Hold an entry that removes more messages than this within an hour (0: never)",
    )
    @admins_only()
    async def takedowns(
        self,
        interaction: discord.Interaction[Lightstick],
        action: Literal["remove", "flag"] | None = None,
        confident_radius: app_commands.Range[int, 0, 128] | None = None,
        review_radius: app_commands.Range[int, 0, 128] | None = None,
        dm_author: bool | None = None,
        timeout_minutes: app_commands.Range[int, 0, 40320] | None = None,
        previews: bool | None = None,
        crafted: UnreadableAction | None = None,
        unfinished: UnreadableAction | None = None,
        unsupported: UnreadableAction | None = None,
        recent_days: app_commands.Range[int, 0, 30] | None = None,
        flood_limit: app_commands.Range[int, 0, 10000] | None = None,
    ) -> None:
        options = {
            "takedown_action": action,
            "pdq_confident_radius": confident_radius,
            "pdq_review_radius": review_radius,
            "dm_author": dm_author,
            "timeout_on_repeat_minutes": timeout_minutes,
            "previews": previews,
            "crafted_action": crafted,
            "unfinished_action": unfinished,
            "unsupported_action": unsupported,
            "recent_days": recent_days,
            "flood_limit": flood_limit,
        }
        await self._apply(interaction, {k: v for k, v in options.items() if v is not None})

    @config.command(name="reports", description="How reports are handled and limited")
    @app_commands.describe(
        auto_hide="Hide a message pending review after this many sexual/deepfake reports (0: off)",
        per_window="How many reports one member may file per window",
        window_minutes="The length of that window, in minutes",
        per_day="How many reports one member may file per day",
        min_account_age_days="Refuse reports from accounts younger than this (0: allow all)",
        dm_reporters="Tell reporters by DM when a moderator has reviewed their report",
        auto_hide_account_days="Only accounts at least this old count towards auto-hide",
        auto_hide_member_days="Only members for at least this long count towards auto-hide",
        keep_days="Days closed reports' text and notes, and alerts, are kept (cases stay)",
        agency_label="The agency link button's text, e.g. HYBE report portal",
        agency_link="An https link for deepfake reports and alerts, e.g. an agency's report portal",
        agency_clear="Remove the agency link button",
    )
    @admins_only()
    async def reports(
        self,
        interaction: discord.Interaction[Lightstick],
        auto_hide: app_commands.Range[int, 0, 50] | None = None,
        per_window: app_commands.Range[int, 1, 1000] | None = None,
        window_minutes: app_commands.Range[int, 1, 1440] | None = None,
        per_day: app_commands.Range[int, 1, 10000] | None = None,
        min_account_age_days: app_commands.Range[int, 0, 3650] | None = None,
        dm_reporters: bool | None = None,
        auto_hide_account_days: app_commands.Range[int, 0, 3650] | None = None,
        auto_hide_member_days: app_commands.Range[int, 0, 3650] | None = None,
        keep_days: app_commands.Range[int, 7, 3650] | None = None,
        agency_label: app_commands.Range[str, 1, LABEL_MAX] | None = None,
        agency_link: app_commands.Range[str, 1, LINK_MAX] | None = None,
        agency_clear: bool = False,
    ) -> None:
        agency = await self._agency_changes(interaction, agency_label, agency_link, agency_clear)
        if agency is None:
            return
        options = {
            "auto_hide_threshold": auto_hide,
            "reporter_limit_short": per_window,
            "reporter_window_short_minutes": window_minutes,
            "reporter_limit_daily": per_day,
            "min_account_age_days": min_account_age_days,
            "dm_reporters": dm_reporters,
            "auto_hide_min_account_days": auto_hide_account_days,
            "auto_hide_min_member_days": auto_hide_member_days,
            "retention_days": keep_days,
        }
        changes = {k: v for k, v in options.items() if v is not None}
        await self._apply(interaction, {**changes, **agency})

    async def _agency_changes(
        self,
        interaction: discord.Interaction[Lightstick],
        label: str | None,
        link: str | None,
        clear: bool,
    ) -> dict[str, Any] | None:
        """The agency link's changes, or None once the admin has been told why not."""
        assert interaction.guild is not None
        tr = member_texts(interaction)
        problem = None
        if clear and (label or link):
            problem = tr("Set the agency link or clear it, not both. Nothing changed.")
        elif clear:
            return {"agency_label": None, "agency_link": None}
        elif link is not None and agency_link_problem(link.strip()):
            problem = tr(
                "The agency link must be a full https:// address, such as "
                "https://example.com/report, with no spaces. Nothing changed."
            )
        elif label is not None and link is None:
            settings = await self.bot.guild_settings.get(interaction.guild.id)
            if settings.agency_link is None:
                problem = tr(
                    "Give the agency link too: a label alone has nowhere to go. Nothing changed."
                )
        if problem:
            await interaction.response.send_message(problem, ephemeral=True)
            return None
        changes: dict[str, Any] = {}
        if link is not None:
            changes["agency_link"] = link.strip()
        if label is not None:
            changes["agency_label"] = " ".join(label.split())
        return changes

    @config.command(
        name="language", description="The language of alerts, the report queue, DMs and posts"
    )
    @app_commands.describe(language="Members' own replies always follow their Discord language")
    @app_commands.choices(
        language=[
            app_commands.Choice(name="Server's Discord language", value=AUTOMATIC),
            app_commands.Choice(name="English", value="en"),
            app_commands.Choice(name="한국어 (Korean)", value="ko"),
        ]
    )
    @admins_only()
    async def language(
        self, interaction: discord.Interaction[Lightstick], language: app_commands.Choice[str]
    ) -> None:
        chosen = None if language.value == AUTOMATIC else language.value
        await self._apply(interaction, {"language": chosen})

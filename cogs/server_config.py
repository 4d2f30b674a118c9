"""/config: admins set Lightstick up from Discord alone, and /config check finds the gaps."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from db.guild_settings import GuildSettings
from media.outcomes import Outcome
from moderation.access import admins_only, public_mod_channel, require_admin
from moderation.shown_text import FIELD_VALUE, fit_embed, shorten

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

ON_OFF = {True: "on", False: "off"}
AUTOMATIC = "auto"  # /config language: follow the server's preferred locale


@dataclass(frozen=True, slots=True)
class Need:
    """A permission the bot needs somewhere, and what stops working without it."""

    attribute: str
    name: str
    stops: str


SCANNED_CHANNEL_NEEDS = (
    Need("view_channel", "View Channel", "nothing posted there is scanned"),
    Need("read_message_history", "Read Message History", "no catch-up after downtime"),
    Need("manage_messages", "Manage Messages", "matches are alerted but not removed"),
)
MOD_CHANNEL_NEEDS = (
    Need("view_channel", "View Channel", "no alerts or reports reach the moderators"),
    Need("send_messages", "Send Messages", "no alerts or reports reach the moderators"),
    Need("embed_links", "Embed Links", "alerts and reports can't be shown"),
    Need("attach_files", "Attach Files", "alerts come without the blurred preview"),
)
SERVER_NEEDS = (
    Need("moderate_members", "Moderate Members", "the Timeout author button can't work"),
    Need("ban_members", "Ban Members", "the Ban author button can't work"),
)


def missing(permissions: discord.Permissions, needs: tuple[Need, ...]) -> list[Need]:
    return [need for need in needs if not getattr(permissions, need.attribute)]


def describe_gaps(gaps: list[Need]) -> str:
    return "; ".join(f"missing **{need.name}**: {need.stops}" for need in gaps)


def settings_embed(guild: discord.Guild, settings: GuildSettings) -> discord.Embed:
    def channel(channel_id: int | None) -> str:
        return f"<#{channel_id}>" if channel_id else "not set"

    skipped = ", ".join(f"<#{c}>" for c in sorted(settings.skipped_channel_ids)) or "none"
    embed = discord.Embed(
        title=f"Lightstick settings for {guild.name}", colour=discord.Colour.blurple()
    )
    embed.add_field(
        name="Channels and roles (/config channels, /config roles)",
        value=(
            f"Mod channel: {channel(settings.mod_channel_id)}\n"
            f"Log channel: {channel(settings.log_channel_id)}\n"
            f"Skipped channels: {skipped}\n"
            f"Mod role: {f'<@&{settings.mod_role_id}>' if settings.mod_role_id else 'not set'}"
        ),
        inline=False,
    )
    embed.add_field(
        name="Takedowns (/config takedowns)",
        value=(
            f"On a confident match: **{settings.takedown_action}** the message\n"
            f"PDQ radius: confident {settings.pdq_confident_radius}, "
            f"review {settings.pdq_review_radius}\n"
            f"pHash radius: confident {settings.phash_confident_radius}, "
            f"review {settings.phash_review_radius}\n"
            f"DM the author: {ON_OFF[settings.dm_author]}\n"
            f"Timeout on a repeat: "
            + (
                f"{settings.timeout_on_repeat_minutes} min within {settings.repeat_window_hours} h"
                if settings.timeout_on_repeat_minutes
                else "off"
            )
            + f"\nBlurred previews in alerts: {ON_OFF[settings.previews]}"
        ),
        inline=False,
    )
    embed.add_field(
        name="Files the bot can't check (/config takedowns)",
        value=unreadable_policy_lines(settings),
        inline=False,
    )
    embed.add_field(
        name="Reports (/config reports)",
        value=(
            "Auto-hide after "
            + (
                f"{settings.auto_hide_threshold} sexualized/deepfake reports from accounts at "
                f"least {settings.auto_hide_min_account_days} days old, members for at least "
                f"{settings.auto_hide_min_member_days} days"
                if settings.auto_hide_threshold
                else "reports: off"
            )
            + f"\nReports per member: {settings.reporter_limit_short} per "
            f"{settings.reporter_window_short_minutes} min, {settings.reporter_limit_daily} a day\n"
            f"Minimum account age to report: {settings.min_account_age_days} days\n"
            f"DM reporters the outcome: {ON_OFF[settings.dm_reporters]}\n"
            f"Closed reports' text and notes, and alerts, kept: {settings.retention_days} days "
            "(cases are kept)"
        ),
        inline=False,
    )
    return fit_embed(embed)


UnreadableAction = Literal["remove", "alert", "ignore"]
UNREADABLE_ACTION_WORDS = {
    "remove": "remove the message and alert",
    "alert": "alert the moderators",
    "ignore": "only count it",
}


def unreadable_policy_lines(settings: GuildSettings) -> str:
    """What the server does with each kind of file the bot could not check."""
    return "\n".join(
        f"{outcome.description.capitalize()}: **{UNREADABLE_ACTION_WORDS[action]}**"
        for outcome, action in (
            (Outcome.CRAFTED, settings.crafted_action),
            (Outcome.UNFINISHED, settings.unfinished_action),
            (Outcome.UNSUPPORTED, settings.unsupported_action),
        )
    )


class Config(commands.Cog):
    """Server set-up for admins: channels, roles, takedown and report behaviour, and a check."""

    config = app_commands.Group(
        name="config",
        description="Set Lightstick up for this server",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )
    MAX_CHECK_LINES = 15  # channels listed by /config check before "and N more"

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot

    async def _apply(
        self,
        interaction: discord.Interaction[Lightstick],
        changes: dict[str, Any],
        skip: dict[int, bool] | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        """Save validated changes as one case and answer with what changed."""
        member = require_admin(interaction)
        assert interaction.guild is not None
        if not changes and not skip:
            settings = await self.bot.guild_settings.get(interaction.guild.id)
            await interaction.response.send_message(
                "Pick at least one option to change. The current settings:",
                embed=settings_embed(interaction.guild, settings),
                ephemeral=True,
            )
            return
        try:
            before, after = await self.bot.guild_settings.change(
                interaction.guild.id, moderator_id=member.id, changes=changes, skip=skip
            )
        except ValueError as exc:
            await interaction.response.send_message(
                f"That wasn't saved: {exc}. Nothing changed.", ephemeral=True
            )
            return
        answer = "Saved." if before != after else "Those were already the settings."
        await interaction.response.send_message(
            "\n".join((answer, *notes)),
            embed=settings_embed(interaction.guild, after),
            ephemeral=True,
        )

    @config.command(name="show", description="Show every Lightstick setting for this server")
    @admins_only()
    async def show(self, interaction: discord.Interaction[Lightstick]) -> None:
        assert interaction.guild is not None
        settings = await self.bot.guild_settings.get(interaction.guild.id)
        await interaction.response.send_message(
            embed=settings_embed(interaction.guild, settings), ephemeral=True
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
        me = interaction.guild.me
        settings = await self.bot.guild_settings.get(interaction.guild.id)
        changes: dict[str, Any] = {}
        notes: list[str] = []
        for label, channel, column in (
            ("mod channel", mod_channel, "mod_channel_id"),
            ("log channel", log_channel, "log_channel_id"),
        ):
            if channel is None:
                continue
            gaps = missing(channel.permissions_for(me), MOD_CHANNEL_NEEDS)
            blocking = [need for need in gaps if need.attribute != "attach_files"]
            if blocking:
                names = ", ".join(need.name for need in blocking)
                await interaction.response.send_message(
                    f"I can't use {channel.mention} as the {label}: I'm missing {names} there. "
                    "Give my role those permissions in the channel, then try again. "
                    "Nothing changed.",
                    ephemeral=True,
                )
                return
            if gaps:
                notes.append(f"Note: in {channel.mention}, {describe_gaps(gaps)}.")
            public = (
                public_mod_channel(channel, settings.mod_role_id)
                if column == "mod_channel_id"
                else None
            )
            if public:
                notes.append(f"⚠️ Saved, but {public}.")
            changes[column] = channel.id
        if skip is not None and unskip is not None and skip.id == unskip.id:
            await interaction.response.send_message(
                "You can't skip and unskip the same channel at once. Nothing changed.",
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
        if mod_role is not None and (mod_role.is_default() or mod_role.managed):
            reason = "@everyone" if mod_role.is_default() else "a bot or integration role"
            await interaction.response.send_message(
                f"{mod_role.mention} is {reason} and can't be the mod role. Nothing changed.",
                ephemeral=True,
            )
            return
        if mod_role is not None and clear:
            await interaction.response.send_message(
                "Choose a mod role or clear it, not both. Nothing changed.", ephemeral=True
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
    ) -> None:
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
        await self._apply(interaction, {k: v for k, v in options.items() if v is not None})

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

    @config.command(name="check", description="Check Lightstick's permissions and set-up here")
    @admins_only()
    async def check(self, interaction: discord.Interaction[Lightstick]) -> None:
        guild = interaction.guild
        assert guild is not None
        settings = await self.bot.guild_settings.get(guild.id)
        embed = discord.Embed(title="Lightstick set-up check", colour=discord.Colour.green())
        problems = 0
        for title, lines in (
            ("Gateway", self._intent_lines()),
            ("Server-wide", self._server_lines(guild)),
            ("Mod channel", self._mod_channel_lines(guild, settings)),
            ("Mod role", self._mod_role_lines(guild, settings)),
            ("Scanned channels", self._scanned_channel_lines(guild, settings)),
            ("Media since the bot started", self._outcome_lines(guild)),
            ("Files the bot can't check", self._unreadable_lines(settings)),
        ):
            problems += sum(line.startswith("⚠️") for line in lines)
            embed.add_field(name=title, value=shorten("\n".join(lines), FIELD_VALUE), inline=False)
        if problems:
            embed.colour = discord.Colour.orange()
            embed.description = f"{problems} thing{'s' if problems != 1 else ''} to fix."
        else:
            embed.description = "Everything Lightstick needs is in place."
        await interaction.response.send_message(embed=fit_embed(embed), ephemeral=True)

    def _outcome_lines(self, guild: discord.Guild) -> list[str]:
        counts = self.bot.scanner.outcomes.get(guild.id)
        if not counts:
            return ["ℹ️ Nothing hashed yet (only while this server's takedown lists have entries)."]
        lines = [f"✅ {counts.get('hashed', 0)} files hashed."]
        crafted, unfinished, unsupported = (
            counts.get(kind, 0) for kind in ("crafted", "unfinished", "unsupported")
        )
        if crafted + unfinished + unsupported:
            lines.append(
                f"⚠️ {crafted} refused as crafted, {unfinished} too large, long or slow to check "
                f"and {unsupported} unsupported or corrupt: these were not checked against the "
                "lists. The bot's log names each one."
            )
        return lines

    def _unreadable_lines(self, settings: GuildSettings) -> list[str]:
        """The policy for files the bot can't check; ignoring one kind is worth a warning."""
        lines = [f"ℹ️ {line}" for line in unreadable_policy_lines(settings).splitlines()]
        ignored = [
            name
            for name in ("crafted", "unfinished", "unsupported")
            if getattr(settings, f"{name}_action") == "ignore"
        ]
        if ignored:
            lines.append(
                f"⚠️ Ignored ({', '.join(ignored)}): such a file stays up unchecked and nobody is "
                "told. A listed picture can be wrapped in one; consider `alert`."
            )
        return lines

    def _intent_lines(self) -> list[str]:
        if self.bot.intents.message_content:
            return ["✅ Message Content intent is on: attachments and embeds can be scanned."]
        return ["⚠️ Message Content intent is off: no image in a message can be scanned."]

    def _server_lines(self, guild: discord.Guild) -> list[str]:
        gaps = missing(guild.me.guild_permissions, SERVER_NEEDS)
        if not gaps:
            return ["✅ Can time out and ban members (below my highest role)."]
        return [f"⚠️ {describe_gaps([need])}." for need in gaps]

    def _mod_channel_lines(self, guild: discord.Guild, settings: GuildSettings) -> list[str]:
        channel = guild.get_channel(settings.mod_channel_id) if settings.mod_channel_id else None
        if channel is None:
            return [
                "⚠️ No mod channel: matches are still removed, but nobody is alerted and reports "
                "have nowhere to go. Set one with /config channels."
            ]
        gaps = missing(channel.permissions_for(guild.me), MOD_CHANNEL_NEEDS)
        lines = [f"⚠️ {channel.mention}: {describe_gaps(gaps)}."] if gaps else []
        public = public_mod_channel(channel, settings.mod_role_id)
        if public:
            lines.append(f"⚠️ {public[0].upper()}{public[1:]}.")
        return lines or [
            f"✅ {channel.mention}: private to moderators; can post alerts with previews."
        ]

    def _mod_role_lines(self, guild: discord.Guild, settings: GuildSettings) -> list[str]:
        role = guild.get_role(settings.mod_role_id) if settings.mod_role_id else None
        if role is None:
            return ["ℹ️ No mod role: members with Manage Messages are the moderators."]
        if not role.mentionable and not guild.me.guild_permissions.mention_everyone:
            return [
                f"⚠️ {role.mention} can't be pinged by me: urgent reports arrive silently. Make "
                "it mentionable or give me Mention Everyone."
            ]
        return [f"✅ {role.mention} is pinged on urgent reports."]

    def _scanned_channel_lines(self, guild: discord.Guild, settings: GuildSettings) -> list[str]:
        scanned = [c for c in guild.text_channels if c.id not in settings.skipped_channel_ids]
        lines = []
        for channel in scanned:
            gaps = missing(channel.permissions_for(guild.me), SCANNED_CHANNEL_NEEDS)
            if gaps:
                lines.append(f"⚠️ {channel.mention}: {describe_gaps(gaps)}.")
        healthy = len(scanned) - len(lines)
        if len(lines) > self.MAX_CHECK_LINES:
            extra = len(lines) - self.MAX_CHECK_LINES
            lines = [*lines[: self.MAX_CHECK_LINES], f"…and {extra} more channels with gaps."]
        skipped = len(settings.skipped_channel_ids)
        summary = f"✅ {healthy} of {len(scanned)} scanned channels have everything needed."
        if skipped:
            summary += f" {skipped} skipped."
        return [summary, *lines]


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Config(bot))

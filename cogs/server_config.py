"""/config: admins set Lightstick up from Discord alone, and /config check finds the gaps."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from db.guild_settings import GuildSettings
from moderation.access import admins_only, public_mod_channel, require_admin
from moderation.i18n import N_, Texts, guild_texts, member_texts
from moderation.shown_text import FIELD_VALUE, fit_embed, shorten

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

ON_OFF = {True: N_("on"), False: N_("off")}
AUTOMATIC = "auto"  # /config language: follow the server's preferred locale
# How the settings name a language, in the reader's language.
LANGUAGE_NAMES = {"en": N_("English"), "ko": N_("Korean")}
CANT_BE_MOD_CHANNEL = N_(
    "I can't use {channel} as the mod channel: I'm missing {permissions} there. Give my role "
    "those permissions in the channel, then try again. Nothing changed."
)
CANT_BE_LOG_CHANNEL = N_(
    "I can't use {channel} as the log channel: I'm missing {permissions} there. Give my role "
    "those permissions in the channel, then try again. Nothing changed."
)


@dataclass(frozen=True, slots=True)
class Need:
    """A permission the bot needs somewhere, and what stops working without it (both marked
    for the catalogs; the permission as Discord's client names it in each language)."""

    attribute: str
    name: str
    stops: str


SCANNED_CHANNEL_NEEDS = (
    Need("view_channel", N_("View Channel"), N_("nothing posted there is scanned")),
    Need("read_message_history", N_("Read Message History"), N_("no catch-up after downtime")),
    Need("manage_messages", N_("Manage Messages"), N_("matches are alerted but not removed")),
)
MOD_CHANNEL_NEEDS = (
    Need("view_channel", N_("View Channel"), N_("no alerts or reports reach the moderators")),
    Need("send_messages", N_("Send Messages"), N_("no alerts or reports reach the moderators")),
    Need("embed_links", N_("Embed Links"), N_("alerts and reports can't be shown")),
    Need("attach_files", N_("Attach Files"), N_("alerts come without the blurred preview")),
)
SERVER_NEEDS = (
    Need("moderate_members", N_("Moderate Members"), N_("the Timeout author button can't work")),
    Need("ban_members", N_("Ban Members"), N_("the Ban author button can't work")),
)


def missing(permissions: discord.Permissions, needs: tuple[Need, ...]) -> list[Need]:
    return [need for need in needs if not getattr(permissions, need.attribute)]


def describe_gaps(tr: Texts, gaps: list[Need]) -> str:
    return "; ".join(
        tr("missing **{permission}**: {stops}", permission=tr(need.name), stops=tr(need.stops))
        for need in gaps
    )


def language_line(tr: Texts, guild: discord.Guild, settings: GuildSettings) -> str:
    """Which language the server's posts speak, and why (chosen, or the server's locale)."""
    speaks = guild_texts(settings.language, guild).language
    name = tr(LANGUAGE_NAMES.get(speaks, speaks))
    if settings.language:
        return tr("Posts, alerts and DMs: **{language}**", language=name)
    return tr(
        "Posts, alerts and DMs: **{language}** (the server's Discord language)", language=name
    )


def settings_embed(tr: Texts, guild: discord.Guild, settings: GuildSettings) -> discord.Embed:
    """Every setting, in the reader's language (`tr`)."""

    def channel(channel_id: int | None) -> str:
        return f"<#{channel_id}>" if channel_id else tr("not set")

    def on_off(value: bool) -> str:
        return tr(ON_OFF[value])

    skipped = ", ".join(f"<#{c}>" for c in sorted(settings.skipped_channel_ids)) or tr("none")
    role = f"<@&{settings.mod_role_id}>" if settings.mod_role_id else tr("not set")
    embed = discord.Embed(
        title=tr("Lightstick settings for {server}", server=guild.name),
        colour=discord.Colour.blurple(),
    )
    embed.add_field(
        name=tr("Channels and roles (/config channels, /config roles)"),
        value="\n".join(
            (
                tr("Mod channel: {channel}", channel=channel(settings.mod_channel_id)),
                tr("Log channel: {channel}", channel=channel(settings.log_channel_id)),
                tr("Skipped channels: {channels}", channels=skipped),
                tr("Mod role: {role}", role=role),
            )
        ),
        inline=False,
    )
    action = tr.choice(settings.takedown_action)
    repeat = (
        tr.plural(
            "Timeout on a repeat: {minutes} min within {count} h",
            "Timeout on a repeat: {minutes} min within {count} h",
            settings.repeat_window_hours,
            minutes=tr.number(settings.timeout_on_repeat_minutes),
        )
        if settings.timeout_on_repeat_minutes
        else tr("Timeout on a repeat: off")
    )
    embed.add_field(
        name=tr("Takedowns (/config takedowns)"),
        value="\n".join(
            (
                tr("On a confident match: **{action}** the message", action=action),
                tr(
                    "PDQ radius: confident {confident}, review {review}",
                    confident=settings.pdq_confident_radius,
                    review=settings.pdq_review_radius,
                ),
                tr(
                    "pHash radius: confident {confident}, review {review}",
                    confident=settings.phash_confident_radius,
                    review=settings.phash_review_radius,
                ),
                tr("DM the author: {on}", on=on_off(settings.dm_author)),
                repeat,
                tr("Blurred previews in alerts: {on}", on=on_off(settings.previews)),
            )
        ),
        inline=False,
    )
    auto_hide = (
        tr.plural(
            "Auto-hide after {count} sexualized/deepfake report from accounts at least {account} "
            "days old, members for at least {member} days",
            "Auto-hide after {count} sexualized/deepfake reports from accounts at least {account} "
            "days old, members for at least {member} days",
            settings.auto_hide_threshold,
            account=tr.number(settings.auto_hide_min_account_days),
            member=tr.number(settings.auto_hide_min_member_days),
        )
        if settings.auto_hide_threshold
        else tr("Auto-hide after reports: off")
    )
    embed.add_field(
        name=tr("Reports (/config reports)"),
        value="\n".join(
            (
                auto_hide,
                tr(
                    "Reports per member: {short} per {minutes} min, {daily} a day",
                    short=tr.number(settings.reporter_limit_short),
                    minutes=tr.number(settings.reporter_window_short_minutes),
                    daily=tr.number(settings.reporter_limit_daily),
                ),
                tr.plural(
                    "Minimum account age to report: {count} day",
                    "Minimum account age to report: {count} days",
                    settings.min_account_age_days,
                ),
                tr("DM reporters the outcome: {on}", on=on_off(settings.dm_reporters)),
                tr(
                    "Closed reports' text and notes, and alerts, kept: {days} days "
                    "(cases are kept)",
                    days=tr.number(settings.retention_days),
                ),
            )
        ),
        inline=False,
    )
    embed.add_field(
        name=tr("Files the bot can't check (/config takedowns)"),
        value=unreadable_policy_lines(tr, settings),
        inline=False,
    )
    embed.add_field(
        name=tr("Language (/config language)"),
        value=language_line(tr, guild, settings),
        inline=False,
    )
    return fit_embed(embed)


UnreadableAction = Literal["remove", "alert", "ignore"]
UNREADABLE_ACTION_WORDS = {
    "remove": N_("remove the message and alert"),
    "alert": N_("alert the moderators"),
    "ignore": N_("only count it"),
}
# Each kind of file the bot could not check, as the settings name it (media.outcomes words).
UNREADABLE_KINDS = {
    "crafted": N_("Refused as crafted or hostile"),
    "unfinished": N_("Could not be checked to the end"),
    "unsupported": N_("Unsupported or corrupt"),
}


def unreadable_policy_lines(tr: Texts, settings: GuildSettings) -> str:
    """What the server does with each kind of file the bot could not check."""
    return "\n".join(
        tr(
            "{kind}: **{action}**",
            kind=tr(UNREADABLE_KINDS[kind]),
            action=tr(UNREADABLE_ACTION_WORDS[getattr(settings, f"{kind}_action")]),
        )
        for kind in UNREADABLE_KINDS
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
        tr = member_texts(interaction)
        if not changes and not skip:
            settings = await self.bot.guild_settings.get(interaction.guild.id)
            await interaction.response.send_message(
                tr("Pick at least one option to change. The current settings:"),
                embed=settings_embed(tr, interaction.guild, settings),
                ephemeral=True,
            )
            return
        try:
            before, after = await self.bot.guild_settings.change(
                interaction.guild.id, moderator_id=member.id, changes=changes, skip=skip
            )
        except ValueError as exc:
            await interaction.response.send_message(
                tr("That wasn't saved: {reason}. Nothing changed.", reason=exc), ephemeral=True
            )
            return
        answer = tr("Saved.") if before != after else tr("Those were already the settings.")
        await interaction.response.send_message(
            "\n".join((answer, *notes)),
            embed=settings_embed(tr, interaction.guild, after),
            ephemeral=True,
        )

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
        """In the server's language: the check is about the server, and admins share it."""
        guild = interaction.guild
        assert guild is not None
        settings = await self.bot.guild_settings.get(guild.id)
        tr = guild_texts(settings.language, guild)
        embed = discord.Embed(title=tr("Lightstick set-up check"), colour=discord.Colour.green())
        problems = 0
        for title, lines in (
            (tr("Gateway"), self._intent_lines(tr)),
            (tr("Server-wide"), self._server_lines(tr, guild)),
            (tr("Mod channel"), self._mod_channel_lines(tr, guild, settings)),
            (tr("Mod role"), self._mod_role_lines(tr, guild, settings)),
            (tr("Scanned channels"), self._scanned_channel_lines(tr, guild, settings)),
            (tr("Media since the bot started"), self._outcome_lines(tr, guild)),
            (tr("Files the bot can't check"), self._unreadable_lines(tr, settings)),
            (tr("Language (/config language)"), [f"ℹ️ {language_line(tr, guild, settings)}"]),
        ):
            problems += sum(line.startswith("⚠️") for line in lines)
            embed.add_field(name=title, value=shorten("\n".join(lines), FIELD_VALUE), inline=False)
        if problems:
            embed.colour = discord.Colour.orange()
            embed.description = tr.plural(
                "{count} thing to fix.", "{count} things to fix.", problems
            )
        else:
            embed.description = tr("Everything Lightstick needs is in place.")
        await interaction.response.send_message(embed=fit_embed(embed), ephemeral=True)

    def _outcome_lines(self, tr: Texts, guild: discord.Guild) -> list[str]:
        counts = self.bot.scanner.outcomes.get(guild.id)
        if not counts:
            return [
                "ℹ️ "
                + tr("Nothing hashed yet (only while this server's takedown lists have entries).")
            ]
        hashed = counts.get("hashed", 0)
        lines = ["✅ " + tr.plural("{count} file hashed.", "{count} files hashed.", hashed)]
        crafted, unfinished, unsupported = (
            counts.get(kind, 0) for kind in ("crafted", "unfinished", "unsupported")
        )
        if crafted + unfinished + unsupported:
            lines.append(
                "⚠️ "
                + tr(
                    "{crafted} refused as crafted, {unfinished} too large, long or slow to check "
                    "and {unsupported} unsupported or corrupt: these were not checked against "
                    "the lists. The bot's log names each one.",
                    crafted=tr.number(crafted),
                    unfinished=tr.number(unfinished),
                    unsupported=tr.number(unsupported),
                )
            )
        return lines

    def _unreadable_lines(self, tr: Texts, settings: GuildSettings) -> list[str]:
        """The policy for files the bot can't check; ignoring one kind is worth a warning."""
        lines = [f"ℹ️ {line}" for line in unreadable_policy_lines(tr, settings).splitlines()]
        ignored = [
            tr.option(name)  # the options of /config takedowns that set them
            for name in ("crafted", "unfinished", "unsupported")
            if getattr(settings, f"{name}_action") == "ignore"
        ]
        if ignored:
            lines.append(
                "⚠️ "
                + tr(
                    "Ignored ({kinds}): such a file stays up unchecked and nobody is told. A "
                    "listed picture can be wrapped in one; consider `alert`.",
                    kinds=", ".join(ignored),
                )
            )
        return lines

    def _intent_lines(self, tr: Texts) -> list[str]:
        if self.bot.intents.message_content:
            return [
                "✅ " + tr("Message Content intent is on: attachments and embeds can be scanned.")
            ]
        return ["⚠️ " + tr("Message Content intent is off: no image in a message can be scanned.")]

    def _server_lines(self, tr: Texts, guild: discord.Guild) -> list[str]:
        gaps = missing(guild.me.guild_permissions, SERVER_NEEDS)
        if not gaps:
            return ["✅ " + tr("Can time out and ban members (below my highest role).")]
        return [f"⚠️ {describe_gaps(tr, [need])}." for need in gaps]

    def _mod_channel_lines(
        self, tr: Texts, guild: discord.Guild, settings: GuildSettings
    ) -> list[str]:
        channel = guild.get_channel(settings.mod_channel_id) if settings.mod_channel_id else None
        if channel is None:
            return [
                "⚠️ "
                + tr(
                    "No mod channel: matches are still removed, but nobody is alerted and "
                    "reports have nowhere to go. Set one with /config channels."
                )
            ]
        gaps = missing(channel.permissions_for(guild.me), MOD_CHANNEL_NEEDS)
        lines = [f"⚠️ {channel.mention}: {describe_gaps(tr, gaps)}."] if gaps else []
        public = public_mod_channel(channel, settings.mod_role_id)
        if public:
            lines.append(f"⚠️ {tr.read(public)}")
        return lines or [
            "✅ "
            + tr(
                "{channel}: private to moderators; can post alerts with previews.",
                channel=channel.mention,
            )
        ]

    def _mod_role_lines(
        self, tr: Texts, guild: discord.Guild, settings: GuildSettings
    ) -> list[str]:
        role = guild.get_role(settings.mod_role_id) if settings.mod_role_id else None
        if role is None:
            return ["ℹ️ " + tr("No mod role: members with Manage Messages are the moderators.")]
        if not role.mentionable and not guild.me.guild_permissions.mention_everyone:
            return [
                "⚠️ "
                + tr(
                    "{role} can't be pinged by me: urgent reports arrive silently. Make it "
                    "mentionable or give me Mention Everyone.",
                    role=role.mention,
                )
            ]
        return ["✅ " + tr("{role} is pinged on urgent reports.", role=role.mention)]

    def _scanned_channel_lines(
        self, tr: Texts, guild: discord.Guild, settings: GuildSettings
    ) -> list[str]:
        scanned = [c for c in guild.text_channels if c.id not in settings.skipped_channel_ids]
        lines = []
        for channel in scanned:
            gaps = missing(channel.permissions_for(guild.me), SCANNED_CHANNEL_NEEDS)
            if gaps:
                lines.append(f"⚠️ {channel.mention}: {describe_gaps(tr, gaps)}.")
        healthy = len(scanned) - len(lines)
        if len(lines) > self.MAX_CHECK_LINES:
            extra = len(lines) - self.MAX_CHECK_LINES
            lines = [
                *lines[: self.MAX_CHECK_LINES],
                tr.plural(
                    "…and {count} more channel with gaps.",
                    "…and {count} more channels with gaps.",
                    extra,
                ),
            ]
        skipped = len(settings.skipped_channel_ids)
        summary = "✅ " + tr.plural(
            "{healthy} of {count} scanned channel has everything needed.",
            "{healthy} of {count} scanned channels have everything needed.",
            len(scanned),
            healthy=tr.number(healthy),
        )
        if skipped:
            summary += " " + tr.plural("{count} skipped.", "{count} skipped.", skipped)
        return [summary, *lines]


async def setup(bot: Lightstick) -> None:
    await bot.add_cog(Config(bot))

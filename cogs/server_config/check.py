"""/config check: which permission or setting is missing where, and what stops working."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from cogs.server_config.group import config
from cogs.server_config.summary import (
    MOD_CHANNEL_NEEDS,
    SCANNED_CHANNEL_NEEDS,
    SERVER_NEEDS,
    describe_gaps,
    explicit_lines,
    language_line,
    missing,
    unreadable_policy_lines,
)
from db import flood_holds
from db.flood_holds import Hold
from db.guild_settings import GuildSettings
from moderation.access import admins_only, public_mod_channel
from moderation.flood_hold import hold_lines
from moderation.i18n import Texts, guild_texts
from moderation.shown_text import FIELD_VALUE, fit_embed, shorten

if TYPE_CHECKING:
    from bot import Lightstick


class CheckCommand:
    """Mixed into the config cog: the set-up check."""

    bot: Lightstick
    MAX_CHECK_LINES = 15  # channels listed by /config check before "and N more"

    @config.command(name="check", description="Check Lightstick's permissions and set-up here")
    @admins_only()
    async def check(self, interaction: discord.Interaction[Lightstick]) -> None:
        """In the server's language: the check is about the server, and admins share it."""
        guild = interaction.guild
        assert guild is not None
        settings = await self.bot.guild_settings.get(guild.id)
        tr = guild_texts(settings.language, guild)
        embed = discord.Embed(title=tr("Lightstick set-up check"), colour=discord.Colour.green())
        async with self.bot.db.connect() as conn:
            held = await flood_holds.holds(conn, guild.id, "held")
            ignored = await flood_holds.holds(conn, guild.id, "ignored")
        problems = 0
        for title, lines in (
            (tr("Gateway"), self._intent_lines(tr)),
            (tr("Server-wide"), self._server_lines(tr, guild)),
            (tr("Mod channel"), self._mod_channel_lines(tr, guild, settings)),
            (tr("Mod role"), self._mod_role_lines(tr, guild, settings)),
            (tr("Scanned channels"), self._scanned_channel_lines(tr, guild, settings)),
            (tr("Media since the bot started"), self._outcome_lines(tr, guild)),
            (tr("Files the bot can't check"), self._unreadable_lines(tr, settings)),
            (tr("Explicit-image review (/config explicit)"), self._explicit_lines(tr, settings)),
            (tr("Entries held after a flood"), self._flood_lines(tr, settings, held, ignored)),
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
                + tr(
                    "Nothing hashed yet (only while this server's takedown lists have entries "
                    "or explicit-image review is on)."
                )
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

    def _explicit_lines(self, tr: Texts, settings: GuildSettings) -> list[str]:
        """On: what it skips; off: a suggestion (not a problem to fix)."""
        if not settings.explicit_review:
            return [
                "ℹ️ "
                + tr(
                    "Off. `/config explicit enabled:True` brings new likely explicit pictures to "
                    "the moderators before anyone reports them; it only flags, never removes, "
                    "and costs more CPU per picture."
                )
            ]
        lines = [f"✅ {line}" for line in explicit_lines(tr, settings).splitlines()]
        unscored = self.bot.explicit_review.unscored.get(settings.guild_id, 0)
        if unscored:
            lines.append(
                "⚠️ "
                + tr.plural(
                    "{count} picture since the bot started could not be scored: the model could "
                    "not run (the bot's log says why). It was still checked against the lists.",
                    "{count} pictures since the bot started could not be scored: the model could "
                    "not run (the bot's log says why). They were still checked against the lists.",
                    unscored,
                )
            )
        return lines

    def _flood_lines(
        self, tr: Texts, settings: GuildSettings, held: list[Hold], ignored: list[Hold]
    ) -> list[str]:
        """Held entries need a moderator's decision; shared entries not used here are noted."""
        lines = [f"⚠️ {line}" for line in hold_lines(tr, held, settings.guild_id)]
        if ignored:
            lines.append(
                "ℹ️ "
                + tr(
                    "Shared-list entries not used here (Stop using this entry): {entries}",
                    entries=", ".join(f"#{hold.entry_id}" for hold in ignored),
                )
            )
        if not settings.flood_limit:
            lines.append(
                "ℹ️ "
                + tr(
                    "Flood hold is off (/config takedowns flood_limit 0): an entry added by "
                    "mistake removes everything it matches."
                )
            )
        elif not held:
            lines.insert(0, "✅ " + tr("No entry is held."))
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
            return ["✅ " + tr("Can time out, kick and ban members (below my highest role).")]
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

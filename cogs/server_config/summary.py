"""What /config shows: every setting in the reader's language, the permissions the bot needs and
what stops working without each, and the policy for files the bot can't check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import discord

from db.guild_settings import GuildSettings
from moderation.evidence_buttons import AGENCY_DEFAULT_LABEL
from moderation.i18n import N_, Texts, guild_texts
from moderation.shown_text import fit_embed

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
    Need(
        "kick_members",
        N_("Kick Members"),
        N_("the Kick button on profile picture alerts can't work"),
    ),
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


def flood_line(tr: Texts, settings: GuildSettings) -> str:
    """When an entry is held after a flood of removals (flood_limit)."""
    if not settings.flood_limit:
        return tr("Hold an entry after a flood of removals: off")
    return tr.plural(
        "Hold an entry that removes more than {count} message within an hour",
        "Hold an entry that removes more than {count} messages within an hour",
        settings.flood_limit,
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
    recent = (
        tr.plural(
            "Earlier copies removed when an entry is added: posts of the last {count} day",
            "Earlier copies removed when an entry is added: posts of the last {count} days",
            settings.recent_days,
        )
        if settings.recent_days
        else tr("Earlier copies removed when an entry is added: off (no hashes of posts kept)")
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
                recent,
                flood_line(tr, settings),
            )
        ),
        inline=False,
    )
    auto_hide = (
        tr.plural(
            "Auto-hide after {count} sexualized/deepfake report from accounts at least {account} "
            "old, members for at least {member}",
            "Auto-hide after {count} sexualized/deepfake reports from accounts at least {account} "
            "old, members for at least {member}",
            settings.auto_hide_threshold,
            account=tr.plural("{count} day", "{count} days", settings.auto_hide_min_account_days),
            member=tr.plural("{count} day", "{count} days", settings.auto_hide_min_member_days),
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
                    "Closed reports' text and notes, and alerts, kept: {days} (cases are kept)",
                    days=tr.plural("{count} day", "{count} days", settings.retention_days),
                ),
                agency_line(tr, settings),
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
        name=tr("Explicit-image review (/config explicit)"),
        value=explicit_lines(tr, settings),
        inline=False,
    )
    embed.add_field(
        name=tr("Language (/config language)"),
        value=language_line(tr, guild, settings),
        inline=False,
    )
    return fit_embed(embed)


def agency_line(tr: Texts, settings: GuildSettings) -> str:
    """The agency link button, as /config shows it (the label is the admin's own text)."""
    if settings.agency_link is None:
        return tr("Agency link button: not set")
    label = settings.agency_label or tr(AGENCY_DEFAULT_LABEL)
    return tr("Agency link button: {label} → <{link}>", label=label, link=settings.agency_link)


def explicit_lines(tr: Texts, settings: GuildSettings) -> str:
    """Explicit-image review: on or off, the threshold and what it means, what it skips."""
    if not settings.explicit_review:
        return tr("Off: pictures are not scored.")
    channels = ", ".join(f"<#{c}>" for c in sorted(settings.explicit_skipped_channel_ids))
    roles = ", ".join(f"<@&{r}>" for r in sorted(settings.explicit_skipped_role_ids))
    return "\n".join(
        (
            tr("On: likely explicit pictures are flagged for review, never removed."),
            tr(
                "Threshold {threshold}: {meaning}",
                threshold=f"{settings.explicit_threshold:.2f}",
                meaning=tr(threshold_meaning(settings.explicit_threshold)),
            ),
            tr("Skipped channels: {channels}", channels=channels or tr("none"))
            + " "
            + tr("(age-restricted channels always)"),
            tr("Skipped roles: {roles}", roles=roles or tr("none")),
        )
    )


def threshold_meaning(threshold: float) -> str:
    """What a threshold means, in words (marked for the catalogs)."""
    if threshold >= 0.9:
        return N_("only pictures the model is very sure of; some explicit ones will be missed")
    if threshold >= 0.8:
        return N_("pictures the model is confident are explicit (the default, Yahoo's own line)")
    return N_(
        "also pictures the model is unsure of; expect more innocent pictures with a lot of skin"
    )


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

"""The buttons on a match alert: **Take down**, **Not a match**, **Timeout author**, **Ban author**;
on an alert about a member's profile picture, **Not a match**, **Timeout**, **Kick**, **Ban**.

Each click reads the alert from the database (the buttons survive restarts), checks that a
moderator clicked, and acts through `bot.actions`, so every decision is a case.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

import discord
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import AlertStatus, CaseKind
from db import alerts as alerts_db
from db import allowlist, takedowns
from db.alerts import MatchAlert
from db.cases import Case
from db.guild_settings import GuildSettings
from moderation import buttons
from moderation.actions import CaseDraft, Decision
from moderation.buttons import OnAuthor, RecordButton
from moderation.evidence_buttons import add_evidence_buttons
from moderation.i18n import N_, Texts, member_texts

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

ALREADY_DECIDED = N_("Someone already decided on this alert.")
GONE = N_("That alert no longer exists.")


def alert_view(
    alert: MatchAlert, tr: Texts, settings: GuildSettings | None = None
) -> discord.ui.View:
    """The alert's buttons, labelled in the language of the alert (`tr`); with the server's
    `settings`, **Evidence** and the agency link too."""
    view = discord.ui.View(timeout=None)
    closed = alert.status != AlertStatus.OPEN
    if alert.picture is not None:  # nothing to take down: the bot can't change an avatar
        for action in ("notmatch", "timeout", "kick", "ban"):
            decided = closed and action == "notmatch"  # the member can still be acted on
            view.add_item(ProfileAlertButton(alert.id, action, disabled=decided, tr=tr))
        return view
    if not alert.removed:
        view.add_item(AlertButton(alert.id, "takedown", disabled=closed, tr=tr))
    view.add_item(AlertButton(alert.id, "notmatch", disabled=closed, tr=tr))
    view.add_item(AlertButton(alert.id, "timeout", tr=tr))
    view.add_item(AlertButton(alert.id, "ban", tr=tr))
    if settings is not None:
        add_evidence_buttons(view, settings, "alert", alert.id, tr)
    return view


async def on_alert_button(
    interaction: discord.Interaction[Lightstick], alert_id: int, action: str
) -> None:
    clicked = await buttons.clicked_record(interaction, alert_id, alerts_db.get_alert, GONE)
    if clicked is None:
        return
    moderator, alert = clicked
    reason = (
        f"Takedown-list match (alert {alert.id})"
        if alert.picture is None
        else f"Takedown-list match on their {alert.picture.replace('_', ' ')} (alert {alert.id})"
    )
    async with buttons.apologising(interaction, f"Alert button {action} on alert {alert_id}"):
        if action == "notmatch":
            await _not_a_match(interaction, alert, moderator)
        elif action == "takedown":
            await _take_down(interaction, alert, moderator)
        else:
            step = OnAuthor(moderator, alert.author_id, reason)
            await buttons.AUTHOR_STEPS[action](interaction, step)


class AlertButton(
    RecordButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lightstick:alert:(?P<id>[0-9]+):(?P<action>takedown|notmatch|timeout|ban)",
):
    """A button on a match alert; the alert's state is read from the database on each click."""

    KIND = "alert"
    LABELS: ClassVar[dict[str, buttons.Label]] = {
        "takedown": buttons.TAKE_DOWN,
        "notmatch": (N_("Not a match"), discord.ButtonStyle.secondary),
        **buttons.AUTHOR_LABELS,
    }
    on_click = staticmethod(on_alert_button)


class ProfileAlertButton(
    RecordButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lightstick:profile:(?P<id>[0-9]+):(?P<action>notmatch|timeout|kick|ban)",
):
    """A button on an alert about a member's profile picture (read from the database on each
    click, like `AlertButton`)."""

    KIND = "profile"
    LABELS: ClassVar[dict[str, buttons.Label]] = {
        "notmatch": AlertButton.LABELS["notmatch"],
        **buttons.MEMBER_LABELS,
    }
    on_click = staticmethod(on_alert_button)


async def _not_a_match(
    interaction: discord.Interaction[Lightstick], alert: MatchAlert, moderator: discord.Member
) -> None:
    bot = interaction.client

    async def allow_picture(conn: AsyncConnection, _: MatchAlert, draft: CaseDraft) -> CaseDraft:
        for value in alert.upload_hashes:
            await allowlist.allow(
                conn, alert.guild_id, value, decided_by=moderator.id, entry_id=alert.entry_id
            )
        return draft

    decision = Decision(_closing(alert, AlertStatus.NOT_A_MATCH, moderator), allow_picture)

    draft = _draft(
        CaseKind.NOT_A_MATCH,
        "Marked not a match; this picture is allowlisted here",
        alert,
        moderator,
    )
    tr = member_texts(interaction)
    decided = await bot.actions.record(alert.guild_id, draft, gate=decision)
    if decided is None:
        await interaction.response.send_message(tr(ALREADY_DECIDED), ephemeral=True)
        return
    await bot.takedown_index.sync()
    answer = (
        tr(
            "Marked as not a match (case #{number}). This picture won't be flagged here again.",
            number=decided.number,
        )
        if alert.picture is not None
        else tr(
            "Marked as not a match (case #{number}). This picture won't be flagged here again. "
            "The message was already removed; let the author know they can post it again.",
            number=decided.number,
        )
        if alert.removed
        else tr(
            "Marked as not a match (case #{number}). This picture won't be flagged here again. "
            "The message stays up.",
            number=decided.number,
        )
    )
    await interaction.response.send_message(answer, ephemeral=True)
    assert decision.closed is not None
    await bot.alerts.refresh(interaction, decision.closed)


async def _take_down(
    interaction: discord.Interaction[Lightstick], alert: MatchAlert, moderator: discord.Member
) -> None:
    bot = interaction.client
    assert interaction.guild is not None
    tr = member_texts(interaction)
    if alert.status != AlertStatus.OPEN:
        await interaction.response.send_message(tr(ALREADY_DECIDED), ephemeral=True)
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    resolved: list[MatchAlert] = []
    close = _closing(alert, AlertStatus.TAKEN_DOWN, moderator, removed=True)

    async def resolve(conn: AsyncConnection, _case: Case) -> None:
        done = await close(conn)
        own = await takedowns.get_own_list(conn, alert.guild_id)
        if done is not None:
            resolved.append(done)
            if alert.entry_id is not None and alert.list_id == own.id:
                await takedowns.add_variants(conn, alert.entry_id, alert.upload_hashes)

    draft = dataclasses.replace(
        _draft(CaseKind.TAKEDOWN, "Taken down from a match alert", alert, moderator),
        channel_id=alert.channel_id,
        message_id=alert.message_id,
    )
    where = (alert.channel_id, alert.message_id)
    removal = await bot.actions.take_down(alert.guild_id, where, draft, follow=resolve)
    if removal.problem:
        await interaction.followup.send(tr.read(removal.problem), ephemeral=True)
        return
    case = removal.case
    assert case is not None
    await bot.takedown_index.sync()
    await interaction.followup.send(
        tr(
            "Removed (case #{number}). Copies this close will be removed automatically.",
            number=case.number,
        ),
        ephemeral=True,
    )
    if resolved:
        await bot.alerts.refresh(interaction, resolved[0])


def _draft(kind: CaseKind, reason: str, alert: MatchAlert, moderator: discord.Member) -> CaseDraft:
    """A moderator's decision on an alert: about its author, its entry and distance."""
    return CaseDraft(
        kind,
        reason,
        user_id=alert.author_id,
        moderator_id=moderator.id,
        entry_id=alert.entry_id,
        distance=alert.distance,
    )


def _closing(
    alert: MatchAlert,
    status: AlertStatus,
    moderator: discord.Member,
    *,
    removed: bool | None = None,
) -> Callable[[AsyncConnection], Awaitable[MatchAlert | None]]:
    """Close the alert as decided, unless someone already did."""

    async def close(conn: AsyncConnection) -> MatchAlert | None:
        return await alerts_db.resolve_alert(
            conn, alert.id, status=status, resolved_by=moderator.id, removed=removed
        )

    return close

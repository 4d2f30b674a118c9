"""The buttons on a match alert: **Take down**, **Not a match**, **Timeout author**, **Ban author**.

Each click reads the alert from the database (the buttons survive restarts), checks that a
moderator clicked, and acts through `bot.actions`, so every decision is a case.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

import discord
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import AlertStatus, CaseKind
from db import alerts as alerts_db
from db import allowlist, takedowns
from db.alerts import MatchAlert
from db.cases import Case
from moderation.access import AccessDenied, require_moderator
from moderation.actions import CaseDraft
from moderation.buttons import RecordButton, ban_author, timeout_author
from moderation.replies import apologise

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

ALREADY_DECIDED = "Someone already decided on this alert."


class AlertButton(
    RecordButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lightstick:alert:(?P<id>[0-9]+):(?P<action>takedown|notmatch|timeout|ban)",
):
    """A button on a match alert; the alert's state is read from the database on each click."""

    KIND = "alert"
    LABELS: ClassVar[dict[str, tuple[str, discord.ButtonStyle]]] = {
        "takedown": ("Take down", discord.ButtonStyle.danger),
        "notmatch": ("Not a match", discord.ButtonStyle.secondary),
        "timeout": ("Timeout author", discord.ButtonStyle.primary),
        "ban": ("Ban author", discord.ButtonStyle.danger),
    }

    async def callback(self, interaction: discord.Interaction[Lightstick]) -> None:
        await on_alert_button(interaction, self.record_id, self.action)


def alert_view(alert: MatchAlert) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    closed = alert.status != AlertStatus.OPEN
    if not alert.removed:
        view.add_item(AlertButton(alert.id, "takedown", disabled=closed))
    view.add_item(AlertButton(alert.id, "notmatch", disabled=closed))
    view.add_item(AlertButton(alert.id, "timeout"))
    view.add_item(AlertButton(alert.id, "ban"))
    return view


async def on_alert_button(
    interaction: discord.Interaction[Lightstick], alert_id: int, action: str
) -> None:
    try:
        moderator = await require_moderator(interaction)
    except AccessDenied as exc:
        await interaction.response.send_message(str(exc), ephemeral=True)
        return
    async with interaction.client.db.connect() as conn:
        alert = await alerts_db.get_alert(conn, alert_id)
    if alert is None or alert.guild_id != interaction.guild_id:
        await interaction.response.send_message("That alert no longer exists.", ephemeral=True)
        return
    reason = f"Takedown-list match (alert {alert.id})"
    try:
        if action == "notmatch":
            await _not_a_match(interaction, alert, moderator)
        elif action == "takedown":
            await _take_down(interaction, alert, moderator)
        elif action == "timeout":
            await timeout_author(interaction, moderator, alert.author_id, reason)
        else:
            await ban_author(interaction, moderator, alert.author_id, reason)
    except Exception:
        log.exception("Alert button %s on alert %s failed", action, alert_id)
        await apologise(interaction)


async def _not_a_match(
    interaction: discord.Interaction[Lightstick], alert: MatchAlert, moderator: discord.Member
) -> None:
    bot = interaction.client
    resolved: list[MatchAlert] = []

    async def resolve(conn: AsyncConnection, draft: CaseDraft) -> CaseDraft | None:
        done = await alerts_db.resolve_alert(
            conn, alert.id, status=AlertStatus.NOT_A_MATCH, resolved_by=moderator.id
        )
        if done is None:
            return None
        resolved.append(done)
        for value in alert.upload_hashes:
            await allowlist.allow(
                conn, alert.guild_id, value, decided_by=moderator.id, entry_id=alert.entry_id
            )
        return draft

    draft = CaseDraft(
        CaseKind.NOT_A_MATCH,
        "Marked not a match; this picture is allowlisted here",
        user_id=alert.author_id,
        moderator_id=moderator.id,
        entry_id=alert.entry_id,
        distance=alert.distance,
    )
    decided = await bot.actions.record(alert.guild_id, draft, gate=resolve)
    if decided is None:
        await interaction.response.send_message(ALREADY_DECIDED, ephemeral=True)
        return
    await bot.takedown_index.sync()
    after = (
        "The message was already removed; let the author know they can post it again."
        if alert.removed
        else "The message stays up."
    )
    await interaction.response.send_message(
        f"Marked as not a match (case #{decided.number}). This picture won't be flagged here "
        f"again. {after}",
        ephemeral=True,
    )
    await bot.alerts.refresh(interaction, resolved[0])


async def _take_down(
    interaction: discord.Interaction[Lightstick], alert: MatchAlert, moderator: discord.Member
) -> None:
    bot = interaction.client
    assert interaction.guild is not None
    if alert.status != AlertStatus.OPEN:
        await interaction.response.send_message(ALREADY_DECIDED, ephemeral=True)
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    resolved: list[MatchAlert] = []

    async def resolve(conn: AsyncConnection, _case: Case) -> None:
        done = await alerts_db.resolve_alert(
            conn, alert.id, status=AlertStatus.TAKEN_DOWN, resolved_by=moderator.id, removed=True
        )
        own = await takedowns.get_own_list(conn, alert.guild_id)
        if done is not None:
            resolved.append(done)
            if alert.entry_id is not None and alert.list_id == own.id:
                await takedowns.add_variants(conn, alert.entry_id, alert.upload_hashes)

    draft = CaseDraft(
        CaseKind.TAKEDOWN,
        "Taken down from a match alert",
        user_id=alert.author_id,
        moderator_id=moderator.id,
        channel_id=alert.channel_id,
        message_id=alert.message_id,
        entry_id=alert.entry_id,
        distance=alert.distance,
    )
    channel = interaction.guild.get_channel_or_thread(alert.channel_id)
    if isinstance(channel, discord.TextChannel | discord.Thread):
        removal = await bot.actions.remove_message(
            channel.get_partial_message(alert.message_id), alert.guild_id, draft, follow=resolve
        )
        if removal.problem:
            await interaction.followup.send(removal.problem, ephemeral=True)
            return
        case = removal.case
    else:
        case = await bot.actions.record(alert.guild_id, draft, follow=resolve)
    assert case is not None
    await bot.takedown_index.sync()
    await interaction.followup.send(
        f"Removed (case #{case.number}). Copies this close will be removed automatically.",
        ephemeral=True,
    )
    if resolved:
        await bot.alerts.refresh(interaction, resolved[0])

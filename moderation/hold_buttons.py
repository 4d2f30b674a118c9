"""**Keep removing** and **Stop using this entry** on the message about a held entry (and on
`/takedown info` of one).

Each click reads the hold from the database (the buttons survive restarts), checks that a
moderator clicked, and decides through `bot.actions` in one transaction with its case; the first
decision wins, a second click is told someone already decided.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

import discord
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import CaseKind
from db import flood_holds, takedowns
from db.flood_holds import Hold
from moderation import buttons
from moderation.actions import CaseDraft
from moderation.buttons import RecordButton
from moderation.i18n import N_, Texts, member_texts

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

ALREADY_DECIDED = N_("Someone already decided on this hold.")
GONE = N_("That entry is no longer held here.")


def hold_view(hold: Hold, tr: Texts) -> discord.ui.View:
    """The hold's buttons, labelled in the language of the message they are on (`tr`);
    disabled once decided."""
    view = discord.ui.View(timeout=None)
    for action in ("keep", "stop"):
        view.add_item(HoldButton(hold.entry_id, action, disabled=not hold.held, tr=tr))
    return view


def ignored_view(hold: Hold, tr: Texts) -> discord.ui.View:
    """On `/takedown info` of a shared entry this server stopped using: use it again."""
    view = discord.ui.View(timeout=None)
    view.add_item(HoldButton(hold.entry_id, "resume", tr=tr))
    return view


async def on_hold_button(
    interaction: discord.Interaction[Lightstick], entry_id: int, action: str
) -> None:
    guild_id = interaction.guild_id or 0

    async def load(conn: AsyncConnection, entry: int) -> Hold | None:
        return await flood_holds.get_hold(conn, guild_id, entry)

    clicked = await buttons.clicked_record(interaction, entry_id, load, GONE)
    if clicked is None:
        return
    moderator, hold = clicked
    tr = member_texts(interaction)
    if hold.status != ("ignored" if action == "resume" else "held"):
        await interaction.response.send_message(tr(ALREADY_DECIDED), ephemeral=True)
        return
    async with buttons.apologising(interaction, f"Hold button {action} on entry {entry_id}"):
        await interaction.response.defer()  # the clicked message is updated, the answer follows
        if action == "stop":
            answer = await _stop_using(interaction, hold, moderator)
        else:
            answer = await _release(interaction, hold, moderator)
        await interaction.followup.send(answer, ephemeral=True)


class HoldButton(
    RecordButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lightstick:hold:(?P<id>[0-9]+):(?P<action>keep|stop|resume)",
):
    """A button on a held entry's message; the custom id holds the entry (the server is the
    interaction's), and the hold is read from the database on each click."""

    KIND = "hold"
    LABELS: ClassVar[dict[str, buttons.Label]] = {
        "keep": (N_("Keep removing"), discord.ButtonStyle.danger),
        "stop": (N_("Stop using this entry"), discord.ButtonStyle.secondary),
        "resume": (N_("Use this entry again"), discord.ButtonStyle.primary),
    }
    on_click = staticmethod(on_hold_button)


async def _release(
    interaction: discord.Interaction[Lightstick], hold: Hold, moderator: discord.Member
) -> str:
    """**Keep removing** on a held entry, or **Use this entry again** on one this server stopped
    using: it removes copies here again, its count starting over."""
    bot = interaction.client
    tr = member_texts(interaction)
    was = hold.status
    decided: list[Hold] = []

    async def release(conn: AsyncConnection, draft: CaseDraft) -> CaseDraft | None:
        done = await flood_holds.decide(
            conn, hold.guild_id, hold.entry_id, "counting", moderator.id, was=was
        )
        decided.extend([done] if done else [])
        return draft if done else None

    reason = (
        f"Keep removing: released the flood hold on entry {hold.entry_id}; its count restarts"
        if was == "held"
        else f"Use this entry again: entry {hold.entry_id} of a shared list matches here again"
    )
    draft = CaseDraft(
        CaseKind.HOLD_RELEASED, reason, moderator_id=moderator.id, entry_id=hold.entry_id
    )
    case = await bot.actions.record(hold.guild_id, draft, gate=release)
    if case is None:
        return tr(ALREADY_DECIDED)
    if was == "ignored":
        await bot.takedown_index.sync()
        await _redraw(interaction, decided[0], notice=False)
        return tr(
            "Entry #{entry} of a shared list matches in this server again (case #{number}).",
            entry=hold.entry_id,
            number=case.number,
        )
    await _redraw(interaction, decided[0])
    limit = (await bot.guild_settings.get(hold.guild_id)).flood_limit
    return tr.plural(
        "Entry #{entry} removes copies again (case #{number}). Its count starts over: it is held "
        "again only if it removes more than {count} message within an hour. Copies flagged "
        "while it was held are still up: use **Take down** on their alerts.",
        "Entry #{entry} removes copies again (case #{number}). Its count starts over: it is held "
        "again only if it removes more than {count} messages within an hour. Copies flagged "
        "while it was held are still up: use **Take down** on their alerts.",
        limit,
        entry=hold.entry_id,
        number=case.number,
    )


async def _stop_using(
    interaction: discord.Interaction[Lightstick], hold: Hold, moderator: discord.Member
) -> str:
    """This server's own entry is removed from its list; a shared list's entry is ignored in
    this server only (the list and its other subscribers are untouched)."""
    bot = interaction.client
    tr = member_texts(interaction)
    async with bot.db.connect() as conn:
        entry = await takedowns.get_entry(conn, hold.guild_id, hold.entry_id)
    own = entry is not None
    decided: list[Hold] = []

    async def stop(conn: AsyncConnection, draft: CaseDraft) -> CaseDraft | None:
        done = await flood_holds.decide(conn, hold.guild_id, hold.entry_id, "ignored", moderator.id)
        if done is None:
            return None
        decided.append(done)
        if own:  # the entry (and with it its hold) goes: the case keeps its number in words
            await takedowns.remove_entry(conn, hold.guild_id, hold.entry_id)
        return draft

    label = entry.label if entry is not None and entry.label else "none"
    draft = CaseDraft(
        CaseKind.ENTRY_STOPPED,
        f"Stop using this entry: removed entry {hold.entry_id} (label: {label}) from this "
        "server's list after a flood hold"
        if own
        else f"Stop using this entry: entry {hold.entry_id} of a shared list no longer matches "
        "in this server after a flood hold",
        moderator_id=moderator.id,
        entry_id=None if own else hold.entry_id,
    )
    case = await bot.actions.record(hold.guild_id, draft, gate=stop)
    if case is None:
        return tr(ALREADY_DECIDED)
    await bot.takedown_index.sync()
    await _redraw(interaction, decided[0])
    if own:
        return tr(
            "Removed entry #{entry} from this server's list (case #{number}). It no longer "
            "matches, here or in any server that subscribes to this list.",
            entry=hold.entry_id,
            number=case.number,
        )
    return tr(
        "Entry #{entry} of a shared list no longer matches in this server (case #{number}). The "
        "list and its other subscribers are not affected.",
        entry=hold.entry_id,
        number=case.number,
    )


async def _redraw(
    interaction: discord.Interaction[Lightstick], hold: Hold, *, notice: bool = True
) -> None:
    """The decision on the hold's message (`notice`); the clicked message too, when it is
    another one (an answer of /takedown info), so its buttons can't be clicked again."""
    assert interaction.guild is not None
    if notice:
        await interaction.client.flood_holds.redraw_notice(interaction.guild, hold)
    clicked = interaction.message
    if clicked is not None and clicked.id != hold.notice_message_id:
        try:
            await interaction.edit_original_response(view=None)
        except discord.HTTPException as exc:
            log.info("Could not update the buttons of entry %s: %s", hold.entry_id, exc)

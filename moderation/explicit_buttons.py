"""The buttons on an explicit-image review message: **Take down**, **Not explicit**,
**Timeout author**, **Ban author**.

Each click reads the flag from the database (the buttons survive restarts), checks that a
moderator clicked (and, for timeout and ban, their rank: `moderation.buttons`), and acts through
`bot.actions`, so every decision is a case written with the flag's new state:
- **Take down** removes the message (if it is still there), puts the flagged pictures' hashes on
  the server's takedown list (so later copies are removed automatically) and closes the flag;
- **Not explicit** closes the flag and clears the pictures in this server: a copy close to them
  is never flagged here again (`services.explicit_policy.is_cleared`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

import discord
from sqlalchemy.ext.asyncio import AsyncConnection

from core.vocabulary import CaseKind, FlagStatus
from db import explicit_flags as flags_db
from db import takedowns
from db.explicit_flags import ExplicitFlag
from db.guild_settings import GuildSettings
from moderation import buttons
from moderation.actions import CaseDraft, Decision
from moderation.buttons import OnAuthor, RecordButton
from moderation.evidence_buttons import add_evidence_buttons
from moderation.i18n import N_, Texts, member_texts
from moderation.sweeper import copies_text

if TYPE_CHECKING:
    from bot import Lightstick

log = logging.getLogger(__name__)

ALREADY_DECIDED = N_("Someone already decided on this flag.")
GONE = N_("That flag no longer exists.")
ENTRY_LABEL = "flagged as likely explicit"  # the takedown entry's label (moderators' own data)


def flag_view(
    flag: ExplicitFlag, tr: Texts, settings: GuildSettings | None = None
) -> discord.ui.View:
    """The review message's buttons, labelled in its language (`tr`); with the server's
    `settings`, **Evidence** (the flag's case) and the agency link too, as on alerts."""
    view = discord.ui.View(timeout=None)
    if flag.status is not FlagStatus.TAKEN_DOWN:
        view.add_item(FlagButton(flag.id, "takedown", disabled=not flag.is_open, tr=tr))
    view.add_item(FlagButton(flag.id, "notexplicit", disabled=not flag.is_open, tr=tr))
    view.add_item(FlagButton(flag.id, "timeout", tr=tr))
    view.add_item(FlagButton(flag.id, "ban", tr=tr))
    if settings is not None and flag.case_id is not None:
        add_evidence_buttons(view, settings, "case", flag.case_id, tr)
    return view


async def on_flag_button(
    interaction: discord.Interaction[Lightstick], flag_id: int, action: str
) -> None:
    clicked = await buttons.clicked_record(interaction, flag_id, flags_db.get_flag, GONE)
    if clicked is None:
        return
    moderator, flag = clicked
    reason = f"Likely explicit picture (flag {flag.id}, score {flag.score:.2f})"
    async with buttons.apologising(interaction, f"Explicit-flag button {action} on {flag_id}"):
        if action == "takedown":
            await _take_down(interaction, flag, moderator)
        elif action == "notexplicit":
            await _not_explicit(interaction, flag, moderator)
        else:
            step = OnAuthor(moderator, flag.author_id, reason)
            await buttons.AUTHOR_STEPS[action](interaction, step)


class FlagButton(
    RecordButton,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lightstick:explicit:(?P<id>[0-9]+):(?P<action>takedown|notexplicit|timeout|ban)",
):
    """A button on an explicit-image review message; the flag is read on each click."""

    KIND = "explicit"
    LABELS: ClassVar[dict[str, buttons.Label]] = {
        "takedown": buttons.TAKE_DOWN,
        "notexplicit": (N_("Not explicit"), discord.ButtonStyle.secondary),
        **buttons.AUTHOR_LABELS,
    }
    on_click = staticmethod(on_flag_button)


def _draft(kind: CaseKind, reason: str, flag: ExplicitFlag, moderator: discord.Member) -> CaseDraft:
    return CaseDraft(
        kind,
        reason,
        user_id=flag.author_id,
        moderator_id=moderator.id,
        channel_id=flag.channel_id,
        message_id=flag.message_id,
    )


def _closing(
    flag: ExplicitFlag, status: FlagStatus, moderator: discord.Member
) -> Callable[[AsyncConnection], Awaitable[ExplicitFlag | None]]:
    """Close the flag as decided, unless someone already did."""

    async def close(conn: AsyncConnection) -> ExplicitFlag | None:
        return await flags_db.resolve_flag(conn, flag.id, status=status, resolved_by=moderator.id)

    return close


async def _take_down(
    interaction: discord.Interaction[Lightstick], flag: ExplicitFlag, moderator: discord.Member
) -> None:
    bot = interaction.client
    tr = member_texts(interaction)
    if not flag.is_open:
        await interaction.response.send_message(tr(ALREADY_DECIDED), ephemeral=True)
        return
    await interaction.response.defer(ephemeral=True, thinking=True)

    async def list_pictures(
        conn: AsyncConnection, closed: ExplicitFlag, draft: CaseDraft
    ) -> CaseDraft:
        entry_id = await _list_flagged_pictures(conn, closed, moderator)
        return dataclasses.replace(draft, entry_id=entry_id)

    decision = Decision(_closing(flag, FlagStatus.TAKEN_DOWN, moderator), list_pictures)
    draft = _draft(
        CaseKind.EXPLICIT_TAKEDOWN,
        f"Likely explicit picture (score {flag.score:.2f}) taken down and listed",
        flag,
        moderator,
    )
    where = (flag.channel_id, flag.message_id)
    removal = await bot.actions.take_down(flag.guild_id, where, draft, gate=decision)
    if removal.problem:
        await interaction.followup.send(tr.read(removal.problem), ephemeral=True)
        return
    if removal.case is None:
        await interaction.followup.send(tr(ALREADY_DECIDED), ephemeral=True)
        return
    await bot.takedown_index.sync()
    settings = await bot.guild_settings.get(flag.guild_id)
    taken = tr(
        "Taken down (case #{number}). This picture is on the takedown list now.",
        number=removal.case.number,
    )
    await interaction.followup.send(
        f"{taken} {copies_text(tr, settings.recent_days)}", ephemeral=True
    )
    assert decision.closed is not None
    await bot.explicit_review.refresh(interaction, decision.closed)


async def _list_flagged_pictures(
    conn: AsyncConnection, flag: ExplicitFlag, moderator: discord.Member
) -> int | None:
    """Put the flagged pictures' hashes on the server's own takedown list: the entry's id."""
    entry_id = await takedowns.list_picture(
        conn,
        flag.guild_id,
        await flags_db.flag_hashes(conn, flag.id),
        await flags_db.flag_hashes(conn, flag.id, variants=True),
        label=ENTRY_LABEL,
        source="explicit",
        added_by=moderator.id,
    )
    if entry_id is not None:
        await flags_db.set_flag_entry(conn, flag.id, entry_id)
    return entry_id


async def _not_explicit(
    interaction: discord.Interaction[Lightstick], flag: ExplicitFlag, moderator: discord.Member
) -> None:
    bot = interaction.client
    tr = member_texts(interaction)

    async def clear_pictures(
        conn: AsyncConnection, closed: ExplicitFlag, draft: CaseDraft
    ) -> CaseDraft:
        own = await flags_db.flag_hashes(conn, closed.id)
        await flags_db.clear(conn, closed.guild_id, own, decided_by=moderator.id)
        return draft

    decision = Decision(_closing(flag, FlagStatus.NOT_EXPLICIT, moderator), clear_pictures)
    draft = _draft(
        CaseKind.NOT_EXPLICIT,
        f"Marked not explicit (score {flag.score:.2f}); this picture won't be flagged here again",
        flag,
        moderator,
    )
    decided = await bot.actions.record(flag.guild_id, draft, gate=decision)
    if decided is None:
        await interaction.response.send_message(tr(ALREADY_DECIDED), ephemeral=True)
        return
    await interaction.response.send_message(
        tr(
            "Marked as not explicit (case #{number}). This picture won't be flagged here again. "
            "The message stays up.",
            number=decided.number,
        ),
        ephemeral=True,
    )
    assert decision.closed is not None
    await bot.explicit_review.refresh(interaction, decision.closed)

"""Answering whoever clicked or typed, privately, whatever state the interaction is in."""

from __future__ import annotations

import logging

import discord

from moderation.i18n import N_, member_texts
from moderation.shown_text import MESSAGE, shorten

log = logging.getLogger(__name__)

APOLOGY = N_("Sorry, that didn't work. It was logged; please try again.")


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Answer privately, whether or not the interaction was already answered."""
    message = shorten(message, MESSAGE)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("Could not send an ephemeral answer: %s", exc)


async def apologise(interaction: discord.Interaction) -> None:
    """The short apology after an unexpected error (the caller logs the traceback)."""
    await send_ephemeral(interaction, member_texts(interaction)(APOLOGY))

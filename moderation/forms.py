"""Forms (modals) the bot shows, registered before they are shown.

discord.py registers a modal only once Discord has answered the bot's request to show it, but
the member sees the form as soon as Discord has it: on a slow network a quick member can send it
back before the bot heard its own answer, and the submission would be dropped. So the form is
registered first. A member has one form open at a time (Discord shows one), so the one they
opened before is let go: nothing piles up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

if TYPE_CHECKING:
    from bot import Lightstick


def form_id(kind: str, interaction: discord.Interaction) -> str:
    """A form's custom id: unique to the interaction that opened it."""
    return f"lightstick:{kind}-form:{interaction.id}"


class OpenForms:
    """The form each member has open, registered with discord.py before it is shown."""

    def __init__(self, bot: Lightstick) -> None:
        self.bot = bot
        self._open: dict[int, discord.ui.Modal] = {}

    async def show(self, interaction: discord.Interaction, form: discord.ui.Modal) -> None:
        """Show `form` (made with `timeout=None` and a `form_id`) as the answer."""
        previous = self._open.pop(interaction.user.id, None)
        if previous is not None:
            previous.stop()
        self.bot.add_view(form)
        self._open[interaction.user.id] = form
        await interaction.response.send_modal(form)

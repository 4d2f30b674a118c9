"""Previous / Next buttons over a long list (cases, takedown entries), for the one who asked.

The pages are ephemeral answers, so the view lives in memory and times out; nothing here needs
to survive a restart (the member just runs the command again).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from moderation.i18n import N_, Texts, member_texts

PREVIOUS, NEXT = N_("Previous"), N_("Next")
Renderer = Callable[[int], Awaitable[discord.Embed]]


class PageView(discord.ui.View):
    """Pages 0..page_count-1, rendered on demand by `render(page)`."""

    def __init__(self, tr: Texts, owner_id: int, page_count: int, render: Renderer) -> None:
        super().__init__(timeout=600)
        self.tr = tr
        self.owner_id = owner_id
        self.page_count = max(1, page_count)
        self.render = render
        self.page = 0
        self.previous.label = tr(PREVIOUS)
        self.next.label = tr(NEXT)
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.page_count - 1
        self.position.label = self.tr(
            "{page} / {pages}",
            page=self.tr.number(self.page + 1),
            pages=self.tr.number(self.page_count),
        )

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            tr = member_texts(interaction)
            await interaction.response.send_message(
                tr("These pages belong to someone else; run the command yourself."),
                ephemeral=True,
            )
            return False
        return True

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        self.page = max(0, min(page, self.page_count - 1))
        self._sync_buttons()
        await interaction.response.edit_message(embed=await self.render(self.page), view=self)

    @discord.ui.button(label=PREVIOUS, style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._show(interaction, self.page - 1)

    @discord.ui.button(label="1 / 1", style=discord.ButtonStyle.secondary, disabled=True)
    async def position(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await interaction.response.defer()

    @discord.ui.button(label=NEXT, style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._show(interaction, self.page + 1)


@dataclass(frozen=True, slots=True)
class Slice:
    """The rows one page shows: `limit` of them from `offset` (newest first, as listed)."""

    limit: int
    offset: int


async def send_pages(
    interaction: discord.Interaction,
    total: int,
    per_page: int,
    render_slice: Callable[[Slice], Awaitable[discord.Embed]],
) -> None:
    """Answer privately with the first page of `total` rows, and buttons when there is more
    than one page; each page is rendered when shown."""
    page_count = math.ceil(total / per_page)

    async def render(page: int) -> discord.Embed:
        return await render_slice(Slice(per_page, page * per_page))

    embed = await render(0)
    if page_count <= 1:
        await interaction.response.send_message(embed=embed, ephemeral=True)
        return
    view = PageView(member_texts(interaction), interaction.user.id, page_count, render)
    await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

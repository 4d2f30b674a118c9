"""Interactions the sandbox builds, parsed by discord.py itself: a small in-process client with
its own command tree (discord.py's code, not ours) answers a user and a message context menu,
a slash command with an attachment, a modal with Label-wrapped select and text input, and a
Components V2 message whose button and select are used. If a payload the sandbox sends did not
match what discord.py expects, the callback would never come."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import discord
import pytest
from discord import app_commands, ui
from discord.gateway import DiscordWebSocket
from discord.http import Route
from yarl import URL

from sandbox.scenario import GuildHandle
from sandbox.server import Sandbox


class ReportForm(ui.Modal, title="Report message"):
    category: ui.Label[ReportForm] = ui.Label(
        text="Category",
        component=ui.Select(
            custom_id="category",
            options=[discord.SelectOption(label=c, value=c) for c in ("Deepfake", "Spam")],
        ),
    )
    details: ui.Label[ReportForm] = ui.Label(
        text="Details", component=ui.TextInput(custom_id="details", required=False)
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert isinstance(self.category.component, ui.Select)
        assert isinstance(self.details.component, ui.TextInput)
        chosen = self.category.component.values[0]
        await interaction.response.send_message(
            f"category={chosen} details={self.details.component.value}", ephemeral=True
        )


class Panel(ui.LayoutView):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        row: ui.ActionRow[Panel] = ui.ActionRow()
        button: ui.Button[Panel] = ui.Button(label="Take down", custom_id="take-down")
        button.callback = self.take_down  # type: ignore[method-assign]
        row.add_item(button)
        picker: ui.Select[Panel] = ui.Select(
            custom_id="reason", options=[discord.SelectOption(label="Match", value="match")]
        )
        picker.callback = self.pick  # type: ignore[method-assign]
        self.add_item(ui.Container(ui.TextDisplay("Match found"), row, ui.ActionRow(picker)))

    async def take_down(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(view=Done())

    async def pick(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"picked {interaction.data['values']}")  # type: ignore[index]


class Done(ui.LayoutView):
    def __init__(self) -> None:
        super().__init__()
        self.add_item(ui.TextDisplay("Taken down"))


@pytest.fixture
async def client(
    sandbox: Sandbox, guild: GuildHandle, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[discord.Client]:
    monkeypatch.setattr(Route, "BASE", sandbox.api_base)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", URL(sandbox.gateway_url))
    intents = discord.Intents.default()
    intents.message_content = True
    bot = discord.Client(intents=intents)
    tree = app_commands.CommandTree(bot)

    @tree.context_menu(name="Report user")
    async def report_user(interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.send_message(f"reported {member.name}", ephemeral=True)

    @tree.context_menu(name="Report message")
    async def report_message(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_modal(ReportForm())

    @tree.command(name="evidence", description="Attach evidence")
    async def evidence(interaction: discord.Interaction, file: discord.Attachment) -> None:
        data = await file.read()
        await interaction.response.send_message(f"{file.filename}: {len(data)} bytes")

    @tree.command(name="panel", description="Post a panel")
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(view=Panel())

    await bot.login(sandbox.world.application.token)
    await tree.sync()
    since = len(sandbox.frames)
    task = asyncio.create_task(bot.connect())
    await sandbox.wait_for_event("GUILD_CREATE", since=since)
    await sandbox.gateway.flushed()
    try:
        yield bot
    finally:
        await bot.close()
        task.cancel()


async def test_context_menus_and_a_modal_with_label_wrapped_select_and_text_input(
    sandbox: Sandbox, guild: GuildHandle, client: discord.Client
) -> None:
    fan, moderator = guild.member("fan"), guild.member("moderator")
    reported = await fan.run_user_command("Report user", moderator)
    assert (await reported.message()).content == "reported moderator"
    post = await moderator.send(guild.channel("general"), "a suspicious edit")
    opened = await fan.run_message_command("Report message", post)
    modal = await opened.modal()
    assert [c["type"] for c in modal["components"]] == [18, 18]
    submitted = await fan.submit_modal(opened, {"category": ["Deepfake"], "details": "AI face"})
    answer = await submitted.message()
    assert answer.content == "category=Deepfake details=AI face"
    assert submitted.ephemeral


async def test_slash_command_attachment_is_resolved_and_served_by_the_cdn(
    sandbox: Sandbox, guild: GuildHandle, client: discord.Client
) -> None:
    answer = await guild.member("fan").run_command("evidence", file=("proof.png", b"x" * 100))
    assert (await answer.message()).content == "proof.png: 100 bytes"
    assert [c.status for c in sandbox.cdn_requests] == [200]


async def test_components_v2_message_buttons_and_selects(
    sandbox: Sandbox, guild: GuildHandle, client: discord.Client
) -> None:
    moderator = guild.member("moderator")
    posted = await (await moderator.run_command("panel")).message()
    assert posted.flags & (1 << 15)
    assert posted.components[0]["type"] == 17
    picked = await moderator.select(posted, "reason", ["match"])
    assert (await picked.message()).content == "picked ['match']"
    clicked = await moderator.click(posted, "take-down")
    updated = await clicked.message()
    assert updated.id == posted.id
    assert updated.components[0]["content"] == "Taken down"

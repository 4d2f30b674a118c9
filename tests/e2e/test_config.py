"""/config and /cases end to end: admins change settings from Discord, bad values are refused,
/config check names what the bot lacks, and every change is a case moderators can page through."""

from __future__ import annotations

import pytest

from sandbox.botprocess import BotProcess
from sandbox.permissions import Permission
from sandbox.scenario import GuildHandle

pytestmark = pytest.mark.e2e


def embed_text(embed: dict) -> str:
    parts = [embed.get("title", ""), embed.get("description", "")]
    parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


async def test_config_show_lists_every_setting_with_defaults(
    guild: GuildHandle, bot: BotProcess
) -> None:
    answer = await guild.owner.run_command("config show")
    text = embed_text((await answer.message()).embeds[0])
    assert answer.ephemeral
    for expected in (
        "Mod channel: not set",
        "On a confident match: **remove** the message",
        "PDQ radius: confident 31, review 62",
        "Blurred previews in alerts: on",
        "Auto-hide after 3 sexualized/deepfake reports",
        "5 per 10 min, 20 a day",
    ):
        assert expected in text


async def test_changes_are_saved_shown_and_recorded_as_cases(
    guild: GuildHandle, bot: BotProcess
) -> None:
    owner = guild.owner
    mod_queue, general = guild.channel("mod-queue"), guild.channel("general")
    saved = await owner.run_command("config channels", mod_channel=mod_queue, skip=general)
    saved_text = embed_text((await saved.message()).embeds[0])
    assert f"Mod channel: <#{mod_queue.id}>" in saved_text
    assert f"Skipped channels: <#{general.id}>" in saved_text
    flagged = await owner.run_command(
        "config takedowns", action="flag", confident_radius=20, previews=False
    )
    text = embed_text((await flagged.message()).embeds[0])
    assert "**flag** the message" in text and "confident 20" in text
    role = guild.role("Moderator")
    await (await owner.run_command("config roles", mod_role=role)).message()
    await (await owner.run_command("config reports", auto_hide=0, per_day=3)).message()

    shown = embed_text((await (await owner.run_command("config show")).message()).embeds[0])
    assert "Auto-hide after reports: off" in shown and "20 a day" not in shown
    assert f"Mod role: <@&{role.id}>" in shown

    cases = await guild.member("moderator").run_command("cases list")
    listing = embed_text((await cases.message()).embeds[0])
    assert listing.count("Settings change") == 4
    assert "takedown_action: remove -> flag" in listing
    assert "4 cases" in (await cases.message()).embeds[0]["footer"]["text"]


@pytest.mark.parametrize(
    ("command", "options", "answer"),
    [
        (
            "config takedowns",
            {"review_radius": 10},
            "the pdq review radius can't be smaller than its confident radius",
        ),
        ("config roles", {"mod_role": "@everyone"}, "can't be the mod role"),
        ("config channels", {"skip": "general", "unskip": "general"}, "skip and unskip"),
        ("config reports", {}, "Pick at least one option"),
    ],
)
async def test_bad_values_are_refused_clearly_and_change_nothing(
    guild: GuildHandle, bot: BotProcess, command: str, options: dict, answer: str
) -> None:
    resolved = {
        name: guild.role(value)
        if value == "@everyone"
        else guild.channel(value)
        if isinstance(value, str)
        else value
        for name, value in options.items()
    }
    refused = await guild.owner.run_command(command, **resolved)
    message = await refused.message()
    assert refused.ephemeral and answer in message.content
    cases = await (await guild.owner.run_command("cases list")).message()
    assert cases.content == "No cases yet."


async def test_a_mod_channel_the_bot_cannot_post_in_is_refused(
    guild: GuildHandle, bot: BotProcess
) -> None:
    secret = guild.add_channel("secret")
    guild.set_overwrite(secret, guild.bot_role, deny=Permission.SEND_MESSAGES)
    answer = await guild.owner.run_command("config channels", mod_channel=secret)
    content = (await answer.message()).content
    assert "I can't use" in content and "Send Messages" in content


async def test_config_check_names_a_permission_the_server_withheld(
    guild: GuildHandle, bot: BotProcess
) -> None:
    general = guild.channel("general")
    guild.set_overwrite(general, guild.bot_role, deny=Permission.MANAGE_MESSAGES)
    await (
        await guild.owner.run_command("config channels", mod_channel=guild.channel("mod-queue"))
    ).message()
    check = await guild.owner.run_command("config check")
    text = embed_text((await check.message()).embeds[0])
    assert f"<#{general.id}>: missing **Manage Messages**: matches are alerted but not" in text
    assert "Message Content intent is on" in text
    assert "1 thing to fix" in text


async def test_a_mod_channel_everyone_can_read_is_saved_with_a_warning(
    guild: GuildHandle, bot: BotProcess
) -> None:
    general = guild.channel("general")
    saved = await (await guild.owner.run_command("config channels", mod_channel=general)).message()
    assert f"⚠️ Saved, but: @everyone can read <#{general.id}>" in saved.content
    check = await guild.owner.run_command("config check")
    text = embed_text((await check.message()).embeds[0])
    assert f"@everyone can read <#{general.id}>" in text and "1 thing to fix" in text

    private = guild.channel("mod-queue")
    saved = await (await guild.owner.run_command("config channels", mod_channel=private)).message()
    assert "can read" not in saved.content
    check = await guild.owner.run_command("config check")
    text = embed_text((await check.message()).embeds[0])
    assert f"<#{private.id}>: private to moderators" in text
    assert "Everything Lightstick needs is in place" in text


async def test_cases_page_with_buttons(guild: GuildHandle, bot: BotProcess) -> None:
    for radius in range(32, 42):  # the default is 31: every one is a change
        await (await guild.owner.run_command("config takedowns", confident_radius=radius)).message()
    moderator = guild.member("moderator")
    opened = await moderator.run_command("cases list")
    first = await opened.message()
    assert "#10" in embed_text(first.embeds[0]) and "#2 " not in embed_text(first.embeds[0])
    next_id = next(
        c["custom_id"]
        for row in first.components
        for c in row["components"]
        if c.get("label") == "Next"
    )
    turned = await moderator.click(first, next_id)
    await turned.response()
    page_two = embed_text(first.embeds[0])
    assert "#2 " in page_two and "#10" not in page_two

"""Reports end to end: fans report through /report, Report message and Report user; each reported
thing has one queue message in the mod channel that counts its reporters; moderators act from it
(also after a restart, and only moderators); a taken-down picture stays down; auto-hide, abuse
limits, and a queue message that went missing is posted again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from db import guild_settings
from db.engine import Database
from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle, InteractionHandle, MemberHandle
from sandbox.server import Sandbox
from sandbox.state import Message
from tests.e2e.conftest import StartBot
from tests.media.samples import encode, photo

pytestmark = pytest.mark.e2e

MESSAGE_ROUTE = "/channels/{channel_id}/messages/{message_id}"
PICTURE = 5


def bot_database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot' / 'lightstick.db'}"


async def arrange(tmp_path: Path, guild: GuildHandle, **settings: Any) -> None:
    """Before the bot starts: #mod-queue as the mod channel, the Moderator role as mod role."""
    (tmp_path / "bot").mkdir(exist_ok=True)
    database = await Database.open(bot_database_url(tmp_path))
    values = {
        "mod_channel_id": guild.channel("mod-queue").id,
        "mod_role_id": guild.role("Moderator").id,
        **settings,
    }
    async with database.transaction() as conn:
        await guild_settings.update_settings(conn, guild.id, **values)
    await database.close()


@pytest.fixture
async def reports_bot(tmp_path: Path, guild: GuildHandle, start_bot: StartBot) -> BotProcess:
    await arrange(tmp_path, guild)
    return await start_bot(env={"HASH_WORKERS": "1"})


def logged_no_errors(bot: BotProcess) -> bool:
    return "Traceback" not in bot.stderr and " ERROR " not in bot.stderr


def link(guild: GuildHandle, message: Message) -> str:
    return f"https://discord.com/channels/{guild.id}/{message.channel_id}/{message.id}"


def embed_text(message: Message) -> str:
    embed = message.embeds[0]
    parts = [embed.get("title", ""), embed.get("description", "")]
    parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


def queue(sandbox: Sandbox, guild: GuildHandle) -> list[Message]:
    """The report queue messages in #mod-queue that are still there, oldest first."""
    channel = guild.channel("mod-queue").id
    return sorted(
        (
            m
            for m in sandbox.world.messages.values()
            if m.channel_id == channel
            and not m.deleted
            and m.embeds
            and "eport #" in m.embeds[0].get("title", "")
        ),
        key=lambda m: m.id,
    )


async def eventually(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Poll until `check()` gives something truthy (the bot works in its own process)."""
    for _ in range(int(timeout / 0.05)):
        found = check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def queue_shows(
    sandbox: Sandbox, guild: GuildHandle, number: int, text: str
) -> Message:
    """The queue message of report #number, once its embed contains `text`."""

    def find() -> Message | None:
        for message in queue(sandbox, guild):
            if f"eport #{number}:" in message.embeds[0]["title"] and text in embed_text(message):
                return message
        return None

    return await eventually(find, f"report #{number} showing {text!r}")


def buttons(message: Message) -> dict[str, dict[str, Any]]:
    return {c["label"]: c for row in message.components for c in row["components"]}


async def report_message(
    member: MemberHandle, message: Message, category: str, details: str = ""
) -> str:
    """Report message (the context menu), fill in the form; the bot's private answer."""
    opened = await member.run_message_command("Report message", message)
    submitted = await member.submit_modal(
        opened, {"report-category": [category], "report-details": details}
    )
    answer = await submitted.followup()
    assert answer.ephemeral
    return answer.content


async def report_user(member: MemberHandle, target: MemberHandle, category: str) -> str:
    opened = await member.run_user_command("Report user", target)
    submitted = await member.submit_modal(opened, {"report-category": [category]})
    answer = await submitted.followup()
    assert answer.ephemeral
    return answer.content


async def slash_report(member: MemberHandle, **options: Any) -> str:
    answer = await member.run_command("report", **options)
    message = await answer.followup()
    assert message.ephemeral
    return message.content


async def refused_before_the_form(opened: InteractionHandle) -> str:
    answer = await opened.message()
    assert opened.ephemeral
    return answer.content


def public_messages_naming(sandbox: Sandbox, guild: GuildHandle, user_ids: list[int]) -> list:
    """Messages anyone but moderators could see that name one of `user_ids`."""
    queue_channel = guild.channel("mod-queue").id
    found = []
    for message in sandbox.world.messages.values():
        if message.ephemeral or message.channel_id == queue_channel:
            continue
        if message.author.id != guild.bot.user.id:
            continue
        text = message.content + str(message.embeds)
        if any(str(user_id) in text for user_id in user_ids):
            found.append(message)
    return found


async def test_message_reports_from_the_menu_and_a_link_share_one_urgent_queue_message(
    sandbox: Sandbox, guild: GuildHandle, reports_bot: BotProcess
) -> None:
    fan = guild.member("fan")
    first, second = guild.add_member("minji"), guild.add_member("hanni")
    general = guild.channel("general")
    posted = await fan.send(
        general, "omg look at this", files=[("edit.jpg", encode(photo(PICTURE), "JPEG"))]
    )

    answer = await report_message(first, posted, "deepfake", "an AI edit of Jisoo")
    assert "#1" in answer
    (queued,) = await eventually(lambda: queue(sandbox, guild), "the queue message")
    moderator_role = guild.role("Moderator").id
    assert queued.content.startswith(f"<@&{moderator_role}>")
    post = sandbox.calls_to("POST", "/channels/{channel_id}/messages")[-1]
    mentions = post.json["allowed_mentions"]
    assert mentions["parse"] == [] and [int(r) for r in mentions["roles"]] == [moderator_role]
    text = embed_text(queued)
    assert "Urgent report #1: Deepfake / AI-manipulated" in text
    assert "omg look at this" in text and str(fan.id) in text
    assert str(first.id) in text and "an AI edit of Jisoo" in text
    assert [a.filename for a in queued.attachments] == ["SPOILER_lightstick-preview.jpg"]
    assert list(buttons(queued)) == ["Take down", "Dismiss", "Timeout author", "Ban author"]

    joined = await slash_report(
        second, in_channel=general, category="sexualized", message=link(guild, posted)
    )
    assert "joins **#1**" in joined
    updated = await queue_shows(sandbox, guild, 1, "Reporters (2)")
    assert updated.id == queued.id and str(second.id) in embed_text(updated)
    assert len(queue(sandbox, guild)) == 1

    again = await first.run_message_command("Report message", posted)
    assert "already reported this" in await refused_before_the_form(again)
    own = await fan.run_message_command("Report message", posted)
    assert "your own message" in await refused_before_the_form(own)
    assert "your own message" in await slash_report(
        fan, in_channel=general, category="spam", message=link(guild, posted)
    )

    assert not posted.deleted  # two reporters: under the default auto-hide threshold of 3
    assert fan.id not in sandbox.world.dm_channels
    assert not public_messages_naming(sandbox, guild, [first.id, second.id])
    assert logged_no_errors(reports_bot)

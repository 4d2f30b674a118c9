"""The flood hold end to end: an entry that removes more messages than the server's limit within
an hour is held (the rest flagged, not removed), the moderators are told once, and **Keep
removing** and **Stop using this entry** decide it, each as a case, also after a restart."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle, MemberHandle
from sandbox.server import Sandbox
from sandbox.state import Message
from tests.e2e.conftest import StartBot
from tests.e2e.test_scanning import arrange, reupload, wait_scanned
from tests.e2e.test_takedowns import (
    add_second_guild,
    answer_of,
    buttons,
    embed_text,
    say,
    set_mod_channel,
    wait_deleted,
)
from tests.media.samples import encode, photo

pytestmark = pytest.mark.e2e

DELETE_ROUTE = "/channels/{channel_id}/messages/{message_id}"
HELD_TITLE = "Entry held: it matched too many messages"


def posts(sandbox: Sandbox, guild: GuildHandle, title: str) -> list[Message]:
    queue = guild.channel("mod-queue").id
    return [
        m
        for m in sandbox.world.messages.values()
        if m.channel_id == queue and m.embeds and title in m.embeds[0].get("title", "")
    ]


async def wait_posts(sandbox: Sandbox, guild: GuildHandle, title: str, count: int) -> list:
    for _ in range(600):
        found = posts(sandbox, guild, title)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} posts titled {title!r}, saw {len(found)}")


async def flood(
    sandbox: Sandbox, guild: GuildHandle, fan: MemberHandle, copies: int, alerts_before: int
) -> list[Message]:
    """Post `copies` re-uploads and wait until each has its alert."""
    sent = [
        await fan.send(guild.channel("general"), f"copy {n}", files=[(f"c{n}.jpg", reupload())])
        for n in range(copies)
    ]
    await wait_posts(sandbox, guild, "akedown-list match", alerts_before + copies)
    return sent


async def test_a_flooding_entry_is_held_after_the_limit_and_the_moderators_are_told_once(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    moderators = guild.role("Moderator")
    await arrange(tmp_path, guild, flood_limit=3, mod_role_id=moderators.id)
    await start_bot(env={"HASH_WORKERS": "1"})
    fan, moderator = guild.member("fan"), guild.member("moderator")

    sent = await flood(sandbox, guild, fan, 6, 0)
    deleted = [m for m in sent if m.deleted]
    assert len(deleted) == 3, "exactly the limit is removed, the rest flagged"
    (notice,) = await wait_posts(sandbox, guild, HELD_TITLE, 1)
    text = embed_text(notice)
    assert "fake of idol A" in text and "more than 3 different messages" in text
    held_alerts = [
        m for m in posts(sandbox, guild, "not removed") if "is held in this server" in str(m.embeds)
    ]
    assert len(held_alerts) == 3
    # The mod role is pinged once, by the hold's message, not by each held match's alert.
    assert notice.content.startswith(f"<@&{moderators.id}>")
    assert not any(m.content for m in held_alerts)
    assert buttons(held_alerts[0])["Take down"]

    # More copies while held: flagged, and still only the one message about the hold.
    later = await flood(sandbox, guild, fan, 2, 6)
    assert not any(m.deleted for m in later)
    assert len(posts(sandbox, guild, HELD_TITLE)) == 1

    check = embed_text(await answer_of(await guild.owner.run_command("config check")))
    assert "Entry #1 held" in check and "Keep removing or Stop using this entry" in check
    info = await answer_of(await moderator.run_command("takedown info", entry=1))
    assert "Held in this server" in embed_text(info)
    assert set(buttons(info)) == {"Keep removing", "Stop using this entry"}

    refused = await fan.click(notice, buttons(notice)["Keep removing"])
    assert "Only this server's moderators" in (await refused.message()).content
    kept = await moderator.click(notice, buttons(notice)["Keep removing"])
    answer = await kept.followup()
    assert "removes copies again" in answer.content and "Take down" in answer.content
    await sandbox.wait_for_call(
        "PATCH", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(notice.id)
    )
    assert "Kept removing, by" in embed_text(notice)
    assert all(c.get("disabled") for row in notice.components for c in row["components"])
    again = await moderator.click(info, buttons(info)["Stop using this entry"])
    assert "Someone already decided" in (await again.message()).content

    # The count restarted: three more are removed, the fourth holds it again.
    sent = await flood(sandbox, guild, fan, 4, 8)
    assert sum(m.deleted for m in sent) == 3
    notices = await wait_posts(sandbox, guild, HELD_TITLE, 2)
    stopped = await moderator.click(notices[-1], buttons(notices[-1])["Stop using this entry"])
    assert "Removed entry #1 from this server's list" in (await stopped.followup()).content
    gone = await say(moderator, "takedown info", entry=1)
    assert "There's no entry 1" in gone
    cases = embed_text(await answer_of(await moderator.run_command("cases list")))
    for kind in ("Entry held after a flood", "Hold released", "Entry no longer used here"):
        assert kind in cases, cases


async def test_stop_using_a_shared_entry_ignores_it_here_only_until_used_again(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    bot: BotProcess = await start_bot(env={"HASH_WORKERS": "1"})
    publisher = guild.owner
    await set_mod_channel(guild)
    added = await say(
        publisher, "takedown add", image=("fake.png", encode(photo(4), "PNG")), label="meme?"
    )
    assert "Added entry **1**" in added
    code = re.search(r"Its code is `([^`]+)`", await say(publisher, "takedown share"))
    assert code
    subscriber = add_second_guild(sandbox, "Subscriber")
    await sandbox.gateway.flushed()
    await set_mod_channel(subscriber)
    await say(subscriber.owner, "takedown subscribe", code=code[1], action="remove")
    await say(subscriber.owner, "config takedowns", flood_limit=1)

    fan = subscriber.member("fan")
    sent = await flood(sandbox, subscriber, fan, 3, 0)
    assert sum(m.deleted for m in sent) == 1
    (notice,) = await wait_posts(sandbox, subscriber, HELD_TITLE, 1)
    assert "a shared list" in embed_text(notice) and "meme?" not in embed_text(notice)

    await bot.stop()
    await start_bot(env={"HASH_WORKERS": "1"})
    moderator = subscriber.member("moderator")
    stopped = await moderator.click(notice, buttons(notice)["Stop using this entry"])
    answer = (await stopped.followup()).content
    assert "no longer matches in this server" in answer and "other subscribers" in answer

    ignored = await fan.send(subscriber.channel("general"), "", files=[("x.jpg", reupload())])
    await wait_scanned(tmp_path, ignored)
    assert not ignored.deleted
    still = await guild.member("fan").send(
        guild.channel("general"), "", files=[("y.jpg", reupload())]
    )
    await wait_deleted(sandbox, still)
    check = embed_text(await answer_of(await subscriber.owner.run_command("config check")))
    assert "Shared-list entries not used here" in check and "#1" in check

    # Changed their mind: /takedown info offers to use it again.
    info = await answer_of(await moderator.run_command("takedown info", entry=1))
    assert "Not used here" in embed_text(info)
    resumed = await moderator.click(info, buttons(info)["Use this entry again"])
    assert "matches in this server again" in (await resumed.followup()).content
    assert not buttons(info)
    back = await fan.send(subscriber.channel("general"), "", files=[("z.jpg", reupload())])
    await wait_deleted(sandbox, back)
    cases = embed_text(await answer_of(await subscriber.owner.run_command("cases list")))
    for kind in ("Entry held after a flood", "Entry no longer used here", "Hold released"):
        assert kind in cases, cases

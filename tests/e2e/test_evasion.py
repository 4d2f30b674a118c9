"""Evasion end to end (issue 14): a listed picture posted in a way meant to slip past the scanner
is removed within 15 s, or removed or flagged as the server's policy for files it can't check
says; an unrelated forward, preview and animation are kept.

The originals of forwards are posted in #art, a channel the server skips, so only the forward
can get the picture removed. Every wait is on an event (a DELETE call, a scan position, a
posted alert), never on the clock alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from db import guild_settings
from db.engine import Database
from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle
from sandbox.server import Sandbox
from sandbox.state import Message
from tests.e2e.conftest import StartBot
from tests.e2e.test_reports import eventually, queue_shows, report_message
from tests.e2e.test_scanning import (
    DELETE_ROUTE,
    KNOWN,
    UNRELATED,
    arrange,
    bot_database_url,
    wait_scanned,
)
from tests.e2e.test_takedowns import answer_of, embed_text, say, scan
from tests.media import evasion
from tests.media.samples import encode, photo

pytestmark = pytest.mark.e2e

WITHIN = 15.0  # seconds, as the issue asks


async def skip_art(tmp_path: Path, guild: GuildHandle) -> None:
    """#art is skipped by the server's settings: what is posted there is never scanned."""
    database = await Database.open(bot_database_url(tmp_path), migrate=False)
    async with database.transaction() as conn:
        await guild_settings.set_channel_skipped(conn, guild.id, guild.channel("art").id, True)
    await database.close()


@pytest.fixture
async def evasion_bot(tmp_path: Path, guild: GuildHandle, start_bot: StartBot) -> BotProcess:
    guild.add_channel("art")
    await arrange(tmp_path, guild)
    await skip_art(tmp_path, guild)
    return await start_bot(env={"HASH_WORKERS": "1"})


async def removed(sandbox: Sandbox, message: Message) -> None:
    await sandbox.wait_for_call(
        "DELETE",
        DELETE_ROUTE,
        where=lambda c: c.params["message_id"] == str(message.id),
        timeout=WITHIN,
    )


async def kept(sandbox: Sandbox, tmp_path: Path, message: Message) -> None:
    await wait_scanned(tmp_path, message, WITHIN)
    assert not sandbox.calls.find(
        lambda c: c.method == "DELETE" and c.params.get("message_id") == str(message.id)
    )
    assert not message.deleted


def file_alerts(sandbox: Sandbox, guild: GuildHandle) -> list[Message]:
    queue = guild.channel("mod-queue").id
    return [
        m
        for m in sandbox.world.messages.values()
        if m.channel_id == queue and m.embeds and "could not check" in m.embeds[0].get("title", "")
    ]


async def file_alert_count(sandbox: Sandbox, guild: GuildHandle, count: int) -> list[Message]:
    return await eventually(
        lambda: len(file_alerts(sandbox, guild)) >= count and file_alerts(sandbox, guild),
        f"{count} unreadable-file alerts",
        WITHIN,
    )


def labels(message: Message) -> list[str]:
    return [c["label"] for row in message.components for c in row["components"]]


def png(number: int) -> bytes:
    return encode(photo(number), "PNG")


async def test_forwards_previews_embeds_and_hidden_frames_are_removed_and_the_innocent_kept(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, evasion_bot: BotProcess
) -> None:
    fan, general, art = guild.member("fan"), guild.channel("general"), guild.channel("art")
    original = await fan.send(art, "", files=[("fake.png", png(KNOWN))])
    await removed(sandbox, await fan.forward(original, general))
    once = await fan.forward(original, art)
    await removed(sandbox, await fan.forward(once, general))  # a forward of a forward

    innocent = await fan.send(art, "", files=[("cat.png", png(UNRELATED))])
    await kept(sandbox, tmp_path, await fan.forward(innocent, general))

    sandbox.world.add_link_preview("https://news.example/story", evasion.listed_jpeg())
    await removed(sandbox, await fan.send(general, "https://news.example/story"))
    sandbox.world.add_link_preview("https://news.example/cats", encode(photo(UNRELATED), "JPEG"))
    innocent_link = await fan.send(general, "https://news.example/cats")
    await kept(sandbox, tmp_path, innocent_link)  # its preview comes in an update, then a scan

    sandbox.world.add_external_image("https://pics.example/a.jpg", encode(photo(2), "JPEG"))
    sandbox.world.add_external_image("https://pics.example/b.jpg", evasion.listed_jpeg())
    both = await fan.send_embed(
        general, image="https://pics.example/a.jpg", thumbnail="https://pics.example/b.jpg"
    )
    await removed(sandbox, both)

    hidden = await fan.send(general, "", files=[("dance.gif", evasion.hidden_in_flicker("GIF"))])
    await removed(sandbox, hidden)
    animation = next(case for case in evasion.corpus() if case.name == "other.gif")
    await kept(sandbox, tmp_path, await fan.send(general, "", files=[("ok.gif", animation.data)]))


async def test_files_the_bot_cannot_check_follow_the_servers_policy(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, evasion_bot: BotProcess
) -> None:
    fan, moderator = guild.member("fan"), guild.member("moderator")
    general, art = guild.channel("general"), guild.channel("art")
    crafted = evasion.jpeg_with_comments(2001)
    posted = await fan.send(art, "", files=[("comments.jpg", crafted)])
    forwarded = await fan.forward(posted, general)  # crafted, and forwarded from elsewhere
    await removed(sandbox, forwarded)
    (alert,) = await file_alert_count(sandbox, guild, 1)
    text = embed_text(alert)
    assert alert.embeds[0]["title"] == "Removed a file the bot could not check"
    assert "refused as crafted or hostile" in text and "2,000 segments" in text
    assert str(fan.id) in text and "Case #" in text
    assert labels(alert) == ["Timeout author", "Ban author"]

    truncated = evasion.listed_jpeg()[:4000]
    flagged = await fan.send(general, "", files=[("cut.jpg", truncated)])
    alerts = await file_alert_count(sandbox, guild, 2)
    review = next(m for m in alerts if m.id != alert.id)
    assert review.embeds[0]["title"] == "A file the bot could not check: please review"
    assert "unsupported or corrupt" in embed_text(review) and "jump" in embed_text(review)
    assert labels(review) == ["Take down", "Timeout author", "Ban author"]
    assert not flagged.deleted
    take_down = next(
        c["custom_id"]
        for row in review.components
        for c in row["components"]
        if c["label"] == "Take down"
    )
    refused = await fan.click(review, take_down)
    assert "moderator" in (await refused.message()).content.lower()
    clicked = await moderator.click(review, take_down)
    answer = await clicked.followup()
    assert "Removed (case #" in answer.content
    assert flagged.deleted
    await eventually(lambda: "Take down" not in labels(review), "the alert without Take down")
    assert labels(review) == ["Timeout author", "Ban author"]

    owner = guild.owner
    await say(owner, "config takedowns", unsupported="ignore", crafted="alert")
    ignored = await fan.send(general, "", files=[("cut-again.jpg", truncated + b"\x00")])
    await kept(sandbox, tmp_path, ignored)
    assert len(file_alerts(sandbox, guild)) == 2
    shown = embed_text(await answer_of(await owner.run_command("config show")))
    assert "Refused as crafted or hostile: **alert the moderators**" in shown
    assert "Unsupported or corrupt: **only count it**" in shown
    assert "Could not be checked to the end: **alert the moderators**" in shown
    check = embed_text(await answer_of(await owner.run_command("config check")))
    assert "Ignored (unsupported)" in check


async def test_a_text_edit_of_a_message_the_bot_no_longer_caches_alerts_no_second_time(
    sandbox: Sandbox, guild: GuildHandle, evasion_bot: BotProcess
) -> None:
    """discord.py keeps the newest 1,000 messages; an edit of an older one comes without the
    message as it was, and must not scan its files again (nor alert on them again)."""
    fan, general = guild.member("fan"), guild.channel("general")
    truncated = evasion.listed_jpeg()[:4000]
    first = await fan.send(general, "look", files=[("cut.jpg", truncated)])
    await file_alert_count(sandbox, guild, 1)
    for number in range(1000):  # the gateway delivers these, then the edit, in order
        await fan.send(general, f"chat {number}")
    await fan.edit(first, "look, again")
    later = await fan.send(general, "", files=[("cut-later.jpg", truncated + b"\x00")])
    # Alerts are posted one at a time in the order found: a second one for `first`, found
    # from the edit (its file's hashes cached), would be posted before `later`'s.
    await eventually(
        lambda: any(str(later.id) in embed_text(m) for m in file_alerts(sandbox, guild)),
        "the later message's alert",
        WITHIN,
    )
    alerts = file_alerts(sandbox, guild)
    assert len(alerts) == 2
    assert sum(str(first.id) in embed_text(m) for m in alerts) == 1


async def test_forwards_count_in_scan_reports_and_the_add_menu(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, evasion_bot: BotProcess
) -> None:
    fan, moderator = guild.member("fan"), guild.member("moderator")
    general, art = guild.channel("general"), guild.channel("art")
    new_fake = await fan.send(art, "", files=[("new.png", png(5))])
    forward = await fan.forward(new_fake, general)
    await kept(sandbox, tmp_path, forward)  # not listed yet
    answer = await answer_of(await moderator.run_message_command("Add to takedown list", forward))
    assert "Added entry **2**" in answer.content

    again = await fan.forward(new_fake, art)  # skipped channel: scanned only by /takedown scan
    summary = await scan(moderator, channel=art, limit=50)
    assert "matched the takedown list: " in summary
    await sandbox.wait_for_call(
        "DELETE",
        DELETE_ROUTE,
        where=lambda c: c.params["message_id"] in {str(again.id), str(new_fake.id)},
        timeout=WITHIN,
    )

    other = await fan.send(art, "", files=[("leak.png", png(6))])
    reported = await fan.forward(other, general)
    await kept(sandbox, tmp_path, reported)
    assert "#1" in await report_message(moderator, reported, "deepfake")
    await queue_shows(sandbox, guild, 1, "Hashed when reported")

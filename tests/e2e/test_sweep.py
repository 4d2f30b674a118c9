"""Sweep on add end to end: pictures posted while the list was empty are kept as hashes, and an
entry added later removes the copies still up within seconds, with one summary for the
moderators; an unrelated post stays, and a copy its author deleted already is skipped quietly.
A new entry on a shared list sweeps the subscribing servers too, and so does a new subscription
to a list with entries already on it."""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3

import pytest

from core.hash_lists import write_hash_list
from media.hashing import hash_media
from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle
from sandbox.server import Sandbox
from sandbox.state import Message
from tests.e2e.conftest import StartBot
from tests.e2e.test_confirmation import STICKERED
from tests.e2e.test_takedowns import (
    DELETE_ROUTE,
    UNRELATED,
    add_second_guild,
    buttons,
    embed_text,
    known_hashes,
    random_pdq,
    reupload,
    say,
    set_mod_channel,
    wait_deleted,
    wait_for_message,
)
from tests.media.samples import encode, photo, stickered

pytestmark = pytest.mark.e2e


@pytest.fixture
async def bot(start_bot: StartBot, guild: GuildHandle) -> BotProcess:
    return await start_bot(env={"HASH_WORKERS": "1"})


async def wait_stored(bot: BotProcess, count: int, timeout: float = 30) -> None:
    """Until the bot's recent-hash store holds `count` files (a row is the event)."""
    path = bot.database_url.removeprefix("sqlite:///")
    async with asyncio.timeout(timeout):
        while True:
            with sqlite3.connect(path) as db:
                if db.execute("SELECT count(*) FROM recent_media").fetchone()[0] >= count:
                    return
            await asyncio.sleep(0.05)


async def summary_in(sandbox: Sandbox, channel_id: int, timeout: float = 30) -> Message:
    async with asyncio.timeout(timeout):
        while True:
            for message in sandbox.world.messages.values():
                if message.channel_id == channel_id and "earlier cop" in message.content:
                    return message
            await asyncio.sleep(0.05)


async def test_copies_posted_before_an_entry_is_added_are_removed_with_one_summary(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    await set_mod_channel(guild)
    fan, general = guild.member("fan"), guild.channel("general")
    fan_art = guild.add_channel("fan-art")
    await sandbox.gateway.flushed()
    first = await fan.send(general, "look", files=[("a.jpg", reupload())])
    second = await fan.send(fan_art, "", files=[("b.jpg", reupload())])
    unrelated = await fan.send(general, "", files=[("c.jpg", reupload(UNRELATED))])
    deleted_first = await fan.send(general, "", files=[("d.jpg", reupload())])
    await wait_stored(bot, 4)  # hashed and kept though the list is empty
    await fan.delete(deleted_first)

    pdq, _ = known_hashes()
    added = await say(guild.member("moderator"), "takedown add", hash=str(pdq), label="late")
    assert "Added entry **1**" in added
    assert "Copies posted here in the last 7 days are being looked for and removed too" in added
    await wait_deleted(sandbox, first)  # within 30 s of the add
    await wait_deleted(sandbox, second)
    summary = await summary_in(sandbox, guild.channel("mod-queue").id)

    assert not unrelated.deleted
    text = summary.content
    assert "Takedown-list entry #1 was added: I also removed 2 earlier copies" in text, text
    assert f"<#{general.id}>" in text and f"<#{fan_art.id}>" in text
    assert "1 more copy was deleted already." in text
    cases = re.search(r"Cases: (#\d+), (#\d+)", text)
    assert cases, text
    queue = [m for m in sandbox.world.messages.values() if m.channel_id == summary.channel_id]
    assert len(queue) == 1, "one summary, no alert per removed copy"
    deletes = [c for c in sandbox.calls if c.method == "DELETE" and c.route == DELETE_ROUTE]
    assert {c.params["message_id"] for c in deletes} == {str(first.id), str(second.id)}


async def test_a_new_entry_on_a_shared_list_sweeps_the_subscribers(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    publisher = guild.owner
    shared = await say(publisher, "takedown share")
    code = re.search(r"Its code is `([^`]+)`", shared)
    assert code, shared
    subscriber = add_second_guild(sandbox, "Subscriber")
    await sandbox.gateway.flushed()
    await set_mod_channel(subscriber)
    answer = await say(subscriber.owner, "takedown subscribe", code=code[1], action="remove")
    assert "Subscribed to list" in answer
    copy = await subscriber.member("fan").send(
        subscriber.channel("general"), "", files=[("copy.jpg", reupload())]
    )
    await wait_stored(bot, 1)

    pdq, _ = known_hashes()
    await say(publisher, "takedown add", hash=str(pdq), label="shared late")
    await wait_deleted(sandbox, copy)
    summary = await summary_in(sandbox, subscriber.channel("mod-queue").id)
    assert "I also removed 1 earlier copy" in summary.content


async def test_subscribing_to_a_list_removes_the_copies_of_its_entries_already_posted(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    publisher = guild.owner
    code = re.search(r"Its code is `([^`]+)`", await say(publisher, "takedown share"))
    assert code, "shared"
    pdq, _ = known_hashes()
    await say(publisher, "takedown add", hash=str(pdq), label="on the list before")
    subscriber = add_second_guild(sandbox, "Subscriber")
    await sandbox.gateway.flushed()
    await set_mod_channel(subscriber)
    fan, general = subscriber.member("fan"), subscriber.channel("general")
    copy = await fan.send(general, "", files=[("copy.jpg", reupload())])
    unrelated = await fan.send(general, "", files=[("other.jpg", reupload(UNRELATED))])
    await wait_stored(bot, 2)
    assert not copy.deleted, "not on any list this server uses yet"

    handle = await subscriber.owner.run_command("takedown subscribe", code=code[1], action="remove")
    assert await handle.response_type() == 5, "deferred: the answer may take longer than 3 s"
    answer = (await handle.message()).content
    assert f"Subscribed to list `{code[1]}` (1 entry)." in answer, answer
    assert "Copies posted here in the last 7 days are being looked for now" in answer
    await wait_deleted(sandbox, copy)
    summary = await summary_in(sandbox, subscriber.channel("mod-queue").id)
    assert (
        f"This server subscribed to list `{code[1]}`: I also removed 1 earlier copy of its "
        f"entries posted in the last 7 days, in <#{general.id}>." in summary.content
    ), summary.content
    assert re.search(r"Cases: #\d+", summary.content), summary.content
    assert not unrelated.deleted
    queue = [m for m in sandbox.world.messages.values() if m.channel_id == summary.channel_id]
    assert queue == [summary], "one summary, no alert per removed copy"

    again = await say(subscriber.owner, "takedown subscribe", code=code[1], action="remove")
    assert f"already subscribes to `{code[1]}` with that action. Nothing changed." in again


async def test_a_large_subscribed_list_is_swept_by_matching_each_stored_file(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    """Past 2,000 hashes a sweep matches each stored file with the live index rather than
    filtering the files for each entry: a 3,000-entry list, the known fake last."""
    rng = random.Random(20)
    rows = [(random_pdq(rng), f"item {n}") for n in range(2_999)]
    rows.append((known_hashes()[0], "the known fake"))
    imported = await say(
        guild.owner, "takedown import", file=("list.csv", write_hash_list(rows).encode())
    )
    assert "Imported **3,000 entries**" in imported, imported
    code = re.search(r"Its code is `([^`]+)`", await say(guild.owner, "takedown share"))
    assert code, "shared"
    subscriber = add_second_guild(sandbox, "Subscriber")
    await sandbox.gateway.flushed()
    await set_mod_channel(subscriber)
    general = subscriber.channel("general")
    copy = await subscriber.member("fan").send(general, "", files=[("c.jpg", reupload())])
    await wait_stored(bot, 1)

    since = len(bot.lines)
    answer = await say(subscriber.owner, "takedown subscribe", code=code[1], action="remove")
    assert f"Subscribed to list `{code[1]}` (3,000 entries)." in answer, answer
    await wait_deleted(sandbox, copy)
    summary = await summary_in(sandbox, subscriber.channel("mod-queue").id)
    assert "I also removed 1 earlier copy of its entries" in summary.content
    await bot.wait_for_log("the entries of subscribed list", timeout=30, since=since)


async def test_a_weaker_match_found_by_a_sweep_is_alerted_for_review_and_left_up(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    await set_mod_channel(guild)
    # Confident only at distance 0: the re-encoded copy is within the review radius only.
    assert await say(guild.owner, "config takedowns", confident_radius=0) == "Saved."
    pdq, _ = known_hashes()
    assert hash_media(reupload()).frames[0].pdq.distance(pdq) > 0
    copy = await guild.member("fan").send(
        guild.channel("general"), "", files=[("c.jpg", reupload())]
    )
    await wait_stored(bot, 1)

    await say(guild.member("moderator"), "takedown add", hash=str(pdq))
    alert = await wait_for_message(sandbox, guild.channel("mod-queue").id)
    assert "Possible takedown-list match: please review" in embed_text(alert)
    assert "Take down" in buttons(alert) and not copy.deleted
    queue = [m for m in sandbox.world.messages.values() if m.channel_id == alert.channel_id]
    assert queue == [alert], "no summary: nothing was removed"


async def test_a_copy_under_stickers_posted_before_its_entry_is_alerted_for_review(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    """Live, its quarters find a stickered copy; a sweep finds one posted earlier the same way,
    for review: a sweep keeps no picture to confirm it with, so it stays up for a moderator."""
    await set_mod_channel(guild)
    fan, general = guild.member("fan"), guild.channel("general")
    covered = await fan.send(
        general, "", files=[("s.jpg", encode(stickered(STICKERED), "JPEG", quality=85))]
    )
    await wait_stored(bot, 1)
    added = await guild.member("moderator").run_command(
        "takedown add", image=("deepfake.png", encode(photo(STICKERED), "PNG")), label="fake"
    )
    assert "Added entry" in (await added.message()).content
    alert = await wait_for_message(sandbox, guild.channel("mod-queue").id)
    assert "Possible takedown-list match: please review" in embed_text(alert)
    assert str(covered.id) in embed_text(alert), embed_text(alert)
    assert "Found through a quarter of the picture" in embed_text(alert)
    assert "Take down" in buttons(alert) and not covered.deleted


async def test_the_message_an_entry_is_added_from_is_left_to_the_moderator(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    await set_mod_channel(guild)
    general = guild.channel("general")
    source = await guild.member("fan").send(general, "", files=[("a.png", reupload())])
    copy = await guild.member("fan").send(general, "", files=[("b.jpg", reupload())])
    await wait_stored(bot, 2)
    since = len(bot.lines)
    menu = await guild.member("moderator").run_message_command("Add to takedown list", source)
    assert "Delete the message" in buttons(await menu.message())
    await bot.wait_for_log("Swept guild", timeout=30, since=since)
    await wait_deleted(sandbox, copy)
    assert not source.deleted, "the answer offers to delete it; the sweep leaves it"


async def test_with_no_recent_hashes_kept_the_answers_say_earlier_copies_are_not_looked_for(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    assert await say(guild.owner, "config takedowns", recent_days=0) == "Saved."
    pdq, _ = known_hashes()
    added = await say(guild.member("moderator"), "takedown add", hash=str(pdq))
    assert "Added entry **1**" in added
    assert "Later copies are removed as they are posted; earlier ones are not looked for" in added
    assert "last 0 days" not in added

    code = re.search(r"Its code is `([^`]+)`", await say(guild.owner, "takedown share"))
    assert code, "shared"
    subscriber = add_second_guild(sandbox, "Subscriber")
    await sandbox.gateway.flushed()
    assert await say(subscriber.owner, "config takedowns", recent_days=0) == "Saved."
    answer = await say(subscriber.owner, "takedown subscribe", code=code[1], action="flag")
    assert "re-uploads of its entries are sent to the moderators to review" in answer
    assert "Copies posted before now are not looked for" in answer, answer

"""Takedown lists end to end: moderators add from an upload, a message, the message menu or a
hash, and review, remove and scan; admins import, export and share lists between servers; every
refusal is a clear private answer that changes nothing, and every change is a case."""

from __future__ import annotations

import asyncio
import random
import re
import time
from pathlib import Path

import pytest

from core.hash_lists import write_hash_list
from core.hashes import Hash
from media.hashing import hash_media
from sandbox.botprocess import BotProcess
from sandbox.scenario import (
    GuildHandle,
    InteractionHandle,
    MemberHandle,
    ScenarioError,
    create_guild,
)
from sandbox.server import Sandbox
from sandbox.state import Message
from tests.e2e.conftest import MODERATOR_PERMISSIONS, StartBot
from tests.e2e.test_scanning import wait_scanned
from tests.media import reshares
from tests.media.samples import encode, photo, png_declaring

pytestmark = pytest.mark.e2e

DELETE_ROUTE = "/channels/{channel_id}/messages/{message_id}"
KNOWN = 4  # the photo that goes on the list
UNRELATED = 7


@pytest.fixture
async def bot(start_bot: StartBot, guild: GuildHandle) -> BotProcess:
    """One hashing worker: these tests hash a few images at a time, and start faster so."""
    return await start_bot(env={"HASH_WORKERS": "1"})


def known_hashes(number: int = KNOWN) -> tuple[Hash, Hash]:
    frame = hash_media(encode(photo(number), "PNG")).frames[0]
    return frame.pdq, frame.phash


def reupload(number: int = KNOWN) -> bytes:
    picture = photo(number)
    return encode(picture.resize((picture.width * 2 // 3, picture.height * 2 // 3)), "JPEG")


def random_pdq(rng: random.Random) -> Hash:
    return Hash("pdq", f"{rng.getrandbits(256):064x}")


def embed_text(message: Message) -> str:
    parts = []
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
        parts.append(embed.get("footer", {}).get("text", ""))
    return "\n".join(parts)


def buttons(message: Message) -> dict[str, str]:
    return {
        c["label"]: c["custom_id"]
        for row in message.components
        for c in row.get("components", [])
        if c.get("type") == 2
    }


async def answer_of(handle: InteractionHandle, timeout: float = 30) -> Message:
    message = await handle.message(timeout=timeout)
    assert handle.ephemeral, "takedown answers are private"
    return message


async def say(member: MemberHandle, command: str, **options: object) -> str:
    return (await answer_of(await member.run_command(command, **options))).content


async def wait_deleted(sandbox: Sandbox, message: Message) -> None:
    await sandbox.wait_for_call(
        "DELETE",
        DELETE_ROUTE,
        where=lambda c: c.params["message_id"] == str(message.id) and c.status < 300,
        timeout=30,
    )


async def scan(member: MemberHandle, **options: object) -> str:
    """Run /takedown scan and wait for its summary (the answer is edited as it goes)."""
    message = await answer_of(await member.run_command("takedown scan", **options))
    for _ in range(600):
        if not message.content.startswith("Scanning"):
            return message.content
        await asyncio.sleep(0.05)
    raise AssertionError(f"the scan did not finish: {message.content!r}")


def add_second_guild(sandbox: Sandbox, name: str) -> GuildHandle:
    other = create_guild(sandbox, name, channels=("general", "mod-queue"))
    moderator_role = other.add_role("Moderator", MODERATOR_PERMISSIONS)
    other.make_private(other.channel("mod-queue"), moderator_role)
    other.add_member("moderator", roles=[moderator_role])
    other.add_member("fan")
    return other


async def set_mod_channel(guild: GuildHandle) -> None:
    await say(guild.owner, "config channels", mod_channel=guild.channel("mod-queue"))


async def test_a_hash_is_added_shown_listed_and_removed_each_as_a_case(
    guild: GuildHandle, bot: BotProcess
) -> None:
    moderator = guild.member("moderator")
    pdq = random_pdq(random.Random(1))
    added = await say(moderator, "takedown add", hash=f"pdq:{pdq.hex}", label="fake of idol A")
    number = re.search(r"Added entry \*\*([0-9]+)\*\*", added)
    assert number and f"`pdq:{pdq.hex[:8]}…`, “fake of idol A” (1 hash)" in added
    entry = int(number[1])

    info = await answer_of(await moderator.run_command("takedown info", entry=entry))
    text = embed_text(info)
    assert "fake of idol A" in text and "pdq ×1" in text and f"<@{moderator.id}>" in text
    assert "Matches\n0" in text and pdq.hex in text
    listing = embed_text(await answer_of(await moderator.run_command("takedown list")))
    assert f"**{entry}**" in listing and "1 entry" in listing

    again = await say(moderator, "takedown add", hash=pdq.hex.upper())
    assert f"Already on the list as entry **{entry}**" in again

    removed = await say(moderator, "takedown remove", entry=entry)
    assert removed.startswith(f"Removed entry **{entry}**")
    assert "There's no entry" in await say(moderator, "takedown info", entry=entry)
    cases = embed_text(await answer_of(await moderator.run_command("cases list")))
    assert cases.count("Takedown list change") == 2
    assert f"Added entry {entry}" in cases and f"Removed entry {entry}" in cases


async def test_bad_input_gets_a_clear_private_answer_and_changes_nothing(
    guild: GuildHandle, bot: BotProcess
) -> None:
    moderator = guild.member("moderator")
    flat = encode(
        photo(KNOWN).resize((8, 8)).resize((400, 300)).convert("L").point(lambda _: 128), "PNG"
    )
    refusals = [
        ({"hash": "pdq:1234"}, "That isn't a hash I can use: a pdq hash is 64"),
        ({"hash": "md5:" + "a" * 32}, "unknown hash algorithm 'md5'"),
        ({"label": "no source"}, "Give one of `image`, `message_link` or `hash`"),
        ({"hash": "a" * 64, "message_link": "x"}, "Give just one of"),
        ({"image": ("notes.txt", b"just some text\n")}, "I couldn't use that file"),
        ({"image": ("bomb.png", png_declaring(60000, 60000))}, "I couldn't use that file"),
        ({"image": ("grey.png", flat)}, "almost a single flat colour"),
        ({"message_link": "https://example.com/x"}, "That isn't a message link"),
        (
            {"message_link": f"https://discord.com/channels/1/{guild.channel('general').id}/5"},
            "That message is in another server",
        ),
        (
            {
                "message_link": f"https://discord.com/channels/{guild.id}/"
                f"{guild.channel('general').id}/12345"
            },
            "That message doesn't exist any more",
        ),
    ]
    for options, expected in refusals:
        answer = await say(moderator, "takedown add", **options)
        assert expected in answer, (options, answer)
        assert "Nothing was added" in answer, answer
    text_only = await guild.member("fan").send(guild.channel("general"), "no pictures here")
    link = f"https://discord.com/channels/{guild.id}/{text_only.channel_id}/{text_only.id}"
    assert "has no images or videos" in await say(moderator, "takedown add", message_link=link)

    assert "There's no entry 99" in await say(moderator, "takedown remove", entry=99)
    assert "There's no entry 99" in await say(moderator, "takedown info", entry=99)
    assert "The takedown list is empty" in await say(moderator, "takedown list")
    assert "No entries have a label containing" in await say(
        moderator, "takedown list", label="idol"
    )
    assert "The takedown list is empty" in await say(moderator, "takedown scan")
    assert "nothing to export" in await say(guild.owner, "takedown export")
    assert "No shared list has the code" in await say(
        guild.owner, "takedown subscribe", code="nope", action="remove"
    )
    assert "isn't subscribed to" in await say(guild.owner, "takedown unsubscribe", code="nope")
    assert (await say(moderator, "cases list")) == "No cases yet."


async def test_commands_are_refused_to_members_without_the_right_role(
    guild: GuildHandle, bot: BotProcess
) -> None:
    fan, moderator = guild.member("fan"), guild.member("moderator")
    with pytest.raises(ScenarioError, match="cannot see /takedown"):
        await fan.run_command("takedown list")
    message = await fan.send(guild.channel("general"), "hi")
    with pytest.raises(ScenarioError, match="cannot see"):
        await fan.run_message_command("Add to takedown list", message)
    admin_only = [
        ("takedown export", {}),
        ("takedown import", {"file": ("list.csv", b"algorithm,hash,label\n")}),
        ("takedown share", {}),
        ("takedown subscribe", {"code": "abc", "action": "flag"}),
        ("takedown unsubscribe", {"code": "abc"}),
    ]
    for command, options in admin_only:
        answer = await say(moderator, command, **options)
        assert answer == "Only this server's admins (Manage Server permission) can do that."


async def test_an_upload_is_added_without_being_shown_and_its_reuploads_are_removed(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    moderator = guild.member("moderator")
    handle = await moderator.run_command(
        "takedown add",
        image=("deepfake.png", encode(photo(KNOWN), "PNG")),
        label="fake of idol B",
        share_label=True,
    )
    answer = await answer_of(handle)
    pdq, _ = known_hashes()
    assert f"`pdq:{pdq.hex[:8]}…`, “fake of idol B” (1 picture, 2 hashes + " in answer.content
    assert "1 picture, 2 hashes + " in answer.content and "crops and rotations" in answer.content
    assert not answer.attachments and not answer.embeds  # nothing of the image is shown

    fan = guild.member("fan")
    posted = await fan.send(guild.channel("general"), "look", files=[("edit.jpg", reupload())])
    await wait_deleted(sandbox, posted)
    info = embed_text(await answer_of(await moderator.run_command("takedown info", entry=1)))
    assert "from an upload" in info and "Label shown to subscribing servers" in info


async def test_a_message_link_adds_its_media_and_offers_to_delete_the_message(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    general = guild.channel("general")
    posted = await guild.member("fan").send(
        general,
        "",
        files=[("a.png", encode(photo(KNOWN), "PNG")), ("b.png", encode(photo(2), "PNG"))],
    )
    moderator = guild.member("moderator")
    link = f"https://discord.com/channels/{guild.id}/{general.id}/{posted.id}"
    answer = await answer_of(
        await moderator.run_command("takedown add", message_link=link, label="two fakes")
    )
    assert answer.content.count("Added entry") == 2 and "delete it now?" in answer.content
    assert not posted.deleted
    clicked = await moderator.click(answer, buttons(answer)["Delete the message"])
    await clicked.response()
    await wait_deleted(sandbox, posted)
    assert "Deleted the message" in answer.content and not buttons(answer)
    cases = embed_text(await answer_of(await moderator.run_command("cases list")))
    assert cases.count("Takedown list change") == 2 and "Added to the takedown list" in cases


async def test_the_message_menu_adds_in_one_step(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    posted = await guild.member("fan").send(
        guild.channel("general"), "", files=[("clip.png", encode(photo(KNOWN), "PNG"))]
    )
    moderator = guild.member("moderator")
    answer = await answer_of(await moderator.run_message_command("Add to takedown list", posted))
    assert "Added entry **1**" in answer.content and "Delete the message" in buttons(answer)
    info = embed_text(await answer_of(await moderator.run_command("takedown info", entry=1)))
    assert f"From a message in <#{posted.channel_id}>" in info and "from a message" in info
    again = await answer_of(await moderator.run_message_command("Add to takedown list", posted))
    assert "Already on the list as entry **1**" in again.content


async def test_the_list_pages_with_buttons_and_filters_by_label(
    guild: GuildHandle, bot: BotProcess
) -> None:
    rng = random.Random(2)
    rows = [(random_pdq(rng), f"{'idol' if n % 3 == 0 else 'other'} {n}") for n in range(25)]
    imported = await say(
        guild.owner, "takedown import", file=("list.csv", write_hash_list(rows).encode())
    )
    assert "Imported **25 entries**" in imported
    moderator = guild.member("moderator")
    first = await answer_of(await moderator.run_command("takedown list"))
    assert "25 entries" in embed_text(first) and "“idol 24”" in embed_text(first)
    assert "“other 14”" not in embed_text(first) and "“idol 0”" not in embed_text(first)
    for _ in range(2):
        turned = await moderator.click(first, buttons(first)["Next"])
        await turned.response()
    assert "“idol 0”" in embed_text(first) and "“idol 24”" not in embed_text(first)
    idols = embed_text(await answer_of(await moderator.run_command("takedown list", label="IDOL")))
    assert "9 entries" in idols and "other" not in idols.replace("labels containing", "")


async def test_an_import_with_one_bad_line_among_thousands_changes_nothing_and_names_it(
    guild: GuildHandle, bot: BotProcess
) -> None:
    rng = random.Random(3)
    lines = write_hash_list((random_pdq(rng), f"fake {n}") for n in range(5000)).split("\n")
    lines[3000] = "pdq,12345,broken"  # line 3001 of the file
    answer = await say(guild.owner, "takedown import", file=("list.csv", "\n".join(lines).encode()))
    assert "nothing was" in answer and "1 problem" in answer
    assert "line 3001: a pdq hash is 64 hex digits; this one has 5" in answer
    assert "The takedown list is empty" in await say(guild.owner, "takedown list")
    assert await say(guild.owner, "cases list") == "No cases yet."

    bad_file = await say(
        guild.owner, "takedown import", file=("photo.png", encode(photo(1), "PNG"))
    )
    assert "isn't a text file" in bad_file


async def test_duplicates_are_reported_not_doubled(guild: GuildHandle, bot: BotProcess) -> None:
    rng = random.Random(4)
    known, fresh = random_pdq(rng), random_pdq(rng)
    await say(guild.owner, "takedown add", hash=str(known))
    text = f"pdq {fresh.hex}\npdq {known.hex}\npdq {fresh.hex}\n"  # ThreatExchange lines
    answer = await say(guild.owner, "takedown import", file=("te.txt", text.encode()))
    assert "Imported **1 entry**" in answer
    assert "Copies posted here in the last 7 days are being looked for" in answer, answer
    assert "Skipped 2 duplicates" in answer
    assert "line 2 (already entry 1)" in answer and "line 3 (same hash as line 1)" in answer
    listing = embed_text(await answer_of(await guild.owner.run_command("takedown list")))
    assert "2 entries" in listing


async def test_a_full_size_import_finishes_and_matching_sees_it_at_once(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    rng = random.Random(5)
    rows = [(random_pdq(rng), f"list item {n}") for n in range(99_999)]
    rows.append((known_hashes()[0], "the known fake"))
    data = write_hash_list(rows).encode()
    started = time.perf_counter()
    answer = await answer_of(
        await guild.owner.run_command("takedown import", file=("big.csv", data)), timeout=180
    )
    elapsed = time.perf_counter() - started
    print(
        f"100,000-line import ({len(data) / 1e6:.1f} MB): answered in {elapsed:.1f} s; "
        f"bot says: {answer.content!r}"
    )
    for line in bot.lines:
        if "Import" in line:
            print(line.split("takedowns", 1)[-1].strip())
    assert "Imported **100,000 entries**" in answer.content
    posted = await guild.member("fan").send(
        guild.channel("general"), "", files=[("again.jpg", reupload())]
    )
    await wait_deleted(sandbox, posted)


async def test_export_then_import_into_a_second_guild_gives_the_same_entries(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    rng = random.Random(6)
    owner = guild.owner
    await say(owner, "takedown add", hash=str(random_pdq(rng)), label='quote " and, comma')
    await say(owner, "takedown add", hash=f"phash:{rng.getrandbits(64):016x}")
    await say(owner, "takedown add", image=("fake.png", encode(photo(KNOWN), "PNG")), label="B")
    exported = await answer_of(await owner.run_command("takedown export"))
    (file,) = exported.attachments
    assert "3 entries, 4 hashes" in exported.content
    assert file.data.decode().startswith("algorithm,hash,label\n")

    other = add_second_guild(sandbox, "Second Fans")
    await sandbox.gateway.flushed()
    imported = await say(other.owner, "takedown import", file=("takedown-list.csv", file.data))
    assert "Imported **4 entries**" in imported
    again = await answer_of(await other.owner.run_command("takedown export"))
    assert again.attachments[0].data == file.data
    posted = await other.member("fan").send(
        other.channel("general"), "", files=[("copy.jpg", reupload())]
    )
    await wait_deleted(sandbox, posted)


async def test_a_subscriber_removes_reuploads_until_the_publisher_withdraws_the_entry(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    publisher = guild.owner
    added = await say(
        publisher,
        "takedown add",
        image=("fake.png", encode(photo(KNOWN), "PNG")),
        label="secret label of publisher",
    )
    assert "Added entry **1**" in added
    await say(publisher, "takedown add", hash=str(random_pdq(random.Random(7))))
    shared = await say(publisher, "takedown share")
    code = re.search(r"Its code is `([^`]+)`", shared)
    assert code, shared

    remover = add_second_guild(sandbox, "Subscriber that removes")
    flagger = add_second_guild(sandbox, "Subscriber that flags")
    await sandbox.gateway.flushed()
    for subscriber, action in ((remover, "remove"), (flagger, "flag")):
        await set_mod_channel(subscriber)
        answer = await say(subscriber.owner, "takedown subscribe", code=code[1], action=action)
        assert f"Subscribed to list `{code[1]}` (2 entries)" in answer

    removed = await remover.member("fan").send(
        remover.channel("general"), "", files=[("copy.jpg", reupload())]
    )
    await wait_deleted(sandbox, removed)
    await wait_for_message(sandbox, remover.channel("mod-queue").id)  # alerts follow removals
    flagged = await flagger.member("fan").send(
        flagger.channel("general"), "", files=[("copy.jpg", reupload())]
    )
    alert = await wait_for_message(sandbox, flagger.channel("mod-queue").id)
    assert not flagged.deleted
    for subscriber in (remover, flagger):
        queue = subscriber.channel("mod-queue").id
        texts = [embed_text(m) for m in sandbox.world.messages.values() if m.channel_id == queue]
        assert texts and not any("secret label" in t for t in texts)
    assert alert.embeds

    assert "Removed entry **1**" in await say(publisher, "takedown remove", entry=1)
    later = await remover.member("fan").send(
        remover.channel("general"), "", files=[("later.jpg", reupload())]
    )
    scanned = await scan(remover.owner, limit=1)
    assert "Scanned 1 message" in scanned and "Nothing matched" in scanned, scanned
    assert not later.deleted

    left = await say(flagger.owner, "takedown unsubscribe", code=code[1])
    assert left == f"Unsubscribed from `{code[1]}`: its entries no longer match here."
    stopped = await say(publisher, "takedown share", stop=True)
    assert "no longer shared" in stopped
    refused = await say(flagger.owner, "takedown subscribe", code=code[1], action="remove")
    assert "No shared list has the code" in refused
    flagger_cases = embed_text(await answer_of(await flagger.owner.run_command("cases list")))
    assert "Subscribed to shared list" in flagger_cases
    assert "Unsubscribed from shared list" in flagger_cases
    publisher_cases = embed_text(await answer_of(await publisher.run_command("cases list")))
    assert "Shared the takedown list" in publisher_cases
    assert "Stopped sharing the takedown list" in publisher_cases


async def wait_for_message(sandbox: Sandbox, channel_id: int, timeout: float = 30) -> Message:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        found = [m for m in sandbox.world.messages.values() if m.channel_id == channel_id]
        if found:
            return found[-1]
        await __import__("asyncio").sleep(0.05)
    raise AssertionError(f"nothing was posted in channel {channel_id}")


async def test_scan_checks_recent_history_and_summarises(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess, tmp_path: Path
) -> None:
    # Without the recent-hash store, so the scan finds the copy (test_sweep has the store's way).
    assert await say(guild.owner, "config takedowns", recent_days=0) == "Saved."
    fan, general = guild.member("fan"), guild.channel("general")
    known = await fan.send(general, "old post", files=[("old.jpg", reupload())])
    other = await fan.send(general, "", files=[("other.jpg", reupload(UNRELATED))])
    await fan.send(general, "just text")
    # Live scanning is past both pictures before the entry exists (a slow scan would otherwise
    # meet the entry itself and remove the copy before /takedown scan could).
    await wait_scanned(tmp_path, other)
    pdq, _ = known_hashes()
    await say(guild.member("moderator"), "takedown add", hash=str(pdq), label="late addition")
    assert not known.deleted
    summary = await scan(guild.member("moderator"), channel=general, limit=50)
    await wait_deleted(sandbox, known)
    assert f"Scanned 3 messages in <#{general.id}>: 2 had images or videos (2 files)." in summary
    assert "1 message matched the takedown list: 1 removed, 0 sent to the moderators" in summary


async def test_a_listed_photo_reshared_as_a_story_or_turned_on_a_canvas_is_removed(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    """Geometric re-shares (issue 15): the picture's own boundary is found and hashed."""
    moderator = guild.member("moderator")
    await answer_of(
        await moderator.run_command(
            "takedown add", image=("deepfake.png", encode(photo(KNOWN), "PNG")), label="fake"
        )
    )
    fan = guild.member("fan")
    for name, edited in (
        ("story.jpg", reshares.story(photo(KNOWN), random.Random(3))),
        ("tilted.jpg", reshares.rotated(photo(KNOWN), 10.0, "white", grow=False)),
    ):
        posted = await fan.send(
            guild.channel("general"), "look", files=[(name, encode(edited, "JPEG", quality=85))]
        )
        await wait_deleted(sandbox, posted)

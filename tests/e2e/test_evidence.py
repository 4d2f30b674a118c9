"""Evidence for agencies and the police, and why a picture was or wasn't removed, end to end:
the **Evidence** button on an alert and `/cases export` answer a moderator privately with CSV,
JSON and a summary that name the removed message, its author and its PDQ hash and hold no
image; the agency link button goes where the admin set it; `/takedown why` names the entry and
distance behind a match or a miss; unclear requests and bad links get a clear answer that
changes nothing."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.hashes import Hash
from db import guild_settings
from db.engine import Database
from media.hashing import hash_media
from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle, InteractionHandle, MemberHandle
from sandbox.server import Sandbox
from sandbox.state import Message
from tests.e2e.conftest import StartBot
from tests.e2e.test_reports import link, queue_shows, report_message
from tests.e2e.test_scanning import (
    DELETE_ROUTE,
    KNOWN,
    UNRELATED,
    arrange,
    reupload,
    wait_for_alerts,
    wait_scanned,
)
from tests.media.samples import encode, photo

pytestmark = pytest.mark.e2e

PORTAL = "https://portal.example.com/report?artist=1"
IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG", b"GIF87a", b"GIF89a", b"WEBP", b"ftypavif")


@pytest.fixture
async def evidence_bot(tmp_path: Path, guild: GuildHandle, start_bot: StartBot) -> BotProcess:
    await arrange(tmp_path, guild)
    return await start_bot(env={"HASH_WORKERS": "1"})


def components(message: Message) -> dict[str, dict[str, Any]]:
    return {c["label"]: c for row in message.components for c in row["components"]}


async def answer(handle: InteractionHandle) -> Message:
    message = await handle.message()
    assert handle.ephemeral, "evidence is answered privately"
    return message


async def say(member: MemberHandle, command: str, **options: object) -> str:
    return (await answer(await member.run_command(command, **options))).content


def files(message: Message) -> dict[str, bytes]:
    return {a.filename.rsplit(".", 1)[-1]: a.data for a in message.attachments}


def assert_no_image(exported: dict[str, bytes], upload: bytes) -> None:
    pieces = [base64.b64encode(upload[i : i + 48]) for i in (0, 48, len(upload) // 2)]
    for name, data in exported.items():
        for signature in IMAGE_SIGNATURES:
            assert signature not in data, f"{name} holds {signature!r}"
        for piece in pieces:
            assert piece not in data, f"{name} holds base64 of the picture"


async def test_the_evidence_button_and_export_name_the_removed_message_and_hold_no_image(
    sandbox: Sandbox, guild: GuildHandle, evidence_bot: BotProcess, start_bot: StartBot
) -> None:
    fan, moderator, owner = guild.member("fan"), guild.member("moderator"), guild.owner
    saved = await say(
        owner, "config reports", agency_label="HYBE report portal", agency_link=PORTAL
    )
    assert saved.startswith("Saved.")
    upload = reupload()
    posted = await fan.send(guild.channel("general"), "look", files=[("edit.jpg", upload)])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(posted.id)
    )
    (alert,) = await wait_for_alerts(sandbox, guild, 1)
    buttons = components(alert)
    portal = buttons["HYBE report portal"]
    assert (portal["style"], portal["url"]) == (5, PORTAL) and "custom_id" not in portal

    refused = await fan.click(alert, buttons["Evidence"]["custom_id"])
    assert "Only this server's moderators" in (await refused.message()).content
    exported = await answer(await moderator.click(alert, buttons["Evidence"]["custom_id"]))
    assert "No image or video is in them" in exported.content
    data = files(exported)
    assert set(data) == {"csv", "json", "md"}
    pdq = hash_media(upload).frames[0].pdq.hex
    jump = f"https://discord.com/channels/{guild.id}/{posted.channel_id}/{posted.id}"
    (row,) = csv.DictReader(io.StringIO(data["csv"].decode("utf-8-sig")))
    assert (row["Message ID"], row["Message link"], row["Author ID"]) == (
        str(posted.id),
        jump,
        str(fan.id),
    )
    assert row["Author name at the time"] == fan.user.username
    assert row["PDQ hash"] == pdq and row["Kind"] == "Takedown" and row["Removed"] == "yes"
    assert row["Entry label"] == "fake of idol A" and row["Time (UTC)"].endswith("Z")
    (case,) = json.loads(data["json"])["cases"]
    wanted = (str(posted.id), str(fan.id), pdq)
    assert (case["message_id"], case["author_id"], case["pdq"]) == wanted
    assert str(posted.id) in data["md"].decode() and pdq in data["md"].decode()
    assert_no_image(data, upload)

    await evidence_bot.stop()  # the button is restart-proof
    await start_bot(env={"HASH_WORKERS": "1"})
    again = await answer(await moderator.click(alert, buttons["Evidence"]["custom_id"]))
    assert (
        files(again)["csv"].decode("utf-8-sig").splitlines()[1:]
        == (data["csv"].decode("utf-8-sig").splitlines()[1:])
    )
    by_member = await answer(await moderator.run_command("cases export", user=fan))
    assert by_member.content.startswith("Evidence for 1 case")
    assert_no_image(files(by_member), upload)
    assert pdq in files(by_member)["csv"].decode()


async def test_a_deepfake_report_carries_the_agency_link_and_reporters_only_when_asked(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange(tmp_path, guild)
    database = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'bot' / 'lightstick.db'}")
    async with database.transaction() as conn:
        await guild_settings.update_settings(conn, guild.id, agency_link=PORTAL)
    await database.close()
    await start_bot(env={"HASH_WORKERS": "1"})
    fan, moderator = guild.member("fan"), guild.member("moderator")
    reporter = guild.add_member("reporter")
    posted = await fan.send(guild.channel("general"), "rumour")
    assert "#1" in await report_message(reporter, posted, "deepfake")
    queued = await queue_shows(sandbox, guild, 1, "Deepfake")
    buttons = components(queued)
    assert buttons["Report to the agency"]["url"] == PORTAL

    one = await answer(await moderator.click(queued, buttons["Evidence"]["custom_id"]))
    (row,) = csv.DictReader(io.StringIO(files(one)["csv"].decode("utf-8-sig")))
    assert (row["Report"], row["Reporters"], row["Message ID"]) == ("1", "1", str(posted.id))
    assert str(reporter.id) not in files(one)["csv"].decode()

    dismissed = await moderator.click(queued, buttons["Dismiss"]["custom_id"])
    await moderator.submit_modal(dismissed, {"dismiss-reason": "not a deepfake"})
    await queue_shows(sandbox, guild, 1, "Dismissed")
    plain = await answer(await moderator.run_command("cases export", user=fan))
    named = await answer(await moderator.run_command("cases export", user=fan, reporters=True))
    assert str(reporter.id) not in b"".join(files(plain).values()).decode()
    (row,) = csv.DictReader(io.StringIO(files(named)["csv"].decode("utf-8-sig")))
    assert row["Reporter IDs"] == str(reporter.id) and row["Kind"] == "Report: dismissed"


async def test_unclear_exports_and_bad_agency_links_are_refused_and_headings_follow_the_server(
    guild: GuildHandle, evidence_bot: BotProcess
) -> None:
    moderator, owner, fan = guild.member("moderator"), guild.owner, guild.member("fan")
    guild.open_command_to_everyone("cases")  # an admin opened it: still moderators only
    guild.open_command_to_everyone("takedown")
    for command, options in (("cases export", {"cases": "1"}), ("takedown why", {"message": "x"})):
        refused = await say(fan, command, **options)
        assert refused.startswith("Only this server's moderators")
    assert "Choose which cases" in await say(moderator, "cases export")
    assert "can't read `abc` as case numbers" in await say(moderator, "cases export", cases="abc")
    assert "YYYY-MM-DD" in await say(moderator, "cases export", since="yesterday")
    assert "`since` is after `until`" in await say(
        moderator, "cases export", since="2026-03-02", until="2026-03-01"
    )
    assert "No cases match that" in await say(moderator, "cases export", cases="500-510")

    for bad in ("http://portal.example.com", "javascript:alert(1)", "https://a b.com"):
        refused = await say(owner, "config reports", agency_link=bad)
        assert "must be a full https:// address" in refused and "Nothing changed" in refused
    assert "a label alone has nowhere to go" in await say(
        owner, "config reports", agency_label="Portal"
    )
    assert "Agency link button: not set" in str(
        (await answer(await owner.run_command("config show"))).embeds
    )
    assert (await say(owner, "config reports", agency_link=PORTAL)).startswith("Saved.")
    shown = await answer(await owner.run_command("config show"))
    assert f"Report to the agency → <{PORTAL}>" in str(shown.embeds)
    assert (await say(owner, "config reports", agency_clear=True)).startswith("Saved.")
    assert "Agency link button: not set" in str(
        (await answer(await owner.run_command("config show"))).embeds
    )

    assert (await say(owner, "config language", language="ko")).startswith("Saved.")
    korean = await answer(await moderator.run_command("cases export", cases="1-3"))
    heading = files(korean)["csv"].decode("utf-8-sig").splitlines()[0]
    assert "Message ID" not in heading and "PDQ" in heading


def pdq_distance(upload: bytes, entry: Hash) -> int:
    """How far the upload (or its mirror image, which matching also looks up) is from `entry`."""
    frame = hash_media(upload).frames[0]
    return min(value.distance(entry) for value in frame.pdq_and_mirror())


def why_text(message: Message) -> str:
    embed = message.embeds[0]
    parts = [embed.get("title", ""), embed.get("description", "")]
    parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


async def test_takedown_why_names_the_entry_and_distance_of_a_match_and_of_a_miss(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, evidence_bot: BotProcess
) -> None:
    fan, moderator = guild.member("fan"), guild.member("moderator")
    general = guild.channel("general")
    known = hash_media(encode(photo(KNOWN), "PNG")).frames[0]
    unrelated_upload = encode(photo(UNRELATED), "JPEG")
    unrelated = await fan.send(general, "my edit", files=[("mine.jpg", unrelated_upload)])
    await wait_scanned(tmp_path, unrelated)
    miss = why_text(
        await answer(await moderator.run_command("takedown why", message=link(guild, unrelated)))
    )
    assert "No match: the nearest entry is #1 “fake of idol A” (this server's list)" in miss
    assert "mine.jpg" in miss
    # The nearest of every lookup of the upload: the picture itself, or a view of it (media.views)
    # that happens to lie closer; never farther than the picture, always past the review radius.
    nearest = re.search(r"PDQ (\d+) \(beyond the review radius\)", miss)
    assert nearest is not None, miss
    assert 62 < int(nearest.group(1)) <= pdq_distance(unrelated_upload, known.pdq)

    elsewhere = guild.add_channel("fan-art")
    assert (await say(guild.owner, "config channels", skip=elsewhere)).startswith("Saved.")
    upload = reupload()
    copy = await fan.send(elsewhere, "", files=[("copy.jpg", upload)])
    forwarded = await fan.forward(copy, elsewhere)
    near = pdq_distance(upload, known.pdq)
    for asked in (copy, forwarded):
        text = why_text(
            await answer(await moderator.run_command("takedown why", message=link(guild, asked)))
        )
        # The verdict names the best match (pHash 0 here); the nearest list shows both.
        assert "matched entry #1 “fake of idol A” (this server's list) at pHash 0" in text
        assert f"PDQ {near} (within the confident radius)" in text
        assert "(confident radius 8)" in text and "**Not scanned**: the channel is skipped" in text
        assert "Channel skipped" in text and not copy.deleted

    assert "isn't a message link" in await say(moderator, "takedown why", message="hello")
    other = f"https://discord.com/channels/{guild.id + 1}/{general.id}/{copy.id}"
    assert "in another server" in await say(moderator, "takedown why", message=other)
    text_only = await fan.send(general, "no pictures")
    assert "no images or videos" in await say(
        moderator, "takedown why", message=link(guild, text_only)
    )
    await fan.delete(unrelated)
    gone = await say(moderator, "takedown why", message=link(guild, unrelated))
    assert "doesn't exist any more" in gone

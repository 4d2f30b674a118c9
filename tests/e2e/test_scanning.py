"""Scanning end to end: re-uploads of a takedown-list image are removed with one alert each,
in every form a fan might post them; unrelated images are left alone; moderators' buttons work,
also after a restart; hostile files don't stop the bot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PIL import ImageOps

from db import guild_settings, scan_positions, takedowns
from db.engine import Database
from db.takedowns import NewEntry
from media.hashing import hash_media
from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle
from sandbox.server import Sandbox
from tests.e2e.conftest import StartBot
from tests.media.samples import encode, jpeg_declaring, jpeg_with_scans, photo, png_declaring, video

pytestmark = pytest.mark.e2e

DELETE_ROUTE = "/channels/{channel_id}/messages/{message_id}"
SEND_ROUTE = "/channels/{channel_id}/messages"
KNOWN = 4  # the takedown-list photo
UNRELATED = 7


def bot_database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot' / 'lightstick.db'}"


async def arrange(tmp_path: Path, guild: GuildHandle, **settings: object) -> None:
    """Before the bot starts: the known photo on the guild's list, #mod-queue as mod channel."""
    (tmp_path / "bot").mkdir(exist_ok=True)
    database = await Database.open(bot_database_url(tmp_path))
    known = hash_media(encode(photo(KNOWN), "PNG"))
    async with database.transaction() as conn:
        await takedowns.add_entry(
            conn,
            guild.id,
            NewEntry((known.frames[0].pdq, known.frames[0].phash), label="fake of idol A"),
            source="hash",
            added_by=guild.owner.id,
        )
        await guild_settings.update_settings(
            conn, guild.id, mod_channel_id=guild.channel("mod-queue").id, **settings
        )
    await database.close()


def alerts(sandbox: Sandbox, guild: GuildHandle) -> list:
    queue = guild.channel("mod-queue").id
    return [
        m
        for m in sandbox.world.messages.values()
        if m.channel_id == queue and m.embeds and "match" in m.embeds[0].get("title", "")
    ]


async def wait_for_alerts(sandbox: Sandbox, guild: GuildHandle, count: int) -> list:
    for _ in range(200):
        found = alerts(sandbox, guild)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} alerts, saw {len(alerts(sandbox, guild))}")


async def wait_scanned(tmp_path: Path, message, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Until the bot's scan position in the message's channel reaches the message."""
    database = await Database.open(bot_database_url(tmp_path), migrate=False)
    try:
        for _ in range(int(timeout / 0.05)):
            async with database.connect() as conn:
                positions = await scan_positions.guild_positions(conn, message.guild_id)
            position = positions.get(message.channel_id)
            if position is not None and position >= message.id:
                return
            await asyncio.sleep(0.05)
    finally:
        await database.close()
    raise AssertionError(f"message {message.id} was not scanned within {timeout} s")


def reupload() -> bytes:
    picture = photo(KNOWN)
    smaller = picture.resize((picture.width * 2 // 3, picture.height * 2 // 3))
    return encode(smaller, "JPEG", quality=60)


def animated_with_known_in_frame_3() -> bytes:
    frames = [photo(n).resize((320, 240)) for n in (1, 2)] + [photo(KNOWN).resize((320, 240))]
    frames.append(photo(3).resize((320, 240)))
    buffer = __import__("io").BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=500, loop=0)
    return buffer.getvalue()


@pytest.fixture
async def scanning_bot(tmp_path: Path, guild: GuildHandle, start_bot: StartBot) -> BotProcess:
    await arrange(tmp_path, guild)
    return await start_bot(env={"HASH_WORKERS": "1"})


@pytest.mark.parametrize(
    ("name", "upload"),
    [
        ("reupload.jpg", reupload),
        ("mirrored.png", lambda: encode(ImageOps.mirror(photo(KNOWN)), "PNG")),
        ("dance.gif", animated_with_known_in_frame_3),
        (
            "clip.mp4",
            lambda: video([photo(n).resize((320, 240)) for n in (1, KNOWN, KNOWN, 2)], fps=1),
        ),
    ],
)
async def test_copies_of_a_takedown_image_are_removed_with_one_alert(
    sandbox: Sandbox, guild: GuildHandle, scanning_bot: BotProcess, name: str, upload
) -> None:
    fan = guild.member("fan")
    message = await fan.send(guild.channel("general"), "new edit!", files=[(name, upload())])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(message.id)
    )
    (alert,) = await wait_for_alerts(sandbox, guild, 1)
    embed = alert.embeds[0]
    assert embed["title"] == "Removed a takedown-list match"
    text = str(embed)
    assert "fake of idol A" in text and str(fan.id) in text
    assert [a.filename for a in alert.attachments] == ["SPOILER_lightstick-preview.jpg"]
    assert {c["label"] for row in alert.components for c in row["components"]} == {
        "Not a match",
        "Timeout author",
        "Ban author",
        "Evidence",
    }


async def test_an_embed_image_is_fetched_through_the_media_proxy_and_removed(
    sandbox: Sandbox, guild: GuildHandle, scanning_bot: BotProcess
) -> None:
    original = "https://fansite.example/leak.jpg"
    sandbox.world.external_media[original] = ("image/jpeg", reupload())
    message = await guild.member("fan").send(
        guild.channel("general"), "", embeds=[{"title": "look", "image": {"url": original}}]
    )
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(message.id)
    )
    assert [r.route for r in sandbox.cdn_requests] == ["/external/{key}"] * len(
        sandbox.cdn_requests
    )


async def test_unrelated_images_and_text_are_left_alone(
    sandbox: Sandbox, guild: GuildHandle, scanning_bot: BotProcess
) -> None:
    fan = guild.member("fan")
    general = guild.channel("general")
    await fan.send(general, "just text")
    kept = await fan.send(
        general, "my fancam", files=[("fancam.jpg", encode(photo(UNRELATED), "JPEG"))]
    )
    marker = await fan.send(general, "and the known one", files=[("x.jpg", reupload())])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(marker.id)
    )
    deleted = {c.params["message_id"] for c in sandbox.calls_to("DELETE", DELETE_ROUTE)}
    assert str(kept.id) not in deleted
    assert len(await wait_for_alerts(sandbox, guild, 1)) == 1


async def test_not_a_match_stops_removals_and_buttons_work_after_a_restart(
    sandbox: Sandbox,
    tmp_path: Path,
    guild: GuildHandle,
    scanning_bot: BotProcess,
    start_bot: StartBot,
) -> None:
    fan, moderator = guild.member("fan"), guild.member("moderator")
    general = guild.channel("general")
    first = await fan.send(general, "", files=[("a.jpg", reupload())])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(first.id)
    )
    (alert,) = await wait_for_alerts(sandbox, guild, 1)
    await scanning_bot.stop()
    await start_bot(env={"HASH_WORKERS": "1"})

    refused = await fan.click(
        alert,
        next(
            c["custom_id"]
            for row in alert.components
            for c in row["components"]
            if c["label"] == "Not a match"
        ),
    )
    assert "Only this server's moderators" in (await refused.message()).content

    not_a_match = next(
        c["custom_id"]
        for row in alert.components
        for c in row["components"]
        if c["label"] == "Not a match"
    )
    decided = await moderator.click(alert, not_a_match)
    assert "Marked as not a match" in (await decided.message()).content
    await sandbox.wait_for_call(
        "PATCH", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(alert.id)
    )
    assert "Not a match by" in str(alert.embeds[0])

    again = await fan.send(general, "it's fine now", files=[("a.jpg", reupload())])
    await wait_scanned(tmp_path, again)
    deleted = {c.params["message_id"] for c in sandbox.calls_to("DELETE", DELETE_ROUTE)}
    assert str(again.id) not in deleted and not again.deleted
    assert len(alerts(sandbox, guild)) == 1


async def test_timeout_author_after_the_author_left_says_so_and_touches_no_one(
    sandbox: Sandbox, guild: GuildHandle, scanning_bot: BotProcess
) -> None:
    leaver = guild.add_member("leaver")
    message = await leaver.send(guild.channel("general"), "", files=[("a.jpg", reupload())])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(message.id)
    )
    (alert,) = await wait_for_alerts(sandbox, guild, 1)
    guild.leave(leaver)

    timeout = next(
        c["custom_id"]
        for row in alert.components
        for c in row["components"]
        if c["label"] == "Timeout author"
    )
    answer = await guild.member("moderator").click(alert, timeout)
    reply = await answer.message()
    assert reply.content == "The author is no longer in the server."
    assert reply.ephemeral
    assert not sandbox.calls_to("PATCH", "/guilds/{guild_id}/members/{user_id}")


async def test_hostile_images_leave_the_bot_working(
    sandbox: Sandbox, guild: GuildHandle, scanning_bot: BotProcess
) -> None:
    fan = guild.member("fan")
    general = guild.channel("general")
    for name, data in (
        ("bomb.png", png_declaring(13000, 13000)),
        ("bomb.jpg", jpeg_declaring(13000, 13000)),
        ("scans.jpg", jpeg_with_scans(5000)),
        ("truncated.jpg", encode(photo(2), "JPEG")[:700]),
        ("not-an-image.png", b"hello, this is text"),
    ):
        await fan.send(general, "", files=[(name, data)])
    answer = await fan.run_command("rules")
    assert (await answer.message()).embeds
    later = await fan.send(general, "", files=[("x.jpg", reupload())])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(later.id), timeout=20
    )


async def test_without_manage_messages_the_alert_says_what_it_could_not_do(
    sandbox: Sandbox, guild: GuildHandle, scanning_bot: BotProcess
) -> None:
    from sandbox.permissions import Permission

    general = guild.channel("general")
    guild.set_overwrite(general, guild.bot_role, deny=Permission.MANAGE_MESSAGES)
    await asyncio.sleep(0.2)
    message = await guild.member("fan").send(general, "", files=[("x.jpg", reupload())])
    (alert,) = await wait_for_alerts(sandbox, guild, 1)
    text = str(alert.embeds[0])
    assert "Manage Messages" in text and "not removed" in alert.embeds[0]["title"]
    assert not message.deleted
    labels = [c["label"] for row in alert.components for c in row["components"]]
    assert labels[0] == "Take down"


async def test_config_flag_only_alerts_but_does_not_remove(
    sandbox: Sandbox, guild: GuildHandle, scanning_bot: BotProcess
) -> None:
    saved = await guild.owner.run_command("config takedowns", action="flag")
    assert (await saved.message()).content.startswith("Saved.")
    message = await guild.member("fan").send(
        guild.channel("general"), "", files=[("x.jpg", reupload())]
    )
    (alert,) = await wait_for_alerts(sandbox, guild, 1)
    assert not message.deleted and not sandbox.calls_to("DELETE", DELETE_ROUTE)
    assert "please review" in alert.embeds[0]["title"]


async def test_config_skipped_channel_is_not_scanned(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, scanning_bot: BotProcess
) -> None:
    memes = guild.add_channel("memes")
    saved = await guild.owner.run_command("config channels", skip=memes)
    assert (await saved.message()).content.startswith("Saved.")
    fan = guild.member("fan")
    skipped = await fan.send(memes, "", files=[("x.jpg", reupload())])
    scanned = await fan.send(guild.channel("general"), "", files=[("y.jpg", reupload())])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(scanned.id)
    )
    assert not skipped.deleted
    unskipped = await guild.owner.run_command("config channels", unskip=memes)
    await unskipped.message()
    again = await fan.send(memes, "", files=[("z.jpg", reupload())])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(again.id)
    )


async def test_config_dm_author_and_previews_off_change_what_happens(
    sandbox: Sandbox, guild: GuildHandle, scanning_bot: BotProcess
) -> None:
    saved = await guild.owner.run_command("config takedowns", dm_author=True, previews=False)
    assert (await saved.message()).content.startswith("Saved.")
    fan = guild.member("fan")
    await fan.send(guild.channel("general"), "", files=[("x.jpg", reupload())])
    (alert,) = await wait_for_alerts(sandbox, guild, 1)
    assert alert.attachments == []
    dm = await sandbox.wait_for_call(
        "POST",
        "/channels/{channel_id}/messages",
        where=lambda c: "takedown list" in str((c.json or {}).get("content", "")),
    )
    assert "contact the server's moderators" in dm.json["content"]


async def test_config_mod_role_makes_its_members_moderators(
    sandbox: Sandbox, guild: GuildHandle, scanning_bot: BotProcess
) -> None:
    helpers = guild.add_role("Helpers")
    helper = guild.add_member("helper", roles=[helpers])
    guild.open_command_to_everyone("cases")
    before = await helper.run_command("cases list")
    assert (await before.message()).content.startswith("Only this server's moderators")
    saved = await guild.owner.run_command("config roles", mod_role=helpers)
    assert (await saved.message()).content.startswith("Saved.")
    after = await helper.run_command("cases list")
    assert "Settings change" in str((await after.message()).embeds)


@pytest.mark.parametrize(
    "in_new_channel", [False, True], ids=["a scanned channel", "a channel created while down"]
)
async def test_messages_posted_while_offline_are_caught_up(
    sandbox: Sandbox,
    tmp_path: Path,
    guild: GuildHandle,
    scanning_bot: BotProcess,
    start_bot: StartBot,
    in_new_channel: bool,
) -> None:
    fan = guild.member("fan")
    general = guild.channel("general")
    seen = await fan.send(general, "", files=[("ok.jpg", encode(photo(UNRELATED), "JPEG"))])
    await wait_scanned(tmp_path, seen)
    await scanning_bot.stop()
    channel = guild.add_channel("fresh-channel") if in_new_channel else general
    missed = await fan.send(channel, "posted while the bot was down", files=[("x.jpg", reupload())])
    assert seen.id < missed.id
    await start_bot(env={"HASH_WORKERS": "1"})
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(missed.id), timeout=20
    )


MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"WEBPVP8", b"ftypisom")


async def test_no_image_bytes_reach_the_disk_or_database(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, scanning_bot: BotProcess
) -> None:
    fan = guild.member("fan")
    general = guild.channel("general")
    posted = [reupload(), encode(photo(UNRELATED), "PNG"), animated_with_known_in_frame_3()]
    for number, data in enumerate(posted):
        await fan.send(general, "", files=[(f"{number}.{('jpg', 'png', 'gif')[number]}", data)])
    await wait_for_alerts(sandbox, guild, 2)
    await scanning_bot.stop()  # closes the database, folding its WAL into the file
    files = [p for p in (tmp_path / "bot").rglob("*") if p.is_file()]
    assert any(p.name == "lightstick.db" for p in files)
    for path in files:
        content = path.read_bytes()
        assert not any(magic in content for magic in MAGIC), path
        for data in posted:
            assert data[200:264] not in content, path


@pytest.mark.parametrize(
    "fault", ["rate_limit", "server_error"], ids=["429 on delete", "5xx on delete"]
)
async def test_a_rate_limit_or_server_error_on_delete_is_retried_and_the_match_removed(
    sandbox: Sandbox, guild: GuildHandle, scanning_bot: BotProcess, fault: str
) -> None:
    if fault == "rate_limit":
        injected = sandbox.faults.rate_limit("DELETE", DELETE_ROUTE, retry_after=0.5)
    else:
        injected = sandbox.faults.fail("DELETE", DELETE_ROUTE, 502)
    message = await guild.member("fan").send(
        guild.channel("general"), "", files=[("x.jpg", reupload())]
    )
    for _ in range(400):
        statuses = [
            c.status
            for c in sandbox.calls_to("DELETE", DELETE_ROUTE)
            if c.params["message_id"] == str(message.id)
        ]
        if 204 in statuses:
            break
        await asyncio.sleep(0.05)
    assert statuses == [429 if fault == "rate_limit" else 502, 204]
    assert injected.fired == 1 and message.deleted
    (alert,) = await wait_for_alerts(sandbox, guild, 1)
    assert alert.embeds[0]["title"] == "Removed a takedown-list match"

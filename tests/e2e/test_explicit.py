"""Explicit-image review end to end: with the setting on, a likely explicit picture is flagged to
the moderators (never removed) with a protected preview and buttons; **Take down** removes it
and lists it, so a later copy is removed automatically; **Not explicit** silences that picture;
age-restricted channels and servers with the setting off yield nothing.

The "explicit" picture is `skin_tone_shapes`: abstract blurred skin-toned shapes, nothing
sexual, which the real classifier scores near 1 (see tests/media/test_classifier.py).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from PIL import Image

from db import guild_settings
from db.engine import Database
from sandbox.botprocess import BotProcess
from sandbox.recorder import Call
from sandbox.scenario import GuildHandle
from sandbox.server import Sandbox
from tests.e2e.conftest import StartBot
from tests.e2e.test_evidence import answer, assert_no_image, files
from tests.e2e.test_languages import HANGUL, answers, posts, untranslated
from tests.e2e.test_reports import buttons, click
from tests.e2e.test_scanning import DELETE_ROUTE, SEND_ROUTE, bot_database_url, wait_scanned
from tests.media.samples import encode, photo, skin_tone_shapes

pytestmark = pytest.mark.e2e

FLAG_TITLE = "Likely explicit picture: please review"
BUTTONS = {"Take down", "Not explicit", "Timeout author", "Ban author", "Evidence"}


def likely_explicit(quality: int = 85, side: int = 512) -> bytes:
    return encode(skin_tone_shapes(side), "JPEG", quality=quality)


def another_likely_explicit() -> bytes:
    """A different picture (PDQ distance about 120) that also scores above 0.8 (0.88)."""
    flipped = skin_tone_shapes(512).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return encode(flipped, "JPEG", quality=85)


async def arrange(tmp_path: Path, guild: GuildHandle, **settings: object) -> None:
    """Before the bot starts: #mod-queue as mod channel, and `settings`. No takedown list:
    explicit-image review alone makes the bot hash every picture."""
    (tmp_path / "bot").mkdir(exist_ok=True)
    database = await Database.open(bot_database_url(tmp_path))
    async with database.transaction() as conn:
        await guild_settings.update_settings(
            conn, guild.id, mod_channel_id=guild.channel("mod-queue").id, **settings
        )
    await database.close()


def is_flag(guild: GuildHandle, call: Call) -> bool:
    body = call.json or {}
    return call.params["channel_id"] == str(guild.channel("mod-queue").id) and any(
        embed.get("title") == FLAG_TITLE for embed in body.get("embeds") or ()
    )


async def wait_for_flag(sandbox: Sandbox, guild: GuildHandle, since: int = 0):  # type: ignore[no-untyped-def]
    """The next review message posted in the mod channel (after call index `since`)."""
    call = await sandbox.wait_for_call(
        "POST", SEND_ROUTE, where=lambda c: is_flag(guild, c), since=since, timeout=30
    )
    return call, sandbox.world.messages[int(call.response["id"])]


def flags_posted(sandbox: Sandbox, guild: GuildHandle) -> int:
    return sum(is_flag(guild, c) for c in sandbox.calls_to("POST", SEND_ROUTE))


def button(message, label: str) -> str:  # type: ignore[no-untyped-def]
    return next(
        c["custom_id"]
        for row in message.components
        for c in row["components"]
        if c["label"] == label
    )


@pytest.fixture
async def reviewing_bot(tmp_path: Path, guild: GuildHandle, start_bot: StartBot) -> BotProcess:
    await arrange(tmp_path, guild, explicit_review=True)
    return await start_bot(env={"HASH_WORKERS": "1"})


async def test_a_likely_explicit_picture_is_flagged_with_a_protected_preview_not_removed(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, reviewing_bot: BotProcess
) -> None:
    fan = guild.member("fan")
    message = await fan.send(
        guild.channel("general"), "new pic", files=[("pic.jpg", likely_explicit())]
    )
    call, flag = await wait_for_flag(sandbox, guild)
    embed = flag.embeds[0]
    text = str(embed)
    assert "very likely explicit, 0.99" in text or "very likely explicit, 1.00" in text
    assert str(fan.id) in text and f"/{message.channel_id}/{message.id}" in text  # author, link
    assert "nothing was removed" in text
    assert embed["footer"]["text"].startswith("Case #")
    assert {c["label"] for row in flag.components for c in row["components"]} == BUTTONS
    # The preview: a spoiler, tiny and blurred, never the picture.
    ((name, preview),) = call.files
    assert name == "SPOILER_lightstick-preview.jpg"
    shown = Image.open(io.BytesIO(preview))
    assert max(shown.size) <= 160 and len(preview) < len(likely_explicit()) / 4
    await wait_scanned(tmp_path, message)
    assert not message.deleted and not sandbox.calls_to("DELETE", DELETE_ROUTE)

    # Evidence: the flag's case, for the moderators, with no image in it.
    moderator = guild.member("moderator")
    exported = await answer(await moderator.click(flag, button(flag, "Evidence")))
    data = files(exported)
    (row,) = csv.DictReader(io.StringIO(data["csv"].decode("utf-8-sig")))
    assert (row["Kind"], row["Message ID"], row["Author ID"]) == (
        "Flagged as likely explicit",
        str(message.id),
        str(fan.id),
    )
    assert_no_image(data, likely_explicit())


async def test_take_down_removes_it_and_a_later_copy_is_removed_automatically(
    sandbox: Sandbox, guild: GuildHandle, reviewing_bot: BotProcess
) -> None:
    fan, moderator = guild.member("fan"), guild.member("moderator")
    general = guild.channel("general")
    first = await fan.send(general, "", files=[("pic.jpg", likely_explicit())])
    _, flag = await wait_for_flag(sandbox, guild)

    refused = await fan.click(flag, button(flag, "Take down"))
    assert "Only this server's moderators" in (await refused.message()).content
    assert not first.deleted

    taken = await moderator.click(flag, button(flag, "Take down"))
    answer = (await taken.followup()).content
    assert "Taken down (case #" in answer and "This picture is on the takedown list now." in answer
    assert "Copies posted here in the last 7 days are being looked for and removed" in answer
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(first.id)
    )
    await sandbox.wait_for_call(
        "PATCH", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(flag.id)
    )
    assert "Taken down by" in str(flag.embeds[0])
    labels = {c["label"] for row in flag.components for c in row["components"]}
    assert labels == BUTTONS - {"Take down"}

    # A smaller, recompressed copy: removed as a takedown-list match, its score noted.
    copy = await fan.send(general, "again", files=[("copy.jpg", likely_explicit(60, 300))])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(copy.id)
    )
    alert = await sandbox.wait_for_call(
        "POST",
        SEND_ROUTE,
        where=lambda c: "Removed a takedown-list match" in str((c.json or {}).get("embeds")),
    )
    assert "Explicit-image score" in str(alert.json["embeds"])
    assert flags_posted(sandbox, guild) == 1  # handled once, as a match


async def test_not_explicit_silences_that_picture_only_and_works_after_a_restart(
    sandbox: Sandbox,
    tmp_path: Path,
    guild: GuildHandle,
    reviewing_bot: BotProcess,
    start_bot: StartBot,
) -> None:
    fan, moderator = guild.member("fan"), guild.member("moderator")
    general = guild.channel("general")
    await fan.send(general, "", files=[("pic.jpg", likely_explicit())])
    _, flag = await wait_for_flag(sandbox, guild)
    await reviewing_bot.stop()
    await start_bot(env={"HASH_WORKERS": "1"})
    decided = await moderator.click(flag, button(flag, "Not explicit"))
    assert "Marked as not explicit" in (await decided.message()).content
    await sandbox.wait_for_call(
        "PATCH", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(flag.id)
    )
    assert "Not explicit by" in str(flag.embeds[0])

    copy = await fan.send(general, "", files=[("copy.jpg", likely_explicit(60, 300))])
    await wait_scanned(tmp_path, copy)
    assert flags_posted(sandbox, guild) == 1 and not copy.deleted

    # Another likely explicit picture is still flagged; the author's buttons work as on every
    # moderator post, with the same rank rules.
    other_moderator = guild.add_member("seulgi", roles=[guild.role("Moderator")])
    since = len(sandbox.calls)
    mine = await other_moderator.send(general, "", files=[("b.jpg", another_likely_explicit())])
    _, on_moderator = await wait_for_flag(sandbox, guild, since=since)
    assert f"/{mine.id}" in str(on_moderator.embeds[0])
    refused = await moderator.click(on_moderator, button(on_moderator, "Timeout author"))
    assert "they are a moderator" in (await refused.message()).content
    timed = await moderator.click(flag, button(flag, "Timeout author"))
    assert "timed out for 60 minutes" in (await timed.message()).content
    assert fan.member.communication_disabled_until is not None


async def test_off_by_default_age_restricted_channels_never_scored_previews_follow_settings(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange(tmp_path, guild, previews=False)  # explicit-image review left at default: off
    await start_bot(env={"HASH_WORKERS": "1"})
    fan, owner = guild.member("fan"), guild.owner
    general = guild.channel("general")
    adults = guild.add_channel("after-dark", nsfw=True)

    before = await fan.send(general, "", files=[("pic.jpg", likely_explicit())])
    await wait_scanned(tmp_path, before)

    answer = await owner.run_command("config explicit", enabled=True)
    reply = (await answer.message()).content
    assert "Explicit-image review is on" in reply and "It only flags" in reply

    restricted = await fan.send(adults, "", files=[("pic.jpg", likely_explicit())])
    await wait_scanned(tmp_path, restricted)
    assert flags_posted(sandbox, guild) == 0

    await fan.send(general, "", files=[("photo.jpg", encode(photo(3), "JPEG"))])
    after = await fan.send(general, "", files=[("pic.jpg", likely_explicit(80))])
    call, _ = await wait_for_flag(sandbox, guild)
    assert call.files == []  # previews are off: the review message has none
    await wait_scanned(tmp_path, after)
    assert flags_posted(sandbox, guild) == 1  # the photo isn't flagged, the picture once


async def test_review_messages_speak_the_servers_language_and_only_catalog_text(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange(tmp_path, guild, explicit_review=True, language="ko")
    bot = await start_bot(env={"HASH_WORKERS": "1"})
    fan, moderator, owner = guild.member("fan"), guild.member("moderator"), guild.owner
    general = guild.channel("general")
    await fan.send(general, "", files=[("pic.jpg", likely_explicit())])
    call = await sandbox.wait_for_call(
        "POST",
        SEND_ROUTE,
        where=lambda c: c.params["channel_id"] == str(guild.channel("mod-queue").id),
    )
    korean = sandbox.world.messages[int(call.response["id"])]
    assert korean.embeds[0]["title"] == "선정적일 가능성이 높은 사진: 검토해 주세요"
    assert set(buttons(korean)) == {
        "삭제",
        "선정적이지 않음",
        "작성자 타임아웃",
        "작성자 차단",
        "증거",
    }
    await bot.stop()

    await start_bot(env={"HASH_WORKERS": "1", "PSEUDO_LOCALE": "1"})
    since = len(sandbox.calls)
    await fan.send(general, "", files=[("two.jpg", likely_explicit(70))])
    await sandbox.wait_for_call(
        "POST",
        SEND_ROUTE,
        where=lambda c: c.params["channel_id"] == str(guild.channel("mod-queue").id),
        since=since,
    )
    flagged = [m for m in sandbox.world.messages.values() if m.embeds and m.id != korean.id]
    pseudo = next(m for m in flagged if m.channel_id == guild.channel("mod-queue").id)
    not_explicit = next(name for name in buttons(pseudo) if "Not explicit" in name)
    await (await click(fan, pseudo, not_explicit)).message()  # refused: not a moderator
    await (await click(moderator, pseudo, not_explicit)).message()
    take_down = next(name for name in buttons(korean) if name == "삭제")
    await (await click(moderator, korean, take_down)).followup()
    await (await owner.run_command("config explicit", enabled=False)).message()
    await (await owner.run_command("config explicit", enabled=True, threshold=0.9)).message()
    await (await owner.run_command("config explicit", skip_role=guild.role("Moderator"))).message()
    for command in ("config show", "config check"):
        await (await owner.run_command(command)).message()
    await (await moderator.run_command("cases")).message()

    shown = [text for text in answers(sandbox) + posts(sandbox) if not HANGUL.search(text)]
    assert len(shown) > 15 and any("⟦" in text for text in shown)
    leftovers = {text: untranslated(text) for text in shown if untranslated(text)}
    assert leftovers == {}


async def test_an_edit_that_adds_a_picture_to_a_cleared_message_is_flagged_again(
    sandbox: Sandbox, guild: GuildHandle, reviewing_bot: BotProcess
) -> None:
    """Clearing a picture doesn't clear its message: a link preview an edit adds is flagged."""
    fan, moderator = guild.member("fan"), guild.member("moderator")
    message = await fan.send(guild.channel("general"), "", files=[("a.jpg", likely_explicit())])
    _, flag = await wait_for_flag(sandbox, guild)
    await (await moderator.click(flag, button(flag, "Not explicit"))).message()

    sandbox.world.add_link_preview("https://pics.example/page", another_likely_explicit())
    since = len(sandbox.calls)
    await fan.edit(message, "look https://pics.example/page")
    _, again = await wait_for_flag(sandbox, guild, since=since)
    assert f"/{message.id}" in str(again.embeds[0]) and again.id != flag.id

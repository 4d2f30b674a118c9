"""Languages end to end for `/takedown` and for files the bot can't check, whose reasons come
from below `moderation/` (core/, media/, services/): a Korean moderator reads them in Korean, and
a pseudo-locale run of every reply and post of `/takedown add` (and its refusals), an import
with bad lines (in the answer and in the attached listing), `info`, `list` and `scan`, the
unreadable-file alerts and a refused click carries no text built outside the catalogs.

The only text the pseudo-locale run leaves unwrapped is what people wrote themselves, shown as
written: the names of the files they posted, which the test names (`DATA`), and hashes.
"""

from __future__ import annotations

import asyncio
import random
import re
from pathlib import Path

import pytest

from core.hash_lists import write_hash_list
from sandbox.scenario import GuildHandle, InteractionHandle
from sandbox.server import Sandbox
from sandbox.state import Message
from tests.e2e.conftest import StartBot
from tests.e2e.test_languages import (
    answers,
    arrange_a_listed_picture,
    in_mod_queue,
    posts,
    untranslated,
)
from tests.e2e.test_reports import buttons, click, embed_text, eventually
from tests.e2e.test_scanning import DELETE_ROUTE
from tests.e2e.test_takedowns import random_pdq
from tests.media import evasion
from tests.media.samples import png_declaring

pytestmark = pytest.mark.e2e

CRAFTED, TRUNCATED = "1.jpg", "2.jpg"
DATA = (CRAFTED, TRUNCATED)  # file names members gave their posts, shown as written
# Hashes and their algorithms' names are shown as they are in every language.
HASHES = re.compile(r"\b(pdq|phash)\b(:[0-9a-f]+)?")


def leftovers(texts: list[str]) -> dict[str, str]:
    found = {}
    for text in texts:
        for name in DATA:
            text = text.replace(name, "")
        text = HASHES.sub("", text)
        if untranslated(text):
            found[text] = untranslated(text)
    return found


async def answered(handle: InteractionHandle) -> Message:
    return await handle.message(timeout=60)


async def a_scan_summary(handle: InteractionHandle) -> Message:
    """/takedown scan answers at once, then edits its answer as it goes, to the summary."""
    message = await answered(handle)
    for _ in range(1200):
        if "Scanned" in message.content:
            return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"the scan did not finish: {message.content!r}")


def bad_import() -> bytes:
    """A list with a good line, then 16 bad ones of every kind (more than the answer names, so
    the rest come as an attached file)."""
    good = write_hash_list([(random_pdq(random.Random(5)), "★")]).rstrip("\n")
    bad = [
        "pdq,12345,★",
        "md5," + "a" * 32 + ",★",
        "pdq," + "g" * 64 + ",★",
        "pdq",
        'pdq,"' + "f" * 64,
        "pdq," + "e" * 64 + "," + "★" * 201,
        "pdq," + "d" * 64 + ",\x01",
    ] * 3
    return (good + "\n" + "\n".join(bad) + "\n").encode()


async def test_reasons_from_below_moderation_read_in_korean(
    tmp_path: Path, sandbox: Sandbox, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange_a_listed_picture(tmp_path, guild, language="ko")
    await start_bot(env={"HASH_WORKERS": "1"})
    korean = guild.add_member("minji", roles=[guild.role("Moderator")], locale="ko")

    refused = await answered(await korean.run_command("takedown add", hash="pdq:1234"))
    assert refused.content == (
        "쓸 수 있는 해시가 아니에요: pdq 해시는 16진수(0-9, a-f) 64자리여야 함 "
        "(받은 값: '1234'). 아무것도 추가하지 않았어요."
    )
    await guild.owner.send(
        guild.channel("general"), "", files=[(TRUNCATED, evasion.listed_jpeg()[:4000])]
    )
    (alert,) = await eventually(
        lambda: in_mod_queue(sandbox, guild, "봇이 확인할 수 없는 파일"), "the alert", 60
    )
    assert alert.embeds[0]["title"] == "봇이 확인할 수 없는 파일: 검토 필요"
    assert (
        f"**{TRUNCATED}**: 지원하지 않거나 손상됨: JPEG 파일이 잘림 (끝 표시 없음)"
        in embed_text(alert)
    )
    timeout = await answered(await click(korean, alert, "작성자 타임아웃"))
    assert timeout.content == (
        f"<@{guild.owner.id}>님을 타임아웃할 수 없어요: 서버 소유자는 누구도 타임아웃할 수 없어요."
    )


async def test_a_pseudo_locale_run_of_takedowns_and_unreadable_files_is_all_catalog_text(
    tmp_path: Path, sandbox: Sandbox, guild: GuildHandle, start_bot: StartBot
) -> None:
    await arrange_a_listed_picture(tmp_path, guild)
    await start_bot(env={"HASH_WORKERS": "1", "PSEUDO_LOCALE": "1"})
    moderator, fan, owner = guild.member("moderator"), guild.member("fan"), guild.owner
    general = guild.channel("general")

    pdq = random_pdq(random.Random(1))
    await answered(await moderator.run_command("takedown add", hash=f"pdq:{pdq.hex}", label="♡"))
    await answered(await moderator.run_command("takedown add", hash=pdq.hex))  # already listed
    for refused in (
        {"hash": "pdq:1234"},
        {"hash": "md5:" + "a" * 32},
        {"hash": " "},
        {"label": "♡"},
        {"image": ("1.txt", b"just some text\n")},
        {"image": ("1.png", png_declaring(60000, 60000))},
    ):
        await answered(await moderator.run_command("takedown add", **refused))
    await answered(await moderator.run_command("takedown info", entry=1))
    await answered(await moderator.run_command("takedown info", entry=2))
    await answered(await moderator.run_command("takedown info", entry=99))
    await answered(await moderator.run_command("takedown list"))
    refused_import = await answered(
        await owner.run_command("takedown import", file=("1.csv", bad_import()))
    )
    await answered(await owner.run_command("takedown import", file=("1.csv", b"\x00\x01")))
    await answered(await owner.run_command("takedown import", file=("1.csv", b"")))

    posted = await fan.send(general, "", files=[(CRAFTED, evasion.jpeg_with_comments(2001))])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(posted.id)
    )
    await owner.send(general, "", files=[(TRUNCATED, evasion.listed_jpeg()[:4000])])
    alerts = await eventually(
        lambda: len(in_mod_queue(sandbox, guild, "⟦")) >= 2 and in_mod_queue(sandbox, guild, "⟦"),
        "two unreadable-file alerts",
        60,
    )
    review = next(alert for alert in alerts if len(buttons(alert)) == 3)
    take_down, timeout = (
        next(label for label in buttons(review) if word in label)
        for word in ("Take down", "Timeout")
    )
    await answered(await click(fan, review, take_down))  # refused: not a moderator
    await answered(await click(moderator, review, timeout))  # refused: they own the server
    await a_scan_summary(await moderator.run_command("takedown scan", channel=general, limit=50))

    shown = answers(sandbox) + posts(sandbox)
    assert len(shown) > 25 and any("⟦" in text for text in shown)
    (listing,) = refused_import.attachments  # the bad lines past the 15 the answer names
    shown += listing.data.decode().splitlines()
    assert leftovers(shown) == {}

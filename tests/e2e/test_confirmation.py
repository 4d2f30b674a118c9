"""Local-feature confirmation end to end: a story re-share of a listed photo, which the hashes
alone only flag for review, is removed once its entry has the signature `/takedown add`
keeps; without the signature it stays a review alert; `/takedown why` says which. So is a cut
copy whose pHash lies near one of the crops the entry keeps (a crop's pHash never removes
alone), and a copy under stickers, which only the photo's quarters find."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from db import guild_settings
from db.engine import Database
from db.schema import entry_signatures
from media.entries import entry_hashes
from media.hashing import entry_hashes_for_image, hash_media
from media.matching import MatchPolicy, TakedownIndex, Tier, match_media
from media.reupload import cut
from sandbox.botprocess import BotProcess
from sandbox.scenario import GuildHandle
from sandbox.server import Sandbox
from tests.e2e.conftest import StartBot
from tests.e2e.test_evidence import why_text
from tests.e2e.test_reports import link
from tests.e2e.test_scanning import DELETE_ROUTE, bot_database_url
from tests.media import reshares
from tests.media.samples import encode, photo, stickered

pytestmark = pytest.mark.e2e

SEND_ROUTE = "/channels/{channel_id}/messages"
STICKERED = 4  # the listed photo the stickered copy covers


def story() -> bytes:
    """A 9:16 story of sample photo 1 over a blurred copy (drawn once, the same each run). Not
    photo 4's, since the eighth session's detection: the hashes alone now remove its story."""
    return encode(reshares.story(photo(1), random.Random("e2e/0")), "JPEG", quality=85)


def cut_copy() -> bytes:
    """Sample photo 7 with a third cut off its right side: its pHash lies within `phash_alone`
    of one of the crops the entry keeps, and no PDQ of the entry is near."""
    return encode(cut(photo(7), 0.0, 0.0, 0.35, 0.0), "JPEG", quality=85)


# (listed photo, its re-share, what `/takedown why` says while the hashes alone only alert)
RESHARES = [
    pytest.param(1, story, "**Alerted, not removed**", id="story"),
    pytest.param(7, cut_copy, "one of the crops the entry keeps", id="crop"),
]


def alert_to(guild: GuildHandle, title: str):  # type: ignore[no-untyped-def]
    queue = str(guild.channel("mod-queue").id)

    def posted(call) -> bool:  # type: ignore[no-untyped-def]
        embeds = (call.json or {}).get("embeds") or [{}]
        return call.params.get("channel_id") == queue and title in embeds[0].get("title", "")

    return posted


@pytest.fixture
async def bot(tmp_path: Path, start_bot: StartBot, guild: GuildHandle) -> BotProcess:
    """The bot with #mod-queue as its mod channel, and an empty list."""
    (tmp_path / "bot").mkdir(exist_ok=True)
    database = await Database.open(bot_database_url(tmp_path))
    async with database.transaction() as conn:
        await guild_settings.update_settings(
            conn, guild.id, mod_channel_id=guild.channel("mod-queue").id
        )
    await database.close()
    return await start_bot(env={"HASH_WORKERS": "1"})


def test_the_hashes_alone_only_flag_the_reshares() -> None:
    """The premise: through the product's hashes each re-share matches its entry at the review
    tier only (if this fails, pick a harder re-share for the test below), the cut copy through
    a crop's pHash so near that the entry's own pHash would remove."""
    for known, reshare, _ in (param.values for param in RESHARES):
        entry = entry_hashes([entry_hashes_for_image(encode(photo(known), "PNG"))])
        index = TakedownIndex()
        index.add(1, entry.own, entry.variants)
        (found,) = match_media(hash_media(reshare()), index, MatchPolicy())
        assert found.tier is Tier.REVIEW
        if reshare is cut_copy:
            assert (found.algorithm, found.variant) == ("phash", True)
            assert found.distance <= MatchPolicy().phash_alone


@pytest.mark.parametrize(("known", "reshare", "alerted"), RESHARES)
async def test_a_reshare_the_hashes_only_flag_is_removed_once_the_entry_has_its_signature(
    sandbox: Sandbox,
    tmp_path: Path,
    guild: GuildHandle,
    bot: BotProcess,
    known: int,
    reshare: Callable[[], bytes],
    alerted: str,
) -> None:
    moderator, fan = guild.member("moderator"), guild.member("fan")
    added = await moderator.run_command(
        "takedown add", image=("deepfake.png", encode(photo(known), "PNG")), label="fake"
    )
    assert "Added entry" in (await added.message()).content

    # As an entry made before signatures were kept: the re-share only alerts.
    database = await Database.open(bot_database_url(tmp_path), migrate=False)
    try:
        async with database.transaction() as conn:
            rows = list(await conn.execute(select(entry_signatures)))
            await conn.execute(delete(entry_signatures))
        assert len(rows) == 1 and 3000 < len(rows[0].signature) <= 4096
        first = await fan.send(guild.channel("general"), "look", files=[("s.jpg", reshare())])
        await sandbox.wait_for_call("POST", SEND_ROUTE, where=alert_to(guild, "please review"))
        deleted = {c.params["message_id"] for c in sandbox.calls_to("DELETE", DELETE_ROUTE)}
        assert str(first.id) not in deleted
        why = await moderator.run_command("takedown why", message=link(guild, first))
        assert alerted in why_text(await why.message())

        # With its signature back, the same story (hashes cached, bytes fetched again) goes.
        async with database.transaction() as conn:
            await conn.execute(entry_signatures.insert(), [dict(rows[0]._mapping)])
    finally:
        await database.close()
    why = await moderator.run_command("takedown why", message=link(guild, first))
    assert "which confirms the match" in why_text(await why.message())
    second = await fan.send(guild.channel("general"), "again", files=[("s.jpg", reshare())])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(second.id)
    )
    await sandbox.wait_for_call(
        "POST", SEND_ROUTE, where=alert_to(guild, "Removed a takedown-list match")
    )


def test_only_the_quarters_find_the_stickered_copy() -> None:
    """The premise: the whole picture's hashes miss the stickered copy, a quarter finds it at
    the review tier (if this fails, cover more of the photo for the test below)."""
    entry = entry_hashes([entry_hashes_for_image(encode(photo(STICKERED), "PNG"))])
    index = TakedownIndex()
    index.add(1, entry.own, entry.variants)
    upload = hash_media(encode(stickered(STICKERED), "JPEG", quality=85))
    assert match_media(replace(upload, regions=()), index, MatchPolicy()) == []
    (found,) = match_media(upload, index, MatchPolicy())
    assert found.tier is Tier.REVIEW


async def test_a_stickered_copy_found_through_its_quarters_is_removed_once_confirmed(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    moderator, fan = guild.member("moderator"), guild.member("fan")
    added = await moderator.run_command(
        "takedown add", image=("deepfake.png", encode(photo(STICKERED), "PNG")), label="fake"
    )
    assert "Added entry" in (await added.message()).content
    copy = encode(stickered(STICKERED), "JPEG", quality=85)
    sent = await fan.send(guild.channel("general"), "stickers", files=[("s.jpg", copy)])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(sent.id)
    )

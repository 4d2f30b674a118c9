"""Local-feature confirmation end to end: a story re-share of a listed photo, which the hashes
alone only flag for review, is removed once its entry has the signature `/takedown add`
keeps; without the signature it stays a review alert; `/takedown why` says which. A copy under
stickers, which only the photo's quarters find, is removed the same way."""

from __future__ import annotations

import random
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

KNOWN = 4
SEND_ROUTE = "/channels/{channel_id}/messages"


def story() -> bytes:
    """A 9:16 story of the listed photo over a blurred copy (drawn once, the same each run)."""
    return encode(reshares.story(photo(KNOWN), random.Random("e2e/0")), "JPEG", quality=85)


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


def test_the_hashes_alone_only_flag_the_story() -> None:
    """The premise: through the product's hashes the story matches its entry at the review
    tier only (if this fails, pick a harder re-share for the test below)."""
    entry = entry_hashes([entry_hashes_for_image(encode(photo(KNOWN), "PNG"))])
    index = TakedownIndex()
    index.add(1, (*entry.own, *entry.variants))
    (found,) = match_media(hash_media(story()), index, MatchPolicy())
    assert found.tier is Tier.REVIEW


async def test_a_story_the_hashes_only_flag_is_removed_once_the_entry_has_its_signature(
    sandbox: Sandbox, tmp_path: Path, guild: GuildHandle, bot: BotProcess
) -> None:
    moderator, fan = guild.member("moderator"), guild.member("fan")
    added = await moderator.run_command(
        "takedown add", image=("deepfake.png", encode(photo(KNOWN), "PNG")), label="fake"
    )
    assert "Added entry" in (await added.message()).content

    # As an entry made before signatures were kept: the story only alerts.
    database = await Database.open(bot_database_url(tmp_path), migrate=False)
    try:
        async with database.transaction() as conn:
            rows = list(await conn.execute(select(entry_signatures)))
            await conn.execute(delete(entry_signatures))
        assert len(rows) == 1 and 3000 < len(rows[0].signature) <= 4096
        first = await fan.send(guild.channel("general"), "story", files=[("s.jpg", story())])
        await sandbox.wait_for_call("POST", SEND_ROUTE, where=alert_to(guild, "please review"))
        deleted = {c.params["message_id"] for c in sandbox.calls_to("DELETE", DELETE_ROUTE)}
        assert str(first.id) not in deleted
        why = await moderator.run_command("takedown why", message=link(guild, first))
        assert "**Alerted, not removed**" in why_text(await why.message())

        # With its signature back, the same story (hashes cached, bytes fetched again) goes.
        async with database.transaction() as conn:
            await conn.execute(entry_signatures.insert(), [dict(rows[0]._mapping)])
    finally:
        await database.close()
    why = await moderator.run_command("takedown why", message=link(guild, first))
    assert "which confirms the match" in why_text(await why.message())
    second = await fan.send(guild.channel("general"), "again", files=[("s.jpg", story())])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(second.id)
    )
    await sandbox.wait_for_call(
        "POST", SEND_ROUTE, where=alert_to(guild, "Removed a takedown-list match")
    )


def test_only_the_quarters_find_the_stickered_copy() -> None:
    """The premise: the whole picture's hashes miss the stickered copy, a quarter finds it at
    the review tier (if this fails, cover more of the photo for the test below)."""
    entry = entry_hashes([entry_hashes_for_image(encode(photo(KNOWN), "PNG"))])
    index = TakedownIndex()
    index.add(1, (*entry.own, *entry.variants))
    upload = hash_media(encode(stickered(KNOWN), "JPEG", quality=85))
    assert match_media(replace(upload, regions=()), index, MatchPolicy()) == []
    (found,) = match_media(upload, index, MatchPolicy())
    assert found.tier is Tier.REVIEW


async def test_a_stickered_copy_found_through_its_quarters_is_removed_once_confirmed(
    sandbox: Sandbox, guild: GuildHandle, bot: BotProcess
) -> None:
    moderator, fan = guild.member("moderator"), guild.member("fan")
    added = await moderator.run_command(
        "takedown add", image=("deepfake.png", encode(photo(KNOWN), "PNG")), label="fake"
    )
    assert "Added entry" in (await added.message()).content
    copy = encode(stickered(KNOWN), "JPEG", quality=85)
    sent = await fan.send(guild.channel("general"), "stickers", files=[("s.jpg", copy)])
    await sandbox.wait_for_call(
        "DELETE", DELETE_ROUTE, where=lambda c: c.params["message_id"] == str(sent.id)
    )

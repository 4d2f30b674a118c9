"""The recent-hash store: files kept in batches as bits only, found again by a new entry with
live matching's policy (a resized, a mirrored and a turned copy; an unrelated picture and a
"Not a match" picture not), expired after `recent_days`, and forgotten with their author; a
list a server subscribes to, by either way of finding them."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from core.hashes import MIRROR_BYTES, RECORD_BYTES, REGION_BYTES
from db import allowlist, guild_settings, recent_media, retention, takedowns
from db.engine import Database
from db.recent_media import snowflake_at, snowflake_time
from db.schema import recent_media as recent_table
from db.takedowns import NewEntry
from media.entries import entry_hashes
from media.hashing import MediaHashes, entry_hashes_for_image, hash_media
from media.matching import MatchPolicy, Tier
from media.recent import media_of, mirrors_of, records_of, regions_of
from media.reupload import cut
from services.live_index import LiveTakedownIndex
from services.recent_hashes import EarlierCopy, RecentHashes
from services.retention import RetentionJob
from tests.media.samples import encode, photo, stickered
from tests.services.test_live_index import random_pdq

GUILD = 4101
CHANNEL = 9
AUTHOR, OTHER_AUTHOR = 71, 72
KNOWN, UNRELATED = 4, 7


def hashed(picture: Image.Image, fmt: str = "JPEG"):  # type: ignore[no-untyped-def]
    return hash_media(encode(picture, fmt))


def message_id(days_ago: float, n: int = 0) -> int:
    return snowflake_at(datetime.now(UTC) - timedelta(days=days_ago)) + n


async def store(database: Database) -> tuple[LiveTakedownIndex, RecentHashes]:
    index = LiveTakedownIndex(database)
    await index.load()
    return index, RecentHashes(database, index)


async def add_known(database: Database, index: LiveTakedownIndex) -> int:
    frame = hashed(photo(KNOWN), "PNG").frames[0]
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn, GUILD, NewEntry((frame.pdq, frame.phash)), source="hash", added_by=1
        )
    await index.sync()
    return entry.id


def test_a_file_is_kept_as_fixed_records_of_bits_and_read_back_the_same() -> None:
    media = hashed(photo(KNOWN))
    frames, records = records_of(media)  # type: ignore[misc]
    assert frames == 1 and len(records) % RECORD_BYTES == 0
    assert len(records) // RECORD_BYTES == 1 + len([f for f in media.extra if f.matchable])
    back = media_of(frames, records)
    assert back.frames[0].pdq == media.frames[0].pdq
    assert back.frames[0].pdq_variants == media.frames[0].pdq_variants
    assert back.frames[0].phash == media.frames[0].phash
    assert encode(photo(KNOWN), "JPEG")[:64] not in records  # bits of hashes, not of the file
    regions = regions_of(media)
    assert len(media.regions) == 4 and len(regions) == 4 * REGION_BYTES
    assert media_of(frames, records, regions).regions == media.regions
    assert media_of(frames, records).regions == ()  # a file stored before quarters were kept
    mirrors = mirrors_of(media)
    turned = [f for f in (*media.frames, *media.extra) if f.matchable and f.pdq_variants]
    assert len(mirrors) == MIRROR_BYTES * len(turned) > 0
    again = media_of(frames, records, regions, mirrors)
    assert [f.phash_mirror for f in (*again.frames, *again.extra) if f.pdq_variants] == [
        f.phash_mirror for f in turned
    ]
    assert all(f.phash_mirror is None for f in again.extra if not f.pdq_variants)  # views
    assert media_of(frames, records, regions, mirrors[:-1]).frames[0].phash_mirror is None


async def test_a_new_entry_finds_resized_mirrored_and_turned_copies_and_nothing_else(
    database: Database,
) -> None:
    index, recent = await store(database)
    picture = photo(KNOWN)
    posted = {
        "resized": picture.resize((picture.width // 2, picture.height // 2)),
        "mirrored": picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "turned": picture.transpose(Image.Transpose.ROTATE_90),
        "unrelated": photo(UNRELATED),
    }
    ids = {}
    for n, (name, image) in enumerate(posted.items()):
        ids[name] = message_id(1, n)
        assert recent.keep(GUILD, CHANNEL, ids[name], AUTHOR, 0, hashed(image))
    assert recent.waiting == 4 and await recent.flush() == 4 and recent.waiting == 0

    entry = await add_known(database, index)
    scope = await index.scope(GUILD)
    since = datetime.now(UTC) - timedelta(days=7)
    copies = await recent.earlier_copies(GUILD, [entry], since, MatchPolicy(), scope)
    found = {c.stored.message_id: c.found for c in copies}
    assert set(found) == {ids["resized"], ids["mirrored"], ids["turned"]}
    assert all(m.match.entry_id == entry and m.match.tier is Tier.TAKEDOWN for m in found.values())
    assert all(c.stored.author_id == AUTHOR and c.stored.channel_id == CHANNEL for c in copies)

    resized = next(c for c in copies if c.stored.message_id == ids["resized"])
    async with database.transaction() as conn:  # moderators said the resized one is fine
        await allowlist.allow(conn, GUILD, resized.media.frames[0].pdq, decided_by=1)
    await index.sync()
    scope = await index.scope(GUILD)
    again = await recent.earlier_copies(GUILD, [entry], since, MatchPolicy(), scope)
    assert {c.stored.message_id for c in again} == {ids["mirrored"], ids["turned"]}


def under_stickers() -> tuple[MediaHashes, MediaHashes]:
    """A copy found live only through its quarters, and the same as a file stored without."""
    copy = hashed(stickered(KNOWN))
    return copy, replace(copy, regions=())


def mirrored_crop() -> tuple[MediaHashes, MediaHashes]:
    """A copy found live only through its mirror image's pHash (near one of the entry's crops),
    and the same as a file stored without it."""
    copy = hashed(cut(photo(KNOWN), 0.2, 0, 0, 0).transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    frames = tuple(replace(frame, phash_mirror=None) for frame in copy.frames)
    return copy, replace(copy, frames=frames)


@pytest.mark.parametrize("each_file", [False, True], ids=["filter", "each file"])
@pytest.mark.parametrize(
    ("made", "algorithm"),
    [(under_stickers, "pdq"), (mirrored_crop, "phash")],
    ids=["stickers", "mirrored crop"],
)
async def test_a_copy_found_live_only_for_review_is_found_by_a_sweep_while_its_hashes_are_kept(
    database: Database,
    each_file: bool,
    made: Callable[[], tuple[MediaHashes, MediaHashes]],
    algorithm: str,
) -> None:
    """Live matching finds a stickered copy through its quarters and a mirrored crop through its
    mirror image's pHash, for review (the local features may confirm it); a sweep must find
    them too, by the filter and by matching each file, and only while those hashes are kept
    (a file stored without them stands for one stored before they were)."""
    index, recent = await store(database)
    copy, without = made()
    found_copy, unrelated, old_row = message_id(1, 0), message_id(1, 1), message_id(1, 2)
    recent.keep(GUILD, CHANNEL, found_copy, AUTHOR, 0, copy)
    recent.keep(GUILD, CHANNEL, unrelated, AUTHOR, 0, hashed(photo(UNRELATED)))
    recent.keep(GUILD, CHANNEL, old_row, AUTHOR, 0, without)
    await recent.flush()
    listed = entry_hashes([entry_hashes_for_image(encode(photo(KNOWN), "PNG"))])
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn,
            GUILD,
            NewEntry(listed.own, variants=listed.variants),
            source="image",
            added_by=1,
        )
    await index.sync()
    if each_file:
        recent.FILTER_UP_TO = 0
    scope = await index.scope(GUILD)
    since = datetime.now(UTC) - timedelta(days=7)
    copies = await recent.earlier_copies(GUILD, [entry.id], since, MatchPolicy(), scope)
    assert [c.stored.message_id for c in copies] == [found_copy]
    (found,) = copies
    assert found.found.match.entry_id == entry.id
    assert (found.found.match.algorithm, found.found.match.tier) == (algorithm, Tier.REVIEW)


async def test_only_the_last_days_are_read_and_expiry_and_forgetting_delete_rows(
    database: Database,
) -> None:
    index, recent = await store(database)
    media = hashed(photo(KNOWN))
    old, earlier, later = message_id(10), message_id(2), message_id(1)
    recent.keep(GUILD, CHANNEL, old, AUTHOR, 0, media)  # older than the week
    recent.keep(GUILD, CHANNEL, earlier, AUTHOR, 0, media)
    recent.keep(GUILD, CHANNEL, later, OTHER_AUTHOR, 0, media)
    await recent.close()  # closing writes what waits
    entry = await add_known(database, index)
    scope = await index.scope(GUILD)
    week = datetime.now(UTC) - timedelta(days=7)
    copies = await recent.earlier_copies(GUILD, [entry], week, MatchPolicy(), scope)
    assert sorted(c.stored.message_id for c in copies) == [earlier, later]
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    assert abs(snowflake_time(earlier) - two_days_ago) < timedelta(minutes=1)

    async with database.transaction() as conn:
        await guild_settings.update_settings(conn, GUILD, recent_days=7)
    job = RetentionJob(database, guild_settings.SettingsCache(database))
    run = await job.run(datetime.now(UTC))
    assert run.recent == 1
    async with database.transaction() as conn:
        forgotten = await retention.forget_member(conn, GUILD, OTHER_AUTHOR)
    assert forgotten.recent == 1  # counted for the /forget case
    async with database.connect() as conn:
        left = (await conn.execute(recent_table.select())).all()
        assert [(r.message_id, r.author_id) for r in left] == [(earlier, AUTHOR)]
        await recent_media.forget_guild(conn, GUILD)


async def test_recent_days_zero_deletes_everything_kept(database: Database) -> None:
    _, recent = await store(database)
    recent.keep(GUILD, CHANNEL, message_id(1), AUTHOR, 0, hashed(photo(KNOWN)))
    await recent.flush()
    async with database.transaction() as conn:
        await guild_settings.update_settings(conn, GUILD, recent_days=0)
    run = await RetentionJob(database, guild_settings.SettingsCache(database)).run(
        datetime.now(UTC)
    )
    assert run.recent == 1
    async with database.connect() as conn:
        assert await recent_media.guilds_with_recent(conn) == []


def test_a_file_with_nothing_matchable_is_not_kept() -> None:
    flat = hashed(Image.new("RGB", (64, 64), "gray"))
    assert records_of(flat) is None


async def test_a_subscribed_list_finds_the_same_copies_by_filter_and_by_matching_each_file(
    database: Database,
) -> None:
    """A list past `FILTER_UP_TO` hashes is swept by matching every stored file with the live
    index, read a page at a time; both ways find the same copies, of that list only."""
    index, recent = await store(database)
    publisher, rng = GUILD + 1, random.Random(5)
    known = hashed(photo(KNOWN), "PNG").frames[0]
    others = [NewEntry((random_pdq(rng),)) for _ in range(30)]
    async with database.transaction() as conn:
        shared = await takedowns.set_shared(conn, publisher, True)
        ids = await takedowns.add_entries(
            conn,
            publisher,
            [*others, NewEntry((known.pdq, known.phash))],
            source="hash",
            added_by=1,
        )
        own = await takedowns.add_entry(  # the subscriber's own list has a copy's entry too
            conn,
            GUILD,
            NewEntry((hashed(photo(UNRELATED), "PNG").frames[0].pdq,)),
            source="hash",
            added_by=1,
        )
        await takedowns.subscribe(conn, GUILD, shared.id, "remove", 1)
    await index.sync()
    picture = photo(KNOWN)
    posted = [
        picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        photo(UNRELATED),  # on the server's own list, not the subscribed one
        picture.resize((picture.width // 2, picture.height // 2)),
        photo(UNRELATED + 1),
    ]
    sent = [message_id(1, n // 2) for n in range(len(posted))]  # two files a message
    for n, image in enumerate(posted):
        recent.keep(GUILD, CHANNEL, sent[n], AUTHOR, n % 2, hashed(image))
    await recent.flush()
    scope = await index.scope(GUILD)
    since = datetime.now(UTC) - timedelta(days=7)

    filtered = await recent.copies_on_list(GUILD, shared.id, since, MatchPolicy(), scope)
    recent.FILTER_UP_TO, recent.PAGE = 10, 1  # 31 entries: each file matched, a page a file
    each = await recent.copies_on_list(GUILD, shared.id, since, MatchPolicy(), scope)

    def found(copies: list[EarlierCopy]) -> list[tuple[int, int, int]]:
        return [(c.stored.message_id, c.stored.media_index, c.found.match.entry_id) for c in copies]

    assert found(filtered) == found(each) == [(sent[0], 0, ids[-1]), (sent[2], 0, ids[-1])]
    assert all(c.found.list_id == shared.id and c.found.removes for c in each)
    assert own.id not in {c.found.match.entry_id for c in each}


async def test_files_posted_after_the_sweep_was_asked_for_are_left_to_live_matching(
    database: Database,
) -> None:
    """They met the entry when they were scanned: sweeping them too would alert twice."""
    index, recent = await store(database)
    media = hashed(photo(KNOWN))
    before, after = message_id(2), message_id(0.5)
    recent.keep(GUILD, CHANNEL, before, AUTHOR, 0, media)
    recent.keep(GUILD, CHANNEL, after, AUTHOR, 0, media)
    entry = await add_known(database, index)
    scope = await index.scope(GUILD)
    week, asked = (datetime.now(UTC) - timedelta(days=d) for d in (7, 1))
    for filter_up_to in (RecentHashes.FILTER_UP_TO, 0):  # the numpy filter, then each file
        recent.FILTER_UP_TO = filter_up_to
        copies = await recent.earlier_copies(GUILD, [entry], week, MatchPolicy(), scope)
        assert sorted(c.stored.message_id for c in copies) == [before, after]
        copies = await recent.earlier_copies(
            GUILD, [entry], week, MatchPolicy(), scope, until=asked
        )
        assert [c.stored.message_id for c in copies] == [before]

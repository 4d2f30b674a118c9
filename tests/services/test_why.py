"""Why a file was or wasn't removed: the scanner's verdict under the server's settings (each
setting that can decide it), and the nearest entries however far, from the real index."""

from __future__ import annotations

import random

from core.hashes import Hash
from db import allowlist, takedowns
from db.engine import Database
from db.guild_settings import GuildSettings
from db.takedowns import NewEntry
from media.hashing import FrameHashes, MediaHashes, Outcome
from media.pipeline import HashedMedia, MediaRef
from services.live_index import LiveTakedownIndex
from services.why import Verdict, explain

GUILD, PUBLISHER = 5001, 5002
REF = MediaRef("attachment:1", "https://cdn.example/1.png", "attachment", "1.png")
PHASH = Hash("phash", "0f0f0f0f0f0f0f0f")


def flipped(value: Hash, bits: int, rng: random.Random) -> Hash:
    number = int(value.hex, 16)
    for bit in rng.sample(range(256), bits):
        number ^= 1 << bit
    return Hash("pdq", f"{number:064x}")


def upload(value: Hash, phash: Hash = PHASH) -> HashedMedia:
    frame = FrameHashes(pdq=value, quality=100, phash=phash)
    return HashedMedia(REF, MediaHashes(Outcome.HASHED, (frame,), kind="image"))


async def index_of(database: Database) -> LiveTakedownIndex:
    index = LiveTakedownIndex(database)
    await index.load()
    return index


async def test_each_setting_that_decides_is_the_one_named(database: Database) -> None:
    rng = random.Random(3)
    listed = Hash("pdq", f"{rng.getrandbits(256):064x}")
    other = Hash("pdq", f"{rng.getrandbits(256):064x}")
    async with database.transaction() as conn:
        own, far = await takedowns.add_entries(
            conn, GUILD, [NewEntry((listed,)), NewEntry((other,))], source="hash", added_by=1
        )
    index = await index_of(database)
    scope = await index.scope(GUILD)
    settings = GuildSettings(GUILD)
    close, review, miss = (upload(flipped(listed, bits, rng)) for bits in (20, 50, 80))

    removed = await explain(index, settings, scope, close)
    assert removed.verdict is Verdict.REMOVED and removed.match is not None
    assert (removed.match.match.entry_id, removed.match.match.distance) == (own, 20)
    assert (removed.nearest[0].entry_id, removed.nearest[0].distance) == (own, 20)

    flagged = await explain(index, GuildSettings(GUILD, takedown_action="flag"), scope, close)
    assert flagged.verdict is Verdict.FLAG_SERVER
    assert (await explain(index, settings, scope, review)).verdict is Verdict.REVIEW_TIER
    wider = GuildSettings(GUILD, pdq_confident_radius=60, pdq_review_radius=90)
    assert (await explain(index, wider, scope, review)).verdict is Verdict.REMOVED

    missed = await explain(index, settings, scope, miss)
    assert missed.verdict is Verdict.NO_MATCH and missed.match is None
    pdq = [(n.entry_id, n.distance) for n in missed.nearest if n.algorithm == "pdq"]
    assert pdq[0] == (own, 80) and far in {entry for entry, _ in pdq}


async def test_a_subscription_to_flag_an_allowlist_and_an_empty_list_are_named(
    database: Database,
) -> None:
    rng = random.Random(4)
    shared = Hash("pdq", f"{rng.getrandbits(256):064x}")
    empty_index = await index_of(database)
    nothing = await explain(
        empty_index, GuildSettings(GUILD), await empty_index.scope(GUILD), upload(shared)
    )
    assert nothing.verdict is Verdict.EMPTY
    async with database.transaction() as conn:
        (entry,) = await takedowns.add_entries(
            conn, PUBLISHER, [NewEntry((shared,))], source="hash", added_by=1
        )
        published = await takedowns.set_shared(conn, PUBLISHER, True)
        await takedowns.subscribe(conn, GUILD, published.id, "flag", created_by=1)
    index = await index_of(database)
    copy = upload(flipped(shared, 10, rng))
    flagged = await explain(index, GuildSettings(GUILD), await index.scope(GUILD), copy)
    assert flagged.verdict is Verdict.FLAG_LIST and flagged.match is not None
    assert flagged.match.match.entry_id == entry

    async with database.transaction() as conn:
        await allowlist.allow(conn, GUILD, copy.hashes.frames[0].pdq, decided_by=1)
    index = await index_of(database)
    allowed = await explain(index, GuildSettings(GUILD), await index.scope(GUILD), copy)
    assert allowed.verdict is Verdict.ALLOWLISTED and allowed.partly_allowlisted


async def test_a_file_that_could_not_be_hashed_is_never_called_clean(database: Database) -> None:
    index = await index_of(database)
    broken = HashedMedia(REF, MediaHashes(Outcome.CRAFTED, reason="it declares 13000x13000"))
    result = await explain(index, GuildSettings(GUILD), await index.scope(GUILD), broken)
    assert result.verdict is Verdict.UNCHECKED and result.nearest == ()


def phash_off(bits: int) -> Hash:
    """PHASH with its lowest `bits` bits inverted: exactly `bits` away."""
    return Hash("phash", f"{int(PHASH.hex, 16) ^ ((1 << bits) - 1):016x}")


async def test_a_phash_match_beyond_phash_alone_counts_fully_only_with_pdq(
    database: Database,
) -> None:
    rng = random.Random(5)
    pictures = [Hash("pdq", f"{rng.getrandbits(256):064x}") for _ in range(3)]
    async with database.transaction() as conn:
        alone, agreed, far = await takedowns.add_entries(
            conn,
            GUILD,
            [
                NewEntry((phash_off(8),)),  # pHash only, 8 bits off
                NewEntry((phash_off(8), flipped(pictures[1], 50, rng))),  # and PDQ 50 off
                NewEntry((phash_off(10),)),  # pHash only, 10 bits off
            ],
            source="hash",
            added_by=1,
        )
    index = await index_of(database)
    scope = await index.scope(GUILD)
    settings = GuildSettings(GUILD)

    alerted = await explain(index, settings, scope, upload(pictures[0]))
    assert alerted.verdict is Verdict.REVIEW_TIER and alerted.match is not None
    assert (alerted.match.match.entry_id, alerted.match.match.distance) == (alone, 8)

    removed = await explain(index, settings, scope, upload(pictures[1]))
    assert removed.verdict is Verdict.REMOVED and removed.match is not None
    assert (removed.match.match.entry_id, removed.match.match.algorithm) == (agreed, "phash")

    async with database.transaction() as conn:
        for entry in (alone, agreed):
            await takedowns.remove_entry(conn, GUILD, entry)
    index = await index_of(database)
    missed = await explain(index, settings, await index.scope(GUILD), upload(pictures[2]))
    assert missed.verdict is Verdict.NO_MATCH
    assert (missed.nearest[0].entry_id, missed.nearest[0].distance) == (far, 10)


async def test_a_phash_near_only_one_of_an_entrys_crops_alerts_where_its_own_would_remove(
    database: Database,
) -> None:
    rng = random.Random(6)
    picture, imported = Hash("pdq", f"{rng.getrandbits(256):064x}"), Hash("phash", "3c" * 8)
    async with database.transaction() as conn:
        (own,) = await takedowns.add_entries(
            conn, GUILD, [NewEntry((imported,))], source="hash", added_by=1
        )  # a pHash-only list's line: the entry's own pHash
    index = await index_of(database)
    async with database.transaction() as conn:  # added after the load: comes by the change log
        (cropped,) = await takedowns.add_entries(
            conn,
            GUILD,
            [NewEntry((flipped(picture, 90, rng),), variants=(phash_off(4),))],
            source="upload",
            added_by=1,
        )  # a picture whose PDQ is far, one of its crops' pHash 4 bits off
    await index.sync()
    scope = await index.scope(GUILD)
    settings = GuildSettings(GUILD)

    alerted = await explain(index, settings, scope, upload(picture))
    assert alerted.verdict is Verdict.REVIEW_TIER and alerted.match is not None
    found = alerted.match.match
    assert (found.entry_id, found.algorithm, found.distance, found.variant) == (
        cropped,
        "phash",
        4,
        True,
    )
    near = [(n.entry_id, n.distance) for n in alerted.nearest if n.algorithm == "phash"]
    assert near[0] == (cropped, 4)

    removed = await explain(index, settings, scope, upload(picture, imported))
    assert removed.verdict is Verdict.REMOVED and removed.match is not None
    assert (removed.match.match.entry_id, removed.match.match.variant) == (own, False)

"""What the recent-hash store costs: bytes per stored picture, the scanner's share, and the sweep
of one new entry against a million stored pictures. Prints figures.

Run: .venv/bin/python bench/recent_store.py [stored pictures] [--seed N] [--postgres]
         [--list ENTRIES]
Default: 1,000,000 stored pictures in a SQLite file (random hashes, a picture, its quarters and
its mirror's pHash each, with a few real copies of the bench photo among them at random places
from the printed seed); with `--postgres`, the bytes per picture on the PostgreSQL of
LIGHTSTICK_TEST_POSTGRES too (100,000 rows in a scratch database, dropped after).

Figures:
- bytes per stored picture: the table and its index on disk, divided by the rows;
- the scanner's share per hashed file: packing its records and queueing them (`keep`), and
  writing a second's batch (1,000 files) in one transaction;
- the sweep of one new entry (PDQ, pHash and quarters of the bench photo) against every stored
  picture: the whole `RecentHashes.earlier_copies` (reading the rows in batches, the numpy
  filter in a thread, the live index confirming the candidates), and the numpy filter alone in
  memory;
- with `--list ENTRIES`: the sweep when the server subscribes to another server's list of that
  many entries (random PDQ hashes, and the bench photo's PDQ and pHash): past
  `RecentHashes.FILTER_UP_TO` hashes every stored picture is matched by the live index, so the
  figure is per stored picture (run it with fewer stored pictures, say 20,000: it costs a match
  each).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from core.hashes import MAX_REGIONS, MIRROR_BYTES, RECORD_BYTES, REGION_BYTES, Hash  # noqa: E402
from db import recent_media, takedowns  # noqa: E402
from db.engine import Database  # noqa: E402
from db.recent_media import RecentMedia, snowflake_at  # noqa: E402
from db.schema import recent_media as recent_table  # noqa: E402
from db.takedowns import NewEntry  # noqa: E402
from media.hashing import hash_media  # noqa: E402
from media.matching import MatchPolicy  # noqa: E402
from media.recent import mirrors_of, near_rows, records_of, regions_of  # noqa: E402
from services.live_index import LiveTakedownIndex  # noqa: E402
from services.recent_hashes import RecentHashes  # noqa: E402
from tests.media.samples import encode, photo  # noqa: E402

GUILD = 1
BATCH = 20_000
COPIES = 5


def random_rows(rng: random.Random, count: int, first_id: int) -> list[RecentMedia]:
    return [
        RecentMedia(
            GUILD,
            rng.randrange(1, 50),
            first_id + n,
            rng.randrange(1, 10_000),
            0,
            1,
            rng.randbytes(RECORD_BYTES),
            rng.randbytes(MAX_REGIONS * REGION_BYTES),  # a still photo's four quarters
            rng.randbytes(MIRROR_BYTES),  # and its mirror image's pHash
        )
        for n in range(count)
    ]


async def fill(
    database: Database, rng: random.Random, count: int, copy: tuple[bytes, bytes, bytes]
) -> set[int]:
    """`count` stored pictures posted over the last day, `COPIES` of them the bench photo."""
    start = snowflake_at(datetime.now(UTC) - timedelta(days=1))
    copies = set(rng.sample(range(count), COPIES))
    for low in range(0, count, BATCH):
        rows = random_rows(rng, min(BATCH, count - low), start + low)
        for n, row in enumerate(rows):
            if low + n in copies:
                rows[n] = RecentMedia(GUILD, 2, row.message_id, 3, 0, 1, *copy)
        async with database.transaction() as conn:
            await recent_media.add_many(conn, rows)
    return {start + n for n in copies}


async def sqlite_bytes(database: Database, path: Path) -> float:
    """The table's and its index's pages (SQLite's dbstat), or the whole file without it."""
    async with database.connect() as conn:
        rows = await conn.scalar(select(func.count()).select_from(recent_table))
        try:
            size = await conn.scalar(
                text("SELECT sum(pgsize) FROM dbstat WHERE name LIKE '%recent_media%'")
            )
        except Exception:  # no dbstat in this SQLite build
            size = None
    return (size if size is not None else file_size(path)) / rows


def file_size(path: Path) -> int:
    return path.stat().st_size


async def postgres_bytes(rng: random.Random, count: int) -> float | None:
    from tests.conftest import new_postgres_database

    async with new_postgres_database() as url:
        database = await Database.open(url)
        try:
            start = snowflake_at(datetime.now(UTC))
            for low in range(0, count, BATCH):
                async with database.transaction() as conn:
                    rows = random_rows(rng, min(BATCH, count - low), start + low)
                    await recent_media.add_many(conn, rows)
            async with database.transaction() as conn:
                await conn.execute(text("ANALYZE recent_media"))
                size = await conn.scalar(text("SELECT pg_total_relation_size('recent_media')"))
        finally:
            await database.close()
    return size / count


async def scanner_share(database: Database) -> tuple[float, float]:
    """Microseconds per `keep`, milliseconds per 1,000-file batch written."""
    media = [hash_media(encode(photo(1 + n % 8), "JPEG")) for n in range(16)]
    store = RecentHashes(database, LiveTakedownIndex(database))
    started = time.perf_counter()
    for n in range(1000):
        store.keep(GUILD + 1, 5, 10**17 + n, 7, 0, media[n % len(media)])
    keep_us = (time.perf_counter() - started) * 1e6 / 1000
    started = time.perf_counter()
    await store.flush()
    return keep_us, (time.perf_counter() - started) * 1000


async def three_sweeps(
    index: LiveTakedownIndex, planted: set[int], way: str, of: object
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (every thread of the process) of three runs of a sweep of GUILD
    (`RecentHashes.earlier_copies` for entries, `copies_on_list` for a list); each must find
    the planted copies."""
    store = RecentHashes(index.database, index)
    scope = await index.scope(GUILD)
    since = datetime.now(UTC) - timedelta(days=7)
    times, cpu = [], []
    for _ in range(3):
        started, used = time.perf_counter(), time.process_time()
        found = await getattr(store, way)(GUILD, of, since, MatchPolicy(), scope)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
        assert {c.stored.message_id for c in found} == planted, "the planted copies"
    return times, cpu


async def subscribed_sweep(
    database: Database, rng: random.Random, size: int, known: NewEntry, planted: set[int]
) -> None:
    """Another server shares a list of `size` entries (the bench photo among them); GUILD
    subscribes and is swept for it, three times."""
    publisher = GUILD + 1
    # PDQ only, as StopNCII's and ThreatExchange's lists are: 100,000 random 64-bit pHashes
    # would meet random stored ones within pHash's review radius (10) by chance.
    entries = [NewEntry((Hash("pdq", f"{rng.getrandbits(256):064x}"),)) for _ in range(size - 1)]
    started = time.perf_counter()
    async with database.transaction() as conn:
        shared = await takedowns.set_shared(conn, publisher, True)
        await takedowns.add_entries(conn, publisher, [*entries, known], source="hash", added_by=1)
        await takedowns.subscribe(conn, GUILD, shared.id, "remove", 1)
    index = LiveTakedownIndex(database)
    await index.load()
    loaded = time.perf_counter() - started
    print(f"list of {size:,} entries added and the index loaded in {loaded:.0f} s")
    times, cpu = await three_sweeps(index, planted, "copies_on_list", shared.id)
    async with database.connect() as conn:
        stored = await conn.scalar(select(func.count()).where(recent_table.c.guild_id == GUILD))
    print(
        f"sweep of a subscribed list of {size:,} entries ({len(index.index.index):,} hashes "
        f"in the index) against {stored:,} stored pictures, each matched by the live index: "
        f"wall median {statistics.median(times):.1f} s (runs "
        f"{', '.join(f'{t:.1f}' for t in times)}), CPU median {statistics.median(cpu):.1f} s, "
        f"{statistics.median(cpu) * 1e6 / stored:.0f} us of CPU a stored picture; found the "
        f"{COPIES} planted copies; load average {os.getloadavg()[0]:.1f}"
    )
    await index.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("stored", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--list", type=int, default=0, help="also sweep a subscribed list")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    rng = random.Random(seed)
    print(f"seed {seed}; load average {os.getloadavg()[0]:.1f}; {args.stored:,} stored pictures")

    listed = hash_media(encode(photo(4), "PNG"))
    known, quarters = listed.frames[0], listed.regions
    picture = photo(4)
    mirrored = hash_media(encode(picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "JPEG"))
    copy = records_of(mirrored)
    assert copy is not None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        database = await Database.open(f"sqlite+aiosqlite:///{path}")
        try:
            keep_us, flush_ms = await scanner_share(database)
            print(
                f"scanner's share: keep {keep_us:.1f} us a file; "
                f"a 1,000-file batch written in {flush_ms:.0f} ms"
            )
            started = time.perf_counter()
            planted = await fill(
                database, rng, args.stored, (copy[1], regions_of(mirrored), mirrors_of(mirrored))
            )
            print(f"filled in {time.perf_counter() - started:.0f} s")
            per_row = await sqlite_bytes(database, path)
            print(f"SQLite: {per_row:.0f} bytes a stored picture (table + index)")

            index = LiveTakedownIndex(database)
            await index.load()
            async with database.transaction() as conn:
                entry = await takedowns.add_entry(
                    conn,
                    GUILD,
                    NewEntry((known.pdq, known.phash), variants=quarters),
                    source="hash",
                    added_by=1,
                )
            await index.sync()
            times, cpu = await three_sweeps(index, planted, "earlier_copies", [entry.id])
            print(
                f"sweep of one entry against {args.stored:,} stored pictures (SQLite, read in "
                f"batches of {BATCH:,}): wall median {statistics.median(times):.2f} s "
                f"(runs {', '.join(f'{t:.2f}' for t in times)}), CPU median "
                f"{statistics.median(cpu):.2f} s; found the {COPIES} planted copies; "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            records = [rng.randbytes(RECORD_BYTES) for _ in range(BATCH)]
            regions = [rng.randbytes(MAX_REGIONS * REGION_BYTES) for _ in range(BATCH)]
            mirrors = [rng.randbytes(MIRROR_BYTES) for _ in range(BATCH)]
            wanted = [known.pdq, known.phash, *quarters]
            started, used = time.perf_counter(), time.process_time()
            for _ in range(args.stored // BATCH):
                near_rows(records, wanted, MatchPolicy(), regions, mirrors)
            filtered, cpu_filter = time.perf_counter() - started, time.process_time() - used
            print(
                f"numpy filter alone, in memory: {filtered * 1000:.0f} ms wall, "
                f"{cpu_filter * 1000:.0f} ms CPU for {args.stored:,}"
            )
            await index.close()
            if args.list:
                entry = NewEntry((known.pdq, known.phash))
                await subscribed_sweep(database, rng, args.list, entry, planted)
        finally:
            await database.close()
    if args.postgres:
        per_row = await postgres_bytes(rng, 100_000)
        print(f"PostgreSQL: {per_row:.0f} bytes a stored picture (table + TOAST + index)")


if __name__ == "__main__":
    asyncio.run(main())

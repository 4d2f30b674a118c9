"""Loading a large takedown list at start: time, memory, and event-loop lag while it loads.

Run: .venv/bin/python bench/index_load.py [entries] [--database URL] [--seed S]
Default: 10,000,000 entries of one random PDQ hash each, in a scratch SQLite file (made
by SQL, so making it is quick; it is removed after). `--database` takes a PostgreSQL URL
instead (its tables are dropped first, and the list made with generate_series). Prints:
- load: `LiveTakedownIndex.load()` from the database to both tiers ready, in seconds; then
  again from the snapshot that first load wrote (`media.index_snapshot`), as the next start,
  in a process of its own (what a restarted bot holds: no arrays left over from a first load);
- loop lag while loading: the worst wake-up delay of a task sleeping 5 ms at a time on the
  same loop (what the gateway heartbeat and commands would wait);
- memory: what the index's arrays hold (hashes, postings, ids, entry lists), and the process's
  resident size before, after and at its peak;
- an image's full match at that size (2 queries at 62, 6 at 31), median / p99.
Targets (issue 19): 10 million PDQ hashes in <= 1 GiB, loaded in <= 20 s, loop lag <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db.engine import Database  # noqa: E402
from services.live_index import LiveTakedownIndex  # noqa: E402


def resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def make_list(database: Database, entries: int, seed: int) -> None:
    """One guild's list of `entries` entries, each with one random PDQ hash, written by SQL."""
    async with database.transaction() as conn:
        await conn.execute(
            text(
                "INSERT INTO hash_lists (id, owner_guild_id, shared, created_at) "
                "VALUES (1, 1, false, CURRENT_TIMESTAMP)"
            )
        )
        if database.dialect == "sqlite":
            numbers = (
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :count)"
            )
            digits = "lower(hex(randomblob(32)))"
            source = "FROM n"
        else:
            await conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
            numbers = ""
            digits = "md5(random()::text) || md5(random()::text)"
            source = "FROM generate_series(1, :count) AS n(x)"
        await conn.execute(
            text(
                f"{numbers} INSERT INTO takedown_entries (id, list_id, label, label_shareable, "
                f"source, added_at, enabled, match_count) SELECT x, 1, '', false, 'import', "
                f"CURRENT_TIMESTAMP, true, 0 {source}"
            ),
            {"count": entries},
        )
        await conn.execute(
            text(
                f"{numbers} INSERT INTO entry_hashes (id, entry_id, algorithm, hash, is_variant) "
                f"SELECT x, x, 'pdq', {digits}, false {source}"
            ),
            {"count": entries},
        )


async def lag_probe(worst: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.005)
        worst[0] = max(worst[0], time.perf_counter() - started - 0.005)


async def bench(entries: int, url: str | None, seed: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        url = url or f"sqlite+aiosqlite:///{Path(scratch) / 'load.db'}"
        database = await Database.open(url)
        if database.dialect != "sqlite":
            await database.close()
            await drop_all(url)
            database = await Database.open(url)
        started = time.perf_counter()
        await make_list(database, entries, seed)
        print(
            f"{entries:,} PDQ entries written ({database.dialect}) in "
            f"{time.perf_counter() - started:.1f} s; seed {seed}"
        )
        snapshot = Path(scratch) / "load.index.npz"
        before = resident_mib()
        live = await timed_load(database, snapshot)
        index = live.index
        parts = dict(index.index.indexes["pdq"].memory().per_hash)
        fixed = index.index.indexes["pdq"].memory().fixed
        held = sum(parts.values()) + fixed + index.entry_lists.nbytes()
        named = ", ".join(f"{name} {size / 2**20:.0f}" for name, size in parts.items() if size)
        print(
            f"  index arrays: {held / 2**20:.0f} MiB ({named}, bucket tables {fixed / 2**20:.0f},"
            f" entry lists {index.entry_lists.nbytes() / 2**20:.0f} MiB); process resident "
            f"{before:.0f} MiB before, {resident_mib():.0f} after, peak {peak_mib():.0f}"
        )
        image_match(index.index.indexes["pdq"], np.random.default_rng(seed))
        await live.close()  # waits for the snapshot to be written
        del live, index
        await database.close()
        if snapshot.exists():
            print(f"  snapshot: {snapshot.stat().st_size / 2**20:.0f} MiB on disk")
            restart = [sys.executable, __file__, "--restart", str(snapshot), "--database", url]
            process = await asyncio.create_subprocess_exec(*restart)
            if await process.wait():
                raise SystemExit("the restarted load failed")


async def restart(url: str, snapshot: Path) -> None:
    """A new process loads the index as a restarted bot would: from the snapshot."""
    database = await Database.open(url)
    before = resident_mib()
    live = await timed_load(database, snapshot)
    # No peak here: Linux keeps ru_maxrss across fork and exec, so it would be the parent's.
    print(f"  that process: resident {before:.0f} MiB before, {resident_mib():.0f} after")
    await live.close()
    await database.close()


async def timed_load(database: Database, snapshot: Path) -> LiveTakedownIndex:
    """Load the index (from the snapshot when there is one) and print how long it took."""
    live = LiveTakedownIndex(database, snapshot)
    worst, stop = [0.0], asyncio.Event()
    probe = asyncio.create_task(lag_probe(worst, stop))
    started = time.perf_counter()
    await live.load()
    loaded = time.perf_counter() - started
    stop.set()
    await probe
    print(
        f"  load from the {live.loaded_from}: {loaded:.1f} s for {len(live.index):,} entries; "
        f"worst loop lag while loading {worst[0] * 1000:.1f} ms; load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    return live


def image_match(pdq: object, rng: np.random.Generator, count: int = 100) -> None:
    times = []
    for _ in range(count):
        queries = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex() for _ in range(8)]
        started = time.perf_counter()
        pdq.search(queries, [62, 62] + [31] * 6)
        times.append(time.perf_counter() - started)
    ms = np.array(times) * 1000
    print(
        f"  an image's full match (2 queries at 62, 6 at 31): {np.median(ms):.1f} / "
        f"{np.percentile(ms, 99):.1f} ms; load average {os.getloadavg()[0]:.2f}"
    )


async def drop_all(url: str) -> None:
    database = await Database.open(url, migrate=False)
    async with database.transaction() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await database.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("entries", nargs="?", type=int, default=10_000_000)
    parser.add_argument("--database", default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--restart", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.restart:
        asyncio.run(restart(args.database, args.restart))
        sys.exit()
    chosen = args.seed if args.seed is not None else int.from_bytes(os.urandom(2), "big")
    asyncio.run(bench(args.entries, args.database, chosen))

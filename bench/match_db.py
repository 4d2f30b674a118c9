"""The database work behind one removed match, in CPU time: the part of the bot's own CPU per
scanned message that the database costs. Prints figures.

Run: .venv/bin/python bench/match_db.py [--rounds N] [--seed N]

A removed match costs the bot four visits to the database, each timed here as the bot runs it
(the same `db` functions in the same transactions), on SQLite by default:
- the flood-hold verdict before the removal (`db.flood_holds.count_removal` in a transaction
  of its own), with `flood_limit` 0 (what `bench/scan_burst.py` sets) and with the default 20
  (removals 4 minutes apart: counted, the limit never reached);
- the removal's case and its alert, written together (`create_case`, `create_alert`,
  `record_match`);
- the alert's reads: which entry it names and the author's earlier cases
  (`moderation.alerts.entry_info`, `count_cases`);
- the posted alert's message id (`set_alert_message`).
CPU is `time.process_time` of this process: the event loop and the driver's thread (aiosqlite)
both count, as they do in the bot. The entry's hashes and the authors are drawn with the printed
seed; every message is new, as in a burst of distinct copies.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.hashes import Hash  # noqa: E402
from core.vocabulary import CaseKind  # noqa: E402
from db import alerts as alerts_db  # noqa: E402
from db import cases as cases_db  # noqa: E402
from db import flood_holds, takedowns  # noqa: E402
from db.alerts import NewAlert  # noqa: E402
from db.engine import Database  # noqa: E402
from db.takedowns import NewEntry  # noqa: E402
from moderation.alerts import entry_info  # noqa: E402

GUILD = 1
CHANNEL = 2
START = datetime(2026, 1, 1, tzinfo=UTC)


async def figures(database: Database, rounds: int, rng: random.Random) -> dict[str, list[float]]:
    pdq = Hash("pdq", f"{rng.getrandbits(256):064x}")
    phash = Hash("phash", f"{rng.getrandbits(64):016x}")
    async with database.transaction() as conn:
        entry = await takedowns.add_entry(
            conn, GUILD, NewEntry((pdq, phash), "bench"), source="hash", added_by=1
        )
    messages = itertools.count(10**6)
    authors = [rng.randrange(10**17, 10**18) for _ in range(50)]
    alert_ids: list[int] = []

    clock = itertools.count()

    async def verdict(limit: int) -> None:
        # 4 minutes apart: at most 15 removals within the hour, so 20 is counted, never reached
        now = START + timedelta(minutes=4 * next(clock))
        async with database.transaction() as conn:
            await flood_holds.count_removal(conn, GUILD, entry.id, next(messages), limit, now)

    async def removal() -> None:
        message, author = next(messages), rng.choice(authors)
        async with database.transaction() as conn:
            case = await cases_db.create_case(
                conn,
                GUILD,
                CaseKind.TAKEDOWN,
                user_id=author,
                user_name="fan",
                reason="takedown match (pdq) of a takedown-list entry",
                channel_id=CHANNEL,
                message_id=message,
                entry_id=entry.id,
                distance=rng.randrange(32),
            )
            alert = await alerts_db.create_alert(
                conn,
                NewAlert(
                    GUILD, CHANNEL, message, author, entry.id, entry.list_id, "pdq",
                    case.distance or 0, "takedown", True, pdq, phash, case.id,
                ),
            )  # fmt: skip
            await takedowns.record_match(conn, entry.id)
        alert_ids.append(alert.id)

    async def alert_reads() -> None:
        async with database.connect() as conn:
            await entry_info(conn, GUILD, entry.id)
            await cases_db.count_cases(conn, GUILD, user_id=rng.choice(authors))

    async def alert_posted() -> None:
        async with database.transaction() as conn:
            await alerts_db.set_alert_message(conn, alert_ids.pop(), CHANNEL, next(messages))

    steps: dict[str, Callable[[], Awaitable[None]]] = {
        "flood-hold verdict, flood_limit 0": lambda: verdict(0),
        "flood-hold verdict, flood_limit 20": lambda: verdict(20),
        "case and alert written": removal,
        "alert's reads (entry, history)": alert_reads,
        "alert's message id": alert_posted,
    }
    spent: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(3):  # rounds interleaved, so a busy moment of the machine hits every step
        for name, step in steps.items():
            started = time.process_time()
            for _ in range(rounds):
                await step()
            spent[name].append(1000 * (time.process_time() - started) / rounds)
    return spent


async def run(rounds: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        database = await Database.open(f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}")
        try:
            spent = await figures(database, rounds, random.Random(seed))
        finally:
            await database.close()
    print(f"match_db: {rounds} rounds x 3, seed {seed}, SQLite; CPU ms per visit")
    for name, values in spent.items():
        runs = ", ".join(f"{v:.3f}" for v in values)
        print(f"  {name:36} median {statistics.median(values):.3f} ms ({runs})")
    medians = [statistics.median(values) for values in spent.values()]
    one_match = medians[0] + sum(medians[2:])
    print(f"  a removed match with flood_limit 0: {one_match:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(10**6))
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.seed))


if __name__ == "__main__":
    main()

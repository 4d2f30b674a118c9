"""Scanning under a burst, end to end: the real bot process against the sandbox. Prints figures.

Run: .venv/bin/python bench/scan_burst.py [seconds] [messages/s] [images/message] [other entries]
Defaults: 60 s at 20 messages/s with one 1920x1080 JPEG each (the latency target), then 60 s
at 25 messages/s with 4 images each: 100 images/s offered, above the 80 images/s target, so the
figure shows how much the bot sustains rather than the rate offered. HASH_WORKERS in the
environment sets the bot's worker count (default: its own, one per core). "other entries" puts
that many unrelated entries (a random PDQ and pHash each) on the list beside the bench photo,
to see matching against a large list. Every image is a distinct file (a JPEG comment makes each
one's bytes unique, so no cache helps) and a re-upload of the takedown-list photo, so every
message must end in a DELETE. Figures:
- post -> DELETE latency, p50 / p99 / max;
- throughput: images hashed per second over the run, and whether any message was never deleted;
- event-loop lag: the bot's own worst wake-up delay (its "Event loop lag" log lines);
- a /rules command every 2 s during the burst: time to its answer.
Targets (issue 5): p50 <= 150 ms, p99 <= 500 ms; >= 80 images/s, nothing dropped; loop lag
<= 50 ms; a slash command answered in <= 300 ms.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import re
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.hashes import Hash  # noqa: E402
from db import guild_settings, takedowns  # noqa: E402
from db.engine import Database  # noqa: E402
from db.takedowns import NewEntry  # noqa: E402
from media.hashing import hash_media  # noqa: E402
from sandbox.botprocess import BotProcess  # noqa: E402
from sandbox.scenario import create_guild  # noqa: E402
from sandbox.server import Sandbox  # noqa: E402
from tests.media.samples import photo  # noqa: E402

DELETE = "/channels/{channel_id}/messages/{message_id}"
LAG = re.compile(r"Event loop lag: worst ([0-9.]+) ms")


def full_hd_reupload() -> bytes:
    picture = photo(4).resize((1920, 1080), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def unique(jpeg: bytes, number: int) -> bytes:
    """The same picture with a JPEG comment segment holding `number`: new bytes, same pixels."""
    comment = f"burst {number}".encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def arrange(workdir: Path, guild_id: int, mod_channel_id: int, others: int) -> None:
    """The bench photo on the guild's list, with `others` unrelated entries (a random PDQ and
    pHash each) beside it."""
    database = await Database.open(f"sqlite+aiosqlite:///{workdir / 'lightstick.db'}")
    known = hash_media(full_hd_reupload()).frames[0]
    rng = random.Random(0)
    for start in range(0, others, 50_000):
        batch = [
            NewEntry(
                (
                    Hash("pdq", f"{rng.getrandbits(256):064x}"),
                    Hash("phash", f"{rng.getrandbits(64):016x}"),
                )
            )
            for _ in range(min(50_000, others - start))
        ]
        async with database.transaction() as conn:
            await takedowns.add_entries(conn, guild_id, batch, source="import", added_by=1)
    async with database.transaction() as conn:
        await takedowns.add_entry(
            conn, guild_id, NewEntry((known.pdq, known.phash), "bench"), source="hash", added_by=1
        )
        await guild_settings.update_settings(
            conn, guild_id, mod_channel_id=mod_channel_id, previews=False
        )
    await database.close()


async def burst(seconds: float, rate: float, per_message: int, others: int = 0) -> None:
    sandbox = await Sandbox().start()
    guild = create_guild(sandbox, "Bench", channels=("general", "mod-queue"))
    fan = guild.add_member("fan")
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch) / "bot"
        workdir.mkdir()
        await arrange(workdir, guild.id, guild.channel("mod-queue").id, others)
        workers = os.environ.get("HASH_WORKERS")  # default: the bot's own
        env = {"HASH_WORKERS": workers} if workers else {}
        bot = await BotProcess(sandbox, workdir, env=env).start()
        await bot.wait_ready(timeout=300)  # a million-entry list takes a while to load
        await asyncio.sleep(3)  # let the workers finish starting
        base = full_hd_reupload()
        count = int(seconds * rate)
        files = [
            [unique(base, n * per_message + k) for k in range(per_message)] for n in range(count)
        ]
        latencies: list[float] = []
        commands: list[float] = []

        async def watch(message_id: int, posted: float, since: int) -> None:
            await sandbox.wait_for_call(
                "DELETE",
                DELETE,
                where=lambda c: c.params["message_id"] == str(message_id),
                timeout=120,
                since=since,  # calls before the post can't be its DELETE: don't scan them
            )
            latencies.append(time.monotonic() - posted)

        async def command() -> None:
            started = time.monotonic()
            handle = await fan.run_command("rules")
            await handle.response(timeout=30)
            commands.append(time.monotonic() - started)

        watchers, probes = [], []
        started = time.monotonic()
        for n in range(count):
            due = started + n / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            attachments = [(f"{n}-{k}.jpg", data) for k, data in enumerate(files[n])]
            calls = len(sandbox.calls)
            message = await fan.send(guild.channel("general"), "", files=attachments)
            watchers.append(asyncio.create_task(watch(message.id, time.monotonic(), calls)))
            if n % int(rate * 2) == 0:
                probes.append(asyncio.create_task(command()))
        results = await asyncio.gather(*watchers, return_exceptions=True)
        elapsed = time.monotonic() - started
        await asyncio.gather(*probes, return_exceptions=True)
        await asyncio.sleep(31)  # one more lag report
        await bot.stop()
        await sandbox.stop()
    dropped = sum(isinstance(r, BaseException) for r in results)
    lags = [float(m.group(1)) for m in LAG.finditer(bot.stderr)]
    ms = [1000 * v for v in latencies]
    listed = f"; {others:,} other entries on the list" if others else ""
    print(
        f"burst: {count} messages x {per_message} 1920x1080 JPEG at {rate:g}/s for {seconds:g} s"
        f"{listed}"
    )
    if ms:
        print(
            f"  post -> DELETE: p50 {statistics.median(ms):.0f} ms,"
            f" p99 {percentile(ms, 0.99):.0f} ms, max {max(ms):.0f} ms"
        )
    print(
        f"  throughput: {len(latencies) * per_message / elapsed:.1f} images/s over {elapsed:.1f} s;"
        f" messages never deleted: {dropped}"
    )
    print(
        f"  event-loop lag (bot's reports): worst {max(lags, default=float('nan')):.1f} ms"
        f" (each 30 s report: {', '.join(f'{lag:.0f}' for lag in lags)} ms)"
    )
    if commands:
        print(
            f"  /rules during the burst: median {1000 * statistics.median(commands):.0f} ms,"
            f" max {1000 * max(commands):.0f} ms ({len(commands)} runs)"
        )


def main() -> None:
    if len(sys.argv) > 1:
        seconds, rate, per_message = float(sys.argv[1]), 20.0, 1
        rate = float(sys.argv[2]) if len(sys.argv) > 2 else rate
        per_message = int(sys.argv[3]) if len(sys.argv) > 3 else per_message
        others = int(sys.argv[4]) if len(sys.argv) > 4 else 0
        runs = [(seconds, rate, per_message, others)]
    else:  # the latency run, then more than the throughput target, to show the ceiling
        runs = [(60.0, 20.0, 1, 0), (60.0, 25.0, 4, 0)]
    for seconds, rate, per_message, others in runs:
        asyncio.run(burst(seconds, rate, per_message, others))


if __name__ == "__main__":
    main()

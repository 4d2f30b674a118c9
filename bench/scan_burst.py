"""Scanning under a burst, end to end: the real bot process against the sandbox. Prints figures.

Run: .venv/bin/python bench/scan_burst.py [seconds] [messages/s] [images/message] [other entries]
         [--forwards SHARE] [--animations SHARE] [--adversarial-only] [--explicit] [--seed N]
         [--clean N] [--recent-days D]
Defaults: 60 s at 20 messages/s with one 1920x1080 JPEG each (the latency target), then 60 s
at 25 messages/s with 4 images each: 100 images/s offered, above the 80 images/s target, so the
figure shows how much the bot sustains rather than the rate offered. HASH_WORKERS in the
environment sets the bot's worker count (default: its own, one per core). "other entries" puts
that many unrelated entries (a random PDQ and pHash each) on the list beside the bench photo,
to see matching against a large list. Every image is a distinct file (a JPEG comment makes each
one's bytes unique, so no cache helps) and a re-upload of the takedown-list photo, so every
message must end in a DELETE.

`--forwards 0.1 --animations 0.1` makes a tenth of the posts forwards (of messages posted
before the bot started, in a channel of their own, each with its own copies of the photo) and a
tenth animations, each post's drawn from `bench.animations`: a clip of the listed photo zoomed
and panned (1-4 s at 10-25 frames a second, 240-480 px) as a GIF with one palette, a GIF with a
palette a frame, an animated WebP or an APNG, or the adversarial GIF (the photo hidden for 10 s
among flickering frames, from the evasion corpus), a fifth each; each of a post's files is made
distinct the same way as the JPEGs. `--adversarial-only` makes every animation that GIF (the
only kind before). Which posts are which, and each animation, is drawn with the printed seed.
`--clean N` posts N clean messages (a distinct unrelated 1920x1080 JPEG each, in #chat) beside
each listed copy: they are hashed, match nothing and go to the recent-hash store, as most posts
in a real server do. `--recent-days 0` turns the store off (default 7, the bot's default), so
two runs differing only in it show what the store costs.

`--explicit` turns the server's explicit-image review on (`/config explicit`): every image is
also scored by the classifier in the workers (the same photo, so each still ends in a DELETE:
a listed picture is handled as a match, its score noted). Compare its throughput and the
hashing processes' memory with a run without it. Figures:
- post -> DELETE latency, p50 / p99 / max, and per kind of post when the mix is on;
- throughput: images hashed per second over the run, and which messages were never deleted;
- event-loop lag: the bot's own worst wake-up delay (its "Event loop lag" log lines);
- a /rules command every 2 s during the burst: time to its answer;
- the resident memory of the bot's hashing processes (its descendants) after the burst;
- the bot process's own CPU seconds from the burst's start to 31 s after its last DELETE
  (utime + stime from /proc: every thread of it, none of its workers), per image posted: on a
  shared machine a steadier figure of what the bot itself costs than throughput; and the same
  for the hashing processes (workers and fork server, with any worker they replaced), per
  image: what the mix costs the workers, the figure to compare between two versions of the
  code on a machine that is not quiet;
- this benchmark's own CPU (the sandbox's Discord and the fan posting, in this process, on the
  same cores as the bot), per image, and what the bot and its workers alone would sustain on the
  machine's cores: 1000 ms a core over their CPU ms an image.
Targets (issue 5): p50 <= 150 ms, p99 <= 500 ms; >= 80 images/s, nothing dropped; loop lag
<= 50 ms; a slash command answered in <= 300 ms. With `--explicit` (issue 17): >= 40 images/s
on 2 cores, each worker <= 150 MB more than without it.
"""

from __future__ import annotations

import argparse
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
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.animations import Clip, draw_clip, encode_clip  # noqa: E402
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


def full_hd_reupload(number: int = 4) -> bytes:
    picture = photo(number).resize((1920, 1080), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


# Each file below is one join of the original's bytes (memoryview slices, not copies) and the
# few new ones: a single copy of a file of up to several MB.


def unique(jpeg: bytes, number: int) -> bytes:
    """The same picture with a JPEG comment segment holding `number`: new bytes, same pixels."""
    comment = f"burst {number}".encode()
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    view = memoryview(jpeg)
    return b"".join((view[:2], segment, view[2:]))


def unique_gif(gif: bytes, number: int) -> bytes:
    """The same animation with a GIF comment extension holding `number` before its trailer."""
    comment = f"burst {number}".encode()
    extension = b"\x21\xfe" + bytes([len(comment)]) + comment + b"\x00\x3b"
    return b"".join((memoryview(gif)[:-1], extension))


def unique_animation(data: bytes, number: int) -> bytes:
    """The same animation with bytes of its own: a comment a decoder skips, in the format's way
    (a GIF comment, a PNG tEXt chunk before IEND, a WebP chunk of an unknown kind at the end)."""
    if data.startswith(b"GIF"):
        return unique_gif(data, number)
    comment = f"burst {number}".encode()
    view = memoryview(data)
    if data.startswith(b"\x89PNG"):
        body = b"Comment\x00" + comment
        chunk = struct.pack(">I", len(body)) + b"tEXt" + body
        chunk += struct.pack(">I", zlib.crc32(b"tEXt" + body))
        return b"".join((view[:-12], chunk, view[-12:]))
    comment += b"\x00" * (len(comment) & 1)  # RIFF chunks are padded to an even length
    extra = b"XBRS" + struct.pack("<I", len(comment)) + comment
    size = struct.pack("<I", len(data) + len(extra) - 8)  # the RIFF header's length
    return b"".join((view[:4], size, view[8:], extra))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def arrange(
    workdir: Path,
    guild_id: int,
    mod_channel_id: int,
    others: int,
    recent_days: int = 7,
    explicit: bool = False,
) -> None:
    """The bench photo on the guild's list, with `others` unrelated entries (a random PDQ and
    pHash each) beside it; with `explicit`, explicit-image review on."""
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
            conn,
            guild_id,
            mod_channel_id=mod_channel_id,
            previews=False,
            recent_days=recent_days,
            explicit_review=explicit,
            # Every post is a copy of the one listed photo: a flood by the hold's measure
            # (more than 20 removals of one entry in an hour), which would flag the rest.
            flood_limit=0,
        )
    await database.close()


@dataclass(frozen=True)
class Mix:
    forwards: float = 0.0  # share of posts that forward an earlier message
    animations: float = 0.0  # share of posts that are animations
    seed: int = 0
    adversarial_only: bool = False  # every animation the noise GIF (the costliest kind)
    clean: int = 0  # clean messages posted beside each listed copy
    recent_days: int = 7  # the recent-hash store's days (0: off)
    explicit: bool = False  # the server reviews explicit images: every image is scored too

    def kinds(self, count: int) -> list[str]:
        rng = random.Random(self.seed)
        drawn = []
        for _ in range(count):
            roll = rng.random()
            if roll < self.forwards:
                drawn.append("forward")
            elif roll < self.forwards + self.animations:
                drawn.append("animation")
            else:
                drawn.append("photo")
        return drawn

    def clips(self, kinds: list[str]) -> dict[int, Clip]:
        """Each animation post's clip, drawn from its own seeded stream (of the listed photo)."""
        rng = random.Random(f"{self.seed}/animations")
        size = photo(4).size
        only = "noise GIF" if self.adversarial_only else None
        return {
            n: draw_clip(rng, size, only) for n, kind in enumerate(kinds) if kind == "animation"
        }


async def burst(
    seconds: float, rate: float, per_message: int, others: int = 0, mix: Mix | None = None
) -> None:
    mix = mix or Mix()
    load = os.getloadavg()[0]
    sandbox = await Sandbox().start()
    guild = create_guild(sandbox, "Bench", channels=("general", "mod-queue", "elsewhere", "chat"))
    fan = guild.add_member("fan")
    count = int(seconds * rate)
    kinds = mix.kinds(count)
    base, clean = full_hd_reupload(), full_hd_reupload(7)
    clips = mix.clips(kinds)
    encoded: dict[Clip, bytes] = {}
    for clip in clips.values():  # before the burst: encoding APNGs and WebPs takes a while
        if clip not in encoded:
            encoded[clip] = encode_clip(clip, photo(4))
    label = {n: f"animations ({clip.kind})" for n, clip in clips.items()}

    def files_for(n: int) -> list[tuple[str, bytes]]:
        if kinds[n] == "animation":
            data = encoded[clips[n]]
            ext = "gif" if data.startswith(b"GIF") else "png" if data[:1] == b"\x89" else "webp"
            return [
                (f"{n}-{k}.{ext}", unique_animation(data, n * per_message + k))
                for k in range(per_message)
            ]
        return [(f"{n}-{k}.jpg", unique(base, n * per_message + k)) for k in range(per_message)]

    # Forwarded messages are posted before the bot starts: it has not seen them (no catch-up
    # on a first start), as with a forward from another server.
    sources = {
        n: await fan.send(guild.channel("elsewhere"), "", files=files_for(n))
        for n in range(count)
        if kinds[n] == "forward"
    }
    # Every post's files made before the burst: making them is the fans' phones' work, not
    # the bot's server's (making an animation's four copies took a third of this process's
    # CPU during the burst). The sandbox keeps every posted file anyway, so they cost no
    # more memory than the burst would have by its end.
    prepared = {n: files_for(n) for n in range(count) if kinds[n] != "forward"}
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch) / "bot"
        workdir.mkdir()
        await arrange(
            workdir, guild.id, guild.channel("mod-queue").id, others, mix.recent_days, mix.explicit
        )
        workers = os.environ.get("HASH_WORKERS")  # default: the bot's own
        env = {"HASH_WORKERS": workers} if workers else {}
        bot = await BotProcess(sandbox, workdir, env=env).start()
        await bot.wait_ready(timeout=300)  # a million-entry list takes a while to load
        await asyncio.sleep(3)  # let the workers finish starting
        latencies: dict[str, list[float]] = {"photos": [], "forwards": []}
        latencies.update({name: [] for name in sorted(set(label.values()))})
        deleted_at: list[float] = []
        commands: list[float] = []

        async def watch(message_id: int, kind: str, posted: float, since: int) -> None:
            await sandbox.wait_for_call(
                "DELETE",
                DELETE,
                where=lambda c: c.params["message_id"] == str(message_id),
                timeout=120,
                since=since,  # calls before the post can't be its DELETE: don't scan them
            )
            deleted_at.append(time.monotonic())
            latencies[kind].append(time.monotonic() - posted)

        async def command() -> None:
            started = time.monotonic()
            handle = await fan.run_command("rules")
            await handle.response(timeout=30)
            commands.append(time.monotonic() - started)

        watchers, probes = [], []
        assert bot.process is not None
        cpu_before = process_cpu_seconds(bot.process.pid)
        hashing_before = hashing_cpu_seconds(bot.process.pid)
        harness_before = time.process_time()
        started = time.monotonic()
        for n in range(count):
            due = started + n / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            calls = len(sandbox.calls)
            if kinds[n] == "forward":
                message = await fan.forward(sources[n], guild.channel("general"))
            else:
                message = await fan.send(guild.channel("general"), "", files=prepared.pop(n))
            watch_it = watch(message.id, label.get(n, f"{kinds[n]}s"), time.monotonic(), calls)
            watchers.append(asyncio.create_task(watch_it))
            for k in range(mix.clean):
                await fan.send(
                    guild.channel("chat"),
                    "",
                    files=[(f"c{n}-{k}.jpg", unique(clean, -1 - n * mix.clean - k))],
                )
            if n % int(rate * 2) == 0:
                probes.append(asyncio.create_task(command()))
        results = await asyncio.gather(*watchers, return_exceptions=True)
        elapsed = max(deleted_at, default=time.monotonic()) - started
        memory = hashing_memory(bot.process.pid)
        await asyncio.gather(*probes, return_exceptions=True)
        await asyncio.sleep(31)  # one more lag report
        # Taken after the quiet 31 s, so the alerts still queued at the last DELETE are counted.
        bot_cpu = process_cpu_seconds(bot.process.pid) - cpu_before
        hashing_cpu = hashing_cpu_seconds(bot.process.pid) - hashing_before
        harness_cpu = time.process_time() - harness_before
        await bot.stop()
        await sandbox.stop()
    never = Counter(
        label.get(n, f"{kind}s")
        for n, (kind, r) in enumerate(zip(kinds, results, strict=True))
        if isinstance(r, BaseException)
    )
    lags = [float(m.group(1)) for m in LAG.finditer(bot.stderr)]
    listed = f"; {others:,} other entries on the list" if others else ""
    listed += "; explicit-image review on" if mix.explicit else ""
    drawn = Counter(clip.kind for clip in clips.values())
    mixed = (
        f"; {kinds.count('forward')} forwards, {kinds.count('animation')} animations"
        f" ({', '.join(f'{count} {kind}' for kind, count in sorted(drawn.items()))})"
        f" (seed {mix.seed})"
        if mix.forwards or mix.animations
        else ""
    )
    if mix.clean:
        mixed += f"; {mix.clean * count} clean messages beside, recent_days {mix.recent_days}"
    print(
        f"burst: {count} messages x {per_message} 1920x1080 JPEG at {rate:g}/s for {seconds:g} s"
        f"{listed}{mixed}; load average before {load:.1f}, after {os.getloadavg()[0]:.1f}"
    )
    ms = [1000 * v for values in latencies.values() for v in values]
    if ms:
        print(
            f"  post -> DELETE: p50 {statistics.median(ms):.0f} ms,"
            f" p99 {percentile(ms, 0.99):.0f} ms, max {max(ms):.0f} ms"
        )
    for kind, values in latencies.items():
        if values and mixed:
            print(f"    {kind}: p50 {1000 * statistics.median(values):.0f} ms ({len(values)})")
    removed = sum(len(values) for values in latencies.values())
    print(
        f"  throughput: {removed * per_message / elapsed:.1f} images/s over {elapsed:.1f} s;"
        f" messages never deleted: {sum(never.values())}"
        + (f" ({', '.join(f'{n} {kind}' for kind, n in never.items())})" if never else "")
    )
    hashed = count * (per_message + mix.clean)
    print(
        f"  the bot process's CPU (main thread and its own threads, not the workers):"
        f" {bot_cpu:.2f} s, {1000 * bot_cpu / hashed:.2f} ms per image ({hashed} images)"
    )
    print(
        f"  the hashing processes' CPU (workers and their fork server): {hashing_cpu:.2f} s,"
        f" {1000 * hashing_cpu / hashed:.2f} ms per image"
    )
    own = 1000 * (bot_cpu + hashing_cpu) / hashed
    print(
        f"  this benchmark's own process (the sandbox's Discord and the posting fan) on the same"
        f" cores: {harness_cpu:.2f} s, {1000 * harness_cpu / hashed:.2f} ms per image; the bot"
        f" and its workers together {own:.2f} ms per image: at most"
        f" {1000 * (os.cpu_count() or 1) / own:.0f} images/s on this machine's"
        f" {os.cpu_count()} cores with nothing else on them"
    )
    print(
        f"  event-loop lag (bot's reports): worst {max(lags, default=float('nan')):.1f} ms"
        f" (each 30 s report: {', '.join(f'{lag:.0f}' for lag in lags)} ms)"
    )
    if memory:
        print(
            f"  hashing processes' memory after the burst: {len(memory)} processes,"
            f" {', '.join(f'{mb:.0f}' for mb in sorted(memory))} MB resident"
        )
    if commands:
        print(
            f"  /rules during the burst: median {1000 * statistics.median(commands):.0f} ms,"
            f" max {1000 * max(commands):.0f} ms ({len(commands)} runs)"
        )


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of one process, all its threads, none of its children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(bot_pid: int) -> list[int]:
    """The processes below the bot: its fork server and workers."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone since the listing
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], list(children.get(bot_pid, []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        found.append(pid)
    return found


def hashing_memory(bot_pid: int) -> list[float]:
    """The resident memory (MB) of each process below the bot: its fork server and workers."""
    found = []
    for pid in _descendants(bot_pid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        rss = re.search(r"VmRSS:\s+([0-9]+) kB", status)
        if rss:
            found.append(int(rss.group(1)) / 1024)
    return found


def hashing_cpu_seconds(bot_pid: int) -> float:
    """User plus system CPU seconds of the processes below the bot, with those of the workers
    they reaped (a worker replaced after a file's CPU budget ran out counts in its parent's)."""
    total = 0
    for pid in _descendants(bot_pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("numbers", nargs="*", help="seconds, messages/s, images/message, others")
    parser.add_argument("--forwards", type=float, default=0.0, help="share of posts (0.1)")
    parser.add_argument("--animations", type=float, default=0.0, help="share of posts (0.1)")
    parser.add_argument(
        "--adversarial-only", action="store_true", help="every animation the noise GIF"
    )
    parser.add_argument(
        "--explicit", action="store_true", help="the server reviews explicit images"
    )
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(10**6))
    parser.add_argument("--clean", type=int, default=0, help="clean messages per listed copy")
    parser.add_argument("--recent-days", type=int, default=7, help="0 turns the store off")
    args = parser.parse_args()
    mix = Mix(
        args.forwards,
        args.animations,
        args.seed,
        args.adversarial_only,
        args.clean,
        args.recent_days,
        args.explicit,
    )
    if args.numbers:
        seconds, rate, per_message, others = 60.0, 20.0, 1, 0
        given = [float(v) for v in args.numbers]
        seconds = given[0]
        rate = given[1] if len(given) > 1 else rate
        per_message = int(given[2]) if len(given) > 2 else per_message
        others = int(given[3]) if len(given) > 3 else others
        runs = [(seconds, rate, per_message, others)]
    else:  # the latency run, then more than the throughput target, to show the ceiling
        runs = [(60.0, 20.0, 1, 0), (60.0, 25.0, 4, 0)]
    for seconds, rate, per_message, others in runs:
        asyncio.run(burst(seconds, rate, per_message, others, mix))


if __name__ == "__main__":
    main()

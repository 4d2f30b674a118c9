"""The hostile-evasion corpus through the hashing pool, and hidden frames drawn from ranges.

Run: .venv/bin/python bench/evasion.py [variants per family] [--seed N]

First every case of `tests/media/evasion.py` (each file of the corpus) goes through a worker
with the bot's limits: its outcome, the pictures hashed, the time and the distance of the
nearest to the listed picture. Then, for each family (GIF, APNG, animated WebP, animated AVIF,
MP4/H.264, WebM/VP9), variants with the listed picture hidden among flickering noise, every
parameter drawn with the printed seed: where it sits (any frame), how long it shows (100 ms to
10 s), how long each noise frame shows (10-60 ms; a browser shows 0-10 ms as 100 ms), how many
noise frames (10-120). Printed per family: caught (a hash within the confident radius) of all,
pictures hashed per file, and time per file (median, max), with the load average, since 2
cores are shared with other work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from media.hashing import MediaHashes, hash_media  # noqa: E402
from media.matching import MatchPolicy  # noqa: E402
from media.workers import HashingPool, PoolSettings  # noqa: E402
from tests.media import evasion, samples  # noqa: E402

FAMILIES = ("GIF", "PNG", "WEBP", "AVIF", "mp4/libx264", "webm/libvpx-vp9")
CONFIDENT = MatchPolicy().pdq.confident


@dataclass(frozen=True)
class Variant:
    family: str
    position: int
    noise_frames: int
    flicker_ms: int
    shown_ms: int
    seed: int

    def build(self) -> bytes:
        if "/" not in self.family:
            return evasion.hidden_in_flicker(
                self.family,
                position=self.position,
                noise_frames=self.noise_frames,
                flicker_ms=self.flicker_ms,
                shown_ms=self.shown_ms,
                seed=self.seed,
            )
        container, codec = self.family.split("/")
        fps = 30
        noise = evasion.flicker(self.noise_frames, evasion.VIDEO_SIZE, seed=self.seed)
        frames = [n for n in noise for _ in range(max(1, round(self.flicker_ms * fps / 1000)))]
        shown = [evasion.listed_frame(evasion.VIDEO_SIZE)] * max(1, self.shown_ms * fps // 1000)
        at = min(self.position, len(frames))
        return samples.video(frames[:at] + shown + frames[at:], fps, container, codec)


def draw(rng: random.Random, family: str) -> Variant:
    noise_frames = rng.randint(10, 120)
    return Variant(
        family,
        position=rng.randint(0, noise_frames),
        noise_frames=noise_frames,
        flicker_ms=rng.randint(0, 60) if "/" not in family else rng.randint(34, 60),
        shown_ms=rng.choice((100, 150, 250, 500, 1000, 3000, 10_000)),
        seed=rng.randrange(10**6),
    )


def nearest(result: MediaHashes, target: object) -> int | None:
    return min((f.pdq.distance(target) for f in result.frames), default=None)  # type: ignore[arg-type]


async def timed(pool: HashingPool, data: bytes) -> tuple[MediaHashes, float]:
    started = time.perf_counter()
    result = await pool.hash_media(data)
    return result, time.perf_counter() - started


async def run(variants: int, seed: int) -> None:
    target = hash_media(evasion.listed_jpeg()).frames[0].pdq
    print(f"load average {os.getloadavg()[0]:.1f}; seed {seed}; one worker, the bot's limits")
    async with HashingPool(PoolSettings(workers=1)) as pool:
        print("corpus (tests/media/evasion.py):")
        for case in evasion.corpus():
            result, seconds = await timed(pool, case.data)
            distance = nearest(result, target)
            shown = "" if distance is None else f", nearest {distance}"
            print(
                f"  {case.name:16} {len(case.data) / 1024:8.0f} KiB  {result.outcome:11}"
                f" {len(result.frames):3} pictures {1000 * seconds:6.0f} ms{shown}"
                f"  ({case.tries})"
            )
        rng = random.Random(seed)
        print(f"hidden among flicker, {variants} variants a family:")
        for family in FAMILIES:
            caught, pictures, times = 0, [], []
            for _ in range(variants):
                variant = draw(rng, family)
                result, seconds = await timed(pool, variant.build())
                distance = nearest(result, target)
                caught += distance is not None and distance <= CONFIDENT
                pictures.append(len(result.frames))
                times.append(1000 * seconds)
                if distance is None or distance > CONFIDENT:
                    print(f"    missed: {variant} -> {result.outcome} {result.reason}")
            print(
                f"  {family:16} caught {caught}/{variants}; pictures hashed median"
                f" {statistics.median(pictures):.0f} max {max(pictures)}; per file median"
                f" {statistics.median(times):.0f} ms, max {max(times):.0f} ms"
            )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("variants", nargs="?", type=int, default=20)
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(10**6))
    args = parser.parse_args()
    asyncio.run(run(args.variants, args.seed))


if __name__ == "__main__":
    main()

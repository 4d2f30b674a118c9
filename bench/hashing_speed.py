"""Hashing latency per JPEG (1920x1080 and 4000x3000) and pool throughput. Prints figures.

Run: .venv/bin/python bench/hashing_speed.py [SEED]  (SEED picks the corpus photos; printed)
The JPEGs are a public-domain photo from the pdqhash examples, upscaled and re-encoded at q90
(so they carry less fine detail than a camera's, which makes decoding a little cheaper), then
real photos of the benchmark corpus (bench/fetch_corpus.py) made into JPEGs of the same sizes.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from media.decode import decode_media
from media.hashing import hash_frame, hash_media
from media.views import picture_views
from media.workers import HashingPool, PoolSettings

sys.path.insert(0, str(Path(__file__).parent.parent))
from tests.media import reshares

PHOTO = Path(__file__).parent.parent / "tests" / "media" / "data" / "pdq_reference" / "image4.jpg"


def jpeg(size: tuple[int, int], seed: int = 0) -> bytes:
    image = Image.open(PHOTO).convert("RGB").resize(size, Image.Resampling.BICUBIC)
    if seed:  # a different picture per seed, so caches can't flatter the pool figure
        image = image.rotate(seed % 360)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def median_ms(action, repeat: int = 30, clock=time.perf_counter) -> float:
    timings = []
    for _ in range(repeat):
        started = clock()
        action()
        timings.append(clock() - started)
    return float(np.median(timings) * 1000)


def cpu_ms(action, repeat: int = 30) -> float:
    """CPU time of this process (less moved by other processes on a busy machine)."""
    return median_ms(action, repeat, time.process_time)


def latency(size: tuple[int, int]) -> None:
    data = jpeg(size)
    picture = decode_media(data).frames[0].image
    total = median_ms(lambda: hash_media(data))
    total_cpu = cpu_ms(lambda: hash_media(data))
    decode = median_ms(lambda: decode_media(data))
    hashes = median_ms(lambda: hash_frame(picture))
    views = picture_views(picture)
    found = median_ms(lambda: [hash_frame(v, variants=False) for v in picture_views(picture)])
    print(
        f"{size[0]}x{size[1]} JPEG ({len(data) // 1024} KiB): hash_media {total:.1f} ms wall, "
        f"{total_cpu:.1f} ms CPU (decode to {picture.size[0]}x{picture.size[1]} {decode:.1f} ms, "
        f"PDQ x8 dihedral + pHash {hashes:.1f} ms, geometric views {found:.1f} ms for "
        f"{len(views)} views), one core; load {os.getloadavg()[0]:.1f}"
    )


def reshare_latency() -> None:
    """Re-shares that need the views: a 9:16 story, a chat screenshot, a tilted photo."""
    picture = Image.open(PHOTO).convert("RGB").resize((1200, 1600), Image.Resampling.BICUBIC)
    rng = random.Random(1)
    for name, edited in (
        ("9:16 story", reshares.story(picture, rng)),
        ("dark chat screenshot", reshares.chat_dark(picture, rng)),
        ("12 deg on a grown canvas", reshares.rotated(picture, 12, "blur", grow=True)),
        ("screen photo", reshares.screen_photo(picture, rng)),
    ):
        buffer = io.BytesIO()
        edited.save(buffer, "JPEG", quality=90)
        data = buffer.getvalue()
        plain = median_ms(lambda data=data: hash_media(data, views=False), 15)
        total = median_ms(lambda data=data: hash_media(data), 15)
        total_cpu = cpu_ms(lambda data=data: hash_media(data), 15)
        extra = len(hash_media(data).extra)
        print(
            f"{name} {edited.width}x{edited.height}: hash_media {total:.1f} ms wall, "
            f"{total_cpu:.1f} ms CPU ({plain:.1f} ms without views; {extra} extra pictures "
            f"hashed), one core; load {os.getloadavg()[0]:.1f}"
        )


def corpus_latency(size: tuple[int, int], photos: int, seed: int, target_ms: float) -> None:
    """hash_media CPU time over real photos of the corpus as `size` JPEGs (q90): the bench photo
    above is one photo (with a flat sky the trim cuts off), the target is about photos."""
    from corpus import catalogue, read_photo

    chosen = random.Random(seed).sample(catalogue(), min(photos, len(catalogue())))
    timings = []
    for photo in chosen:
        buffer = io.BytesIO()
        read_photo(photo).resize(size, Image.Resampling.BICUBIC).save(buffer, "JPEG", quality=90)
        data = buffer.getvalue()
        timings.append(cpu_ms(lambda data=data: hash_media(data), 5))
    timings.sort()
    within = sum(ms <= target_ms for ms in timings) / len(timings)
    print(
        f"{len(timings)} corpus photos as {size[0]}x{size[1]} JPEGs (seed {seed}): hash_media "
        f"CPU median {np.median(timings):.1f} ms, p90 {timings[int(0.9 * len(timings))]:.1f}, "
        f"max {timings[-1]:.1f}; {within:.0%} within {target_ms:g} ms; "
        f"load {os.getloadavg()[0]:.1f}"
    )


async def throughput(workers: int, count: int = 120) -> None:
    files = [jpeg((1920, 1080), seed) for seed in range(1, 13)]
    in_flight = asyncio.Semaphore(workers * 4)  # stay under the pool's admission bound

    async def one(pool: HashingPool, data: bytes) -> None:
        async with in_flight:
            await pool.hash_media(data)

    async with HashingPool(PoolSettings(workers=workers)) as pool:
        await asyncio.gather(*(one(pool, files[0]) for _ in range(workers)))
        started = time.perf_counter()
        await asyncio.gather(*(one(pool, files[i % len(files)]) for i in range(count)))
        elapsed = time.perf_counter() - started
    print(f"pool of {workers} workers: {count / elapsed:.1f} 1080p JPEGs/s")


if __name__ == "__main__":
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else random.SystemRandom().randrange(10**6)
    latency((1920, 1080))
    latency((4000, 3000))
    corpus_latency((1920, 1080), 60, seed, 15.0)
    corpus_latency((4000, 3000), 20, seed, 40.0)
    reshare_latency()
    asyncio.run(throughput(1))
    asyncio.run(throughput(2))

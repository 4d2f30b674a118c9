"""Index build, memory and query time, ours beside faiss's on the same hashes in the same run.

Run: .venv/bin/python bench/index_query.py [entries] [--chunks N] [--seed S] [--queries Q]
(faiss comes with `pip install -e ".[bench]"`; without it only our figures are printed.)
Hashes are uniformly random; each query has a neighbour planted at a distance drawn from
[0, radius]. One thread throughout (faiss is told so). Figures, each as median / p99 ms of
wall time, then of the thread's CPU time:
- PDQ at the confident radius (31): ours probes the bucket tables; faiss's
  IndexBinaryMultiHash (16 tables of 16 bits, 1 bit flipped: exact at 31).
- PDQ at the review radius (62): ours is the compiled scan; faiss's IndexBinaryFlat range
  search.
- An image's full match: one picture asks its picture and mirror at 62 and its six turns at 31
  (what `media.matching` sends); with a trimmed view, twice that. Ours answers them in one
  pass; faiss in one range search per radius (flat for 62, multi-hash for 31).
- pHash at 10, ours.
Memory is every array the index holds for its hashes (bytes/entry, each part named), plus the
fixed bucket tables. The machine's 1-minute load average closes each line: other work on the
machine stretches the p99 most.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from media.index import HammingIndex

try:
    import faiss
except ImportError:  # a bench-only dependency
    faiss = None

CONFIDENT, REVIEW = 31, 62


def random_rows(rng: np.random.Generator, count: int, nbytes: int) -> np.ndarray:
    return rng.integers(0, 256, (count, nbytes), dtype=np.uint8)


def planted(rng: np.random.Generator, row: np.ndarray, distance: int) -> np.ndarray:
    bits = np.unpackbits(row)
    bits[rng.choice(len(bits), distance, replace=False)] ^= 1
    return np.packbits(bits)


def timed(run: Callable[[int], object], count: int) -> tuple[Times, list[object]]:
    """Wall and CPU milliseconds of each of `count` runs (after two warm-up runs), and their
    results. Under other load the wall p99 mostly measures the scheduler; CPU time does not."""
    run(0), run(1)
    walls, cpus, results = [], [], []
    for number in range(count):
        started, cpu_started = time.perf_counter(), time.thread_time()
        results.append(run(number))
        walls.append(time.perf_counter() - started)
        cpus.append(time.thread_time() - cpu_started)
    return Times(np.array(walls) * 1000, np.array(cpus) * 1000), results


@dataclass(frozen=True)
class Times:
    wall: np.ndarray
    cpu: np.ndarray


def figures(times: Times) -> str:
    wall, cpu = times.wall, times.cpu
    return (
        f"{np.median(wall):.3f} / {np.percentile(wall, 99):.3f} ms "
        f"(CPU {np.median(cpu):.3f} / {np.percentile(cpu, 99):.3f})"
    )


def load() -> str:
    return f"load average {os.getloadavg()[0]:.2f}"


def queries_near(
    rng: np.random.Generator, rows: np.ndarray, count: int, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """`count` queries, each within [0, radius] of a row drawn at random; and those rows."""
    targets = rng.integers(0, len(rows), count)
    near = [planted(rng, rows[t], int(rng.integers(0, radius + 1))) for t in targets]
    return np.array(near), targets


def bench_pdq(
    entries: int,
    chunks: int | None,
    rng: np.random.Generator,
    count: int,
    with_multihash: bool = True,
) -> None:
    rows = random_rows(rng, entries, 32)
    hexes = [row.tobytes().hex() for row in rows]
    index = HammingIndex(256, chunks)
    started = time.perf_counter()
    index.build_hex(range(entries), hexes)
    build = time.perf_counter() - started
    memory = index.memory()
    parts = " + ".join(f"{size / entries:.1f} {name}" for name, size in memory.per_hash if size)
    print(
        f"pdq {entries:,} entries, {index.chunks} chunks: build {build:.2f} s, "
        f"{memory.bytes_per_hash:.1f} bytes/entry ({parts}) "
        f"+ {memory.fixed / 2**20:.1f} MiB fixed: "
        f"{memory.bytes_per_hash + memory.fixed / entries:.1f} bytes/entry in all; {load()}"
    )
    flat = multi = None
    if faiss is not None:
        faiss.omp_set_num_threads(1)
        started = time.perf_counter()
        flat = faiss.IndexBinaryFlat(256)
        flat.add(rows)
        flat_build = time.perf_counter() - started
        line = (
            f"  faiss: flat build {flat_build:.2f} s, {flat.ntotal * 32 / entries:.1f} bytes/entry"
        )
        if with_multihash:
            started = time.perf_counter()
            multi = faiss.IndexBinaryMultiHash(256, 16, 16)
            multi.nflip = 1  # 16 tables x (1 + 1) > 31: exact at the confident radius
            multi.add(rows)
            line += f"; multi-hash build {time.perf_counter() - started:.2f} s"
        print(f"{line}; {load()}")

    def hex_of(near: np.ndarray) -> list[str]:
        return [row.tobytes().hex() for row in near]

    for radius in (CONFIDENT, REVIEW):
        near, targets = queries_near(rng, rows, count, radius)
        texts = hex_of(near)
        ms, results = timed(lambda n, t=texts, r=radius: index.query(t[n], r), count)
        found = sum(any(e == t for e, _ in res) for res, t in zip(results, targets, strict=True))
        line = f"  radius {radius}, one query: ours {figures(ms)} (found {found}/{count})"
        theirs = flat if radius == REVIEW else multi
        if theirs is not None:
            # faiss's range search keeps distances strictly below the radius it is given.
            ms, results = timed(
                lambda n, q=near, f=theirs, r=radius: f.range_search(q[n : n + 1], r + 1), count
            )
            hits = sum(t in res[2] for res, t in zip(results, targets, strict=True))
            line += f"; faiss {figures(ms)} (found {hits}/{count})"
        print(f"{line}; {load()}")
    for pictures in (1, 2):
        bench_image(index, flat if multi is not None else None, multi, rows, rng, count, pictures)


def bench_image(
    index: HammingIndex,
    flat: object,
    multi: object,
    rows: np.ndarray,
    rng: np.random.Generator,
    count: int,
    pictures: int,
) -> None:
    """An image of `pictures` pictures: 2 queries each at the review radius, 6 at the confident."""
    images = []
    for _ in range(count):
        wide, _ = queries_near(rng, rows, 2 * pictures, REVIEW)
        narrow, _ = queries_near(rng, rows, 6 * pictures, CONFIDENT)
        images.append((wide, narrow))

    def ours(number: int) -> object:
        wide, narrow = images[number]
        texts = [row.tobytes().hex() for row in (*wide, *narrow)]
        return index.search(texts, [REVIEW] * len(wide) + [CONFIDENT] * len(narrow))

    ms, _ = timed(ours, count)
    line = (
        f"  an image's full match, {pictures} picture(s) ({2 * pictures} queries at {REVIEW}, "
        f"{6 * pictures} at {CONFIDENT}): ours {figures(ms)}"
    )
    if flat is not None:

        def theirs(number: int) -> object:
            wide, narrow = images[number]
            return flat.range_search(wide, REVIEW + 1), multi.range_search(narrow, CONFIDENT + 1)

        ms, _ = timed(theirs, count)
        line += f"; faiss {figures(ms)}"
    print(f"{line}; {load()}")


def bench_phash(entries: int, rng: np.random.Generator, count: int) -> None:
    rows = random_rows(rng, entries, 8)
    index = HammingIndex(64)
    started = time.perf_counter()
    index.build_hex(range(entries), [row.tobytes().hex() for row in rows])
    build = time.perf_counter() - started
    near, targets = queries_near(rng, rows, count, 10)
    texts = [row.tobytes().hex() for row in near]
    ms, results = timed(lambda n: index.query(texts[n], 10), count)
    found = sum(any(e == t for e, _ in res) for res, t in zip(results, targets, strict=True))
    memory = index.memory()
    print(
        f"phash {entries:,} entries: build {build:.2f} s, "
        f"{memory.bytes_per_hash + memory.fixed / entries:.1f} bytes/entry in all; radius 10, "
        f"one query: ours {figures(ms)} (found {found}/{count}); {load()}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("entries", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--chunks", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--no-phash", action="store_true")
    parser.add_argument(
        "--no-multihash", action="store_true", help="skip faiss's multi-hash (slow to build)"
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    print(f"seed {seed}; faiss {faiss.__version__ if faiss else 'not installed'}")
    generator = np.random.default_rng(seed)
    bench_pdq(args.entries, args.chunks, generator, args.queries, not args.no_multihash)
    if not args.no_phash:
        bench_phash(args.entries, generator, args.queries)

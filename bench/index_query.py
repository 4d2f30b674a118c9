"""Index query time at 1,000,000 entries (PDQ radius 31, pHash radius 10). Prints figures.

Run: .venv/bin/python bench/index_query.py [entries]
Hashes are uniformly random, with one neighbour planted per query at a distance within the radius.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from media.index import HammingIndex


def random_hex(rng: np.random.Generator, count: int, nbytes: int) -> list[str]:
    raw = rng.integers(0, 256, (count, nbytes), dtype=np.uint8).tobytes().hex()
    step = nbytes * 2
    return [raw[i : i + step] for i in range(0, len(raw), step)]


def planted(rng: np.random.Generator, value: str, distance: int) -> str:
    bits = len(value) * 4
    number = int(value, 16)
    for bit in rng.choice(bits, distance, replace=False):
        number ^= 1 << int(bit)
    return f"{number:0{len(value)}x}"


def bench(bits: int, radius: int, entries: int, queries: int = 1000) -> None:
    rng = np.random.default_rng(bits)
    values = random_hex(rng, entries, bits // 8)
    index = HammingIndex(bits)
    started = time.perf_counter()
    index.build(enumerate(values))
    build = time.perf_counter() - started
    size = (
        index._main.nbytes + index._postings.nbytes + index._main_ids.nbytes + index._alive.nbytes
    )
    targets = rng.integers(0, entries, queries)
    timings, found = [], 0
    for target in targets.tolist():
        query = planted(rng, values[target], int(rng.integers(0, radius + 1)))
        started = time.perf_counter()
        result = index.query(query, radius)
        timings.append(time.perf_counter() - started)
        found += any(entry == target for entry, _ in result)
    ms = np.array(timings) * 1000
    print(
        f"{'pdq' if bits == 256 else 'phash'} {entries:,} entries radius {radius}: "
        f"build {build:.2f} s, {size / entries:.0f} bytes/entry "
        f"(+ {index._offsets.nbytes >> 20} MiB fixed), "
        f"query median {np.median(ms):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms, "
        f"planted neighbour found {found}/{queries}"
    )


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    bench(256, 31, count)
    bench(64, 10, count)

"""Index query time and memory at 1,000,000 entries (PDQ radius 31, pHash radius 10).

Prints figures. Run: .venv/bin/python bench/index_query.py [entries] [--chunks N] [--radius R]
Hashes are uniformly random, with one neighbour planted per query at a distance within the radius.
`--chunks` sets the PDQ index's indexed chunks (default: the index's own), `--radius` the PDQ
radius (default 31; the review tier queries at 62). Memory is every array the index holds for
its hashes (bytes/entry, each part named), and apart from it the fixed bucket tables, also shown
spread over the entries. The machine's 1-minute load average closes each line: other work on
the machine stretches the p99 most, so the query's own CPU time (median, p99) is printed too.
"""

from __future__ import annotations

import argparse
import os
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


def bench(bits: int, radius: int, entries: int, chunks: int | None, queries: int = 1000) -> None:
    rng = np.random.default_rng(bits)
    values = random_hex(rng, entries, bits // 8)
    index = HammingIndex(bits, chunks)
    started = time.perf_counter()
    index.build(enumerate(values))
    build = time.perf_counter() - started
    memory = index.memory()
    targets = rng.integers(0, entries, queries)
    timings, cpu_times, found = [], [], 0
    for target in targets.tolist():
        query = planted(rng, values[target], int(rng.integers(0, radius + 1)))
        started, cpu_started = time.perf_counter(), time.thread_time()
        result = index.query(query, radius)
        timings.append(time.perf_counter() - started)
        cpu_times.append(time.thread_time() - cpu_started)
        found += any(entry == target for entry, _ in result)
    ms, cpu_ms = np.array(timings) * 1000, np.array(cpu_times) * 1000
    parts = " + ".join(f"{size / entries:.1f} {name}" for name, size in memory.per_hash if size)
    print(
        f"{'pdq' if bits == 256 else 'phash'} {entries:,} entries radius {radius}, "
        f"{index.chunks} chunks: build {build:.2f} s, "
        f"{memory.bytes_per_hash:.1f} bytes/entry ({parts}) "
        f"+ {memory.fixed / 2**20:.1f} MiB fixed ({memory.fixed / entries:.1f} bytes/entry): "
        f"{memory.bytes_per_hash + memory.fixed / entries:.1f} bytes/entry in all, "
        f"query median {np.median(ms):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms "
        f"(CPU time {np.median(cpu_ms):.3f}, {np.percentile(cpu_ms, 99):.3f}), "
        f"planted neighbour found {found}/{queries}; load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("entries", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--chunks", type=int, default=None)
    parser.add_argument("--radius", type=int, default=31)
    args = parser.parse_args()
    bench(256, args.radius, args.entries, args.chunks)
    bench(64, 10, args.entries, None)

"""The compiled scan alone (`BlockedRows.scan`), without the index around it: CPU time a call.

Run: .venv/bin/python bench/scan_kernel.py [rows] [--calls N] [--seed S]
Rows and queries are uniformly random PDQ hashes (nothing planted: almost no hits, so this is
the cost of rejecting). Each family is one call with the queries an upload sends: an image's
full match with 1 or 2 pictures (2 at 62 and 6 at 31 a picture), and runs of one radius alone.
At a million rows one query is bound by memory (32 MB a pass); at 32,000 rows the rows stay in
the cache and the figure is the instructions' cost (times 31.25 for a million). Median / p99 of
the thread's CPU time over the calls, and the 1-minute load average.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from media.blocked_rows import BlockedRows

FAMILIES = {
    "2 pictures (4 at 62, 12 at 31)": [62] * 4 + [31] * 12,
    "1 picture (2 at 62, 6 at 31)": [62] * 2 + [31] * 6,
    "12 at 31": [31] * 12,
    "4 at 62": [62] * 4,
    "1 at 62": [62],
    "1 at 31": [31],
}


def bench(blocked: BlockedRows, rng: np.random.Generator, radii: list[int], calls: int) -> str:
    queries = rng.integers(0, 2**64, (calls + 2, len(radii), 4), dtype=np.uint64)
    wanted = np.array(radii, dtype=np.int32)
    blocked.scan(queries[-1], wanted), blocked.scan(queries[-2], wanted)  # warm-up
    times = []
    for number in range(calls):
        started = time.thread_time()
        blocked.scan(queries[number], wanted)
        times.append(time.thread_time() - started)
    ms = np.array(times) * 1000
    return f"{np.median(ms):.3f} / {np.percentile(ms, 99):.3f} ms"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    print(f"seed {seed}; {args.rows:,} rows, {args.calls} calls a family")
    generator = np.random.default_rng(seed)
    rows = BlockedRows(generator.integers(0, 2**64, (args.rows, 4), dtype=np.uint64))
    for name, radii in FAMILIES.items():
        figures = bench(rows, generator, radii, args.calls)
        print(f"  {name}: CPU {figures}; load average {os.getloadavg()[0]:.2f}")

"""How long `/takedown why` spends finding the nearest entries however far
(`HammingIndex.nearest`), on uniformly random PDQ hashes.

Run: .venv/bin/python bench/why_nearest.py [entries] [--seed S] [--runs R]
A file asks with its picture and its mirror image (two queries) for the 3 nearest entries,
once over every entry and once through a scope filter that keeps half of them (a server's own
lists). On random hashes the nearest lies about 85-90 bits away, so the search widens three
times (32, 64, 96 bits): the worst case short of reading every row at the whole hash's width.
Median and worst of the runs, wall time; the 1-minute load average closes each line.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from media.index import HammingIndex


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("entries", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    print(f"seed {args.seed}, {args.entries:,} PDQ hashes, {args.runs} runs")
    rng = np.random.default_rng(args.seed)
    rows = rng.integers(0, 256, size=(args.entries, 32), dtype=np.uint8)
    index = HammingIndex(256)
    index.build_rows(np.arange(args.entries, dtype=np.int64), rows)

    def half(ids: np.ndarray) -> np.ndarray:
        return ids % 2 == 0

    for label, accept in (("every entry", None), ("half in scope", half)):
        times, found = [], []
        for _ in range(args.runs):
            queries = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(2)]
            started = time.perf_counter()
            found = index.nearest(queries, 3, accept)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        print(
            f"{label}: median {times[len(times) // 2]:.0f} ms, worst {times[-1]:.0f} ms; "
            f"last nearest at {[distance for _, distance in found]} bits; "
            f"load {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()

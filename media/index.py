"""In-memory nearest-neighbour index over hash bits: which entries lie within a radius.

Why multi-index hashing: a brute-force scan of a million 256-bit PDQ hashes costs about 10 ms,
too slow to run for every frame and every dihedral variant of every upload. Split each hash into
m chunks of 16 bits; if two hashes differ in at most r bits, at least one chunk differs in at most
floor(r/m) bits (pigeonhole). So the query looks up, in one table per chunk, the few buckets
within that small radius of its own chunk, and checks only those candidates exactly. For PDQ at
radius 31 (m = 16, one flipped bit per chunk) that is 16 x 17 bucket lookups and a few thousand
candidates out of a million. Wider radii fall back to a vectorised scan, which is exact too.

The tables are compact sorted arrays (CSR): built in bulk, so additions go to a small side list
that is scanned directly and merged into the tables when it grows, and removals are tombstones
until the next merge. A brute-force scan is the oracle the tests compare against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations

import numpy as np

from media.hashing import Hash

CHUNK_BITS = 16
BUCKETS = 1 << CHUNK_BITS
MAX_PROBE_RADIUS = 3  # beyond this per-chunk radius, probing costs more than a scan


def _masks(radius: int) -> np.ndarray:
    """All 16-bit masks with at most `radius` bits set."""
    masks = [0]
    for flipped in range(1, radius + 1):
        masks += [sum(1 << b for b in bits) for bits in combinations(range(CHUNK_BITS), flipped)]
    return np.array(masks, dtype=np.int64)


_PROBES = [_masks(r) for r in range(MAX_PROBE_RADIUS + 1)]


class HammingIndex:
    """Entries are (entry_id, bits); one entry id may carry several hashes (frames, crops)."""

    def __init__(self, bits: int) -> None:
        if bits % 64:
            raise ValueError("the index holds whole 64-bit words")
        self.bits = bits
        self.nbytes = bits // 8
        self.chunks = bits // CHUNK_BITS
        self._main = np.zeros((0, self.nbytes), dtype=np.uint8)
        self._main_ids = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._postings = np.zeros((self.chunks, 0), dtype=np.uint32)
        self._offsets = np.zeros((self.chunks, BUCKETS + 1), dtype=np.int64)
        self._side = np.zeros((0, self.nbytes), dtype=np.uint8)
        self._side_ids = np.zeros(0, dtype=np.int64)
        self._dead = 0

    # -- building and changing -------------------------------------------------------------

    def build(self, entries: Iterable[tuple[int, Hash | str]]) -> None:
        """Replace the whole index with `entries` (entry_id, hash or hex)."""
        ids, rows = self._rows(entries)
        self._set_main(rows, ids)
        self._side = np.zeros((0, self.nbytes), dtype=np.uint8)
        self._side_ids = np.zeros(0, dtype=np.int64)

    def add(self, entry_id: int, value: Hash | str) -> None:
        self.add_many([(entry_id, value)])

    def add_many(self, entries: Iterable[tuple[int, Hash | str]]) -> None:
        self._add_rows(*self._rows(entries))

    def add_hex(self, entry_ids: Sequence[int], hexes: Sequence[str]) -> None:
        """Add many hashes given as two columns, ids and hex digits (an import adds 100,000)."""
        self._add_rows(np.asarray(entry_ids, dtype=np.int64), self._bits(hexes))

    def _add_rows(self, ids: np.ndarray, rows: np.ndarray) -> None:
        self._side = np.concatenate([self._side, rows])
        self._side_ids = np.concatenate([self._side_ids, ids])
        if len(self._side_ids) > max(4096, len(self._main_ids) // 16):
            self._merge()

    def remove(self, entry_id: int) -> int:
        """Remove every hash of `entry_id`; return how many were removed."""
        hits = (self._main_ids == entry_id) & self._alive
        removed = int(hits.sum())
        self._alive[hits] = False
        self._dead += removed
        keep = self._side_ids != entry_id
        removed += int((~keep).sum())
        self._side, self._side_ids = self._side[keep], self._side_ids[keep]
        if self._dead > max(4096, len(self._main_ids) // 4):
            self._merge()
        return removed

    def __len__(self) -> int:
        return len(self._main_ids) - self._dead + len(self._side_ids)

    # -- querying ---------------------------------------------------------------------------

    def query(self, value: Hash | str, radius: int) -> list[tuple[int, int]]:
        """Entries within `radius` bits of `value`: (entry_id, distance), nearest first."""
        return self.query_many([value], radius)

    def query_many(self, values: Sequence[Hash | str], radius: int) -> list[tuple[int, int]]:
        """Entries within `radius` of any of `values` (e.g. dihedral variants), nearest first."""
        best: dict[int, int] = {}
        for value in values:
            query = self._row(value)
            for ids, distances in (self._query_main(query, radius), self._scan(query, radius)):
                for entry_id, distance in zip(ids.tolist(), distances.tolist(), strict=True):
                    if distance < best.get(entry_id, radius + 1):
                        best[entry_id] = distance
        return sorted(best.items(), key=lambda item: (item[1], item[0]))

    def _query_main(self, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        per_chunk = radius // self.chunks
        if per_chunk > MAX_PROBE_RADIUS or not len(self._main_ids):
            return self._distances(None, query, radius)
        keys = query.view(">u2").astype(np.int64)
        probes = keys[:, None] ^ _PROBES[per_chunk][None, :]
        rows = np.arange(self.chunks)[:, None]
        starts = self._offsets[rows, probes].ravel()
        lengths = self._offsets[rows, probes + 1].ravel() - starts
        nonempty = lengths > 0
        starts, lengths = starts[nonempty], lengths[nonempty]
        if not len(lengths):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        # Concatenate the ranges [start, start + length) without a Python loop.
        ends = np.cumsum(lengths)
        flat = np.arange(ends[-1]) + np.repeat(starts - (ends - lengths), lengths)
        return self._distances(self._postings.ravel()[flat], query, radius)

    def _distances(
        self, positions: np.ndarray | None, query: np.ndarray, radius: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact distances from `query` to main rows at `positions` (None: every row)."""
        words = self._main.view(np.uint64)
        if positions is not None:
            words = words[positions]
        counts = np.bitwise_count(words ^ query.view(np.uint64))
        distances = counts[:, 0].astype(np.int64)
        for column in range(1, counts.shape[1]):  # a few column adds beat sum(axis=1) here
            distances += counts[:, column]
        hits = np.flatnonzero(distances <= radius)
        rows = hits if positions is None else positions[hits]
        if self._dead:
            alive = self._alive[rows]
            rows, hits = rows[alive], hits[alive]
        return self._main_ids[rows], distances[hits]

    def _scan(self, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """The side list of recent additions, scanned directly."""
        counts = np.bitwise_count(self._side.view(np.uint64) ^ query.view(np.uint64))
        distances = counts.sum(axis=1, dtype=np.int64)
        hits = distances <= radius
        return self._side_ids[hits], distances[hits]

    # -- internals --------------------------------------------------------------------------

    def _row(self, value: Hash | str) -> np.ndarray:
        text = value.hex if isinstance(value, Hash) else value
        row = np.frombuffer(bytes.fromhex(text), dtype=np.uint8)
        if len(row) != self.nbytes:
            raise ValueError(f"this index holds {self.bits}-bit hashes, not {len(row) * 8}-bit")
        return row

    def _rows(self, entries: Iterable[tuple[int, Hash | str]]) -> tuple[np.ndarray, np.ndarray]:
        ids: list[int] = []
        texts: list[str] = []
        for entry_id, value in entries:
            ids.append(entry_id)
            texts.append(value.hex if isinstance(value, Hash) else value)
        return np.array(ids, dtype=np.int64), self._bits(texts)

    def _bits(self, texts: Sequence[str]) -> np.ndarray:
        """One row of bytes a hash, from hex digits of this index's width (checked)."""
        digits = self.nbytes * 2
        if set(map(len, texts)) - {digits}:
            wrong = next(text for text in texts if len(text) != digits)
            raise ValueError(f"this index holds {self.bits}-bit hashes, not {wrong!r}")
        rows = np.frombuffer(bytes.fromhex("".join(texts)), dtype=np.uint8)
        return rows.reshape(-1, self.nbytes).copy()

    def _merge(self) -> None:
        rows = np.concatenate([self._main[self._alive], self._side])
        ids = np.concatenate([self._main_ids[self._alive], self._side_ids])
        self._set_main(rows, ids)
        self._side = np.zeros((0, self.nbytes), dtype=np.uint8)
        self._side_ids = np.zeros(0, dtype=np.int64)

    def _set_main(self, rows: np.ndarray, ids: np.ndarray) -> None:
        count = len(ids)
        self._main = np.ascontiguousarray(rows)
        self._main_ids = ids
        self._alive = np.ones(count, dtype=bool)
        self._dead = 0
        keys = self._main.view(">u2").astype(np.uint16)  # (count, chunks)
        self._postings = np.empty((self.chunks, count), dtype=np.uint32)
        self._offsets = np.empty((self.chunks, BUCKETS + 1), dtype=np.int64)
        for chunk in range(self.chunks):
            column = keys[:, chunk]
            self._postings[chunk] = np.argsort(column, kind="stable")
            self._offsets[chunk, 0] = chunk * count
            counts = np.bincount(column, minlength=BUCKETS)
            self._offsets[chunk, 1:] = chunk * count + np.cumsum(counts)

"""An index's hashes laid out for the compiled scan (`media._hamming`), and the scan itself.

Why a layout of its own: the scan compares 8 rows at once, one 64-bit word of each per
instruction, so the rows come in blocks of 8, word-major inside a block (row r's word w is at
((r // 8) * words + w) * 8 + r % 8). The same 32 bytes a PDQ hash, only in another order, so
the index keeps this copy alone and reads single rows from it by position (`words_at`).

Why one call for many queries: an image asks for its picture, mirror and turns, its trimmed
view and every sampled frame, at two radii; reading a million rows once for all of them costs
little more than reading them for one (bench/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from media import _hamming

LANES = _hamming.LANES  # rows a block
PAIR = _hamming.PAIR  # the scan reads whole pairs of blocks


@dataclass(frozen=True, slots=True)
class ScanHits:
    """Rows within their query's radius: row i is within radius of query query_numbers[i]."""

    rows: np.ndarray  # int64 row numbers
    query_numbers: np.ndarray  # int32
    distances: np.ndarray  # int32


class BlockedRows:
    """`count` hashes of `words` 64-bit words each, in blocks of 8 rows, padded to whole pairs."""

    def __init__(self, rows: np.ndarray, order: np.ndarray | None = None) -> None:
        """`rows`: (count, words) uint64, one hash a row, taken in `order` when given (the
        index sorts them); copied once, word by word, into the blocks."""
        count, words = rows.shape
        self.count = count
        self.words = words
        full = count // LANES
        self._flat = np.zeros(-(-count // PAIR) * PAIR * words, dtype=np.uint64)
        blocks = self._flat.reshape(-1, words, LANES)  # (blocks, words, 8)
        for word in range(words):
            column = rows[:, word] if order is None else rows[:, word].take(order)
            blocks[:full, word, :] = column[: full * LANES].reshape(full, LANES)
            if count > full * LANES:
                blocks[full, word, : count - full * LANES] = column[full * LANES :]

    @property
    def nbytes(self) -> int:
        return self._flat.nbytes

    def words_at(self, rows: np.ndarray, word: int) -> np.ndarray:
        """Word `word` of each of `rows` (int64 row numbers)."""
        positions = ((rows >> 3) * self.words + word) * LANES + (rows & (LANES - 1))
        return self._flat.take(positions)

    def rows(self) -> np.ndarray:
        """Every hash as (count, words) uint64, one a row."""
        blocks = self._flat.reshape(-1, self.words, LANES).transpose(0, 2, 1)
        return blocks.reshape(-1, self.words)[: self.count].copy()

    def scan(self, queries: np.ndarray, radii: np.ndarray, *, portable: bool = False) -> ScanHits:
        """Every (row, query) within that query's radius, in one pass over the rows.

        `queries` (k, words) uint64; `radii` one a query. `portable` runs the plain C loop
        even where the vectorised one would (the tests compare both).
        """
        queries = np.ascontiguousarray(queries, dtype=np.uint64)
        radii = np.ascontiguousarray(radii, dtype=np.int32)
        if queries.shape != (len(radii), self.words):
            raise ValueError(f"queries must be ({len(radii)}, {self.words}) words")
        capacity = 256
        while True:
            hits = ScanHits(
                np.empty(capacity, dtype=np.int64),
                np.empty(capacity, dtype=np.int32),
                np.empty(capacity, dtype=np.int32),
            )
            found = _hamming.scan(
                self._flat,
                self.count,
                self.words,
                queries,
                radii,
                hits.rows,
                hits.query_numbers,
                hits.distances,
                portable=portable,
            )
            if found <= capacity:
                return ScanHits(
                    hits.rows[:found], hits.query_numbers[:found], hits.distances[:found]
                )
            capacity = found  # a wide radius over many rows: scan again with room for all

"""In-memory nearest-neighbour index over hash bits: which entries lie within a radius.

Why multi-index hashing: a brute-force scan of a million 256-bit PDQ hashes costs about 10 ms,
too slow to run for every frame and every dihedral variant of every upload. Cut each hash into
16-bit chunks and index k of them. If two hashes differ in at most r bits, and the chunks are
given radii r_1..r_k with (r_1 + 1) + ... + (r_k + 1) > r, some chunk differs in at most its
radius (pigeonhole; bits outside the indexed chunks only make that easier). So the query looks
up, in one table per chunk, the few buckets within that radius of its own chunk, and checks only
those candidates exactly. For PDQ at radius 31 with 12 chunks that is 8 chunks probed at radius
2 and 4 at radius 1: 1,164 buckets and about 18,000 candidates out of a million. Radii too wide
to probe cheaply fall back to a vectorised scan, which is exact too.

Why these layouts: memory, measured in bench/RESULTS.md. Per hash the index keeps the hash
itself, its entry id, a tombstone bit and one posting per indexed chunk but the first:
- The hashes are sorted by chunk 0, so chunk 0's buckets are runs of rows and need no postings.
- A posting is a row number in just as many bits as the row count needs (20 bits at a million
  rows), packed back to back; a lookup reads 8 unaligned bytes and shifts.
- Entry ids are database ids, any int64; they are stored packed too, as their distance from the
  smallest id, in as many bits as the spread of ids needs (20 at a million dense ids; a spread
  past 2^57 is kept as plain 64-bit words). One entry may carry several hashes (frames, crops).
- Tombstones are one bit per row.
Fewer chunks would save postings but cost more candidates per query; 12 is where a million PDQ
hashes fit in 64 bytes each and a query still stays under a millisecond.

The tables are built in bulk, so additions go to a small side list that is scanned directly and
merged into the tables when it grows, and removals are tombstones until the next merge.
A brute-force scan is the oracle the tests compare against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from math import gcd

import numpy as np

from media.hashing import Hash

CHUNK_BITS = 16
BUCKETS = 1 << CHUNK_BITS
DEFAULT_CHUNKS = {64: 4, 256: 12}  # measured in bench/RESULTS.md
MAX_PROBE_RADIUS = 3  # per-chunk radius; beyond it the buckets alone cost more than a scan
SCAN_SHARE = 8  # probe only when the expected candidates are under 1/8 of the rows
MAX_PACKED_WIDTH = 57  # a lookup reads 8 bytes at a byte boundary: 64 - 7 usable bits


def _masks(radius: int) -> np.ndarray:
    """All 16-bit masks with at most `radius` bits set."""
    masks = [0]
    for flipped in range(1, radius + 1):
        masks += [sum(1 << b for b in bits) for bits in combinations(range(CHUNK_BITS), flipped)]
    return np.array(masks, dtype=np.int64)


_PROBES = [_masks(r) for r in range(MAX_PROBE_RADIUS + 1)]


def chunk_radii(radius: int, chunks: int) -> list[int]:
    """Per-chunk radii whose (r_i + 1) add up to radius + 1; -1 means "not probed"."""
    whole, extra = divmod(radius + 1, chunks)
    return [whole - 1 + (1 if i < extra else 0) for i in range(chunks)]


@dataclass(frozen=True, slots=True)
class _Plan:
    """The buckets a query looks up, as masks to XOR with its chunks."""

    first: np.ndarray  # masks for chunk 0, whose buckets are runs of rows
    chunks: np.ndarray  # for every other probe: its chunk,
    masks: np.ndarray  # its mask,
    bases: np.ndarray  # and where its chunk's row starts in the flattened offsets table


@cache
def _plan(radius: int, chunks: int) -> _Plan | None:
    """How to probe `chunks` chunks at `radius`; None when a scan is cheaper."""
    radii = chunk_radii(radius, chunks)
    if max(radii) > MAX_PROBE_RADIUS:
        return None
    if sum(len(_PROBES[r]) for r in radii if r >= 0) * SCAN_SHARE > BUCKETS:
        return None  # the buckets would hold more than 1/SCAN_SHARE of the rows
    probed = [(c, _PROBES[r]) for c, r in enumerate(radii) if c and r >= 0]
    none = np.zeros(0, dtype=np.int64)
    return _Plan(
        first=_PROBES[radii[0]] if radii[0] >= 0 else none,
        chunks=np.concatenate([np.full(len(m), c) for c, m in probed]) if probed else none,
        masks=np.concatenate([m for _, m in probed]) if probed else none,
        bases=np.concatenate([np.full(len(m), c * (BUCKETS + 1)) for c, m in probed])
        if probed
        else none,
    )


@dataclass(frozen=True, slots=True)
class IndexMemory:
    """Bytes held by an index: arrays that grow with the hashes, and fixed tables."""

    hashes: int
    per_hash: tuple[tuple[str, int], ...]  # (part, bytes) for every array sized by the hashes
    fixed: int  # bucket offset tables, whatever the number of hashes

    @property
    def bytes_per_hash(self) -> float:
        return sum(size for _, size in self.per_hash) / max(self.hashes, 1)


class PackedInts:
    """Unsigned integers of `width` bits each, back to back, little-endian bit order.

    A lookup reads 8 bytes from a byte boundary, so widths past 57 bits are stored as 64.
    """

    def __init__(self, count: int, width: int) -> None:
        self.width = _stored_width(width)
        self.count = count
        self.group = _group(width)
        words = -(-count // self.group) * self.group * self.width // 64
        self._bytes = np.zeros(words * 8 + 8, dtype=np.uint8)
        # Every byte offset as the start of a little-endian 64-bit word (unaligned reads), signed
        # so that the shift needs no cast: the bits it fills are above the value, and masked off.
        self._windows = np.ndarray((words * 8 + 1,), dtype="<i8", buffer=self._bytes, strides=(1,))
        self._mask = np.uint64((1 << self.width) - 1)
        self._signed_mask = self._mask.view(np.int64)

    @classmethod
    def of(cls, values: np.ndarray, width: int) -> PackedInts:
        packed = cls(len(values), width)
        packed.put(0, values)
        return packed

    @property
    def nbytes(self) -> int:
        return self._bytes.nbytes

    def put(self, start: int, values: np.ndarray) -> None:
        """Store `values` from position `start`, a multiple of `group`."""
        first = start // self.group
        _pack(values, self.width, self._groups()[first : first + -(-len(values) // self.group)])

    def take(self, index: np.ndarray) -> np.ndarray:
        """The values at `index` (int64 positions), as int64."""
        return self._at(index * self.width)

    def take_ranges(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The values at every position of every [start, end), concatenated."""
        return self._at(_ranges(starts, ends, self.width))

    def _at(self, bits: np.ndarray) -> np.ndarray:
        return (self._windows[bits >> 3] >> (bits & 7)) & self._signed_mask

    def values(self) -> np.ndarray:
        """Every value, as uint64."""
        values = np.empty((len(self._groups()), self.group), dtype=np.uint64)
        for slot, column in self._columns():
            values[:, slot] = column
        return values.ravel()[: self.count]

    def find(self, value: int) -> np.ndarray:
        """Positions holding `value`, ascending (a removal looks up one entry id)."""
        found = [
            np.flatnonzero(column == np.uint64(value)) * self.group + slot
            for slot, column in self._columns()
        ]
        positions = np.sort(np.concatenate(found))
        return positions[positions < self.count]

    def _groups(self) -> np.ndarray:
        """The words as one row per group of values."""
        return self._bytes[:-8].view(np.uint64).reshape(-1, self.group * self.width // 64)

    def _columns(self) -> Iterable[tuple[int, np.ndarray]]:
        """Each place of a group and the values held there, one per group."""
        groups = self._groups()
        for slot in range(self.group):
            word, shift = divmod(slot * self.width, 64)
            column = groups[:, word] >> np.uint64(shift)
            if shift + self.width > 64:
                column |= groups[:, word + 1] << np.uint64(64 - shift)
            yield slot, column & self._mask


def _stored_width(width: int) -> int:
    return 64 if width > MAX_PACKED_WIDTH else max(width, 1)


def _group(width: int) -> int:
    """How many values of `width` bits fill a whole number of 64-bit words."""
    return 64 // gcd(_stored_width(width), 64)


def _pack(values: np.ndarray, width: int, groups: np.ndarray) -> None:
    """Pack `values` into `groups` (one row of words per group of values), which start zeroed."""
    group = _group(width)
    block = 1 << 15  # groups at a time, so the 64-bit copies stay small
    for first in range(0, len(groups), block):
        part = values[first * group : (first + block) * group]
        count = -(-len(part) // group)
        padded = np.zeros(count * group, dtype=np.uint64)
        padded[: len(part)] = part
        slots = padded.reshape(count, group).T.copy()  # one contiguous row per place in a group
        out = np.zeros((groups.shape[1], count), dtype=np.uint64)
        for slot in range(group):
            word, shift = divmod(slot * width, 64)
            out[word] |= slots[slot] << np.uint64(shift)
            if shift + width > 64:
                out[word + 1] |= slots[slot] >> np.uint64(64 - shift)
        groups[first : first + count] = out.T


def _bit_distances(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distance of each row of 64-bit words from `query`.

    Column by column: numpy runs a (rows, 2) ^ (2,) broadcast as one tiny loop per row.
    """
    distances = np.zeros(len(rows), dtype=np.uint16)
    for column, word in enumerate(query):
        distances += np.bitwise_count(rows[:, column] ^ word)
    return distances


def _ranges(starts: np.ndarray, ends: np.ndarray, step: int = 1) -> np.ndarray:
    """The integers of every [start, end), concatenated and times `step`, without a loop."""
    lengths = (ends - starts).astype(np.int64)
    nonempty = np.flatnonzero(lengths)
    if not len(nonempty):
        return np.zeros(0, dtype=np.int64)
    starts, lengths = starts[nonempty].astype(np.int64), lengths[nonempty]
    ends = np.cumsum(lengths)
    steps = np.full(ends[-1], step, dtype=np.int64)
    steps[0] = starts[0] * step
    steps[ends[:-1]] = (starts[1:] - (starts[:-1] + lengths[:-1]) + 1) * step
    return np.cumsum(steps)


class HammingIndex:
    """Entries are (entry_id, bits); one entry id may carry several hashes (frames, crops)."""

    def __init__(self, bits: int, chunks: int | None = None) -> None:
        if bits % 64:
            raise ValueError("the index holds whole 64-bit words")
        self.bits = bits
        self.nbytes = bits // 8
        self.chunks = chunks or DEFAULT_CHUNKS.get(bits, bits // CHUNK_BITS)
        if not 1 <= self.chunks <= bits // CHUNK_BITS:
            raise ValueError(f"a {bits}-bit hash has 1 to {bits // CHUNK_BITS} chunks")
        self._head_words = min(2, bits // 64)  # checked first; enough bits to reject almost all
        self._set_main(np.zeros((0, self.nbytes), dtype=np.uint8), np.zeros(0, dtype=np.int64))
        self._clear_side()

    # -- building and changing -------------------------------------------------------------

    def build(self, entries: Iterable[tuple[int, Hash | str]]) -> None:
        """Replace the whole index with `entries` (entry_id, hash or hex)."""
        ids, rows = self._rows(entries)
        self._set_main(rows, ids)
        self._clear_side()

    def add(self, entry_id: int, value: Hash | str) -> None:
        self.add_many([(entry_id, value)])

    def add_many(self, entries: Iterable[tuple[int, Hash | str]]) -> None:
        ids, rows = self._rows(entries)
        self._side = np.concatenate([self._side, rows])
        self._side_ids = np.concatenate([self._side_ids, ids])
        if len(self._side_ids) > max(4096, self._count // 16):
            self._merge()

    def remove(self, entry_id: int) -> int:
        """Remove every hash of `entry_id`; return how many were removed."""
        rows = np.zeros(0, dtype=np.int64)
        if self._count and self._id_base <= entry_id < self._id_base + (1 << self._ids.width):
            rows = self._ids.find(entry_id - self._id_base)
            rows = rows[self._alive(rows)]
        np.bitwise_or.at(self._dead, rows >> 3, (1 << (rows & 7)).astype(np.uint8))
        self._dead_count += len(rows)
        keep = self._side_ids != entry_id
        removed = len(rows) + int((~keep).sum())
        self._side, self._side_ids = self._side[keep], self._side_ids[keep]
        if self._dead_count > max(4096, self._count // 4):
            self._merge()
        return removed

    def __len__(self) -> int:
        return self._count - self._dead_count + len(self._side_ids)

    def memory(self) -> IndexMemory:
        """What the index holds, part by part (the benchmark prints it)."""
        per_hash = (
            ("hashes", self._head.nbytes + self._tail.nbytes),
            ("postings", self._postings.nbytes),
            ("ids", self._ids.nbytes),
            ("tombstones", self._dead.nbytes),
            ("side list", self._side.nbytes + self._side_ids.nbytes),
        )
        return IndexMemory(len(self), per_hash, self._offsets.nbytes)

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
        rows = self._candidates(query, radius)
        rows, distances = self._distances(rows, query, radius)
        if self._dead_count:
            alive = self._alive(rows)
            rows, distances = rows[alive], distances[alive]
        return self._ids.take(rows) + self._id_base, distances

    def _candidates(self, query: np.ndarray, radius: int) -> np.ndarray | None:
        """Rows that may lie within `radius` (None: every row)."""
        plan = _plan(radius, self.chunks)
        if plan is None:
            return None
        keys = query.view(">u2").astype(np.int64)
        table = self._offsets.ravel()
        first = keys[0] ^ plan.first  # chunk 0: its buckets are runs of rows
        buckets = plan.bases + (keys.take(plan.chunks) ^ plan.masks)
        return np.concatenate(
            [
                _ranges(table[first], table[first + 1]),
                self._postings.take_ranges(table[buckets], table[buckets + 1]),
            ]
        )

    def _distances(
        self, rows: np.ndarray | None, query: np.ndarray, radius: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows within `radius` of `query` and their distances (rows None: every row).

        The first 128 bits reject almost every random candidate (they differ in 64 +- 6 bits),
        so only the few that pass read the rest of their row.
        """
        words = query.view(np.uint64)
        head, tail = words[: self._head_words], words[self._head_words :]
        if rows is None:
            distances = _bit_distances(self._head, head) + _bit_distances(self._tail, tail)
            rows = np.flatnonzero(distances <= radius)
            return rows, distances[rows]
        distances = _bit_distances(np.take(self._head, rows, axis=0), head)
        near = np.flatnonzero(distances <= radius)
        rows, distances = rows[near], distances[near]
        if len(tail):
            distances += _bit_distances(np.take(self._tail, rows, axis=0), tail)
            near = np.flatnonzero(distances <= radius)
            rows, distances = rows[near], distances[near]
        return rows, distances

    def _alive(self, rows: np.ndarray) -> np.ndarray:
        return ((self._dead[rows >> 3] >> (rows & 7).astype(np.uint8)) & 1) == 0

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
            text = value.hex if isinstance(value, Hash) else value
            if len(text) != self.nbytes * 2:
                raise ValueError(f"this index holds {self.bits}-bit hashes, not {text!r}")
            ids.append(entry_id)
            texts.append(text)
        rows = np.frombuffer(bytes.fromhex("".join(texts)), dtype=np.uint8)
        return np.array(ids, dtype=np.int64), rows.reshape(-1, self.nbytes).copy()

    def _clear_side(self) -> None:
        self._side = np.zeros((0, self.nbytes), dtype=np.uint8)
        self._side_ids = np.zeros(0, dtype=np.int64)

    def _main_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The live rows of the tables and their entry ids."""
        alive = self._alive(np.arange(self._count))
        words = np.concatenate([self._head, self._tail], axis=1)[alive]
        ids = self._ids.values()[alive].view(np.int64) + self._id_base
        return words.view(np.uint8), ids

    def _merge(self) -> None:
        rows, ids = self._main_rows()
        self._set_main(np.concatenate([rows, self._side]), np.concatenate([ids, self._side_ids]))
        self._clear_side()

    def _set_main(self, rows: np.ndarray, ids: np.ndarray) -> None:
        count = self._count = len(ids)
        order = np.argsort(rows.view(">u2")[:, 0], kind="stable")
        words = np.take(rows.view(np.uint64), order, axis=0)  # take: fancy indexing is slower
        self._head = np.ascontiguousarray(words[:, : self._head_words])
        self._tail = np.ascontiguousarray(words[:, self._head_words :])
        self._id_base = int(ids.min()) if count else 0
        spread = int(ids.max()) - self._id_base if count else 0
        ids = (ids.take(order) - self._id_base).view(np.uint64)
        self._ids = PackedInts.of(ids, spread.bit_length())
        self._dead = np.zeros(-(-count // 8), dtype=np.uint8)
        self._dead_count = 0
        keys = words.view(np.uint8).view(">u2")
        width = max(count - 1, 1).bit_length()
        stride = -(-count // _group(width)) * _group(width)  # each chunk starts on a whole word
        self._postings = PackedInts((self.chunks - 1) * stride, width)
        offsets = np.zeros((self.chunks, BUCKETS + 1), dtype=np.int64)
        offsets[0, 1:] = np.cumsum(np.bincount(keys[:, 0], minlength=BUCKETS))
        for chunk in range(1, self.chunks):
            column = keys[:, chunk].astype(np.uint16)
            start = (chunk - 1) * stride
            self._postings.put(start, np.argsort(column, kind="stable"))
            offsets[chunk] = start
            offsets[chunk, 1:] += np.cumsum(np.bincount(column, minlength=BUCKETS))
        small = offsets[-1, -1] < 1 << 32
        self._offsets = offsets.astype(np.uint32) if small else offsets

"""In-memory nearest-neighbour index over hash bits: which entries lie within a radius.

Why multi-index hashing: a brute-force scan of a million 256-bit PDQ hashes costs about 10 ms,
too slow to run for every frame and every dihedral variant of every upload. Cut each hash into
16-bit chunks and index k of them. If two hashes differ in at most r bits and the chunks are
given radii r_1..r_k with (r_1 + 1) + ... + (r_k + 1) > r, some chunk differs in at most its
radius (pigeonhole; bits outside the indexed chunks only make that easier). So the query looks
up, in one table per chunk, the few buckets within that radius of its own chunk, and checks only
those candidates exactly. When the fields no chunk indexes hold a bit for every chunk, each
chunk's bucket key borrows one (17 bits: twice the buckets, half the candidates in each, the
same postings). For PDQ at radius 31 with 11 chunks, 10 are probed at radius 2 and one at
radius 1: 1,558 buckets, about 12,000 candidates out of a million.

Why a compiled scan beside it: at PDQ's review radius (62) the buckets would hold a fifth of
the rows or more, so every row is read instead, by `media._hamming` (AVX-512 popcounts, 8 rows
an instruction): about 1 ms a million rows, at the memory's pace. An upload asks for many
lookups at once (picture, mirror and turns, trimmed view, frames, at two radii); `search`
answers them all in one pass over the rows, each at its own radius, which costs little more
than one: the rows are read once, and each lookup first bounds every row's distance from below
(bits differing in either word of a pair of words: a third of the instructions of a count),
which at radii 31 and 62 rejects almost every row. A few narrow lookups alone still probe the
buckets.

Why these layouts: memory, measured in bench/RESULTS.md. Per hash the index keeps the hash
itself, one posting for each indexed chunk but the first, and its entry id:
- The hashes are sorted by chunk 0's key, so its buckets are runs of rows and need no postings.
  They are kept once, in blocks of 8 rows for the scan (`media.blocked_rows`). Candidates are
  checked on their first 128 bits, which reject almost all of them; only the few left read
  the rest of their row.
- A posting is a row number in as many bits as the row count needs (20 at a million rows): up
  to 16 bits packed whole into 64-bit words, past 16 a uint16 and the high bits packed apart,
  so a value never straddles a word and a lookup is aligned reads, shifts and masks.
- Entry ids are database ids, any int64, and one entry may carry several hashes (frames,
  crops). Each row stores its id's distance from the smallest id, packed the same way in as
  many bits as the spread of ids needs plus one value: the all-ones value marks a removed row,
  so tombstones cost nothing and are read with the id. Dense ids take 20 bits at a million.
- Where each bucket begins is a uint16 step from a base kept every 64 buckets (wider steps when
  a chunk's values are too skewed for 16 bits).
Why 11 chunks for PDQ: each indexed chunk costs a posting per hash, and each one fewer costs
more candidates per query (bench/RESULTS.md has the table). At 11, a million PDQ hashes take
62.5 bytes each in all (32 hash + 25 postings + 2.5 id, and 2.8 MiB of bucket tables), and a
query's p99 measured 0.6-0.85 ms; 12 chunks of 16-bit keys took 63.6 bytes and 0.7-1.1 ms.

The tables are built in bulk, so additions go to a small side list that is scanned directly and
merged into the tables when it grows, and removals are tombstones until the next merge.
A brute-force scan is the oracle the tests compare against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from itertools import combinations

import numpy as np

from core.hashes import Hash
from media.blocked_rows import BlockedRows

CHUNK_BITS = 16  # a chunk's own bits, one 16-bit field of the hash
DEFAULT_CHUNKS = {64: 4, 256: 11}  # the trade of memory for time: bench/RESULTS.md
MAX_PROBE_RADIUS = 3  # per-chunk radius; beyond it the buckets alone cost more than a scan
SCAN_SHARE = 5  # probe only when the buckets hold under 1/5 of the rows (measured break-even)
# A small index is scanned whole: below this many rows per probed bucket, looking the buckets up
# costs more than reading every row (measured: 1,000 PDQ rows scan in half the time of probing).
SMALL_SCAN = 16
# From this many queries at once, one compiled pass over every row beats probing for each
# (measured at a million PDQ hashes: a pass 1.2 ms, the memory's pace, for 1 to 4 queries at
# radius 31 and 1.45 for 12; a probe 0.55-0.65 ms a query, 1.6 for 3).
SCAN_FROM_QUERIES = 3
BUILD_THREADS = 2  # the chunks' postings are sorted side by side


@cache
def _masks(radius: int, key_bits: int) -> np.ndarray:
    """All `key_bits`-bit masks with at most `radius` bits set."""
    masks = [0]
    for flipped in range(1, radius + 1):
        masks += [sum(1 << b for b in bits) for bits in combinations(range(key_bits), flipped)]
    return np.array(masks, dtype=np.int64)


def chunk_radii(radius: int, chunks: int) -> list[int]:
    """Per-chunk radii whose (r_i + 1) add up to radius + 1; -1 means "not probed"."""
    whole, extra = divmod(radius + 1, chunks)
    return [whole - 1 + (1 if i < extra else 0) for i in range(chunks)]


@dataclass(frozen=True, slots=True)
class _Plan:
    """The buckets a query looks up: XOR each mask into its chunk of the query."""

    chunks: np.ndarray  # each probe's chunk, chunk 0's first (its buckets are runs of rows)
    masks: np.ndarray  # its mask
    bases: np.ndarray  # where its chunk's row starts in the flattened offsets table
    first: int  # how many probes are chunk 0's


@cache
def _plan(radius: int, chunks: int, key_bits: int) -> _Plan | None:
    """How to probe `chunks` chunks of `key_bits` bits at `radius`; None when a scan is cheaper."""
    radii = chunk_radii(radius, chunks)
    if max(radii) > MAX_PROBE_RADIUS:
        return None
    probes = [(c, _masks(r, key_bits)) for c, r in enumerate(radii) if r >= 0]
    if sum(len(masks) for _, masks in probes) * SCAN_SHARE > 1 << key_bits:
        return None  # the buckets would hold more than 1/SCAN_SHARE of the rows
    row = BucketOffsets.row(1 << key_bits)
    return _Plan(
        chunks=np.concatenate([np.full(len(masks), c) for c, masks in probes]),
        masks=np.concatenate([masks for _, masks in probes]),
        bases=np.concatenate([np.full(len(masks), c * row) for c, masks in probes]),
        first=len(probes[0][1]) if radii[0] >= 0 else 0,
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


@dataclass(frozen=True, slots=True)
class Found:
    """What a search found, as columns: entry entry_ids[i] lies distances[i] bits from query
    query_numbers[i], for the nearest hash of that entry (an entry may carry many)."""

    query_numbers: np.ndarray
    entry_ids: np.ndarray
    distances: np.ndarray

    @classmethod
    def empty(cls) -> Found:
        return cls(*(np.zeros(0, dtype=np.int64) for _ in range(3)))

    @classmethod
    def nearest(cls, parts: Sequence[Found]) -> Found:
        """The parts together, one row per (query, entry): the nearest; ordered by query, then
        distance, then entry."""
        numbers, ids, distances = (
            np.concatenate([getattr(part, name) for part in parts]).astype(np.int64)
            for name in ("query_numbers", "entry_ids", "distances")
        )
        if not len(ids):
            return cls(numbers, ids, distances)
        # Grouped by (query, entry), nearest first: each group's first row is the one kept.
        order = np.lexsort((distances, ids, numbers))
        numbers, ids, distances = numbers[order], ids[order], distances[order]
        first = np.r_[True, (numbers[1:] != numbers[:-1]) | (ids[1:] != ids[:-1])]
        numbers, ids, distances = numbers[first], ids[first], distances[first]
        order = np.lexsort((ids, distances, numbers))
        return cls(numbers[order], ids[order], distances[order])

    def of_query(self, number: int) -> list[tuple[int, int]]:
        """(entry_id, distance) of one query, nearest first."""
        chosen = self.query_numbers == number
        return list(
            zip(self.entry_ids[chosen].tolist(), self.distances[chosen].tolist(), strict=True)
        )


class PackedInts:
    """Unsigned integers of `width` bits each, as many to a 64-bit word as fit whole.

    No value straddles two words, so a lookup is one aligned read, a shift and a mask (an
    unaligned read at any bit offset measured twice as slow in numpy). 20 bits: 3 to a word.
    """

    def __init__(self, count: int, width: int) -> None:
        self.width = min(max(width, 1), 64)
        self.count = count
        self.per_word = 64 // self.width
        # Signed, so that a shift needs no cast: the bits it fills are above the value, masked off.
        self._words = np.zeros(-(-count // self.per_word), dtype=np.int64)
        self._mask = np.uint64((1 << self.width) - 1).view(np.int64)
        power = self.per_word.bit_length() - 1
        self._log_per_word = power if self.per_word == 1 << power else None

    @property
    def nbytes(self) -> int:
        return self._words.nbytes

    @property
    def ones(self) -> int:
        """The all-ones value (as int64, so -1 at 64 bits)."""
        return int(self._mask)

    def put(self, start: int, values: np.ndarray) -> None:
        """Store `values` from position `start`, a multiple of `per_word`; the words were zero."""
        first = start // self.per_word
        count = -(-len(values) // self.per_word)
        slots = np.zeros(count * self.per_word, dtype=np.int64)
        slots[: len(values)] = values
        slots = slots.reshape(count, self.per_word)
        words = self._words[first : first + count]
        for slot in range(self.per_word):
            words |= slots[:, slot] << (slot * self.width)

    def take(self, index: np.ndarray) -> np.ndarray:
        """The values at `index` (int64 positions), as int64."""
        word, shift = self._place(index)
        return (self._words[word] >> shift) & self._mask

    def fill(self, index: np.ndarray) -> None:
        """Set the values at `index` to all ones."""
        word, shift = self._place(index)
        np.bitwise_or.at(self._words, word, self._mask << shift)

    def _place(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The word and the shift of each position."""
        if self._log_per_word is not None:  # a power of two: shifts, no division
            return index >> self._log_per_word, (index & (self.per_word - 1)) * self.width
        word = index // self.per_word  # np.divmod measured slower
        return word, (index - word * self.per_word) * self.width

    def values(self) -> np.ndarray:
        """Every value, as int64."""
        columns = [(self._words >> (s * self.width)) & self._mask for s in range(self.per_word)]
        return np.stack(columns, axis=1).ravel()[: self.count]


class SplitInts:
    """Unsigned integers of more than 16 bits: the low 16 bits in a uint16 array, the rest in a
    PackedInts beside it.

    At 20 bits (row numbers and entry ids at a million) a value takes 20 bits, not the 21.3 of
    three to a word, and a lookup is two aligned reads with shifts instead of a division by 3:
    measured 1.5-2x faster on the postings a query reads.
    """

    LOW = 16

    def __init__(self, count: int, width: int) -> None:
        self.width = min(width, 64)
        self.count = count
        self._low = np.zeros(count, dtype=np.uint16)
        self._high = PackedInts(count, self.width - self.LOW)
        self.per_word = self._high.per_word  # `put` starts on a multiple of it

    @property
    def nbytes(self) -> int:
        return self._low.nbytes + self._high.nbytes

    @property
    def ones(self) -> int:
        return int(np.uint64((1 << self.width) - 1).view(np.int64))

    def put(self, start: int, values: np.ndarray) -> None:
        values = values.astype(np.int64)
        self._low[start : start + len(values)] = values & 0xFFFF
        self._high.put(start, (values >> self.LOW) & self._high.ones)

    def take(self, index: np.ndarray) -> np.ndarray:
        return (self._high.take(index) << self.LOW) | self._low.take(index)

    def fill(self, index: np.ndarray) -> None:
        self._low[index] = 0xFFFF
        self._high.fill(index)

    def values(self) -> np.ndarray:
        return (self._high.values() << self.LOW) | self._low


def packed_ints(count: int, width: int) -> PackedInts | SplitInts:
    """Room for `count` unsigned integers of `width` bits, in the layout that suits the width."""
    return SplitInts(count, width) if width > SplitInts.LOW else PackedInts(count, width)


def aligned(count: int, width: int) -> int:
    """`count` rounded up to where a `put` may start after it (whole words)."""
    per_word = packed_ints(0, width).per_word
    return -(-count // per_word) * per_word


def pack(values: np.ndarray, width: int) -> PackedInts | SplitInts:
    packed = packed_ints(len(values), width)
    packed.put(0, values)
    return packed


class BucketOffsets:
    """Where each bucket's rows begin, for every chunk (bucket k ends where k + 1 begins).

    A cumulative count per bucket, stored as a base every GROUP buckets and a uint16 step from
    it per bucket: 2 bytes a bucket, not 4. A group of buckets holding 65,536 rows or more (a
    chunk whose values are far from uniform) gets wider steps instead, so any input fits.
    """

    GROUP = 64

    @classmethod
    def row(cls, buckets: int) -> int:
        """A chunk's stretch of the flattened table: its buckets, padded to whole groups."""
        return buckets + cls.GROUP

    def __init__(self, starts: np.ndarray) -> None:
        """`starts`: (chunks, buckets + 1), where each bucket begins; the last column, where
        the chunk's last bucket ends."""
        buckets = starts.shape[1] - 1
        table = np.empty((len(starts), self.row(buckets)), dtype=np.int64)
        table[:, : buckets + 1] = starts
        table[:, buckets + 1 :] = starts[:, -1:]
        flat = table.ravel()
        base = flat[:: self.GROUP]
        steps = flat - np.repeat(base, self.GROUP)
        self._steps = steps.astype(_narrowest(int(steps.max()), (np.uint16, np.uint32)))
        self._base = base.astype(_narrowest(int(base.max()), (np.uint32,)))
        self._shift = self.GROUP.bit_length() - 1

    @property
    def nbytes(self) -> int:
        return self._base.nbytes + self._steps.nbytes

    def at(self, positions: np.ndarray) -> np.ndarray:
        """The table's values at flattened `positions` (chunk * ROW + bucket), as int64."""
        return self._base[positions >> self._shift].astype(np.int64) + self._steps[positions]


def _narrowest(largest: int, kinds: tuple[type, ...]) -> type:
    """The first of `kinds` that holds 0..largest, else int64."""
    return next((kind for kind in kinds if largest <= np.iinfo(kind).max), np.int64)


def hex_rows(texts: Sequence[str], bits: int) -> np.ndarray:
    """One row of bytes a hash, from hex digits of `bits` bits each (checked)."""
    digits = bits // 4
    if set(map(len, texts)) - {digits}:
        wrong = next(text for text in texts if len(text) != digits)
        raise ValueError(f"this index holds {bits}-bit hashes, not {wrong!r}")
    rows = np.frombuffer(bytes.fromhex("".join(texts)), dtype=np.uint8)
    return rows.reshape(-1, bits // 8).copy()


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The integers of every [start, end), concatenated, without a Python loop."""
    if not len(starts):
        return np.zeros(0, dtype=np.int64)
    starts = starts.astype(np.int64)
    lengths = ends.astype(np.int64) - starts
    ends = np.cumsum(lengths)  # where each range ends in the result
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(ends[-1])


class HammingIndex:
    """Entries are (entry_id, bits); one entry id may carry several hashes (frames, crops)."""

    def __init__(
        self, bits: int, chunks: int | None = None, *, small_scan: int = SMALL_SCAN
    ) -> None:
        """`small_scan`: scan, not probe, while there are fewer rows than this per probed bucket
        (tests set 0 to probe at any size)."""
        if bits % 64:
            raise ValueError("the index holds whole 64-bit words")
        self.bits = bits
        self.nbytes = bits // 8
        self.chunks = chunks or DEFAULT_CHUNKS.get(bits, bits // CHUNK_BITS)
        if not 1 <= self.chunks <= bits // CHUNK_BITS:
            raise ValueError(f"a {bits}-bit hash has 1 to {bits // CHUNK_BITS} chunks")
        # Each chunk's bucket key borrows one bit from the fields no chunk indexes, when there
        # are enough: twice the buckets, half the candidates each, for no more postings.
        spare_bits = bits - self.chunks * CHUNK_BITS
        self.key_bits = CHUNK_BITS + (1 if spare_bits >= self.chunks else 0)
        self.small_scan = small_scan
        self.words = bits // 64
        self._head_words = min(2, self.words)  # checked first; enough bits to reject almost all
        self._set_main(np.zeros((0, self.nbytes), dtype=np.uint8), np.zeros(0, dtype=np.int64))
        self._clear_side()

    # -- building and changing -------------------------------------------------------------

    def build(self, entries: Iterable[tuple[int, Hash | str]]) -> None:
        """Replace the whole index with `entries` (entry_id, hash or hex)."""
        ids, rows = self._rows(entries)
        self._set_main(rows, ids)
        self._clear_side()

    def build_hex(self, entry_ids: Sequence[int], hexes: Sequence[str]) -> None:
        """Replace the whole index with hashes given as two columns, ids and hex digits."""
        self.build_rows(np.asarray(entry_ids, dtype=np.int64), self._bits(hexes))

    def build_rows(self, entry_ids: np.ndarray, rows: np.ndarray) -> None:
        """Replace the whole index with `rows` (one hash a row, as bytes) of `entry_ids`."""
        if rows.shape[1:] != (self.nbytes,) or len(rows) != len(entry_ids):
            raise ValueError(f"one row of {self.nbytes} bytes an entry id")
        self._set_main(rows, entry_ids)
        self._clear_side()

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
        self._side_blocks = None
        if len(self._side_ids) > max(4096, self._count // 16):
            self._merge()

    def remove(self, entry_id: int) -> int:
        """Remove every hash of `entry_id`; return how many were removed."""
        return self.remove_many([entry_id])

    def remove_many(self, entry_ids: Iterable[int]) -> int:
        """Remove every hash of each of `entry_ids` in one pass over the ids (a publisher may
        withdraw thousands of entries at once); return how many hashes were removed."""
        wanted = np.fromiter(entry_ids, dtype=np.int64)
        rows = np.zeros(0, dtype=np.int64)
        if self._count and len(wanted):
            offsets = wanted - self._id_base
            offsets = offsets[offsets >= 0]
            if self._ids.ones >= 0:  # below 64 bits, the all-ones value marks a removed row
                offsets = offsets[offsets < self._ids.ones]
            rows = np.flatnonzero(np.isin(self._ids.values(), offsets))
        self._ids.fill(rows)
        self._dead_count += len(rows)
        keep = ~np.isin(self._side_ids, wanted)
        removed = len(rows) + int((~keep).sum())
        self._side, self._side_ids = self._side[keep], self._side_ids[keep]
        self._side_blocks = None
        if self._dead_count > max(4096, self._count // 4):
            self._merge()
        return removed

    def __len__(self) -> int:
        return self._count - self._dead_count + len(self._side_ids)

    def memory(self) -> IndexMemory:
        """What the index holds, part by part (the benchmark prints it)."""
        per_hash = (
            ("hashes", self._blocks.nbytes),
            ("postings", self._postings.nbytes),
            ("ids and tombstones", self._ids.nbytes),
            ("side list", self._side.nbytes + self._side_ids.nbytes + self._side_blocks_bytes()),
        )
        return IndexMemory(len(self), per_hash, self._offsets.nbytes)

    # -- querying ---------------------------------------------------------------------------

    def query(self, value: Hash | str, radius: int) -> list[tuple[int, int]]:
        """Entries within `radius` bits of `value`: (entry_id, distance), nearest first."""
        return self.query_many([value], radius)

    def query_many(self, values: Sequence[Hash | str], radius: int) -> list[tuple[int, int]]:
        """Entries within `radius` of any of `values` (e.g. dihedral variants), nearest first."""
        found = self.search(values, [radius] * len(values))
        order = np.lexsort((found.distances, found.entry_ids))
        ids, distances = found.entry_ids[order], found.distances[order]
        first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else ids
        best = zip(ids[first].tolist(), distances[first].tolist(), strict=True)
        return sorted(best, key=lambda item: (item[1], item[0]))

    def search(self, values: Sequence[Hash | str], radii: Sequence[int]) -> Found:
        """Entries within each query's own radius, the nearest hash of an entry per query.

        An image's queries (its picture, mirror and turns, trimmed view and frames, at two
        radii) are answered in one compiled pass over the rows when any is too wide to probe
        or there are several; a few narrow queries are probed, a handful of buckets each.
        """
        queries = self._bits([value.hex if isinstance(value, Hash) else value for value in values])
        wanted = np.asarray(radii, dtype=np.int32)
        if len(wanted) != len(queries):
            raise ValueError("one radius a query")
        parts = [self._scan_side(queries, wanted)]
        if self._count and self._probes(wanted):
            parts += [
                self._probe(number, query, int(r))
                for number, (query, r) in enumerate(zip(queries, wanted.tolist(), strict=True))
            ]
        elif self._count:
            hits = self._blocks.scan(queries.view(np.uint64), wanted)
            parts.append(self._main_found(hits.query_numbers, hits.rows, hits.distances))
        return Found.nearest(parts)

    def nearest(
        self,
        values: Sequence[Hash | str],
        count: int,
        accept: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> list[tuple[int, int]]:
        """The `count` entries nearest to any of `values`, however far: (entry_id, distance),
        nearest first (ties by entry id). `accept` keeps only some entries (a boolean mask
        of an array of entry ids: a server's own lists).

        For explaining a match or a miss, not for scanning: the search widens (an eighth of
        the bits, a quarter, ... the whole hash) until enough entries are found, so a near
        entry costs one narrow pass and the last step reads every row once.
        """
        if count <= 0 or not values or not len(self):
            return []
        for radius in (self.bits // 8, self.bits // 4, self.bits * 3 // 8, self.bits // 2):
            found = self._nearest_within(values, radius, accept)
            if len(found) >= count:
                return found[:count]
        return self._nearest_within(values, self.bits, accept)[:count]

    def _nearest_within(
        self,
        values: Sequence[Hash | str],
        radius: int,
        accept: Callable[[np.ndarray], np.ndarray] | None,
    ) -> list[tuple[int, int]]:
        found = self.search(values, [radius] * len(values))
        ids, distances = found.entry_ids, found.distances
        if accept is not None and len(ids):
            kept = accept(ids)
            ids, distances = ids[kept], distances[kept]
        order = np.lexsort((ids, distances))
        ids, distances = ids[order], distances[order]
        first = np.unique(ids, return_index=True)[1] if len(ids) else ids
        best = zip(ids[first].tolist(), distances[first].tolist(), strict=True)
        return sorted(best, key=lambda item: (item[1], item[0]))

    def _probes(self, radii: np.ndarray) -> bool:
        """Whether probing each query beats one pass over every row for all of them."""
        if len(radii) >= SCAN_FROM_QUERIES:
            return False
        plans = [_plan(int(radius), self.chunks, self.key_bits) for radius in radii.tolist()]
        return all(
            plan is not None and self._count >= len(plan.masks) * self.small_scan for plan in plans
        )

    def _main_found(
        self, query_numbers: np.ndarray, rows: np.ndarray, distances: np.ndarray
    ) -> Found:
        """Hits on rows of the tables, as entries (removed rows dropped)."""
        ids = self._ids.take(rows)
        if self._dead_count:
            alive = ids != self._ids.ones
            query_numbers, ids, distances = query_numbers[alive], ids[alive], distances[alive]
        return Found(query_numbers, ids + self._id_base, distances)

    def _probe(self, number: int, query: np.ndarray, radius: int) -> Found:
        """One query through the bucket tables: its candidates, checked exactly.

        The first 128 bits reject almost every random candidate (they differ in 64 +- 6 bits),
        so only the few that pass read the rest of their row.
        """
        rows = self._candidates(query, radius)
        words = query.view(np.uint64)
        distances = np.zeros(len(rows), dtype=np.int64)
        for word in range(self.words):
            distances += np.bitwise_count(self._blocks.words_at(rows, word) ^ words[word])
            if word + 1 in (self._head_words, self.words):
                near = np.flatnonzero(distances <= radius)
                rows, distances = rows[near], distances[near]
        return self._main_found(np.full(len(rows), number), rows, distances)

    def _candidates(self, query: np.ndarray, radius: int) -> np.ndarray:
        """Rows that may lie within `radius` (the radius has a plan: `_probes`)."""
        plan = _plan(radius, self.chunks, self.key_bits)
        assert plan is not None
        keys = self._keys(query.view(">u2")[None, :], np.arange(self.chunks))[0].astype(np.int64)
        buckets = plan.bases + (keys.take(plan.chunks) ^ plan.masks)
        starts, ends = self._offsets.at(buckets), self._offsets.at(buckets + 1)
        found = _ranges(starts, ends)  # chunk 0's rows, then the other chunks' postings
        rows = int((ends[: plan.first] - starts[: plan.first]).sum())
        found[rows:] = self._postings.take(found[rows:])
        return found

    def _scan_side(self, queries: np.ndarray, radii: np.ndarray) -> Found:
        """The side list of recent additions, scanned whole."""
        if not len(self._side_ids):
            return Found.empty()
        if self._side_blocks is None:
            self._side_blocks = BlockedRows(self._side.view(np.uint64))
        hits = self._side_blocks.scan(queries.view(np.uint64), radii)
        return Found(hits.query_numbers, self._side_ids.take(hits.rows), hits.distances)

    def _side_blocks_bytes(self) -> int:
        return self._side_blocks.nbytes if self._side_blocks is not None else 0

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
        return hex_rows(texts, self.bits)

    def _clear_side(self) -> None:
        self._side = np.zeros((0, self.nbytes), dtype=np.uint8)
        self._side_ids = np.zeros(0, dtype=np.int64)
        self._side_blocks: BlockedRows | None = None  # made when first scanned

    def _main_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The live rows of the tables and their entry ids."""
        ids = self._ids.values()
        alive = np.flatnonzero(ids != self._ids.ones)
        words = self._blocks.rows().take(alive, axis=0)
        return words.view(np.uint8), ids[alive] + self._id_base

    def _merge(self) -> None:
        rows, ids = self._main_rows()
        self._set_main(np.concatenate([rows, self._side]), np.concatenate([ids, self._side_ids]))
        self._clear_side()

    def _set_main(self, rows: np.ndarray, ids: np.ndarray) -> None:
        count = self._count = len(ids)
        fields = rows.view(">u2")  # the rows as given: every chunk is read from them
        first = self._keys(fields, np.array([0])).ravel()
        order = self._sort(first)
        self._blocks = BlockedRows(rows.view(np.uint64), order)
        self._id_base = int(ids.min()) if count else 0
        spread = int(ids.max()) - self._id_base if count else 0
        if spread >= (1 << 64) - 1:
            raise ValueError("entry ids must span less than 2**64 - 1")
        # One more value than the spread needs: all ones marks a removed row.
        self._ids = pack(ids.take(order) - self._id_base, (spread + 1).bit_length())
        self._dead_count = 0
        width = max(count - 1, 1).bit_length()
        stride = aligned(count, width)  # each chunk starts on a whole word
        self._postings = packed_ints((self.chunks - 1) * stride, width)
        buckets = 1 << self.key_bits
        offsets = np.zeros((self.chunks, buckets + 1), dtype=np.int64)
        # The rows are in chunk 0's order, so its buckets are runs of rows: counts, no postings.
        offsets[0, 1:] = np.cumsum(np.bincount(first, minlength=buckets))

        def post(chunk: int) -> None:
            column = self._keys(fields, np.array([chunk])).ravel().take(order)
            start = (chunk - 1) * stride  # chunks write whole words of their own
            self._postings.put(start, self._sort(column))
            offsets[chunk] = start
            offsets[chunk, 1:] += np.cumsum(np.bincount(column, minlength=buckets))

        # Sorting releases the GIL: at ten million rows two threads save seconds at start.
        with ThreadPoolExecutor(BUILD_THREADS) as threads:
            list(threads.map(post, range(1, self.chunks)))
        self._offsets = BucketOffsets(offsets)

    def _keys(self, fields: np.ndarray, chunks: np.ndarray) -> np.ndarray:
        """The bucket keys (rows, len(chunks)) of `chunks`, from rows of 16-bit fields."""
        keys = fields[:, chunks].astype(np.uint32)
        if self.key_bits > CHUNK_BITS:  # the first field no chunk indexes lends each a bit
            lent = fields[:, self.chunks, None].astype(np.uint32) >> chunks.astype(np.uint32)
            keys |= (lent & np.uint32(1)) << np.uint32(CHUNK_BITS)
        return keys

    def _sort(self, keys: np.ndarray) -> np.ndarray:
        """The stable order of `keys`: numpy's radix sort on the low 16 bits, then the lent bit
        (a comparison sort of the whole keys measured several times slower at a million)."""
        order = np.argsort(keys.astype(np.uint16), kind="stable")
        if self.key_bits > CHUNK_BITS:
            high = (keys >> CHUNK_BITS).astype(bool).take(order)
            order = np.concatenate([order[~high], order[high]])
        return order

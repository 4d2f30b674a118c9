"""The compiled scan against a brute-force count, on both of its paths (vectorised, portable)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media import _hamming
from media.blocked_rows import BlockedRows

PATHS = [False, True] if _hamming.VECTORISED else [True]  # portable=...


def brute_force(rows: np.ndarray, queries: np.ndarray, radii: list[int]) -> set[tuple]:
    found = set()
    for number, (query, radius) in enumerate(zip(queries, radii, strict=True)):
        distances = np.bitwise_count(rows ^ query).sum(axis=1)
        found |= {(int(r), number, int(distances[r])) for r in np.flatnonzero(distances <= radius)}
    return found


def planted(rng: np.random.Generator, query: np.ndarray, distance: int) -> np.ndarray:
    """`query` with `distance` of its bits flipped."""
    bits = np.unpackbits(query.view(np.uint8))
    bits[rng.choice(len(bits), distance, replace=False)] ^= 1
    return np.packbits(bits).view(np.uint64)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    words=st.sampled_from([1, 2, 3, 4]),
    count=st.integers(0, 70),
    radii=st.lists(st.integers(0, 140), min_size=1, max_size=12),
    portable=st.sampled_from(PATHS),
)
def test_scan_finds_exactly_the_rows_within_each_querys_radius(
    seed: int, words: int, count: int, radii: list[int], portable: bool
) -> None:
    rng = np.random.default_rng(seed)
    radii = [min(radius, words * 64) for radius in radii]
    queries = rng.integers(0, 2**64, (len(radii), words), dtype=np.uint64)
    rows = rng.integers(0, 2**64, (count, words), dtype=np.uint64)
    for row in range(count):  # about half the rows near some query, at any distance
        if rng.random() < 0.5:
            number = rng.integers(len(radii))
            rows[row] = planted(rng, queries[number], int(rng.integers(0, words * 64 + 1)))
    hits = BlockedRows(rows).scan(queries, np.array(radii), portable=portable)
    columns = (hits.rows.tolist(), hits.query_numbers.tolist(), hits.distances.tolist())
    found = set(zip(*columns, strict=True))
    assert len(found) == len(hits.rows)
    assert found == brute_force(rows, queries, radii)


def planted_in_pairs(rng: np.random.Generator, query: np.ndarray, distance: int) -> np.ndarray:
    """`query` (4 words) with `distance` bits flipped, as many as can be in the same places in
    words 0 and 1 and in words 2 and 3: the vectorised scan's bound (bits differing in either
    word of a pair) is then as far below the distance as it gets."""
    row = query.copy()
    places = rng.permutation(64)
    for flipped in range(distance):
        word = (flipped % 2) + 2 * ((flipped // 2) // 64)
        row[word] ^= np.uint64(1) << np.uint64(places[(flipped // 2) % 64])
    return row


def planted_first(rng: np.random.Generator, query: np.ndarray, distance: int) -> np.ndarray:
    """`query` with `distance` bits flipped, first in words 0 and 1, each place once: the bound
    on words 0 and 1 then equals the distance (up to 128)."""
    bits = np.unpackbits(query.view(np.uint8))  # word w holds bits 64w to 64w + 63
    head, rest = rng.permutation(128), 128 + rng.permutation(128)
    bits[np.concatenate([head, rest])[:distance]] ^= 1
    return np.packbits(bits).view(np.uint64)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    count=st.integers(0, 120),
    radii=st.lists(st.sampled_from([0, 15, 31, 32, 47, 62, 71, 72, 100]), min_size=1, max_size=20),
    portable=st.sampled_from(PATHS),
)
def test_many_pdq_queries_sharing_radii_find_exactly_the_rows_within_each(
    seed: int, count: int, radii: list[int], portable: bool
) -> None:
    """An image's queries: several at each radius (runs the vectorised scan bounds together),
    with rows planted at, just past and well inside each radius, their differing bits spread
    over the words, stacked in the same places of a pair, or all in words 0 and 1."""
    rng = np.random.default_rng(seed)
    queries = rng.integers(0, 2**64, (len(radii), 4), dtype=np.uint64)
    rows = rng.integers(0, 2**64, (count, 4), dtype=np.uint64)
    for row in range(count):
        if rng.random() < 0.6:
            number = int(rng.integers(len(radii)))
            offset = int(rng.choice([-3, 0, 0, 1, 1, 2]))
            distance = min(max(radii[number] + offset, 0), 256)
            place = (planted, planted_in_pairs, planted_first)[int(rng.integers(3))]
            rows[row] = place(rng, queries[number], distance)
    hits = BlockedRows(rows).scan(queries, np.array(radii), portable=portable)
    columns = (hits.rows.tolist(), hits.query_numbers.tolist(), hits.distances.tolist())
    found = set(zip(*columns, strict=True))
    assert len(found) == len(hits.rows)
    assert found == brute_force(rows, queries, radii)


@pytest.mark.parametrize("portable", PATHS)
def test_a_pdq_hash_differing_only_in_its_first_128_bits_is_found_at_exactly_the_radius(
    portable: bool,
) -> None:
    rng = np.random.default_rng(4)
    query = rng.integers(0, 2**64, 4, dtype=np.uint64)
    rows = rng.integers(0, 2**64, (40, 4), dtype=np.uint64)
    rows[17] = query
    rows[17, 0] ^= np.uint64(2**31 - 1)  # 31 bits off, all in the head the quick check reads
    rows[33] = query
    rows[33, 1] ^= np.uint64(2**32 - 1)  # 32 bits off
    hits = BlockedRows(rows).scan(query[None, :], np.array([31]), portable=portable)
    assert (hits.rows.tolist(), hits.distances.tolist()) == ([17], [31])


@pytest.mark.parametrize("portable", PATHS)
def test_more_hits_than_the_first_buffer_holds_all_come_back(portable: bool) -> None:
    rng = np.random.default_rng(5)
    rows = rng.integers(0, 2**64, (3000, 4), dtype=np.uint64)
    queries = rng.integers(0, 2**64, (2, 4), dtype=np.uint64)
    hits = BlockedRows(rows).scan(queries, np.array([256, 0]), portable=portable)
    assert sorted(hits.rows.tolist()) == list(range(3000))
    assert set(hits.query_numbers.tolist()) == {0}


def test_rows_come_back_from_the_blocked_layout_unchanged() -> None:
    rng = np.random.default_rng(6)
    rows = rng.integers(0, 2**64, (37, 4), dtype=np.uint64)
    blocked = BlockedRows(rows)
    assert np.array_equal(blocked.rows(), rows)
    picked = np.array([0, 8, 36, 15])
    assert np.array_equal(blocked.words_at(picked, 2), rows[picked, 2])


def test_queries_of_the_wrong_width_or_count_are_refused() -> None:
    blocked = BlockedRows(np.zeros((5, 4), dtype=np.uint64))
    with pytest.raises(ValueError, match="queries must be"):
        blocked.scan(np.zeros((2, 1), dtype=np.uint64), np.array([3, 3]))
    with pytest.raises(ValueError, match="queries must be"):
        blocked.scan(np.zeros((2, 4), dtype=np.uint64), np.array([3]))
    with pytest.raises(ValueError, match="1 to 4 words"):
        _hamming.scan(b"", 0, 5, b"", b"", bytearray(8), bytearray(4), bytearray(4))

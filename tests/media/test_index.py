"""The index against a brute-force scan, on random hashes planted at chosen distances."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from media.index import HammingIndex, pack


def flip(hex_value: str, bits: int, rng: random.Random) -> str:
    width = len(hex_value) * 4
    value = int(hex_value, 16)
    for bit in rng.sample(range(width), bits):
        value ^= 1 << bit
    return f"{value:0{len(hex_value)}x}"


def brute_force(entries: list[tuple[int, str]], query: str, radius: int) -> list[tuple[int, int]]:
    best: dict[int, int] = {}
    for entry_id, value in entries:
        distance = (int(value, 16) ^ int(query, 16)).bit_count()
        if distance <= radius:
            best[entry_id] = min(distance, best.get(entry_id, distance))
    return sorted(best.items(), key=lambda item: (item[1], item[0]))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    bits=st.sampled_from([64, 256]),
    radius=st.integers(0, 80),
    planted=st.lists(st.integers(0, 100), min_size=1, max_size=12),
    in_side_list=st.integers(0, 12),
    probe_any_size=st.booleans(),
)
def test_query_equals_brute_force_with_planted_neighbours(
    seed: int, bits: int, radius: int, planted: list[int], in_side_list: int, probe_any_size: bool
) -> None:
    rng = random.Random(seed)
    digits = bits // 4
    query = f"{rng.getrandbits(bits):0{digits}x}"
    entries = [(i, f"{rng.getrandbits(bits):0{digits}x}") for i in range(300)]
    entries += [(1000 + i, flip(query, min(d, bits), rng)) for i, d in enumerate(planted)]
    rng.shuffle(entries)
    index = HammingIndex(bits, small_scan=0) if probe_any_size else HammingIndex(bits)
    split = len(entries) - min(in_side_list, len(entries))
    index.build(entries[:split])
    for entry_id, value in entries[split:]:
        index.add(entry_id, value)
    assert index.query(query, radius) == brute_force(entries, query, radius)


def test_a_hash_at_exactly_the_radius_is_found_and_one_beyond_is_not() -> None:
    rng = random.Random(7)
    query = f"{rng.getrandbits(256):064x}"
    entries = [(1, flip(query, 31, rng)), (2, flip(query, 32, rng))]
    entries += [(10 + i, f"{rng.getrandbits(256):064x}") for i in range(5000)]
    index = HammingIndex(256, small_scan=0)
    index.build(entries)
    assert index.query(query, 31) == [(1, 31)]


def test_remove_drops_every_hash_of_an_entry_and_add_after_merge_still_found() -> None:
    rng = random.Random(3)
    query = f"{rng.getrandbits(256):064x}"
    index = HammingIndex(256, small_scan=0)
    index.build([(1, flip(query, 5, rng)), (1, flip(query, 9, rng)), (2, flip(query, 12, rng))])
    index.add_many((100 + i, f"{rng.getrandbits(256):064x}") for i in range(5000))  # merges
    index.add(3, flip(query, 2, rng))
    assert index.query(query, 31) == [(3, 2), (1, 5), (2, 12)]
    assert index.remove(1) == 2
    assert index.query(query, 31) == [(3, 2), (2, 12)]
    assert len(index) == 5002


def test_query_many_keeps_the_best_distance_per_entry() -> None:
    rng = random.Random(5)
    a, b = f"{rng.getrandbits(64):016x}", f"{rng.getrandbits(64):016x}"
    index = HammingIndex(64, small_scan=0)
    index.build([(1, flip(a, 3, rng)), (2, flip(b, 1, rng))])
    assert index.query_many([a, b], 6) == [(2, 1), (1, 3)]


def test_hashes_added_as_columns_match_like_hashes_added_one_by_one() -> None:
    rng = random.Random(6)
    query = f"{rng.getrandbits(256):064x}"
    near = [flip(query, bits, rng) for bits in (4, 20, 40)]
    one_by_one, columns = HammingIndex(256), HammingIndex(256)
    for entry_id, value in enumerate(near, start=1):
        one_by_one.add(entry_id, value)
    columns.add_hex([1, 2, 3], near)
    assert columns.query(query, 31) == one_by_one.query(query, 31) == [(1, 4), (2, 20)]
    with pytest.raises(ValueError, match="256-bit"):
        columns.add_hex([4, 5], [query, query[:16]])
    assert len(columns) == 3


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    bits_and_chunks=st.sampled_from([(64, 1), (64, 2), (64, 4), (256, 1), (256, 5), (256, 16)]),
    radius=st.integers(0, 40),
    planted=st.lists(st.integers(0, 40), min_size=1, max_size=12),
    removed=st.sets(st.integers(0, 11), max_size=4),
    at_once=st.booleans(),
)
def test_every_chunk_count_equals_brute_force_after_removals(
    seed: int,
    bits_and_chunks: tuple[int, int],
    radius: int,
    planted: list[int],
    removed: set[int],
    at_once: bool,
) -> None:
    bits, chunks = bits_and_chunks
    rng = random.Random(seed)
    digits = bits // 4
    query = f"{rng.getrandbits(bits):0{digits}x}"
    entries = [(i, f"{rng.getrandbits(bits):0{digits}x}") for i in range(300)]
    entries += [(1000 + i % 6, flip(query, min(d, bits), rng)) for i, d in enumerate(planted)]
    index = HammingIndex(bits, chunks, small_scan=0)
    index.build(entries)
    if at_once:
        index.remove_many([1000 + entry_id for entry_id in removed] + [99_999])  # one unknown
    else:
        for entry_id in removed:
            index.remove(1000 + entry_id)
    kept = [(entry_id, value) for entry_id, value in entries if entry_id - 1000 not in removed]
    assert index.query(query, radius) == brute_force(kept, query, radius)


def test_ids_past_32_bits_and_far_apart_come_back_exactly() -> None:
    rng = random.Random(11)
    query = f"{rng.getrandbits(256):064x}"
    near = [
        (2**40 + 7, flip(query, 3, rng)),
        (-5, flip(query, 4, rng)),
        (2**62, flip(query, 6, rng)),
    ]
    entries = near + [(2**40 + i, f"{rng.getrandbits(256):064x}") for i in range(1000)]
    index = HammingIndex(256, small_scan=0)
    index.build(entries)
    assert index.query(query, 31) == [(2**40 + 7, 3), (-5, 4), (2**62, 6)]
    assert index.remove(2**62) == 1
    assert index.query(query, 31) == [(2**40 + 7, 3), (-5, 4)]


def test_postings_and_ids_take_only_the_bits_the_row_count_needs() -> None:
    rng = random.Random(13)
    index = HammingIndex(256, 12, small_scan=0)
    index.build((i, f"{rng.getrandbits(256):064x}") for i in range(1000))
    words = -(-1000 // 6)  # row numbers and id offsets fit 10 bits: six to a 64-bit word
    parts = dict(index.memory().per_hash)
    assert parts["postings"] == 11 * words * 8
    assert parts["ids and tombstones"] == words * 8
    assert parts["hashes"] == 1008 * 32  # in whole pairs of blocks of 8 rows, for the scan


@settings(max_examples=60, deadline=None)
@given(width=st.integers(1, 64), values=st.lists(st.integers(0, 2**64 - 1), max_size=200))
@example(width=64, values=[2**64 - 1, 2**63, 0, 1])
@example(width=21, values=[2**21 - 1, 0, 12345, 2**20])
def test_packed_ints_give_back_every_value(width: int, values: list[int]) -> None:
    array = np.array([v % (1 << width) for v in values], dtype=np.uint64)
    packed = pack(array, width)
    assert packed.values().view(np.uint64).tolist() == array.tolist()
    positions = np.arange(len(array))[::-1]
    assert packed.take(positions).view(np.uint64).tolist() == array[positions].tolist()


def test_a_removed_entry_stays_gone_after_additions_merge_the_tables() -> None:
    rng = random.Random(17)
    query = f"{rng.getrandbits(256):064x}"
    index = HammingIndex(256, small_scan=0)
    index.build([(1, flip(query, 4, rng)), (2, flip(query, 8, rng)), (1, flip(query, 20, rng))])
    assert index.remove(1) == 2
    index.add_many((100 + i, f"{rng.getrandbits(256):064x}") for i in range(5000))  # merges
    assert index.query(query, 31) == [(2, 8)]
    assert len(index) == 5001


def test_past_65536_rows_and_with_skewed_chunks_queries_equal_brute_force() -> None:
    """Row numbers and ids past 16 bits take the split layout; 66,000 hashes sharing their
    second chunk overflow the bucket table's 16-bit steps. Both must stay exact, removals too."""
    rng = random.Random(23)
    query = f"{rng.getrandbits(256):064x}"
    entries = [(i, f"{rng.getrandbits(256):064x}") for i in range(4000)]
    for i in range(66_000):  # the second chunk's field, and the spare field that lends it a bit
        value = f"{rng.getrandbits(256):064x}"
        entries.append(
            (10_000 + i, value[:4] + query[4:8] + value[8:48] + query[48:52] + value[52:])
        )
    entries += [(200_000 + i, flip(query, d, rng)) for i, d in enumerate([0, 5, 17, 31, 32, 40])]
    index = HammingIndex(256, 12, small_scan=0)
    index.build(entries)
    removed = {200_001, 10_000, 10_001}
    assert index.remove_many(removed) == 3
    alive = [(entry_id, value) for entry_id, value in entries if entry_id not in removed]
    for radius in (4, 31, 40):
        assert index.query(query, radius) == brute_force(alive, query, radius)
    # 29 bits from a shared hash late in its bucket, placed so only the second chunk finds it:
    # 3 bits in each chunk probed at radius 2, 2 in each probed at radius 1, none in the second.
    target = entries[4000 + 60_000][1]
    flips = [bit for chunk in (0, *range(2, 8)) for bit in range(16 * chunk, 16 * chunk + 3)]
    flips += [bit for chunk in range(8, 12) for bit in range(16 * chunk, 16 * chunk + 2)]
    hidden = f"{int(target, 16) ^ sum(1 << (255 - bit) for bit in flips):064x}"
    assert index.query(hidden, 31) == brute_force(alive, hidden, 31) == [(70_000, 29)]


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    bits=st.sampled_from([64, 256]),
    # An image's lookups share radii (31 and 62 for PDQ), which the compiled scan takes together.
    radii=st.lists(
        st.one_of(st.integers(0, 80), st.sampled_from([10, 31, 62])), min_size=1, max_size=16
    ),
    in_side_list=st.integers(0, 40),
    removed=st.sets(st.integers(0, 11), max_size=4),
    probe_any_size=st.booleans(),
)
def test_search_answers_each_query_at_its_own_radius_like_brute_force(
    seed: int,
    bits: int,
    radii: list[int],
    in_side_list: int,
    removed: set[int],
    probe_any_size: bool,
) -> None:
    rng = random.Random(seed)
    digits = bits // 4
    queries = [f"{rng.getrandbits(bits):0{digits}x}" for _ in radii]
    entries = [(i, f"{rng.getrandbits(bits):0{digits}x}") for i in range(500)]
    for i in range(24):  # two near hashes an entry, near any query
        near = flip(rng.choice(queries), rng.randint(0, min(90, bits)), rng)
        entries.append((1000 + i % 12, near))
    rng.shuffle(entries)
    index = HammingIndex(bits, small_scan=0) if probe_any_size else HammingIndex(bits)
    split = len(entries) - min(in_side_list, len(entries))
    index.build(entries[:split])
    index.add_many(entries[split:])
    index.remove_many(1000 + entry_id for entry_id in removed)
    kept = [(entry_id, value) for entry_id, value in entries if entry_id - 1000 not in removed]
    found = index.search(queries, radii)
    for number, (query, radius) in enumerate(zip(queries, radii, strict=True)):
        assert found.of_query(number) == brute_force(kept, query, radius)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    bits=st.sampled_from([64, 256]),
    count=st.integers(1, 5),
    planted=st.lists(st.integers(0, 256), max_size=8),
    in_side_list=st.integers(0, 12),
    queries=st.integers(1, 3),
)
def test_nearest_equals_brute_force_however_far_and_only_accepted_entries(
    seed: int, bits: int, count: int, planted: list[int], in_side_list: int, queries: int
) -> None:
    rng = random.Random(seed)
    digits = bits // 4
    asked = [f"{rng.getrandbits(bits):0{digits}x}" for _ in range(queries)]
    entries = [(i, f"{rng.getrandbits(bits):0{digits}x}") for i in range(200)]
    entries += [(1000 + i, flip(asked[0], min(d, bits), rng)) for i, d in enumerate(planted)]
    entries += [(i, f"{rng.getrandbits(bits):0{digits}x}") for i in range(0, 200, 7)]  # 2nd hash
    rng.shuffle(entries)
    index = HammingIndex(bits)
    split = len(entries) - min(in_side_list, len(entries))
    index.build(entries[:split])
    index.add_many(entries[split:])

    def odd(ids: np.ndarray) -> np.ndarray:
        return ids % 2 == 1

    best: dict[int, int] = {}
    for query in asked:
        for entry_id, distance in brute_force(entries, query, bits):
            best[entry_id] = min(distance, best.get(entry_id, distance))
    expected = sorted(best.items(), key=lambda item: (item[1], item[0]))
    assert index.nearest(asked, count) == expected[:count]
    accepted = [item for item in expected if item[0] % 2 == 1]
    assert index.nearest(asked, count, odd) == accepted[:count]


def test_nearest_of_an_empty_index_or_for_nothing_is_empty() -> None:
    index = HammingIndex(64)
    assert index.nearest(["0" * 16], 3) == []
    index.build([(1, "f" * 16)])
    assert index.nearest([], 3) == [] and index.nearest(["0" * 16], 0) == []
    assert index.nearest(["0" * 16], 3) == [(1, 64)]

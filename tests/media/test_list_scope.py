"""Which list each indexed entry is on (against a plain dict doing the same changes), and
loading an index in batches."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.hashes import IndexRows
from media.list_scope import EntryLists, IndexLoader, ListIndex

changes = st.lists(
    st.tuples(st.booleans(), st.lists(st.integers(0, 60), max_size=30), st.integers(1, 4)),
    max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(built=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 4)), max_size=60), steps=changes)
def test_entry_lists_agree_with_a_dict_through_additions_removals_and_merges(
    built: list[tuple[int, int]], steps: list[tuple[bool, list[int], int]]
) -> None:
    expected: dict[int, int] = {}
    for entry_id, list_id in built:
        expected.setdefault(entry_id, list_id)  # an entry's first row names its list
    ids, lists = zip(*built, strict=True) if built else ((), ())
    entries = EntryLists(ids, lists, merge_at=3)  # merges often
    for adding, entry_ids, list_id in steps:
        if adding:
            entries.add(entry_ids, [list_id] * len(entry_ids))
            for entry_id in entry_ids:
                expected.setdefault(entry_id, list_id)
        else:
            present = entries.remove(entry_ids)
            assert sorted(present) == sorted({e for e in entry_ids if e in expected})
            for entry_id in entry_ids:
                expected.pop(entry_id, None)
        assert len(entries) == len(expected)
        assert all(entries.get(e) == expected.get(e) for e in range(62))
        assert +entries.sizes == Counter(expected.values())


def test_an_index_loaded_in_batches_matches_like_one_built_from_columns() -> None:
    rng = random.Random(8)
    # Every third hash is one of its entry's variants: pHash's go to their own part.
    rows = [(i, 1 + i % 3, "pdq", f"{rng.getrandbits(256):064x}", i % 3 == 0) for i in range(50)]
    rows += [(i, 1 + i % 3, "phash", f"{rng.getrandbits(64):016x}", i % 3 == 0) for i in range(50)]
    loader = IndexLoader()
    for start in range(0, 50, 7):
        loader.add("pdq", rows[start : min(start + 7, 50)])
    loader.add("phash", rows[50:])
    loaded, built = loader.build(), ListIndex()
    built.build(IndexRows.of(rows))
    assert len(loaded) == len(built) == 50
    assert loaded.entry_lists.sizes == built.entry_lists.sizes
    assert len(loaded.index.indexes["phash_variant"]) == 17
    for entry_id, _, algorithm, digits, variant in rows:
        part = "phash_variant" if variant and algorithm == "phash" else algorithm
        index = loaded.index.indexes[part]
        assert index.query(digits, 0) == built.index.indexes[part].query(digits, 0)
        assert index.query(digits, 0) == [(entry_id, 0)]


def test_a_malformed_batch_is_refused_with_the_reason() -> None:
    loader = IndexLoader()
    with pytest.raises(ValueError, match="256-bit hashes"):
        loader.add("pdq", [(1, 1, "pdq", "ab" * 8, False)])
    with pytest.raises(ValueError, match="unknown hash algorithm"):
        loader.add("md5", [(1, 1, "md5", "ab" * 16, False)])
    with pytest.raises(ValueError, match="holds"):
        loader.add("pdq", [(1, 1, "phash", "ab" * 8, False)])
    assert loader.count == 0

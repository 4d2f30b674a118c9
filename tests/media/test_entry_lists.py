"""Which list each indexed entry is on, against a plain dict doing the same changes."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from media.list_scope import EntryLists

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

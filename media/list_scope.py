"""Which takedown lists a guild matches against, over one in-memory index of every list.

One index holds the hashes of every enabled entry of every list, so a hash shared by many
servers costs one lookup. Each entry remembers its list; a guild's scope is its own list plus
the lists it subscribes to (each with its action, "remove" or "flag"), its allowlist of
hashes moderators marked "Not a match", and the shared entries it stopped using. A withdrawn
entry leaves the index at once, so it stops matching for every subscriber together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.hashes import Hash, IndexRows
from media.hashing import FrameHashes, MediaHashes
from media.index import hex_rows
from media.matching import (
    ALGORITHM_OF,
    INDEX_BITS,
    Match,
    MatchPolicy,
    TakedownIndex,
    Tier,
    index_part,
    match_media,
)

# An index's rows by part (`media.matching.index_part`): (entry ids, list ids, hash rows), as
# `IndexLoader` holds them.
Columns = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
ALLOWLIST_RADIUS = 8  # an upload this close to a "Not a match" hash is that same picture


@dataclass(frozen=True, slots=True)
class ListScope:
    """What one guild matches against: list id -> action ("remove" or "flag"), its allowlist,
    and the shared lists' entries it stopped using (a flood hold's "Stop using this entry")."""

    lists: Mapping[int, str]
    allowed: tuple[Hash, ...] = ()
    ignored: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class ListMatch:
    match: Match
    list_id: int
    action: str  # the subscription's action; a guild's own list is "remove"

    @property
    def removes(self) -> bool:
        return self.match.tier is Tier.TAKEDOWN and self.action == "remove"


class EntryLists:
    """Which list each entry is on, and how many entries each list has.

    Why arrays: ten million entries in a dict of ints took about 1 GB, more than the index
    itself. Here they are two sorted int64 columns (16 bytes an entry), with a small dict
    of recent additions merged in when it grows, as the index does with its side list.
    """

    def __init__(
        self, entry_ids: Sequence[int] = (), list_ids: Sequence[int] = (), *, merge_at: int = 4096
    ) -> None:
        """`merge_at`: recent additions are merged in past this many (or a 16th of the rest)."""
        self.merge_at = merge_at
        ids = np.asarray(entry_ids, dtype=np.int64)
        lists = np.asarray(list_ids, dtype=np.int64)
        # One row per entry (an entry has a row per hash): np.unique keeps the first.
        self._ids, first = np.unique(ids, return_index=True)
        self._lists = lists[first]
        self._recent: dict[int, int] = {}
        self._removed = 0  # rows of the arrays marked -1
        values, counts = np.unique(self._lists, return_counts=True)
        self.sizes: Counter[int] = Counter(dict(zip(values.tolist(), counts.tolist(), strict=True)))

    def __len__(self) -> int:
        return len(self._ids) - self._removed + len(self._recent)

    def get(self, entry_id: int) -> int | None:
        """The list of `entry_id`, None when it is not indexed."""
        recent = self._recent.get(entry_id)
        if recent is not None:
            return recent
        at = int(np.searchsorted(self._ids, entry_id))
        if at < len(self._ids) and self._ids[at] == entry_id and self._lists[at] >= 0:
            return int(self._lists[at])
        return None

    def lists_of(self, entry_ids: np.ndarray) -> np.ndarray:
        """The list of each of `entry_ids` (-1 where it is not indexed), at once."""
        lists = np.full(len(entry_ids), -1, dtype=np.int64)
        if len(self._ids):
            at = np.searchsorted(self._ids, entry_ids).clip(max=len(self._ids) - 1)
            found = self._ids[at] == entry_ids
            lists[found] = self._lists[at[found]]
        for number, entry_id in enumerate(entry_ids.tolist()):
            recent = self._recent.get(entry_id)
            if recent is not None:
                lists[number] = recent
        return lists

    def add(self, entry_ids: Sequence[int], list_ids: Sequence[int]) -> None:
        """Add entries (one already here keeps its list)."""
        ids, first = np.unique(np.asarray(entry_ids, dtype=np.int64), return_index=True)
        lists = np.asarray(list_ids, dtype=np.int64)[first]
        if len(self._ids):
            at = np.searchsorted(self._ids, ids).clip(max=len(self._ids) - 1)
            known = (self._ids[at] == ids) & (self._lists[at] >= 0)
            ids, lists = ids[~known], lists[~known]
        for entry_id, list_id in zip(ids.tolist(), lists.tolist(), strict=True):
            if entry_id not in self._recent:
                self._recent[entry_id] = list_id
                self.sizes[list_id] += 1
        if len(self._recent) > max(self.merge_at, len(self._ids) // 16):
            self._merge()

    def remove(self, entry_ids: Iterable[int]) -> list[int]:
        """Remove entries; return those that were here."""
        present = []
        for entry_id in entry_ids:
            list_id = self._recent.pop(entry_id, None)
            if list_id is None:
                list_id = self.get(entry_id)
                if list_id is None:
                    continue
                self._lists[np.searchsorted(self._ids, entry_id)] = -1
                self._removed += 1
            self.sizes[list_id] -= 1
            present.append(entry_id)
        return present

    def nbytes(self) -> int:
        return self._ids.nbytes + self._lists.nbytes

    def _merge(self) -> None:
        alive = self._lists >= 0
        ids = np.concatenate([self._ids[alive], np.fromiter(self._recent, np.int64)])
        lists = np.concatenate([self._lists[alive], np.fromiter(self._recent.values(), np.int64)])
        order = np.argsort(ids, kind="stable")
        self._ids, self._lists = ids[order], lists[order]
        self._recent.clear()
        self._removed = 0


class IndexLoader:
    """A takedown index as it arrives from the database, a batch of rows at a time.

    Why batches turned to arrays at once: ten million rows kept as Python strings and ints
    until the end took gigabytes; as arrays they are the index's own size.
    """

    def __init__(self) -> None:
        self._ids: dict[str, list[np.ndarray]] = {name: [] for name in INDEX_BITS}
        self._lists: dict[str, list[np.ndarray]] = {name: [] for name in INDEX_BITS}
        self._rows: dict[str, list[np.ndarray]] = {name: [] for name in INDEX_BITS}
        self.count = 0

    def add(self, algorithm: str, batch: Sequence[Sequence]) -> None:
        """(entry_id, list_id, algorithm, hex, is_variant) rows, all of `algorithm`; an unknown
        algorithm or a malformed hash raises ValueError."""
        own, variant = index_part(algorithm, False), index_part(algorithm, True)
        if not batch:
            return
        ids, lists, algorithms, digits, variants = zip(*batch, strict=True)
        if set(algorithms) != {algorithm}:
            raise ValueError(f"a batch of {algorithm} hashes holds {sorted(set(algorithms))}")
        columns = (
            np.array(ids, dtype=np.int64),
            np.array(lists, dtype=np.int64),
            hex_rows(digits, INDEX_BITS[own]),
        )
        if own == variant:
            self._append(own, *columns)
        else:
            chosen = np.array(variants, dtype=bool)
            self._append(own, *(column[~chosen] for column in columns))
            self._append(variant, *(column[chosen] for column in columns))
        self.count += len(batch)

    def _append(self, part: str, ids: np.ndarray, lists: np.ndarray, rows: np.ndarray) -> None:
        self._ids[part].append(ids)
        self._lists[part].append(lists)
        self._rows[part].append(rows)

    @classmethod
    def from_arrays(cls, columns: Columns) -> IndexLoader:
        """A loader holding these columns: index part -> (entry ids, list ids, hash rows)."""
        loader = cls()
        for part, (ids, lists, rows) in columns.items():
            loader._append(part, ids, lists, rows)
            loader.count += len(ids)
        return loader

    def arrays(self) -> Columns:
        """Every row added, as index part -> (entry ids, list ids, hash rows), one array each
        (the batches are joined once, in place, so building afterwards copies nothing more)."""
        columns = {}
        for part, bits in INDEX_BITS.items():
            joined = (
                _joined(self._ids[part], np.int64),
                _joined(self._lists[part], np.int64),
                _joined(self._rows[part], np.uint8, bits // 8),
            )
            self._ids[part], self._lists[part], self._rows[part] = ([column] for column in joined)
            columns[part] = joined
        return columns

    def build(self) -> ListIndex:
        """The index of every row added (the loader lets go of its arrays as it builds)."""
        loaded = ListIndex()
        ids, lists = [], []
        columns = self.arrays()
        for parts in (self._ids, self._lists, self._rows):
            parts.clear()
        for part in INDEX_BITS:
            entry_ids, list_ids, rows = columns.pop(part)
            ids.append(entry_ids)
            lists.append(list_ids)
            loaded.index.indexes[part].build_rows(entry_ids, rows)
        loaded.entry_lists = EntryLists(np.concatenate(ids), np.concatenate(lists))
        return loaded


def _joined(parts: list[np.ndarray], dtype: type, width: int | None = None) -> np.ndarray:
    if len(parts) == 1:
        return parts[0]  # joined already: no copy
    if parts:
        return np.concatenate(parts)
    return np.zeros((0, width) if width else 0, dtype=dtype)


@dataclass
class ListIndex:
    """The takedown index plus the list each entry belongs to."""

    index: TakedownIndex = field(default_factory=TakedownIndex)
    entry_lists: EntryLists = field(default_factory=EntryLists)

    def build(self, rows: IndexRows) -> None:
        """Replace everything with these rows."""
        self.index = TakedownIndex()
        self.index.build_hex(rows.entry_ids, rows.algorithms, rows.hexes, rows.variants)
        self.entry_lists = EntryLists(rows.entry_ids, rows.list_ids)

    def add(
        self, entry_id: int, list_id: int, hashes: Iterable[Hash], variants: Iterable[Hash] = ()
    ) -> None:
        """Add an entry's own hashes and its variants' (an entry added twice keeps both sets)."""
        self.add_many(
            IndexRows.of(
                (entry_id, list_id, h.algorithm, h.hex, variant)
                for variant, group in ((False, hashes), (True, variants))
                for h in group
            )
        )

    def add_many(self, rows: IndexRows) -> None:
        """Add the hashes of many entries at once."""
        self.entry_lists.add(rows.entry_ids, rows.list_ids)
        self.index.add_hex(rows.entry_ids, rows.algorithms, rows.hexes, rows.variants)

    def remove_many(self, entry_ids: Iterable[int]) -> None:
        """Remove entries (unknown ones are skipped), in one pass over the index."""
        present = self.entry_lists.remove(entry_ids)
        if present:
            self.index.remove_many(present)

    def __len__(self) -> int:
        return len(self.entry_lists)

    def has_any(self, scope: ListScope) -> bool:
        """Whether the scope has any entry at all: no entries, nothing to download."""
        return any(self.entry_lists.sizes[list_id] > 0 for list_id in scope.lists)

    def match(self, media: MediaHashes, policy: MatchPolicy, scope: ListScope) -> list[ListMatch]:
        """Matches of an upload within the guild's scope, minus its allowlist; best first."""
        if scope.allowed:
            media = _without_allowed(media, scope.allowed)
        found = []
        for match in match_media(media, self.index, policy):
            list_id = self.entry_lists.get(match.entry_id)
            if (
                list_id is not None
                and list_id in scope.lists
                and match.entry_id not in scope.ignored
            ):
                found.append(ListMatch(match, list_id, scope.lists[list_id]))
        return sorted(found, key=lambda m: (not m.removes, m.match.tier != Tier.TAKEDOWN))


@dataclass(frozen=True, slots=True)
class Near:
    """An entry near an upload, however far: for explaining a match or a miss."""

    entry_id: int
    list_id: int
    algorithm: str
    distance: int


def nearest_entries(
    index: ListIndex, media: MediaHashes, scope: ListScope, count: int
) -> tuple[list[Near], bool]:
    """The `count` nearest entries of the scope per algorithm, over every frame (and its
    mirror image) the upload has; and whether moderators allowlisted part of it (those frames
    are left out, as matching leaves them out)."""
    kept = _without_allowed(media, scope.allowed) if scope.allowed else media
    allowlisted = len(kept.frames) < len(media.frames)
    frames = [*kept.frames, *kept.extra]
    asked: dict[str, list[Hash]] = {
        "pdq": [value for frame in frames for value in frame.pdq_and_mirror()],
        "phash": [frame.phash for frame in frames],
    }
    lists = np.array(sorted(scope.lists), dtype=np.int64)

    def in_scope(ids: np.ndarray) -> np.ndarray:
        return np.isin(index.entry_lists.lists_of(ids), lists)

    # (algorithm, entry) -> distance: an entry's pHash is the nearer of its own and variants'.
    nearest: dict[tuple[str, int], int] = {}
    for part, algorithm in ALGORITHM_OF.items():
        if algorithm not in asked:
            continue  # the quarters' rows: "why" names the whole picture's nearest hashes
        for entry_id, distance in index.index.indexes[part].nearest(
            asked[algorithm], count, in_scope
        ):
            key = (algorithm, entry_id)
            nearest[key] = min(distance, nearest.get(key, distance))
    found = []
    for algorithm in asked:
        ranked = sorted((d, entry_id) for (a, entry_id), d in nearest.items() if a == algorithm)
        for distance, entry_id in ranked[:count]:
            list_id = index.entry_lists.get(entry_id)
            if list_id is not None:
                found.append(Near(entry_id, list_id, algorithm, distance))
    return found, allowlisted


def _is_allowed(frame: FrameHashes, allowed: tuple[Hash, ...]) -> bool:
    return (
        any(
            frame.pdq.distance(value) <= ALLOWLIST_RADIUS
            for value in allowed
            if value.algorithm == "pdq"
        )
        or frame.phash in allowed
    )


def _without_allowed(media: MediaHashes, allowed: tuple[Hash, ...]) -> MediaHashes:
    """Drop every frame moderators already said is not a match (and, then, its extras)."""
    frames = tuple(f for f in media.frames if not _is_allowed(f, allowed))
    if len(frames) == len(media.frames):
        return media
    extra = media.extra if frames else ()
    return MediaHashes(media.outcome, frames, media.kind, media.format, media.reason, extra)

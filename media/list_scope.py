"""Which takedown lists a guild matches against, over one in-memory index of every list.

One index holds the hashes of every enabled entry of every list, so a hash shared by many
servers costs one lookup. Each entry remembers its list; a guild's scope is its own list plus
the lists it subscribes to (each with its action, "remove" or "flag"), and its allowlist of
hashes moderators marked "Not a match". A withdrawn entry leaves the index at once, so it stops
matching for every subscriber together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.hashes import Hash, IndexRows
from media.hashing import FrameHashes, MediaHashes
from media.matching import Match, MatchPolicy, TakedownIndex, Tier, match_media

ALLOWLIST_RADIUS = 8  # an upload this close to a "Not a match" hash is that same picture


@dataclass(frozen=True, slots=True)
class ListScope:
    """What one guild matches against: list id -> action ("remove" or "flag"), and its allowlist."""

    lists: Mapping[int, str]
    allowed: tuple[Hash, ...] = ()


@dataclass(frozen=True, slots=True)
class ListMatch:
    match: Match
    list_id: int
    action: str  # the subscription's action; a guild's own list is "remove"

    @property
    def removes(self) -> bool:
        return self.match.tier is Tier.TAKEDOWN and self.action == "remove"


@dataclass
class ListIndex:
    """The takedown index plus the list each entry belongs to."""

    index: TakedownIndex = field(default_factory=TakedownIndex)
    entry_lists: dict[int, int] = field(default_factory=dict)
    list_sizes: Counter[int] = field(default_factory=Counter)

    def build(self, rows: IndexRows) -> None:
        """Replace everything with these rows."""
        self.index = TakedownIndex()
        self.index.build_hex(rows.entry_ids, rows.algorithms, rows.hexes)
        self.entry_lists = dict(zip(rows.entry_ids, rows.list_ids, strict=True))
        self.list_sizes = Counter(self.entry_lists.values())

    def add(self, entry_id: int, list_id: int, hashes: Iterable[Hash]) -> None:
        """Add an entry's hashes (an entry added twice keeps both sets)."""
        self.add_many(IndexRows.of((entry_id, list_id, h.algorithm, h.hex) for h in hashes))

    def add_many(self, rows: IndexRows) -> None:
        """Add the hashes of many entries at once."""
        lists = dict(zip(rows.entry_ids, rows.list_ids, strict=True))
        for entry_id in lists.keys() & self.entry_lists.keys():
            del lists[entry_id]  # already here: its list is counted once
        self.entry_lists.update(lists)
        self.list_sizes.update(lists.values())
        self.index.add_hex(rows.entry_ids, rows.algorithms, rows.hexes)

    def remove_many(self, entry_ids: Iterable[int]) -> None:
        """Remove entries (unknown ones are skipped), in one pass over the index."""
        present = [e for e in entry_ids if e in self.entry_lists]
        for entry_id in present:
            self.list_sizes[self.entry_lists.pop(entry_id)] -= 1
        if present:
            self.index.remove_many(present)

    def __len__(self) -> int:
        return len(self.entry_lists)

    def has_any(self, scope: ListScope) -> bool:
        """Whether the scope has any entry at all: no entries, nothing to download."""
        return any(self.list_sizes[list_id] > 0 for list_id in scope.lists)

    def match(self, media: MediaHashes, policy: MatchPolicy, scope: ListScope) -> list[ListMatch]:
        """Matches of an upload within the guild's scope, minus its allowlist; best first."""
        if scope.allowed:
            media = _without_allowed(media, scope.allowed)
        found = []
        for match in match_media(media, self.index, policy):
            list_id = self.entry_lists.get(match.entry_id)
            if list_id is not None and list_id in scope.lists:
                found.append(ListMatch(match, list_id, scope.lists[list_id]))
        return sorted(found, key=lambda m: (not m.removes, m.match.tier != Tier.TAKEDOWN))


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

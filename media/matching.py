"""Two match tiers per algorithm, as plain data the scanner and takedown cogs call.

Why two tiers: within the confident radius a match is near-certain and the bot removes the
message (PDQ 31 is Hasher-Matcher-Actioner's confident threshold); between it and the wider
review radius a match is likely but not certain, so the moderators get an alert with a
**Take down** button instead. Both are per-guild settings; these are the defaults.

Why the query side does more than look up one hash: a mirrored or rotated re-upload is matched
through PDQ's dihedral variants, and a picture with caption bars or borders added is matched
through the extra hashes `media.reupload` computes, and a screenshot, story, collage or turned
copy through the upright views `media.views` finds (both in `MediaHashes.extra`).

Why pHash needs PDQ to agree: 64 bits are few, and an entry keeps the pHash of dozens of its
crops, so pHash at 8 alone would remove unrelated pictures at several in a million, and at its
review radius alert on one upload in ten thousand pairs. Beyond `MatchPolicy.phash_alone` a
pHash match counts fully only when PDQ of the same picture found the same entry within its
review radius; without that it alerts up to the confident radius, and beyond it is dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress

from core.hashes import Algorithm, Hash
from media.hashing import MediaHashes
from media.index import HammingIndex


class Tier(enum.StrEnum):
    TAKEDOWN = "takedown"  # within the confident radius: remove
    REVIEW = "review"  # within the review radius: alert the moderators


@dataclass(frozen=True, slots=True)
class Radii:
    confident: int
    review: int

    def __post_init__(self) -> None:
        if not 0 <= self.confident <= self.review:
            raise ValueError("the review radius must be at least the confident radius")

    def tier(self, distance: int) -> Tier | None:
        if distance <= self.confident:
            return Tier.TAKEDOWN
        if distance <= self.review:
            return Tier.REVIEW
        return None


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """Defaults measured on bench/catch_rate.py; see its output for the false-match rates."""

    # On 300 pictures x 24 edits with entry crops/rotations: PDQ had no false pair up to 70,
    # pHash none up to 9, 4 at 10 (2e-6, acceptable for an alert a moderator reviews).
    pdq: Radii = field(default_factory=lambda: Radii(confident=31, review=62))
    phash: Radii = field(default_factory=lambda: Radii(confident=8, review=10))
    mirrors: bool = True  # also match mirrored and rotated copies (PDQ dihedral variants)
    # A pHash match removes on its own only this near. Beyond it, up to the confident radius,
    # it removes when PDQ of the same picture also lies within its review radius of the same
    # entry and alerts otherwise; between the radii it alerts only when PDQ agrees. 64 bits are
    # few: on real photos pHash at 8 matched 2-4 unrelated pairs in a million (PDQ none), more
    # with an entry's crops, at 10 ten times as many, and none of them had PDQ within 62. A
    # pHash sets half its 64 bits, so distances are even and 6 is the next radius down
    # (bench/RESULTS.md, "Crops and the pHash rule, issue 15").
    phash_alone: int = 6

    def radii(self, algorithm: Algorithm) -> Radii:
        return self.pdq if algorithm == "pdq" else self.phash


@dataclass(frozen=True, slots=True)
class Match:
    entry_id: int
    algorithm: Algorithm
    distance: int
    tier: Tier
    frame: int  # which sampled frame of the upload matched


INDEX_BITS: dict[Algorithm, int] = {"pdq": 256, "phash": 64}


class TakedownIndex:
    """One HammingIndex per algorithm; an entry may carry many hashes (frames, crops)."""

    def __init__(self) -> None:
        self.indexes = {name: HammingIndex(bits) for name, bits in INDEX_BITS.items()}

    def build(self, entries: Iterable[tuple[int, Hash]]) -> None:
        grouped: dict[str, list[tuple[int, Hash]]] = {"pdq": [], "phash": []}
        for entry_id, value in entries:
            grouped[value.algorithm].append((entry_id, value))
        for algorithm, rows in grouped.items():
            self.indexes[algorithm].build(rows)

    def add(self, entry_id: int, hashes: Iterable[Hash]) -> None:
        self.add_many((entry_id, value) for value in hashes)

    def add_many(self, entries: Iterable[tuple[int, Hash]]) -> None:
        """Add (entry_id, hash) rows in one step per algorithm (an import adds 100,000)."""
        grouped: dict[str, list[tuple[int, Hash]]] = {"pdq": [], "phash": []}
        for entry_id, value in entries:
            grouped[value.algorithm].append((entry_id, value))
        for algorithm, rows in grouped.items():
            if rows:
                self.indexes[algorithm].add_many(rows)

    def add_hex(
        self, entry_ids: Sequence[int], algorithms: Sequence[str], hexes: Sequence[str]
    ) -> None:
        """Add many hashes given as columns (id, algorithm, hex digits), one step per algorithm."""
        for algorithm, ids, digits in self._by_algorithm(entry_ids, algorithms, hexes):
            self.indexes[algorithm].add_hex(ids, digits)

    def build_hex(
        self, entry_ids: Sequence[int], algorithms: Sequence[str], hexes: Sequence[str]
    ) -> None:
        """Replace everything with hashes given as columns (id, algorithm, hex digits)."""
        given = {
            algorithm: (ids, digits)
            for algorithm, ids, digits in self._by_algorithm(entry_ids, algorithms, hexes)
        }
        for algorithm, index in self.indexes.items():
            index.build_hex(*given.get(algorithm, ((), ())))

    def _by_algorithm(
        self, entry_ids: Sequence[int], algorithms: Sequence[str], hexes: Sequence[str]
    ) -> Iterator[tuple[str, list[int], list[str]]]:
        for algorithm in set(algorithms):
            if algorithm not in self.indexes:
                raise ValueError(f"unknown hash algorithm {algorithm!r}")
            chosen = [a == algorithm for a in algorithms]
            yield algorithm, list(compress(entry_ids, chosen)), list(compress(hexes, chosen))

    def remove(self, entry_id: int) -> None:
        self.remove_many([entry_id])

    def remove_many(self, entry_ids: Collection[int]) -> None:
        for index in self.indexes.values():
            index.remove_many(entry_ids)

    def __len__(self) -> int:
        return sum(len(index) for index in self.indexes.values())


@dataclass(frozen=True, slots=True)
class _Query:
    """One lookup an image asks for: which frame, which hash, how wide."""

    frame: int
    value: Hash
    radius: int
    review_only: bool = False  # a match through this lookup alerts, never removes


def image_queries(media: MediaHashes, policy: MatchPolicy) -> list[_Query]:
    """Every lookup of an upload: each matchable frame (and trimmed view) at both radii.

    Near-uniform frames (PDQ quality under 50) ask nothing. With `mirrors`, the picture and its
    mirror image are looked up at the review radius (which holds the confident one), and the
    six turned copies at the confident radius only: the review radius on turned copies found no
    more true matches in bench/catch_rate.py, and would cost false ones. The mirror image's
    pHash (`FrameHashes.phash_mirror`) is looked up too, and only alerts.
    """
    frames = [*enumerate(media.frames), *((-1, extra) for extra in media.extra)]
    queries = []
    for number, frame in frames:
        if not frame.matchable:
            continue
        wide = frame.pdq_and_mirror() if policy.mirrors else (frame.pdq,)
        queries += [_Query(number, value, policy.pdq.review) for value in wide]
        if policy.mirrors:
            turned = (value for value in frame.pdq_variants if value not in wide)
            queries += [_Query(number, value, policy.pdq.confident) for value in turned]
        # A geometric view (an extra picture hashed without its turns, `media.views`) is one
        # of several guesses at where the picture lies; 64-bit pHash at the confident radius
        # matched an unrelated picture's view in bench/reshare_views.py, so through a view
        # pHash only alerts. PDQ keeps both tiers.
        guess = number == -1 and not frame.pdq_variants
        queries.append(_Query(number, frame.phash, policy.phash.review, review_only=guess))
        if policy.mirrors and frame.phash_mirror is not None:
            # The mirror's pHash finds a mirrored and cropped copy through the entry's crops
            # (pHash only). It doubles pHash's chances of a chance match, whose rate alone
            # is already near the budget, so it only alerts: the local features decide.
            queries.append(_Query(number, frame.phash_mirror, policy.phash.review, True))
    return queries


def match_media(media: MediaHashes, index: TakedownIndex, policy: MatchPolicy) -> list[Match]:
    """The best match per entry across every frame of an upload: takedowns first, nearest first.

    All of an upload's lookups go to the index together, one search per algorithm, so a large
    index reads its rows once for the whole upload rather than once a lookup.
    """
    queries = image_queries(media, policy)
    best: dict[int, tuple[tuple[int, float, int], int, Match]] = {}
    # (entry, frame) pairs PDQ found within its radii: a far pHash match needs one to remove.
    pdq_agrees: set[tuple[int, int]] = set()
    for algorithm in ("pdq", "phash"):  # PDQ first: pHash's tier reads what it found
        asked = [(order, q) for order, q in enumerate(queries) if q.value.algorithm == algorithm]
        if not asked:
            continue
        found = index.indexes[algorithm].search(
            [q.value for _, q in asked], [q.radius for _, q in asked]
        )
        radii = policy.radii(algorithm)
        for number, entry_id, distance in zip(
            found.query_numbers.tolist(),
            found.entry_ids.tolist(),
            found.distances.tolist(),
            strict=True,
        ):
            order, query = asked[number]
            tier = radii.tier(distance)
            if tier is None:
                continue
            if algorithm == "pdq":
                pdq_agrees.add((entry_id, query.frame))
            elif distance > policy.phash_alone and (entry_id, query.frame) not in pdq_agrees:
                if tier is Tier.REVIEW:
                    continue  # beyond the confident radius, pHash alone does not even alert
                tier = Tier.REVIEW
            if query.review_only:
                tier = Tier.REVIEW
            match = Match(entry_id, algorithm, distance, tier, query.frame)
            # Ties go to the earliest lookup: the first frame, the picture before its turns.
            key = (_rank(match), order)
            current = best.get(entry_id)
            if current is None or key < current[:2]:
                best[entry_id] = (*key, match)
    return sorted((match for _, _, match in best.values()), key=_rank)


def _rank(match: Match) -> tuple[int, float, int]:
    bits = 256 if match.algorithm == "pdq" else 64
    return (0 if match.tier is Tier.TAKEDOWN else 1, match.distance / bits, match.entry_id)

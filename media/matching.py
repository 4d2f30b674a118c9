"""Two match tiers per algorithm, as plain data the scanner and takedown cogs call.

Why two tiers: within the confident radius a match is near-certain and the bot removes the
message (PDQ 31 is Hasher-Matcher-Actioner's confident threshold); between it and the wider
review radius a match is likely but not certain, so the moderators get an alert with a
**Take down** button instead. Both are per-guild settings; these are the defaults.

Why the query side does more than look up one hash: a mirrored or rotated re-upload is matched
through PDQ's dihedral variants, and a picture with caption bars or borders added is matched
through the extra hashes `media.reupload` computes, and a screenshot, story, collage or turned
copy through the upright views `media.views` finds (both in `MediaHashes.extra`).

Why a quarter's match only alerts: the PDQ of each quarter of a still image ("pdq_region",
`media.hashing.region_hashes`) finds a copy partly covered by stickers, emoji or a caption,
which moves the whole picture's hashes out of reach; but a quarter is not the picture (a
deepfake's untouched background matches its source photo's), so it is looked up at the PDQ
confident radius, in rows of its own, and a match through it is a review-tier match that the
local-feature confirmation (`services.confirmation`) may make a takedown, never one alone.

Why pHash needs PDQ to agree: 64 bits are few, and an entry keeps the pHash of dozens of its
crops, so pHash at 8 alone would remove unrelated pictures at several in a million, and at its
review radius alert on one upload in ten thousand pairs. Beyond `MatchPolicy.phash_alone` a
pHash match counts fully only when PDQ of the same picture found the same entry within its
review radius; without that it alerts up to the confident radius, and beyond it is dropped.
Within `phash_alone` only the entry's own pHash removes alone: one of its variants' (about 30
crops an entry, so about 30 times the chance of an unrelated picture near one) alerts unless
PDQ agrees, and the local-feature confirmation (`services.confirmation`) may promote it. The
index keeps variant pHashes apart from own ones (`index_part`) so a match knows which it found.
The mirror image's pHash (`FrameHashes.phash_mirror`) never removes alone, even through an
entry's own pHash: with PDQ agreeing it counts as the picture's own.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress

from core.hashes import HEX_DIGITS, Algorithm, Hash
from core.vocabulary import FoundThrough
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
    # A pHash match removes on its own only this near, and only through the entry's own pHash
    # (a variant's alerts: an entry has dozens). Beyond it, up to the confident radius,
    # it removes when PDQ of the same picture also lies within its review radius of the same
    # entry and alerts otherwise; between the radii it alerts only when PDQ agrees. 64 bits are
    # few: on real photos pHash at 8 matched 2-4 unrelated pairs in a million (PDQ none), more
    # with an entry's crops, at 10 ten times as many, and none of them had PDQ within 62. A
    # pHash sets half its 64 bits, so distances are even and 6 is the next radius down
    # (bench/RESULTS.md, "Crops and the pHash rule, issue 15").
    phash_alone: int = 6

    def radii(self, algorithm: Algorithm) -> Radii:
        return self.phash if algorithm == "phash" else self.pdq


@dataclass(frozen=True, slots=True)
class Match:
    entry_id: int
    algorithm: Algorithm
    distance: int
    tier: Tier
    frame: int  # which sampled frame of the upload matched
    variant: bool = False  # through one of the entry's variants' pHash, not its own picture's
    region: bool = False  # through a quarter of the picture ("pdq_region"), not the whole

    @property
    def found_through(self) -> FoundThrough | None:
        """What found it, when not the whole upload against the entry's own picture."""
        if self.region:
            return FoundThrough.QUARTER
        if self.variant:
            return FoundThrough.CROP
        return FoundThrough.INSIDE if self.frame == -1 else None


# The index's parts and their widths: each algorithm's hashes, an entry's pHash variants apart
# (`index_part`), and the PDQ of an entry's quarters, which only an upload's quarters ask.
INDEX_BITS: dict[str, int] = {"pdq": 256, "phash": 64, "phash_variant": 64, "pdq_region": 256}
ALGORITHM_OF: dict[str, Algorithm] = {
    "pdq": "pdq",
    "phash": "phash",
    "phash_variant": "phash",
    "pdq_region": "pdq_region",
}


def index_part(algorithm: str, variant: bool) -> str:
    """Which part of the index holds a hash: PDQ in one (a variant's PDQ removes as the
    entry's own does), pHash in two, the entry's own and its variants' (`match_media`), and
    the quarters' PDQ in its own."""
    if algorithm not in HEX_DIGITS:
        raise ValueError(f"unknown hash algorithm {algorithm!r}")
    return "phash_variant" if variant and algorithm == "phash" else algorithm


class TakedownIndex:
    """One HammingIndex per part (`index_part`); an entry may carry many hashes (frames, crops)."""

    def __init__(self) -> None:
        self.indexes = {name: HammingIndex(bits) for name, bits in INDEX_BITS.items()}

    def build(self, entries: Iterable[tuple[int, Hash]]) -> None:
        """Replace everything with these (entry_id, own hash) rows."""
        grouped = self._by_part((entry_id, value, False) for entry_id, value in entries)
        for part, rows in grouped.items():
            self.indexes[part].build(rows)

    def add(self, entry_id: int, hashes: Iterable[Hash], variants: Iterable[Hash] = ()) -> None:
        """Add an entry's own hashes and its variants' (`media.entries.EntryHashes`)."""
        self._add_rows(
            [*((entry_id, h, False) for h in hashes), *((entry_id, h, True) for h in variants)]
        )

    def add_many(self, entries: Iterable[tuple[int, Hash]]) -> None:
        """Add (entry_id, own hash) rows in one step per part (an import adds 100,000)."""
        self._add_rows((entry_id, value, False) for entry_id, value in entries)

    def _add_rows(self, rows: Iterable[tuple[int, Hash, bool]]) -> None:
        for part, grouped in self._by_part(rows).items():
            if grouped:
                self.indexes[part].add_many(grouped)

    def _by_part(self, rows: Iterable[tuple[int, Hash, bool]]) -> dict[str, list[tuple[int, Hash]]]:
        grouped: dict[str, list[tuple[int, Hash]]] = {part: [] for part in INDEX_BITS}
        for entry_id, value, variant in rows:
            grouped[index_part(value.algorithm, variant)].append((entry_id, value))
        return grouped

    def add_hex(
        self,
        entry_ids: Sequence[int],
        algorithms: Sequence[str],
        hexes: Sequence[str],
        variants: Sequence[bool],
    ) -> None:
        """Add many hashes given as columns (id, algorithm, hex digits, is a variant), one
        step per part."""
        for part, ids, digits in self._hex_by_part(entry_ids, algorithms, hexes, variants):
            self.indexes[part].add_hex(ids, digits)

    def build_hex(
        self,
        entry_ids: Sequence[int],
        algorithms: Sequence[str],
        hexes: Sequence[str],
        variants: Sequence[bool],
    ) -> None:
        """Replace everything with hashes given as columns (id, algorithm, hex digits, is a
        variant)."""
        given = {
            part: (ids, digits)
            for part, ids, digits in self._hex_by_part(entry_ids, algorithms, hexes, variants)
        }
        for part, index in self.indexes.items():
            index.build_hex(*given.get(part, ((), ())))

    def _hex_by_part(
        self,
        entry_ids: Sequence[int],
        algorithms: Sequence[str],
        hexes: Sequence[str],
        variants: Sequence[bool],
    ) -> Iterator[tuple[str, list[int], list[str]]]:
        parts = [index_part(a, bool(v)) for a, v in zip(algorithms, variants, strict=True)]
        for part in set(parts):
            chosen = [p == part for p in parts]
            yield part, list(compress(entry_ids, chosen)), list(compress(hexes, chosen))

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
    # A pHash match through this lookup never removes alone, however near: only with PDQ.
    needs_pdq: bool = False


def image_queries(media: MediaHashes, policy: MatchPolicy) -> list[_Query]:
    """Every lookup of an upload: each matchable frame (and trimmed view) at both radii.

    Near-uniform frames (PDQ quality under 50) ask nothing. With `mirrors`, the picture and its
    mirror image are looked up at the review radius (which holds the confident one), and the
    six turned copies at the confident radius only: the review radius on turned copies found no
    more true matches in bench/catch_rate.py, and would cost false ones. The mirror image's
    pHash (`FrameHashes.phash_mirror`) is looked up too, and removes only when PDQ agrees.
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
            # is already near the budget, so it never removes alone, not even through the
            # entry's own pHash: alone it alerts and the local features decide. With PDQ of
            # the same picture (its mirror image's, as a rule) within the review radius of the
            # same entry it counts as the picture's own pHash does, which removes a mirrored
            # copy shrunk, blurred or cropped enough to move both hashes past the confident
            # radius (bench/RESULTS.md, "Combinations: the mirror's pHash with PDQ, small
            # uploads enlarged").
            queries.append(_Query(number, frame.phash_mirror, policy.phash.review, needs_pdq=True))
    return queries + region_queries(media, policy)


def region_queries(media: MediaHashes, policy: MatchPolicy) -> list[_Query]:
    """The upload's quarters, each at the PDQ confident radius, review only (a quarter is not
    the picture: its match goes to the confirmation). The first frame's, the only one with
    quarters."""
    return [_Query(0, value, policy.pdq.confident, review_only=True) for value in media.regions]


def match_media(media: MediaHashes, index: TakedownIndex, policy: MatchPolicy) -> list[Match]:
    """The best match per entry across every frame of an upload: takedowns first, nearest first.

    All of an upload's lookups go to the index together, one search per algorithm, so a large
    index reads its rows once for the whole upload rather than once a lookup.
    """
    queries = image_queries(media, policy)
    best: dict[int, tuple[tuple[int, float, int], int, Match]] = {}
    # (entry, frame) pairs PDQ found within its radii: a far pHash match needs one to remove.
    pdq_agrees: set[tuple[int, int]] = set()
    for part in INDEX_BITS:  # PDQ first: pHash's tier reads what it found
        algorithm, variant = ALGORITHM_OF[part], part == "phash_variant"
        asked = [(order, q) for order, q in enumerate(queries) if q.value.algorithm == algorithm]
        if not asked:
            continue
        found = index.indexes[part].search(
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
            # Alone, an entry's own pHash removes within `phash_alone`; a variant's never
            # does, nor a lookup that needs PDQ (the mirror image's).
            alone = -1 if variant or query.needs_pdq else policy.phash_alone
            if algorithm == "pdq":
                pdq_agrees.add((entry_id, query.frame))
            elif (
                algorithm == "phash"
                and distance > alone
                and (entry_id, query.frame) not in pdq_agrees
            ):
                if tier is Tier.REVIEW:
                    continue  # beyond the confident radius, pHash alone does not even alert
                tier = Tier.REVIEW
            if query.review_only:
                tier = Tier.REVIEW
            # A quarter's match is a PDQ match for whoever reads the alert (of part of the picture).
            named = "pdq" if algorithm == "pdq_region" else algorithm
            match = Match(
                entry_id, named, distance, tier, query.frame, variant, part == "pdq_region"
            )
            # Ties go to the earliest lookup: the first frame, the picture before its turns.
            key = (_rank(match), order)
            current = best.get(entry_id)
            if current is None or key < current[:2]:
                best[entry_id] = (*key, match)
    return sorted((match for _, _, match in best.values()), key=_rank)


def _rank(match: Match) -> tuple[int, float, int]:
    bits = 256 if match.algorithm == "pdq" else 64
    return (0 if match.tier is Tier.TAKEDOWN else 1, match.distance / bits, match.entry_id)

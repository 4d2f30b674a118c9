"""Hashes as plain, typed values: the one vocabulary `media/` and `db/` share.

A hash is validated where it enters (`parse_hash`, or `Hash` itself) and is a plain value after
that, so the database layer can store and return hashes without importing any image code. This
module uses the standard library only: importing it costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from core.phrases import Phrase, PhrasedError, phrase

# "pdq_region" is PDQ of a part of a picture (`media.hashing.region_hashes`): stored and looked
# up apart from whole pictures' PDQ, because a match through one only alerts.
Algorithm = Literal["pdq", "phash", "pdq_region"]
HEX_DIGITS: dict[str, int] = {"pdq": 64, "phash": 16, "pdq_region": 64}
# What a moderator or a list file may give: a picture's hashes. "pdq_region" (a quarter of a
# picture, `media.hashing.region_hashes`) is made by the bot alone, from a picture it hashed.
GIVEN_ALGORITHMS = ("pdq", "phash")
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class Hash:
    """One perceptual hash: its algorithm and its bits as lowercase hex."""

    algorithm: Algorithm
    hex: str

    def __post_init__(self) -> None:
        expected = HEX_DIGITS.get(self.algorithm)
        if expected is None:
            raise PhrasedError(unknown_algorithm(self.algorithm))
        if len(self.hex) != expected or not _HEX.fullmatch(self.hex):
            raise PhrasedError(
                phrase(
                    "a {algorithm} hash is {expected} hex digits (0-9, a-f), not {digits}",
                    algorithm=self.algorithm,
                    expected=expected,
                    digits=repr(self.hex[:80]),
                )
            )

    @property
    def bits(self) -> int:
        return len(self.hex) * 4

    def distance(self, other: Hash) -> int:
        """Hamming distance; only defined between hashes of one algorithm."""
        if other.algorithm != self.algorithm:
            raise ValueError(f"can't compare a {self.algorithm} hash with a {other.algorithm} one")
        return (int(self.hex, 16) ^ int(other.hex, 16)).bit_count()

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def parse_hash(text: str) -> Hash:
    """Parse `pdq:<64 hex>`, `phash:<16 hex>`, `pdq <64 hex>` or bare 64 hex (PDQ).

    Raises ValueError (a `PhrasedError`) with a reason a moderator can act on.
    """
    cleaned = text.strip()
    if not cleaned:
        raise PhrasedError(phrase("the hash is empty"))
    for separator in (":", " ", "\t"):
        if separator in cleaned:
            algorithm, _, digits = cleaned.partition(separator)
            algorithm = algorithm.strip().lower()
            digits = digits.strip().lower()
            break
    else:
        algorithm, digits = "pdq", cleaned.lower()
    if algorithm not in GIVEN_ALGORITHMS:
        raise PhrasedError(unknown_algorithm(algorithm))
    return Hash(algorithm, digits)  # type: ignore[arg-type]


def unknown_algorithm(algorithm: str) -> Phrase:
    return phrase(
        "unknown hash algorithm {algorithm}; use pdq or phash", algorithm=repr(algorithm[:20])
    )


@dataclass(frozen=True, slots=True)
class IndexRows:
    """Hashes for the index as columns: row i is hash (algorithms[i], hexes[i]) of entry
    entry_ids[i] on list list_ids[i], one of the entry's variants (a crop or rotation of its
    picture) when variants[i], else its own. A bulk import brings 100,000 at once, too many for
    an object each; the digits come from the database, checked when stored and again in bulk."""

    entry_ids: Sequence[int] = ()
    list_ids: Sequence[int] = ()
    algorithms: Sequence[str] = ()
    hexes: Sequence[str] = ()
    variants: Sequence[bool] = ()

    @classmethod
    def of(cls, rows: Iterable[tuple[int, int, str, str, bool]]) -> IndexRows:
        """From (entry_id, list_id, algorithm, hex, is_variant) rows."""
        columns = tuple(zip(*rows, strict=True))
        return cls(*columns) if columns else cls()

    def __len__(self) -> int:
        return len(self.entry_ids)

    def hashes(self) -> Iterator[tuple[int, int, Hash]]:
        """(entry_id, list_id, hash) row by row, for a few rows (a test, a check)."""
        for entry_id, list_id, algorithm, digits in zip(
            self.entry_ids, self.list_ids, self.algorithms, self.hexes, strict=True
        ):
            yield entry_id, list_id, Hash(algorithm, digits)


# One picture as the recent-hash store keeps it (`db.recent_media`): its PDQ hash in each of the
# eight rotations and flips (the picture itself first, pdqhash's order), then its pHash. Fixed
# size, so a run of them reads straight into arrays of bits.
RECORD_TURNS = 8
RECORD_BYTES = RECORD_TURNS * 32 + 8
# Kept beside the records: a still image's quarters ("pdq_region" hashes, at most four), a PDQ
# hash's 32 bytes each, and the mirror image's pHash of each record with turns, 8 bytes each.
REGION_BYTES = 32
MAX_REGIONS = 4
MIRROR_BYTES = 8


def pack_record(pdq_turns: Sequence[Hash], phash: Hash) -> bytes:
    """The bits of one picture's hashes, `RECORD_BYTES` long; nothing but hashes fits in it."""
    if len(pdq_turns) != RECORD_TURNS or any(h.algorithm != "pdq" for h in pdq_turns):
        raise ValueError(f"a record holds {RECORD_TURNS} PDQ hashes, the picture's own first")
    if phash.algorithm != "phash":
        raise ValueError("a record ends with a pHash")
    return b"".join(bytes.fromhex(h.hex) for h in (*pdq_turns, phash))


def unpack_record(record: bytes) -> tuple[tuple[Hash, ...], Hash]:
    """The hashes `pack_record` packed: the eight PDQ turns and the pHash."""
    if len(record) != RECORD_BYTES:
        raise ValueError(f"a record is {RECORD_BYTES} bytes, not {len(record)}")
    turns = tuple(Hash("pdq", record[at : at + 32].hex()) for at in range(0, 256, 32))
    return turns, Hash("phash", record[256:].hex())

"""A file's hashes as the recent-hash store keeps them, and finding a new entry among them.

Why records of every turn: live matching looks an upload's picture and its mirror up at the
review radius, and its six other turns at the confident radius (`media.matching.image_queries`).
PDQ's turns can't be worked out from the hash's bits afterwards, so a stored picture keeps all
eight (`core.hashes.pack_record`, 264 bytes a picture); a sweep then asks of the stored pictures
what live matching would have asked of them, and nothing the file isn't.

Why a still image's quarters and the mirror images' pHash too: live matching finds a copy
under stickers or a caption through the PDQ of its quarters ("pdq_region",
`media.matching.region_queries`), and a mirrored and cropped copy through its mirror image's
pHash (`FrameHashes.phash_mirror`), review matches the local features may confirm; a stored
file keeps them (`regions_of`, 32 bytes a quarter; `mirrors_of`, 8 bytes a picture with turns),
so an entry added later finds such a copy posted before it, for the moderators to review (a
sweep has no picture to confirm it with).

Why a filter and then the live matcher: a new entry is compared with every stored picture of the
server (a million at most in a week of a busy server) by numpy popcounts over packed uint64
columns, at the widest radius any lookup uses. The few pictures that pass are turned back into
`MediaHashes` and matched by the live index itself, so tiers, mirrors, the allowlist and the
server's scope decide exactly as they did when the picture was posted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from core.hashes import (
    MIRROR_BYTES,
    RECORD_BYTES,
    RECORD_TURNS,
    REGION_BYTES,
    Hash,
    pack_record,
    unpack_record,
)
from media.hashing import FrameHashes, MediaHashes
from media.matching import MatchPolicy
from media.outcomes import Outcome

_WORDS = RECORD_BYTES // 8  # 32 words of PDQ turns (8 x 4), then 1 of pHash
_PDQ_WORDS = RECORD_TURNS * 4


def records_of(media: MediaHashes) -> tuple[int, bytes] | None:
    """(how many frames, the records) of a hashed file's matchable pictures, frames first;
    None when it has none (a failed file, or near-uniform pictures that never match)."""
    frames = [frame for frame in media.frames if frame.matchable]
    if not frames:
        return None
    extra = [frame for frame in media.extra if frame.matchable]
    return len(frames), b"".join(_record(frame) for frame in (*frames, *extra))


def regions_of(media: MediaHashes) -> bytes:
    """The bits of a still image's quarters' PDQ, as the store keeps them beside its records."""
    return b"".join(bytes.fromhex(value.hex) for value in media.regions)


def mirrors_of(media: MediaHashes) -> bytes:
    """The mirror image's pHash of each recorded picture that has its turns, in record order
    (`records_of`); none unless every such picture has one, so they line up when read back."""
    mirrors = [
        frame.phash_mirror
        for frame in (*media.frames, *media.extra)
        if frame.matchable and len(frame.pdq_variants) == RECORD_TURNS - 1
    ]
    if None in mirrors:
        return b""
    return b"".join(bytes.fromhex(mirror.hex) for mirror in mirrors if mirror is not None)


def _record(frame: FrameHashes) -> bytes:
    # A picture hashed without its turns (a view, `media.views`) repeats its own PDQ: those
    # slots are looked up at the confident radius, which the picture itself answers at review,
    # and `media_of` reads a record of one repeated PDQ back as a picture without turns.
    turns = frame.pdq_all() if len(frame.pdq_variants) == RECORD_TURNS - 1 else ()
    return pack_record(turns or (frame.pdq,) * RECORD_TURNS, frame.phash)


def media_of(
    frames: int, records: bytes, regions: bytes = b"", mirrors: bytes = b""
) -> MediaHashes:
    """The stored file as the live matcher takes it (its pictures are matchable by storage)."""
    pictures = []
    for at in range(0, len(records), RECORD_BYTES):
        turns, phash = unpack_record(records[at : at + RECORD_BYTES])
        variants = turns[1:] if len(set(turns)) > 1 else ()
        pictures.append(FrameHashes(turns[0], 100, phash, variants))
    turned = [n for n, picture in enumerate(pictures) if picture.pdq_variants]
    if len(mirrors) == MIRROR_BYTES * len(turned):  # else they can't be placed: left out
        for n, at in zip(turned, range(0, len(mirrors), MIRROR_BYTES), strict=True):
            mirror = Hash("phash", mirrors[at : at + MIRROR_BYTES].hex())
            pictures[n] = replace(pictures[n], phash_mirror=mirror)
    quarters = tuple(
        Hash("pdq_region", regions[at : at + REGION_BYTES].hex())
        for at in range(0, len(regions), REGION_BYTES)
    )
    return MediaHashes(
        Outcome.HASHED,
        frames=tuple(pictures[:frames]),
        extra=tuple(pictures[frames:]),
        regions=quarters,
    )


def _words(hexes: Sequence[str]) -> np.ndarray:
    """Hashes as big-endian-read uint64 words, as the records hold them."""
    return np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes), dtype=np.uint64)


def near_rows(
    records: Sequence[bytes],
    entry_hashes: Sequence[Hash],
    policy: MatchPolicy,
    regions: Sequence[bytes] = (),
    mirrors: Sequence[bytes] = (),
) -> list[int]:
    """Which stored files (positions in `records`, and in `regions` and `mirrors` when given:
    each file's quarters and mirror images' pHash) have a picture within the widest radius any
    live lookup would use of one of `entry_hashes`: candidates for the live matcher.

    PDQ: every turn at the review radius (the picture and its mirror are looked up there, the
    other turns only at the confident one, which the live matcher then applies). pHash, and a
    mirror image's: the review radius. A quarter: an entry's quarters at the PDQ confident
    radius, as live.
    """
    if not records or not entry_hashes:
        return []
    found = set(_near_quarters(regions, entry_hashes, policy))
    found.update(_near_mirrors(mirrors, entry_hashes, policy))
    owner = np.repeat(
        np.arange(len(records)), [len(r) // RECORD_BYTES for r in records]
    )  # the file of each picture
    words = np.frombuffer(b"".join(records), dtype=np.uint64).reshape(-1, _WORDS)
    near = np.zeros(len(words), dtype=bool)
    pdq = [h.hex for h in entry_hashes if h.algorithm == "pdq"]
    phash = [h.hex for h in entry_hashes if h.algorithm == "phash"]
    if pdq:
        # Contiguous: XOR over a strided view of the records is several times slower.
        turns = np.ascontiguousarray(words[:, :_PDQ_WORDS]).reshape(-1, RECORD_TURNS, 4)
        for query in _words(pdq).reshape(-1, 4):
            distances = np.bitwise_count(turns ^ query).sum(axis=2, dtype=np.uint16)
            near |= distances.min(axis=1) <= policy.pdq.review
    if phash:
        column = words[:, _PDQ_WORDS]
        for query in _words(phash):
            near |= np.bitwise_count(column ^ query) <= policy.phash.review
    return sorted(found | set(owner[near].tolist()))


def _near_quarters(
    regions: Sequence[bytes], entry_hashes: Sequence[Hash], policy: MatchPolicy
) -> list[int]:
    """Which files' quarters lie within the PDQ confident radius of an entry's quarter."""
    wanted = [h.hex for h in entry_hashes if h.algorithm == "pdq_region"]
    return _near_files(regions, REGION_BYTES, wanted, policy.pdq.confident)


def _near_mirrors(
    mirrors: Sequence[bytes], entry_hashes: Sequence[Hash], policy: MatchPolicy
) -> list[int]:
    """Which files' mirror images' pHash lie within the pHash review radius of an entry's."""
    wanted = [h.hex for h in entry_hashes if h.algorithm == "phash"]
    return _near_files(mirrors, MIRROR_BYTES, wanted, policy.phash.review)


def _near_files(blobs: Sequence[bytes], size: int, wanted: list[str], radius: int) -> list[int]:
    """Which files (positions in `blobs`, each a run of `size`-byte hashes) have a hash within
    `radius` of one of `wanted`."""
    if not wanted or not any(blobs):
        return []
    owner = np.repeat(np.arange(len(blobs)), [len(blob) // size for blob in blobs])
    hashes = np.frombuffer(b"".join(blobs), dtype=np.uint64).reshape(-1, size // 8)
    near = np.zeros(len(hashes), dtype=bool)
    for query in _words(wanted).reshape(-1, size // 8):
        near |= np.bitwise_count(hashes ^ query).sum(axis=1, dtype=np.uint16) <= radius
    return owner[near].tolist()

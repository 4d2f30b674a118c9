"""What a takedown entry keeps of a picture: the one rule, used by `/takedown add`, the menu,
reports (hashes kept at report time) and **Take down**.

An entry keeps the PDQ and pHash of every frame that can match, and apart from them, as
variants, the hashes of a still image's central crops, small rotations and edge crops, and the
PDQ of its quarters ("pdq_region": a match through one only alerts)
(`media.hashing.entry_hashes_for_image` computes them), so edited copies match too.
Near-uniform frames are left out: their hashes would match any other flat picture.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.hashes import Hash
from media.hashing import FrameHashes, MediaHashes


@dataclass(frozen=True, slots=True)
class EntryHashes:
    """The hashes an entry stores: its own, and its variants (none of which is also its own)."""

    own: tuple[Hash, ...] = ()
    variants: tuple[Hash, ...] = ()

    @property
    def usable(self) -> bool:
        """An entry needs at least one picture that can match."""
        return bool(self.own)


def frame_hashes(frames: Iterable[FrameHashes]) -> tuple[Hash, ...]:
    """PDQ and pHash of every frame that can match, in order, each once."""
    found: dict[Hash, None] = {}
    for frame in frames:
        if frame.matchable:
            found[frame.pdq] = None
            found[frame.phash] = None
    return tuple(found)


def entry_hashes(media: Sequence[MediaHashes]) -> EntryHashes:
    """What an entry (or a report, for a later **Take down**) keeps of these files."""
    own = tuple(dict.fromkeys(h for m in media for h in frame_hashes(m.frames)))
    kept = set(own)
    variants = dict.fromkeys(
        h
        for m in media
        for h in (*frame_hashes(m.extra), *m.edge_phash, *m.regions)
        if h not in kept
    )
    return EntryHashes(own, tuple(variants))

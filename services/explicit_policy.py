"""Explicit-image review's rules, without Discord: where and whose pictures are scored, which
scores flag, and which pictures a server already cleared as "Not explicit".

The classifier (`media.classifier`) only ever flags: a score is a reason for a moderator to look.
Age-restricted (NSFW) channels are never scored, whatever the settings: explicit pictures are
allowed there, and a flag would only be noise. A picture the moderators cleared stays cleared
for copies close to it; a copy must be close on every one of its frames, so a cleared clip with
an explicit scene spliced in is flagged again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.hashes import Hash
from db.guild_settings import GuildSettings
from media.hashing import MediaHashes

# How close (PDQ bits of 256) a new picture's frame must be to a cleared one to count as the
# same picture: tighter than the takedown list's confident radius (31), since a cleared picture
# with an explicit edit pasted onto part of it must not pass as the one the moderators saw.
CLEARED_PDQ_RADIUS = 20


@dataclass(frozen=True, slots=True)
class Where:
    """Where a message was posted and by whom, as explicit-image review needs to know it."""

    channel_id: int
    parent_id: int | None  # a thread's channel
    age_restricted: bool  # the channel (or a thread's channel) is marked NSFW
    role_ids: frozenset[int]  # the author's roles


def reviews(settings: GuildSettings, where: Where) -> bool:
    """Whether this server scores pictures posted here by this author."""
    if not settings.explicit_review or where.age_restricted:
        return False
    skipped = settings.explicit_skipped_channel_ids
    if where.channel_id in skipped or (where.parent_id is not None and where.parent_id in skipped):
        return False
    return not (where.role_ids & settings.explicit_skipped_role_ids)


def flags(settings: GuildSettings, hashes: MediaHashes) -> bool:
    """Whether a scored file reaches the server's threshold."""
    score = hashes.explicit_score
    return hashes.hashed and score is not None and score >= settings.explicit_threshold


def frame_pdq(hashes: MediaHashes) -> tuple[tuple[Hash, ...], ...]:
    """Each frame of a file that can match (near-uniform frames can't), as its PDQ and its
    mirror's: a mirrored copy of a cleared picture is the same innocent picture."""
    return tuple(frame.pdq_and_mirror() for frame in hashes.frames if frame.matchable)


def is_cleared(frames: Sequence[Sequence[Hash]], cleared: Iterable[Hash]) -> bool:
    """Whether every frame (in any of its forms) is within CLEARED_PDQ_RADIUS of a picture the
    server cleared.

    A file with no frame that can match is never taken as cleared: nothing shows it is the
    picture the moderators saw.
    """
    known = list(cleared)
    if not frames or not known:
        return False
    return all(
        any(form.distance(c) <= CLEARED_PDQ_RADIUS for form in forms for c in known)
        for forms in frames
    )

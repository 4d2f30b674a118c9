"""The second stage of matching: local features confirm a weak match to a takedown (issue 15).

A screenshot, story, rotation, photo of a screen or collage of a listed picture often matches
its entry only at the review tier, and a copy under stickers or captions matches through one of
its quarters, which is never more than the review tier (`media.matching`): the hashes say
"likely", and the moderators get an alert.
When that entry was made from a still image it has a signature (`db.entry_signatures`, made by
`media.features`), and a worker counts the upload's keypoints that agree with it on one
geometric transform. Enough of them (`media.features.CONFIRM_INLIERS`, chosen with a margin
over the best false pairs of bench/catch_rate.py) make the match a takedown; otherwise it
stays what the hashes said.

What it costs: nothing for an upload whose best match already removes, or that matches no
entry that could be promoted (a subscription set to "flag" only alerts either way); otherwise
one read of the candidates' signatures and one worker job (the upload decoded again, its
bytes kept by the scanner or downloaded again for a cached result). A failure anywhere (the
bytes gone, a busy pool, an unreadable upload) leaves the hashes' verdict: never a removal on a
confirmation that did not happen.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from db.engine import Database
from db.entry_signatures import signatures_of
from media.features import CONFIRM_INLIERS
from media.list_scope import ListMatch
from media.matching import Tier
from media.pipeline import HashedMedia, MediaPipeline
from media.worker_protocol import MAX_CONFIRM_SIGNATURES
from media.workers import PoolBusy

log = logging.getLogger(__name__)


def _promotable(found: ListMatch) -> bool:
    """A review-tier match that would remove if it were confident."""
    return found.match.tier is Tier.REVIEW and found.action == "remove"


def best_first(matches: list[ListMatch]) -> list[ListMatch]:
    """Removals first, then takedown-tier flags, then the rest (stable)."""
    return sorted(matches, key=lambda m: (not m.removes, m.match.tier is not Tier.TAKEDOWN))


async def confirmed(
    database: Database, pipeline: MediaPipeline, media: HashedMedia, matches: list[ListMatch]
) -> list[ListMatch]:
    """`matches` (best first, as `ListIndex.match` gives them) with each weak match that local
    features confirm made a takedown, best first again."""
    if not matches or matches[0].removes or media.hashes.kind != "image":
        return matches
    candidates = [m.match.entry_id for m in matches if _promotable(m)][:MAX_CONFIRM_SIGNATURES]
    if not candidates:
        return matches
    async with database.connect() as conn:
        signatures = await signatures_of(conn, candidates)
    if not signatures:
        return matches
    data = await pipeline.bytes_of(media)
    if data is None:
        log.warning("Could not download %s again to confirm a weak match", media.ref.key)
        return matches
    try:
        counts = await pipeline.pool.confirm(data, list(signatures.values()))
    except PoolBusy as exc:
        log.warning("No room to confirm a weak match of %s: %s", media.ref.key, exc.reason)
        return matches
    if counts is None:
        return matches
    agreeing = {
        entry_id: count
        for entry_id, count in zip(signatures, counts, strict=True)
        if count >= CONFIRM_INLIERS
    }
    if not agreeing:
        return matches
    log.info("Local features confirmed %s (entry: inliers) for %s", agreeing, media.ref.key)
    return best_first(
        [
            replace(m, match=replace(m.match, tier=Tier.TAKEDOWN))
            if _promotable(m) and m.match.entry_id in agreeing
            else m
            for m in matches
        ]
    )

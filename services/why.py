"""Why a message's media was (or wasn't) removed: the verdict scanning would reach today.

For `/takedown why`: each file of a message, hashed again through the same pipeline as
scanning, is matched with the same functions (`LiveTakedownIndex.match`, the server's radii
and scope), so the verdict is the scanner's; beside it, the nearest entries however far, so a
miss can be understood ("the nearest entry is at PDQ 70, beyond the review radius 62"). A
weak match is confirmed by local features as scanning confirms it (`confirm`, the scanner's
`services.confirmation.confirmed`), so a re-share removed that way is explained as such.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from db.guild_settings import GuildSettings
from media.list_scope import ListMatch, ListScope, Near
from media.matching import MatchPolicy, Radii, Tier
from media.pipeline import HashedMedia
from services.live_index import LiveTakedownIndex

NEAREST = 3  # entries shown per algorithm
# Weak matches confirmed by local features: (the file, its matches best first) -> the matches.
Confirm = Callable[[HashedMedia, list[ListMatch]], Awaitable[list[ListMatch]]]


class Verdict(enum.StrEnum):
    REMOVED = "removed"  # a confident match the server removes
    CONFIRMED = "confirmed"  # a weak match local features confirmed: removed
    REVIEW_TIER = "review_tier"  # within the review radius only: alerted
    FLAG_LIST = "flag_list"  # a confident match on a list subscribed with "flag": alerted
    FLAG_SERVER = "flag_server"  # a confident match, but the server only alerts
    ALLOWLISTED = "allowlisted"  # moderators marked the picture "Not a match"
    NO_MATCH = "no_match"  # nothing within the review radius
    EMPTY = "empty"  # the server's lists have no entries at all
    UNCHECKED = "unchecked"  # the file could not be hashed: the server's policy for that kind


@dataclass(frozen=True, slots=True)
class Explained:
    media: HashedMedia
    verdict: Verdict
    match: ListMatch | None = None
    nearest: tuple[Near, ...] = ()
    partly_allowlisted: bool = False


def match_policy(settings: GuildSettings) -> MatchPolicy:
    """The server's radii, as scanning uses them."""
    return MatchPolicy(
        pdq=Radii(settings.pdq_confident_radius, settings.pdq_review_radius),
        phash=Radii(settings.phash_confident_radius, settings.phash_review_radius),
    )


async def explain(
    index: LiveTakedownIndex,
    settings: GuildSettings,
    scope: ListScope,
    media: HashedMedia,
    confirm: Confirm | None = None,
) -> Explained:
    """What scanning would do with one file today, and the nearest entries."""
    if not media.hashes.hashed:
        return Explained(media, Verdict.UNCHECKED)
    if not index.has_any(scope):
        return Explained(media, Verdict.EMPTY)
    policy = match_policy(settings)
    matches = await index.match(media.hashes, policy, scope)
    weak = {m.match.entry_id for m in matches if m.match.tier is Tier.REVIEW}
    if confirm is not None:
        matches = await confirm(media, matches)
    nearest, allowlisted = await index.nearest(media.hashes, scope, NEAREST)
    nearest = tuple(sorted(nearest, key=lambda n: (n.distance / _bits(n.algorithm), n.entry_id)))
    if matches:
        found = matches[0]
        if found.match.tier is Tier.REVIEW:
            verdict = Verdict.REVIEW_TIER
        elif not found.removes:
            verdict = Verdict.FLAG_LIST
        elif settings.takedown_action != "remove":
            verdict = Verdict.FLAG_SERVER
        elif found.match.entry_id in weak:
            verdict = Verdict.CONFIRMED
        else:
            verdict = Verdict.REMOVED
        return Explained(media, verdict, found, nearest, allowlisted)
    if allowlisted:
        return Explained(media, Verdict.ALLOWLISTED, None, nearest, True)
    return Explained(media, Verdict.NO_MATCH, None, nearest)


def _bits(algorithm: str) -> int:
    return 256 if algorithm == "pdq" else 64

"""Jobs the pool tests run in worker processes: the real hasher, plus a way to make it hang."""

from __future__ import annotations

import os
import time

from media.formats import DecodeLimits
from media.hashing import MediaHashes, Outcome, hash_media

HANG = b"please hang"


def hang_on_request(data: bytes, limits: DecodeLimits) -> MediaHashes:
    """Hash as usual, except for the HANG marker, which never returns (a runaway decoder)."""
    if data == HANG:
        while True:
            time.sleep(1)
    return hash_media(data, limits)


def report_niceness(data: bytes, limits: DecodeLimits) -> MediaHashes:
    """The worker's scheduling niceness, carried in the reason of a failed result."""
    return MediaHashes.failed(Outcome.REJECTED, str(os.nice(0)))

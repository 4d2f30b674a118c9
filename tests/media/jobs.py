"""Jobs the pool tests run in worker processes: the real hasher, plus ways to make it hang or
wait for the test's word."""

from __future__ import annotations

import os
import time
from pathlib import Path

from media.formats import DecodeLimits
from media.hashing import MediaHashes, hash_media
from media.outcomes import Outcome

HANG = b"please hang"
GATED = b"gated\n"


def hang_on_request(data: bytes, limits: DecodeLimits) -> MediaHashes:
    """Hash as usual, except for the HANG marker, which never returns (a runaway decoder)."""
    if data == HANG:
        while True:
            time.sleep(1)
    return hash_media(data, limits)


def report_niceness(data: bytes, limits: DecodeLimits) -> MediaHashes:
    """The worker's scheduling niceness, carried in the reason of a result."""
    return MediaHashes.failed(Outcome.UNSUPPORTED, str(os.nice(0)))


def gated(started: Path, gate: Path, name: str) -> bytes:
    """A job for `wait_for_release`: it says `name` on `started`, then waits on `gate`."""
    return GATED + f"{started}\n{gate}\n{name}".encode()


def wait_for_release(data: bytes, limits: DecodeLimits) -> MediaHashes:
    """A gated job announces itself on its `started` pipe and blocks until the test writes to
    its `gate` pipe; its name comes back as the reason. Anything else is hashed as usual."""
    if not data.startswith(GATED):
        return hash_media(data, limits)
    started, gate, name = data.removeprefix(GATED).decode().split("\n")
    with open(started, "w") as announce:
        announce.write(name + "\n")
    with open(gate) as wait:
        wait.read()
    return MediaHashes.failed(Outcome.UNSUPPORTED, name)

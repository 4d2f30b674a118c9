"""Jobs the pool tests run in worker processes: the real hasher, plus ways to make it misbehave."""

from __future__ import annotations

import gc
import os
import pickle
import struct
import sys
import time
from multiprocessing.connection import Connection

from media.formats import DecodeLimits
from media.hashing import MediaHashes, Outcome, hash_media

HANG = b"please hang"


def hang_on_request(data: bytes, limits: DecodeLimits, *, explicit: bool = False) -> MediaHashes:
    """Hash as usual, except for the HANG marker, which never returns (a runaway decoder)."""
    if data == HANG:
        while True:
            time.sleep(1)
    return hash_media(data, limits, explicit=explicit)


def report_niceness(data: bytes, limits: DecodeLimits, *, explicit: bool = False) -> MediaHashes:
    """The worker's scheduling niceness, carried in the reason of a failed result."""
    return MediaHashes.failed(Outcome.REJECTED, str(os.nice(0)))


def report_pid(data: bytes, limits: DecodeLimits, *, explicit: bool = False) -> MediaHashes:
    """The worker's process id, carried in the reason of a failed result."""
    return MediaHashes.failed(Outcome.REJECTED, str(os.getpid()))


# Requests to misbehave_on_request: each reply is what a decoder taken over by a crafted file
# could write to the bot on the worker's own channel.
PICKLE_REPLY = b"reply with a pickle that creates "  # followed by the file's path
LONG_REPLY = b"reply with more bytes than a reply may have"
PARTIAL_REPLY = b"announce a reply, send part of it and stall"


class _CreateFile:
    """Unpickling this creates the file it names: how a pickle runs code in whoever loads it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


def misbehave_on_request(
    data: bytes, limits: DecodeLimits, *, explicit: bool = False
) -> MediaHashes:
    """Send the crafted reply a request asks for, then go on as usual; hash anything else."""
    (channel,) = [c for c in gc.get_objects() if isinstance(c, Connection) and not c.closed]
    if data.startswith(PICKLE_REPLY):
        channel.send_bytes(pickle.dumps(_CreateFile(data[len(PICKLE_REPLY) :].decode())))
    elif data == LONG_REPLY:
        channel.send_bytes(b" " * (2 << 20))
    elif data == PARTIAL_REPLY:
        os.write(channel.fileno(), struct.pack("!i", 1000) + b"x" * 10)
        while True:
            time.sleep(1)
    return hash_media(data, limits, explicit=explicit)


def report_model_loaded(
    data: bytes, limits: DecodeLimits, *, explicit: bool = False
) -> MediaHashes:
    """Hash as usual, then say whether this worker has the classifier's runtime loaded."""
    hash_media(data, limits, explicit=explicit)
    return MediaHashes.failed(
        Outcome.REJECTED, f"onnxruntime loaded: {'onnxruntime' in sys.modules}"
    )

"""Jobs the pool tests run in worker processes: the real hasher, plus ways to make it hang,
wait for the test's word (`Gates`) or misbehave as a decoder taken over by a crafted file."""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import struct
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

from core.phrases import Phrase, phrase
from media.formats import DecodeLimits
from media.hashing import MediaHashes, hash_media
from media.outcomes import Outcome

HANG = b"please hang"


def said(text: str) -> Phrase:
    """A test's word carried back as a result's reason (which is a phrase, as the protocol
    wants); `str(result.reason)` reads it."""
    return phrase("{said}", said=text)


GATED = b"gated\n"


def hang_on_request(data: bytes, limits: DecodeLimits, *, explicit: bool = False) -> MediaHashes:
    """Hash as usual, except for the HANG marker, which never returns (a runaway decoder)."""
    if data == HANG:
        while True:
            time.sleep(1)
    return hash_media(data, limits, explicit=explicit)


SPIN = b"please spin"
WAIT = b"please wait, then hash: "  # followed by seconds, then the file


def spend_on_request(data: bytes, limits: DecodeLimits, *, explicit: bool = False) -> MediaHashes:
    """Hash as usual, except that SPIN never returns and spends CPU all the while (a decoder
    looping in C), and WAIT sleeps before hashing the file after it: a job a loaded machine
    keeps waiting, which spends clock time but almost no CPU."""
    if data == SPIN:
        while True:
            pass
    if data.startswith(WAIT):
        seconds, _, rest = data[len(WAIT) :].partition(b" ")
        time.sleep(float(seconds))
        data = rest
    return hash_media(data, limits, explicit=explicit)


def report_niceness(data: bytes, limits: DecodeLimits, *, explicit: bool = False) -> MediaHashes:
    """The worker's scheduling niceness, carried in the reason of a result."""
    return MediaHashes.failed(Outcome.UNSUPPORTED, said(str(os.nice(0))))


def report_pid(data: bytes, limits: DecodeLimits, *, explicit: bool = False) -> MediaHashes:
    """The worker's process id, carried in the reason of a result."""
    return MediaHashes.failed(Outcome.UNSUPPORTED, said(str(os.getpid())))


def gated(started: Path, gate: Path, name: str) -> bytes:
    """A job for `wait_for_release`: it says `name` on `started`, then waits on `gate`."""
    return GATED + f"{started}\n{gate}\n{name}".encode()


def wait_for_release(data: bytes, limits: DecodeLimits, *, explicit: bool = False) -> MediaHashes:
    """A gated job announces itself on its `started` pipe and blocks until the test writes to
    its `gate` pipe; its name comes back as the reason. Anything else is hashed as usual."""
    if not data.startswith(GATED):
        return hash_media(data, limits, explicit=explicit)
    started, gate, name = data.removeprefix(GATED).decode().split("\n")
    with open(started, "w") as announce:
        announce.write(name + "\n")
    with open(gate) as wait:
        wait.read()
    return MediaHashes.failed(Outcome.UNSUPPORTED, said(name))


class Gates:
    """Named pipes through which gated jobs (`jobs.wait_for_release`) say they started and
    wait for the test to release them: the tests follow events, never the clock."""

    def __init__(self, folder: Path, names: str) -> None:
        self.started = folder / "started"
        os.mkfifo(self.started)
        self.gates = {name: folder / name for name in names}
        for gate in self.gates.values():
            os.mkfifo(gate)
        self._lines: asyncio.StreamReader | None = None
        self._keep_open = -1

    async def __aenter__(self) -> Gates:
        reader = os.open(self.started, os.O_RDONLY | os.O_NONBLOCK)
        self._keep_open = os.open(self.started, os.O_WRONLY)  # no EOF between jobs
        self._lines = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(self._lines), os.fdopen(reader, "rb")
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        os.close(self._keep_open)

    def job(self, name: str) -> bytes:
        return gated(self.started, self.gates[name], name)

    async def next_started(self) -> str:
        assert self._lines is not None
        return (await self._lines.readline()).decode().strip()

    async def release(self, name: str) -> None:
        await asyncio.to_thread(self.gates[name].write_text, "go")


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
        Outcome.UNSUPPORTED, said(f"onnxruntime loaded: {'onnxruntime' in sys.modules}")
    )

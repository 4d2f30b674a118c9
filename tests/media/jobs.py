"""Jobs the pool tests run in worker processes: the real hasher, plus ways to make it hang or
wait for the test's word (`Gates`)."""

from __future__ import annotations

import asyncio
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

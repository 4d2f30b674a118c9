"""A pool of killable worker processes that decode and hash untrusted media.

Why processes and not threads: a decoder stuck in C (a crafted progressive JPEG, a corrupt
video) cannot be interrupted from Python; it can only be killed. Each worker runs one job at a
time under an address-space cap (RLIMIT_AS), and the parent gives every job a deadline. A worker
that overruns is killed with SIGKILL and a fresh one takes its place, while the other workers
keep serving, so the next upload never waits behind a runaway one.

Why an asyncio API: the bot's event loop must never block. The parent waits on each worker's
pipe with `loop.add_reader`, so a job costs the loop nothing while it runs.

Back-pressure, never loss: at most `workers + max_waiting` jobs are admitted at a time; past
that a caller waits its turn (first come, first served) instead of being turned away, so a burst
slows scanning down. Only a job that found no room for `admission_seconds` gives up, with
`PoolBusy` saying why, and the caller records the file as "could not finish", never as clean.

Media bytes travel over an anonymous pipe and live only in memory; nothing here writes them to
disk or to a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import multiprocessing
import os
import resource
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from PIL import Image

from media.formats import DecodeLimits
from media.hashing import MediaHashes, entry_hashes_for_image, hash_media
from media.outcomes import Outcome

log = logging.getLogger(__name__)

Job = Callable[[bytes, DecodeLimits], MediaHashes]
_READY = "ready"


class PoolBusy(Exception):
    """No room in the pool for `admission_seconds`; the media was not checked (say so)."""


class PoolClosed(Exception):
    """The pool was closed while a job waited for a worker."""


@dataclass(frozen=True, slots=True)
class PoolSettings:
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    job_seconds: float = 5.0  # deadline for one file, decode and hash
    memory_bytes: int = 1 << 30  # address-space cap of each worker process
    max_waiting: int = 64  # jobs admitted beyond one per worker
    admission_seconds: float = 120.0  # a job waits this long for room before PoolBusy
    start_seconds: float = 30.0  # a new worker must import and report ready within this
    # Hashing is batch work; the bot's event loop (gateway, commands) must win the CPU when
    # both want it. At 10, a worker gets about a tenth of a core the loop also wants.
    niceness: int = 10
    decode_limits: DecodeLimits = field(default_factory=DecodeLimits)


def _worker_main(
    conn: Connection, job: Job, limits: DecodeLimits, memory_bytes: int, niceness: int
) -> None:
    """Child process: cap memory, lower priority, report ready, then hash one job at a time."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    os.nice(niceness)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not dump media to disk
    warm_up()
    try:
        conn.send(_READY)
    except OSError:
        return  # the pool closed while this worker started (the bot is stopping): nothing to do
    jobs: dict[str, Job] = {"media": job, "entry": entry_hashes_for_image}
    while True:
        try:
            kind = conn.recv()
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            result = jobs[kind](data, limits)
        except MemoryError:
            result = MediaHashes.failed(
                Outcome.UNFINISHED, "decoding it needs more memory than the bot allows"
            )
        except Exception as exc:  # a decoder bug must become an outcome, not a dead worker
            result = MediaHashes.failed(
                Outcome.UNSUPPORTED, f"the decoder failed: {type(exc).__name__}"
            )
        del data
        conn.send(result)


def warm_up() -> None:
    """Hash a tiny picture once, so lazy imports don't eat into the first job's deadline."""
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 40).convert("RGB").save(buffer, "PNG")
    hash_media(buffer.getvalue())


def _send_job(conn: Connection, kind: str, data: bytes) -> None:
    conn.send(kind)
    conn.send_bytes(data)


class _Worker:
    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.conn.close()


class HashingPool:
    """`async with HashingPool(settings) as pool: result = await pool.hash_media(data)`."""

    def __init__(self, settings: PoolSettings | None = None, *, job: Job = hash_media) -> None:
        self.settings = settings or PoolSettings()
        self._job = job
        # A fork server, not plain fork: workers fork from a small clean process that has the
        # decoders imported once, so they carry no copy of the bot's state and a replacement
        # for a killed worker starts in milliseconds rather than re-importing everything.
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["media.worker_preload"])
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        # Admission: FIFO, so a job that waited longest gets the next room.
        self._room = asyncio.Semaphore(self.settings.workers + self.settings.max_waiting)
        self._pending = 0
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.killed = 0  # workers killed for a deadline or a crash, for stats

    async def __aenter__(self) -> HashingPool:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def start(self) -> None:
        workers = await asyncio.gather(*(self._spawn() for _ in range(self.settings.workers)))
        for worker in workers:
            self._idle.put_nowait(worker)

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for worker in list(self._workers):
            worker.kill()
        await asyncio.gather(*(self._reap(w) for w in list(self._workers)))
        self._workers.clear()

    @property
    def pending(self) -> int:
        """Jobs admitted or waiting for admission."""
        return self._pending

    async def hash_media(self, data: bytes) -> MediaHashes:
        """Decode and hash an upload in a worker; a deadline or a crash is UNFINISHED.

        Waits its turn when the pool is full; raises PoolBusy only after `admission_seconds`.

        Still images with bars or screenshot chrome also carry the trimmed picture's hashes
        in `extra`; pass the result to `media.matching.match_media`.
        """
        return await self._submit("media", data)

    async def entry_hashes(self, data: bytes) -> MediaHashes:
        """Hashes to store for a new takedown entry: `frames`, plus crops/rotations in `extra`."""
        return await self._submit("entry", data)

    async def _submit(self, kind: str, data: bytes) -> MediaHashes:
        if self._closed:
            raise PoolClosed("the hashing pool is closed")
        self._pending += 1
        try:
            await self._admit()
            try:
                worker = await self._idle.get()
                return await self._run(worker, kind, data)
            finally:
                self._room.release()
        finally:
            self._pending -= 1

    async def _admit(self) -> None:
        seconds = self.settings.admission_seconds
        try:
            async with asyncio.timeout(seconds):
                await self._room.acquire()
        except TimeoutError:
            raise PoolBusy(
                f"the bot was too busy to check it: no room to hash it for {seconds:g} s "
                f"({self._pending} files were waiting)"
            ) from None

    async def _run(self, worker: _Worker, kind: str, data: bytes) -> MediaHashes:
        try:
            result = await asyncio.wait_for(
                self._exchange(worker.conn, kind, data), self.settings.job_seconds
            )
        except TimeoutError:
            self._replace(worker)
            seconds = self.settings.job_seconds
            return MediaHashes.failed(
                Outcome.UNFINISHED, f"checking it took longer than {seconds:g} s"
            )
        except (EOFError, OSError, BrokenPipeError):
            self._replace(worker)
            return MediaHashes.failed(
                Outcome.UNFINISHED,
                "the process checking it died (most likely over the memory cap)",
            )
        except BaseException:
            self._replace(worker)  # cancelled: the worker may still be busy with our job
            raise
        self._idle.put_nowait(worker)
        return result

    async def _exchange(self, conn: Connection, kind: str, data: bytes) -> object:
        # Writing megabytes into a pipe blocks until the (lower-priority) worker has read them,
        # so it happens in a thread, never on the event loop.
        await asyncio.to_thread(_send_job, conn, kind, data)
        return await self._receive(conn)

    async def _receive(self, conn: Connection) -> object:
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()
        fd = conn.fileno()
        loop.add_reader(fd, lambda: readable.done() or readable.set_result(None))
        try:
            await readable
        finally:
            loop.remove_reader(fd)
        return conn.recv()

    def _replace(self, worker: _Worker) -> None:
        self.killed += 1
        worker.kill()
        task = asyncio.get_running_loop().create_task(self._respawn(worker))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _respawn(self, dead: _Worker) -> None:
        await self._reap(dead)
        self._workers.discard(dead)
        if self._closed:
            return
        try:
            self._idle.put_nowait(await self._spawn())
        except Exception:
            log.exception("Could not start a hashing worker; the pool is one worker short")

    async def _reap(self, worker: _Worker) -> None:
        await asyncio.get_running_loop().run_in_executor(None, worker.process.join, 5.0)

    async def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe(duplex=True)
        settings = self.settings
        process = self._context.Process(
            target=_worker_main,
            args=(
                child,
                self._job,
                settings.decode_limits,
                settings.memory_bytes,
                settings.niceness,
            ),
            name="lightstick-hash",
            daemon=True,
        )
        await asyncio.to_thread(process.start)  # with a fork server, start() waits on a socket
        child.close()
        worker = _Worker(process, parent)
        self._workers.add(worker)
        try:
            ready = await asyncio.wait_for(self._receive(parent), settings.start_seconds)
        except (TimeoutError, EOFError, OSError) as exc:
            worker.kill()
            self._workers.discard(worker)
            raise RuntimeError("a hashing worker did not start") from exc
        if ready != _READY:
            raise RuntimeError(f"a hashing worker said {ready!r} instead of ready")
        return worker

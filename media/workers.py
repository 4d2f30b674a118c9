"""A pool of killable worker processes that decode and hash untrusted media.

Why processes and not threads: a decoder stuck in C (a crafted progressive JPEG, a corrupt
video) cannot be interrupted from Python; it can only be killed. Each worker runs one job at a
time under an address-space cap (RLIMIT_AS) and a CPU-time cap (RLIMIT_CPU, set afresh for each
job): past it the kernel ends the worker, and a fresh one takes its place while the other
workers keep serving, so the next upload never waits behind a runaway one.

Why CPU time and not the clock: what a file costs is a property of the file, not of how busy
the machine is. Workers run at a lower priority than the bot's event loop, so on a loaded
machine a photo that needs 15 ms of CPU can wait seconds for it; a clock deadline would call
it "could not finish" (and alert the moderators) for the machine's sake. The parent still
keeps a clock deadline, `stall_seconds`, well above the CPU budget: for a worker that stops
answering without spending CPU (a reply sent in part, a stopped process).

Why an asyncio API: the bot's event loop must never block. The parent talks to each worker over
a non-blocking socket driven by the loop (`loop.sock_sendall`, `loop.sock_recv_into`), so a job
costs the loop nothing while it runs, and a worker that sends half a reply and stalls runs into
the job's deadline instead of freezing the loop.

Back-pressure, never loss: at most `workers + max_waiting` jobs are admitted at a time; past
that a caller waits its turn (first come, first served) instead of being turned away, so a burst
slows scanning down. Only a job that found no room for `admission_seconds` gives up, with
`PoolBusy` saying why, and the caller records the file as "could not finish", never as clean.

Why workers are trusted with nothing: they start with a clean environment (no token, no
database URL; `media.worker_environment`), and they answer with plain data that the parent
reads strictly (`media.worker_protocol`), never with pickles: a decoder exploited into running
code in a worker must not get to run code in the bot. A reply out of shape is refused, the job
could not finish (UNFINISHED), and the worker is replaced.

Media bytes travel over an anonymous socket pair and live only in memory; nothing here writes
them to disk or to a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import math
import multiprocessing
import os
import resource
import signal
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Protocol, TypeVar

from PIL import Image

from core.phrases import Phrase, phrase, plural_phrase
from media.classifier import ExplicitModelError, load_model
from media.features import BadSignature, confirm_counts, decode_signature
from media.formats import DecodeLimits
from media.hashing import MediaHashes, entry_hashes_for_image, hash_media
from media.outcomes import NEEDS_TOO_MUCH_MEMORY, MediaFailure, Outcome
from media.preview import blurred_preview
from media.worker_protocol import (
    MAX_REPLY_BYTES,
    READY,
    BadReply,
    JobKind,
    check_preview,
    decode_confirm_request,
    decode_hashes,
    decode_inliers,
    encode_confirm_request,
    encode_hashes,
    encode_inliers,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
# multiprocessing's framing, which the worker's Connection reads and writes: a signed 32-bit
# big-endian length, then the bytes.
_LENGTH = struct.Struct("!i")


class Job(Protocol):
    """What a worker runs for an upload (tests substitute their own)."""

    def __call__(
        self, data: bytes, limits: DecodeLimits, *, explicit: bool = False
    ) -> MediaHashes: ...


class PoolBusy(Exception):
    """No room in the pool for `admission_seconds`; the media was not checked (say so:
    `reason`)."""

    def __init__(self, reason: Phrase) -> None:
        super().__init__(str(reason))
        self.reason = reason


class PoolClosed(Exception):
    """The pool was closed while a job waited for a worker."""


class _NotFinished(Exception):
    """A job ended without a usable reply: deadline, crash, or a reply out of shape."""

    def __init__(self, reason: Phrase) -> None:
        super().__init__(str(reason))
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PoolSettings:
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    job_seconds: float = 5.0  # CPU time for one file, decode and hash (whole seconds count)
    stall_seconds: float = 60.0  # clock time for one file's reply, however busy the machine
    # Address-space cap of each worker process: 1 GiB for decoding, 128 MiB for the
    # explicit-image model, which adds about 115 MB once loaded, and 384 MiB for OpenCV's
    # libraries (media.views), mapped in every worker before its first job (a worker's address
    # space at start: 709 MB with them, 382 MB without; the cap counts mappings, not memory
    # used). Measured before OpenCV: a 40 MP RGBA PNG peaks at 992 MB and a 29 MP RGBA WebP at
    # 948 MB without the model; at 1 GiB both were refused for memory with it.
    memory_bytes: int = (1 << 30) + (512 << 20)
    max_waiting: int = 64  # jobs admitted beyond one per worker
    admission_seconds: float = 120.0  # a job waits this long for room before PoolBusy
    # A new worker must import and report ready within this (clock), and may spend this much
    # CPU time loading the explicit-image model.
    start_seconds: float = 30.0
    # Hashing is batch work; the bot's event loop (gateway, commands) must win the CPU when
    # both want it. At 10, a worker gets about a tenth of a core the loop also wants.
    niceness: int = 10
    decode_limits: DecodeLimits = field(default_factory=DecodeLimits)


def _worker_main(
    conn: Connection,
    job: Job,
    limits: DecodeLimits,
    memory_bytes: int,
    niceness: int,
    budgets: tuple[float, float],
) -> None:
    """Child process: cap memory, lower priority, report ready, then answer one job at a time,
    each under its CPU budget (`budgets`: a file's, and loading the explicit-image model's)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    os.nice(niceness)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not dump media to disk
    warm_up()
    try:
        conn.send_bytes(READY)
    except OSError:
        return  # the pool closed while this worker started (the bot is stopping): nothing to do
    while True:
        try:
            kind = JobKind(conn.recv_bytes().decode())
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        _allow_cpu(budgets[1] if kind is JobKind.LOAD_MODEL else budgets[0])
        reply = _answer(kind, data, job, limits)
        del data
        conn.send_bytes(reply)


def _allow_cpu(seconds: float) -> None:
    """Let the next job spend `seconds` more of CPU time (rounded up to a whole second, the
    limit's unit); past it the kernel ends this process with SIGXCPU (no core: RLIMIT_CORE)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    limit = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))


def _answer(kind: JobKind, data: bytes, job: Job, limits: DecodeLimits) -> bytes:
    """The reply to one job, as plain data; a failure is an outcome, never a dead worker."""
    if kind is JobKind.LOAD_MODEL:
        try:
            load_model()
        except ExplicitModelError:  # each scored file then says so in the worker's log
            log.exception("The explicit-image model could not be loaded")
        return READY
    if kind is JobKind.PREVIEW:
        try:
            return blurred_preview(data, limits) or b""
        except Exception:  # a preview is a courtesy: the alert goes without one
            return b""
    if kind is JobKind.CONFIRM:
        return encode_inliers(_confirm(data, limits))
    try:
        if kind is JobKind.ENTRY:
            result = entry_hashes_for_image(data, limits)
        else:
            result = job(data, limits, explicit=kind is JobKind.MEDIA_EXPLICIT)
    except MemoryError:
        result = MediaHashes.failed(Outcome.UNFINISHED, NEEDS_TOO_MUCH_MEMORY)
    except Exception as exc:  # a decoder bug must become an outcome, not a dead worker
        result = MediaHashes.failed(
            Outcome.UNSUPPORTED, phrase("the decoder failed ({detail})", detail=type(exc).__name__)
        )
    return encode_hashes(result)


def _confirm(payload: bytes, limits: DecodeLimits) -> list[int] | None:
    """Inliers of the upload against each signature; None when the upload can't be read (it is
    then never confirmed: the hashes' verdict stands)."""
    try:
        data, signatures = decode_confirm_request(payload)
        return confirm_counts(data, [decode_signature(s) for s in signatures], limits)
    except (MediaFailure, MemoryError, ValueError, BadSignature):
        return None
    except Exception:  # a decoder or OpenCV bug: not confirmed, and the worker lives on
        log.exception("Confirming a match failed")
        return None


def warm_up() -> None:
    """Hash a tiny picture once, so lazy imports don't eat into the first job's deadline."""
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 40).convert("RGB").save(buffer, "PNG")
    hash_media(buffer.getvalue())


class _Worker:
    def __init__(self, process: BaseProcess, sock: socket.socket) -> None:
        self.process = process
        self.sock = sock  # non-blocking: only the event loop reads and writes it
        self.model_loaded = False  # the explicit-image model, loaded before the first score

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.sock.close()


class HashingPool:
    """`async with HashingPool(settings) as pool: result = await pool.hash_media(data)`."""

    def __init__(self, settings: PoolSettings | None = None, *, job: Job = hash_media) -> None:
        self.settings = settings or PoolSettings()
        self._job = job
        # A fork server, not plain fork: workers fork from a small clean process that has the
        # decoders imported once, so they carry no copy of the bot's state and a replacement
        # for a killed worker starts in milliseconds rather than re-importing everything. The
        # first preload restarts the fork server without the bot's secrets in its environment.
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["media.worker_environment", "media.worker_preload"])
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        # Admission: FIFO, so a job that waited longest gets the next room.
        self._room = asyncio.Semaphore(self.capacity)
        self._pending = 0
        self._left = asyncio.Condition()  # notified whenever a job leaves the pool
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.killed = 0  # workers killed for a deadline, a crash or a bad reply, for stats

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

    @property
    def capacity(self) -> int:
        """Jobs admitted at once: one running per worker and `max_waiting` in line."""
        return self.settings.workers + self.settings.max_waiting

    async def wait_for_room(self) -> None:
        """Until fewer jobs are admitted or waiting than the pool takes at once.

        A caller turned away (PoolBusy) waits here before trying again: the wait follows the
        pool's own progress, not a guess at how long a burst lasts.
        """
        async with self._left:
            await self._left.wait_for(lambda: self._pending < self.capacity or self._closed)

    @property
    def worker_pids(self) -> tuple[int, ...]:
        """The running workers' process ids, for stats and benchmarks (memory per worker)."""
        return tuple(w.process.pid for w in self._workers if w.process.pid is not None)

    async def hash_media(self, data: bytes, *, explicit: bool = False) -> MediaHashes:
        """Decode and hash an upload in a worker; a deadline, a crash or a bad reply is UNFINISHED.

        Waits its turn when the pool is full; raises PoolBusy only after `admission_seconds`.

        Still images with bars or screenshot chrome also carry the trimmed picture's hashes
        in `extra`; pass the result to `media.matching.match_media`. With `explicit`, the
        result also carries `explicit_score` (see `media.classifier`).
        """
        kind = JobKind.MEDIA_EXPLICIT if explicit else JobKind.MEDIA
        return await self._hashes(kind, data)

    async def entry_hashes(self, data: bytes) -> MediaHashes:
        """Hashes to store for a new takedown entry: `frames`, plus crops/rotations in `extra`."""
        return await self._hashes(JobKind.ENTRY, data)

    async def confirm(self, data: bytes, signatures: list[bytes]) -> tuple[int, ...] | None:
        """How many keypoints of the upload `data` agree with each entry signature on one
        transform (`media.features.inliers`), counted in a worker under the same deadline and
        memory cap as hashing; None when the upload can't be read or the job did not finish.
        Waits its turn like hashing (PoolBusy after `admission_seconds`)."""
        request = encode_confirm_request(data, signatures)
        try:
            return await self._submit(
                JobKind.CONFIRM, request, lambda reply: decode_inliers(reply, len(signatures))
            )
        except _NotFinished as exc:
            log.warning("A confirmation did not finish: %s", exc.reason)
            return None

    async def blurred_preview(self, data: bytes) -> bytes | None:
        """The small blurred JPEG an alert shows (`media.preview`), made in a worker under the
        same deadline and memory cap as hashing; None when the file can't be decoded in time.
        Waits its turn like hashing (PoolBusy after `admission_seconds`)."""
        try:
            return await self._submit(JobKind.PREVIEW, data, check_preview)
        except _NotFinished:
            return None

    async def _hashes(self, kind: JobKind, data: bytes) -> MediaHashes:
        try:
            return await self._submit(kind, data, decode_hashes)
        except _NotFinished as exc:
            return MediaHashes.failed(Outcome.UNFINISHED, exc.reason)

    async def _submit(self, kind: JobKind, data: bytes, read: Callable[[bytes], T]) -> T:
        if self._closed:
            raise PoolClosed("the hashing pool is closed")
        self._pending += 1
        try:
            await self._admit()
            try:
                worker = await self._idle.get()
                return await self._run(worker, kind, data, read)
            finally:
                self._room.release()
        finally:
            self._pending -= 1
            async with self._left:
                self._left.notify_all()

    async def _admit(self) -> None:
        seconds = self.settings.admission_seconds
        try:
            async with asyncio.timeout(seconds):
                await self._room.acquire()
        except TimeoutError:
            raise PoolBusy(
                plural_phrase(
                    "the bot was too busy to check it: no room to hash it for {seconds} s "
                    "({count} file was waiting)",
                    "the bot was too busy to check it: no room to hash it for {seconds} s "
                    "({count} files were waiting)",
                    self._pending,
                    seconds=f"{seconds:g}",
                )
            ) from None

    async def _run(
        self, worker: _Worker, kind: JobKind, data: bytes, read: Callable[[bytes], T]
    ) -> T:
        """Send the job, read the reply within the deadline; any failure replaces the worker."""
        try:
            if kind is JobKind.MEDIA_EXPLICIT and not worker.model_loaded:
                await self._load_model(worker)
            async with asyncio.timeout(self.settings.stall_seconds):
                result = read(await _ask(worker.sock, kind, data))
        except _NotFinished:
            self._replace(worker)
            raise
        except TimeoutError:
            self._replace(worker)
            raise _NotFinished(_took_longer(self.settings.stall_seconds)) from None
        except BadReply as exc:
            self._replace(worker)
            log.warning("A hashing worker sent a malformed %s reply (%s); replaced it", kind, exc)
            raise _NotFinished(
                phrase("the process checking it sent a malformed reply (it was replaced)")
            ) from None
        except (EOFError, OSError):
            out_of_time = await self._ended_by(worker, signal.SIGXCPU)
            self._replace(worker)
            if out_of_time:
                raise _NotFinished(_took_longer(self.settings.job_seconds)) from None
            raise _NotFinished(
                phrase("the process checking it died (most likely over the memory cap)")
            ) from None
        except BaseException:
            self._replace(worker)  # cancelled: the worker may still be busy with our job
            raise
        self._idle.put_nowait(worker)
        return result

    async def _load_model(self, worker: _Worker) -> None:
        """Load the explicit-image model in a worker before its first scored file, under the
        start-up budget of CPU time: loading takes seconds that no file's budget should pay for
        (a worker killed for it would have to load it again). The clock only catches a stall."""

        def too_long(seconds: float) -> Phrase:
            return phrase(
                "the explicit-image model took longer than {seconds} s to load",
                seconds=f"{seconds:g}",
            )

        try:
            async with asyncio.timeout(self.settings.stall_seconds):
                reply = await _ask(worker.sock, JobKind.LOAD_MODEL, b"")
        except TimeoutError:
            raise _NotFinished(too_long(self.settings.stall_seconds)) from None
        except (EOFError, OSError):
            if await self._ended_by(worker, signal.SIGXCPU):
                raise _NotFinished(too_long(self.settings.start_seconds)) from None
            raise
        if reply != READY:
            raise BadReply(f"{reply[:40]!r} instead of ready after loading the model")
        worker.model_loaded = True

    async def _ended_by(self, worker: _Worker, number: int) -> bool:
        """Whether a worker whose socket closed was ended by signal `number` (the kernel's
        SIGXCPU at its CPU budget). Its socket closes as it exits, so the wait is short; a
        worker still running after it is not counted as ended by anything."""
        await self._reap(worker)
        return worker.process.exitcode == -number

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
                (settings.job_seconds, settings.start_seconds),
            ),
            name="lightstick-hash",
            daemon=True,
        )
        await asyncio.to_thread(process.start)  # with a fork server, start() waits on a socket
        child.close()
        sock = socket.socket(fileno=os.dup(parent.fileno()))
        parent.close()
        sock.setblocking(False)
        worker = _Worker(process, sock)
        self._workers.add(worker)
        try:
            async with asyncio.timeout(settings.start_seconds):
                ready = await _receive(sock)
        except (TimeoutError, EOFError, OSError, BadReply) as exc:
            worker.kill()
            self._workers.discard(worker)
            raise RuntimeError("a hashing worker did not start") from exc
        if ready != READY:
            worker.kill()
            self._workers.discard(worker)
            raise RuntimeError(f"a hashing worker said {ready[:40]!r} instead of ready")
        return worker


def _took_longer(seconds: float) -> Phrase:
    return phrase("checking it took longer than {seconds} s", seconds=f"{seconds:g}")


async def _ask(sock: socket.socket, kind: JobKind, data: bytes) -> bytes:
    await _send(sock, kind.encode())
    await _send(sock, data)
    return await _receive(sock)


async def _send(sock: socket.socket, payload: bytes) -> None:
    """One message as the worker's Connection reads it. Megabytes go out as the (lower
    priority) worker reads them, without blocking the loop."""
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(sock, _LENGTH.pack(len(payload)))
    await loop.sock_sendall(sock, payload)


async def _receive(sock: socket.socket) -> bytes:
    """One message from a worker, refused past MAX_REPLY_BYTES before any of it is read."""
    (length,) = _LENGTH.unpack(await _read_exactly(sock, _LENGTH.size))
    if not 0 <= length <= MAX_REPLY_BYTES:
        raise BadReply(f"a reply of {length} bytes (at most {MAX_REPLY_BYTES})")
    return await _read_exactly(sock, length)


async def _read_exactly(sock: socket.socket, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = await loop.sock_recv_into(sock, view[got:])
        if count == 0:
            raise EOFError("the worker closed its end")
        got += count
    return bytes(buffer)

"""`python bot.py hash FILE...`: hashes of local files, printed in the import format.

Why: a moderator who holds a known deepfake can add it to the takedown list without posting it
anywhere. The files are as untrusted as any upload (they come from the wild), so they are decoded
in the same killable worker pool, with a longer deadline since a local video may be long.
Output is CSV with the header `algorithm,hash,label`; one PDQ and one pHash line per picture,
and per frame of an animation or video chosen by what a viewer sees (`media.frames`). A file
that can't be checked is named on stderr with its kind (`crafted`, `unfinished`,
`unsupported`, see `media.outcomes`) and the reason.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from media.formats import DecodeLimits
from media.hashing import FrameHashes, MediaHashes
from media.workers import HashingPool, PoolSettings

MAX_FILE_BYTES = 512 * 1024 * 1024
LOCAL_JOB_SECONDS = 60.0
# Decoding gives up (as "could not finish") a little before the worker would be killed.
LOCAL_LIMITS = DecodeLimits(work_seconds=LOCAL_JOB_SECONDS - 5.0)


def frame_label(name: str, media: MediaHashes, frame: FrameHashes) -> str:
    if media.kind in ("video", "animation") and frame.time is not None:
        return f"{name} at {frame.time:.1f}s"
    return name


def write_rows(out: TextIO, name: str, media: MediaHashes) -> None:
    writer = csv.writer(out, lineterminator="\n")
    for frame in media.frames:
        label = frame_label(name, media, frame)
        writer.writerow(["pdq", frame.pdq.hex, label])
        writer.writerow(["phash", frame.phash.hex, label])


async def hash_files(paths: Sequence[str], out: TextIO, err: TextIO) -> int:
    """Print every file's hashes; report each unreadable file on `err`; 1 if any failed."""
    failed = False
    out.write("algorithm,hash,label\n")
    settings = PoolSettings(
        workers=1,
        job_seconds=LOCAL_JOB_SECONDS,
        stall_seconds=2 * LOCAL_JOB_SECONDS,
        decode_limits=LOCAL_LIMITS,
    )
    async with HashingPool(settings) as pool:
        for path in paths:
            problem = await _hash_one(pool, Path(path), out, err)
            if problem:
                failed = True
                err.write(f"{path}: {problem}\n")
    return 1 if failed else 0


def read_local(path: Path) -> bytes | str:
    """The file's bytes, or why they can't be read."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
        return path.read_bytes()
    except OSError as exc:
        return f"can't read it ({exc.strerror or exc})"


async def _hash_one(pool: HashingPool, path: Path, out: TextIO, err: TextIO) -> str:
    data = await asyncio.to_thread(read_local, path)
    if isinstance(data, str):
        return data
    media = await pool.hash_media(data)
    if not media.hashed:
        return f"{media.outcome} ({media.outcome.description}): {media.reason}"
    write_rows(out, path.name, media)
    weak = sum(1 for frame in media.frames if not frame.matchable)
    if weak:
        err.write(f"{path}: note: {weak} picture(s) are near-uniform and will not match\n")
    return ""


def run(paths: Sequence[str], out: TextIO, err: TextIO) -> int:
    return asyncio.run(hash_files(paths, out, err))

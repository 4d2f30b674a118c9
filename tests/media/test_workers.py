"""The worker pool: deadlines, memory caps, crashes, back-pressure; the next job never waits."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from media.formats import DecodeLimits
from media.hashing import Outcome
from media.reupload import EDGE_CROPS, ENTRY_CROPS, ENTRY_ROTATIONS
from media.workers import HashingPool, PoolBusy, PoolSettings
from tests.media import jobs, samples

pytestmark = pytest.mark.timeout(120)


def photo_jpeg() -> bytes:
    return samples.encode(samples.photo(), "JPEG")


async def test_pool_hashes_an_upload_and_an_entry_with_its_crops_and_rotations() -> None:
    async with HashingPool(PoolSettings(workers=1)) as pool:
        upload = await pool.hash_media(photo_jpeg())
        entry = await pool.entry_hashes(photo_jpeg())
    assert upload.outcome is Outcome.HASHED
    assert len(upload.frames[0].pdq.hex) == 64
    assert entry.frames == upload.frames
    assert len(entry.extra) == len(ENTRY_CROPS) + len(ENTRY_ROTATIONS)
    assert len(entry.edge_phash) == len(EDGE_CROPS)


async def test_workers_run_at_a_lower_priority_than_the_bot() -> None:
    settings = PoolSettings(workers=1, niceness=7)
    async with HashingPool(settings, job=jobs.report_niceness) as pool:
        result = await pool.hash_media(b"anything")
    assert int(result.reason) == min(19, os.nice(0) + 7)


async def test_hanging_worker_is_killed_and_the_next_job_does_not_wait_behind_it() -> None:
    settings = PoolSettings(workers=2, job_seconds=3.0)
    async with HashingPool(settings, job=jobs.hang_on_request) as pool:
        runaway = asyncio.create_task(pool.hash_media(jobs.HANG))
        await asyncio.sleep(0.2)
        normal = await pool.hash_media(photo_jpeg())
        assert normal.outcome is Outcome.HASHED
        assert not runaway.done()  # the normal job finished while the runaway still ran
        result = await runaway
        assert result.outcome is Outcome.UNFINISHED
        assert "longer than" in result.reason
        assert pool.killed == 1
        after = await asyncio.gather(*(pool.hash_media(photo_jpeg()) for _ in range(3)))
    assert all(r.outcome is Outcome.HASHED for r in after)


async def test_single_worker_pool_recovers_after_a_runaway() -> None:
    async with HashingPool(
        PoolSettings(workers=1, job_seconds=3.0), job=jobs.hang_on_request
    ) as pool:
        first = await pool.hash_media(jobs.HANG)
        second = await pool.hash_media(photo_jpeg())
    assert first.outcome is Outcome.UNFINISHED
    assert second.outcome is Outcome.HASHED


async def test_bomb_past_relaxed_caps_is_stopped_by_the_memory_cap() -> None:
    # With the declared-size checks switched off, only the worker's memory cap stands between a
    # 35-byte GIF declaring 20000x20000 pixels and a multi-gigabyte allocation.
    relaxed = DecodeLimits(max_side=10**6, max_pixels_other=10**12, max_frames_pixels=10**13)
    settings = PoolSettings(
        workers=1, memory_bytes=512 << 20, job_seconds=20.0, decode_limits=relaxed
    )
    async with HashingPool(settings) as pool:
        bomb = await pool.hash_media(samples.gif_declaring(20000, 20000))
        after = await pool.hash_media(photo_jpeg())
    assert bomb.outcome is Outcome.UNFINISHED
    assert "memory" in bomb.reason
    assert after.outcome is Outcome.HASHED


async def test_a_full_pool_makes_callers_wait_their_turn_first_come_first_served(
    tmp_path: Path,
) -> None:
    settings = PoolSettings(workers=1, max_waiting=1, admission_seconds=600)
    async with (
        jobs.Gates(tmp_path, "abcd") as gates,
        HashingPool(settings, job=jobs.wait_for_release) as pool,
    ):
        tasks = [asyncio.create_task(pool.hash_media(gates.job(name))) for name in "abcd"]
        order = []
        for name in "abcd":
            order.append(await gates.next_started())
            if name == "a":
                assert pool.pending == 4  # one running, one admitted, two waiting for room
            await gates.release(order[-1])
        results = await asyncio.gather(*tasks)
    assert order == ["a", "b", "c", "d"]
    assert [r.reason for r in results] == ["a", "b", "c", "d"]


async def test_a_job_that_finds_no_room_in_time_says_why(tmp_path: Path) -> None:
    settings = PoolSettings(workers=1, max_waiting=0, admission_seconds=0)
    async with (
        jobs.Gates(tmp_path, "a") as gates,
        HashingPool(settings, job=jobs.wait_for_release) as pool,
    ):
        running = asyncio.create_task(pool.hash_media(gates.job("a")))
        assert await gates.next_started() == "a"
        with pytest.raises(PoolBusy, match="too busy to check it"):
            await pool.hash_media(photo_jpeg())
        await gates.release("a")
        assert (await running).reason == "a"
        assert (await pool.hash_media(photo_jpeg())).outcome is Outcome.HASHED


async def test_bad_input_suite_is_decided_in_workers_under_1_gib_and_5_s() -> None:
    hostile = {
        "gif bomb": samples.gif_declaring(13000, 13000),
        "jpeg bomb": samples.jpeg_declaring(13000, 13000),
        "png bomb": samples.png_declaring(13000, 13000),
        "webp bomb": samples.webp_declaring(13000, 13000),
        "scans": samples.jpeg_with_scans(3000),
        "truncated": photo_jpeg()[:2000],
        "empty": b"",
        "text": b"just text",
        "frames": samples.gif_with_frames(3000),
    }
    async with HashingPool(PoolSettings(workers=2, job_seconds=5.0, memory_bytes=1 << 30)) as pool:
        results = await asyncio.gather(*(pool.hash_media(data) for data in hostile.values()))
        assert pool.killed == 0  # every file was decided by the checks, not by the deadline
    outcomes = {name: r.outcome for name, r in zip(hostile, results, strict=True)}
    assert outcomes == {
        "gif bomb": Outcome.CRAFTED,
        "jpeg bomb": Outcome.CRAFTED,
        "png bomb": Outcome.CRAFTED,
        "webp bomb": Outcome.CRAFTED,
        "scans": Outcome.CRAFTED,
        "truncated": Outcome.UNSUPPORTED,
        "empty": Outcome.UNSUPPORTED,
        "text": Outcome.UNSUPPORTED,
        "frames": Outcome.HASHED,
    }

"""The worker pool: deadlines, memory caps, crashes, back-pressure; the next job never waits."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from media.formats import DecodeLimits
from media.hashing import Outcome
from media.reupload import (
    CENTRE_CUTS,
    EDGE_CROPS,
    EDGE_CUTS,
    ENTRY_CROPS,
    ENTRY_ROTATIONS,
    OFF_CENTRE_CUTS,
)
from media.worker_environment import ALLOWED, MALLOC_TUNABLES, RESTARTED
from media.workers import HashingPool, PoolBusy, PoolSettings
from tests.media import jobs, samples

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]


def photo_jpeg() -> bytes:
    return samples.encode(samples.photo(), "JPEG")


async def test_pool_hashes_an_upload_and_an_entry_with_its_crops_and_rotations() -> None:
    async with HashingPool(PoolSettings(workers=1)) as pool:
        upload = await pool.hash_media(photo_jpeg())
        entry = await pool.entry_hashes(photo_jpeg())
    assert upload.outcome is Outcome.HASHED
    assert len(upload.frames[0].pdq.hex) == 64
    assert entry.frames == upload.frames
    # The sample photo has a plain band of sky: the entry also keeps it without (`plain_margins`).
    assert len(entry.extra) == len(ENTRY_CROPS) + len(ENTRY_ROTATIONS) + len(CENTRE_CUTS) + 1
    assert len(entry.edge_phash) == len(EDGE_CROPS) + len(EDGE_CUTS) + len(OFF_CENTRE_CUTS)


async def test_workers_run_at_a_lower_priority_than_the_bot() -> None:
    settings = PoolSettings(workers=1, niceness=7)
    async with HashingPool(settings, job=jobs.report_niceness) as pool:
        result = await pool.hash_media(b"anything")
    assert int(str(result.reason)) == min(19, os.nice(0) + 7)


async def test_hanging_worker_is_killed_and_the_next_job_does_not_wait_behind_it() -> None:
    settings = PoolSettings(workers=2, stall_seconds=3.0)
    async with HashingPool(settings, job=jobs.hang_on_request) as pool:
        runaway = asyncio.create_task(pool.hash_media(jobs.HANG))
        await asyncio.sleep(0.2)
        normal = await pool.hash_media(photo_jpeg())
        assert normal.outcome is Outcome.HASHED
        assert not runaway.done()  # the normal job finished while the runaway still ran
        result = await runaway
        assert result.outcome is Outcome.UNFINISHED
        assert "longer than" in str(result.reason)
        assert pool.killed == 1
        after = await asyncio.gather(*(pool.hash_media(photo_jpeg()) for _ in range(3)))
    assert all(r.outcome is Outcome.HASHED for r in after)


async def test_a_job_spending_cpu_past_its_budget_is_ended_by_the_kernel() -> None:
    # The clock deadline is a minute away: only the CPU budget (RLIMIT_CPU) can end this job.
    settings = PoolSettings(workers=1, job_seconds=1.0, stall_seconds=60.0)
    async with HashingPool(settings, job=jobs.spend_on_request) as pool:
        result = await pool.hash_media(jobs.SPIN)
        assert pool.killed == 1
        after = await pool.hash_media(photo_jpeg())
    assert result.outcome is Outcome.UNFINISHED
    assert str(result.reason) == "checking it took longer than 1 s"
    assert after.hashed


async def test_a_job_kept_waiting_by_a_busy_machine_is_not_cut_off() -> None:
    # Two seconds of clock for well under a second of CPU: what a niced worker on a loaded
    # machine lives through. Its file is checked, whatever the clock says.
    settings = PoolSettings(workers=1, job_seconds=1.0, stall_seconds=60.0)
    async with HashingPool(settings, job=jobs.spend_on_request) as pool:
        result = await pool.hash_media(jobs.WAIT + b"2 " + photo_jpeg())
        assert pool.killed == 0
    assert result.outcome is Outcome.HASHED


async def test_single_worker_pool_recovers_after_a_runaway() -> None:
    async with HashingPool(
        PoolSettings(workers=1, stall_seconds=3.0), job=jobs.hang_on_request
    ) as pool:
        first = await pool.hash_media(jobs.HANG)
        second = await pool.hash_media(photo_jpeg())
    assert first.outcome is Outcome.UNFINISHED
    assert second.outcome is Outcome.HASHED


async def test_bomb_past_relaxed_caps_is_stopped_by_the_memory_cap() -> None:
    # With the declared-size checks switched off, only the worker's memory cap stands between a
    # 35-byte GIF declaring 40000x40000 pixels and a 1.6 GB allocation (more than the whole
    # 1 GiB cap, whatever the worker's libraries already map). Previews are made in a worker
    # too: in the bot's own process, nothing would stop it.
    relaxed = DecodeLimits(max_side=10**6, max_pixels_other=10**12, max_frames_pixels=10**13)
    settings = PoolSettings(
        workers=1, memory_bytes=1 << 30, job_seconds=20.0, decode_limits=relaxed
    )
    bomb = samples.gif_declaring(40000, 40000)
    async with HashingPool(settings) as pool:
        hashed = await pool.hash_media(bomb)
        after = await pool.hash_media(photo_jpeg())
        previews = [await pool.blurred_preview(data) for data in (bomb, b"text", photo_jpeg())]
    assert hashed.outcome is Outcome.UNFINISHED
    assert "memory" in str(hashed.reason)
    assert after.outcome is Outcome.HASHED
    assert previews[:2] == [None, None]
    assert previews[2] is not None and previews[2].startswith(b"\xff\xd8\xff")


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
    assert [str(r.reason) for r in results] == ["a", "b", "c", "d"]


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
        assert str((await running).reason) == "a"
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


# A fresh interpreter, so its fork server starts with the fake secrets in its environment: the
# fork server of this test process may have started before they were set.
SHOW_A_WORKER = """
import asyncio, sys
from media.workers import HashingPool, PoolSettings
from tests.media import jobs

async def main():
    async with HashingPool(PoolSettings(workers=1), job=jobs.report_pid) as pool:
        print((await pool.hash_media(b"your pid?")).reason, flush=True)
        sys.stdin.readline()  # keep the worker running while the test reads its environment

asyncio.run(main())
"""


async def test_a_running_worker_has_no_secret_in_its_environment() -> None:
    token = "MTIz.fake-token-for-this-test.only"
    database = "postgresql://lightstick:hunter2@db.example/lightstick"
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SHOW_A_WORKER,
        env={**os.environ, "DISCORD_TOKEN": token, "DATABASE_URL": database},
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert bot.stdin is not None and bot.stdout is not None
        pid = int(await bot.stdout.readline())
        environ = await asyncio.to_thread(Path(f"/proc/{pid}/environ").read_bytes)
        bot.stdin.write(b"done\n")
        await bot.stdin.drain()
        assert await bot.wait() == 0
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    names = {entry.partition(b"=")[0].decode() for entry in environ.split(b"\0") if entry}
    assert token.encode() not in environ and b"hunter2" not in environ
    # glibc cuts its tunables' string up in place as it reads it: /proc shows each tunable as
    # a string of its own.
    tunables = {setting.partition("=")[0] for setting in MALLOC_TUNABLES[1].split(":")}
    assert names <= ALLOWED | {MALLOC_TUNABLES[0], RESTARTED[0]} | tunables


def minor_faults(pid: int) -> int:
    """The process's minor page faults so far (/proc/<pid>/stat, field 10)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[7])


async def test_a_worker_keeps_its_memory_from_one_job_to_the_next() -> None:
    """With glibc's default malloc settings every job mapped its working set afresh (about
    1,700 page faults for a 1080p photo, 4 ms of the kernel's time): `MALLOC_TUNABLES`."""
    photo = samples.encode(samples.photo().resize((1920, 1080)), "JPEG")
    async with HashingPool(PoolSettings(workers=1)) as pool:
        for _ in range(3):  # the first jobs grow the heap to what a job needs
            await pool.hash_media(photo)
        (pid,) = pool.worker_pids
        before = minor_faults(pid)
        results = [await pool.hash_media(photo) for _ in range(10)]
        faults = (minor_faults(pid) - before) / len(results)
    assert all(result.outcome is Outcome.HASHED for result in results)
    assert faults < 100


async def test_a_pickled_reply_is_refused_as_bad_and_never_run(tmp_path: Path) -> None:
    created = tmp_path / "the pickle ran"
    async with HashingPool(PoolSettings(workers=1), job=jobs.misbehave_on_request) as pool:
        result = await pool.hash_media(jobs.PICKLE_REPLY + str(created).encode())
        assert pool.killed == 1  # the worker that sent it was replaced
        after = await pool.hash_media(photo_jpeg())
    assert result.outcome is Outcome.UNFINISHED
    assert str(result.reason) == "the process checking it sent a malformed reply (it was replaced)"
    assert not created.exists()
    assert after.hashed


async def test_a_reply_longer_than_allowed_is_refused_before_it_is_read() -> None:
    async with HashingPool(PoolSettings(workers=1), job=jobs.misbehave_on_request) as pool:
        result = await pool.hash_media(jobs.LONG_REPLY)
        assert pool.killed == 1
        after = await pool.hash_media(photo_jpeg())
    assert str(result.reason) == "the process checking it sent a malformed reply (it was replaced)"
    assert after.hashed


async def test_a_reply_sent_in_part_runs_into_the_deadline_and_never_blocks_the_loop() -> None:
    # Reading the rest in the loop's thread would block it, and the deadline could never fire.
    settings = PoolSettings(workers=1, stall_seconds=2.0)
    async with HashingPool(settings, job=jobs.misbehave_on_request) as pool:
        result = await pool.hash_media(jobs.PARTIAL_REPLY)
        assert pool.killed == 1
        after = await pool.hash_media(photo_jpeg())
    assert str(result.reason) == "checking it took longer than 2 s"
    assert after.hashed

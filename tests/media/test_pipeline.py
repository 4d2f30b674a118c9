"""Download-and-hash caching, against a real aiohttp server and a real hashing worker."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from media.fetch import FetchPolicy
from media.hashing import MediaHashes
from media.outcomes import Outcome
from media.pipeline import MediaPipeline, MediaRef
from media.preview import PreviewDetail
from media.workers import HashingPool, PoolClosed, PoolSettings
from tests.media import jobs, samples

PHOTOS = {name: samples.encode(samples.photo(n), "JPEG") for n, name in enumerate("abc", start=1)}


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Counter[str]]]:
    """Serves /a, /b, /c and /copy-of-a; counts the requests per path."""
    downloads: Counter[str] = Counter()

    async def serve(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        downloads[name] += 1
        return web.Response(body=PHOTOS[name.removeprefix("copy-of-")])

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"127.0.0.1:{runner.addresses[0][1]}", downloads
    finally:
        await runner.cleanup()


def ref(host: str, name: str, key: str | None = None) -> MediaRef:
    return MediaRef(key or f"attachment:{name}", f"http://{host}/{name}", "attachment")


async def test_a_file_seen_again_is_neither_downloaded_nor_hashed_again(server) -> None:
    host, downloads = server
    policy = FetchPolicy(frozenset({host}), allow_http=True)
    async with aiohttp.ClientSession() as session:
        async with HashingPool(PoolSettings(workers=1)) as pool:
            pipeline = MediaPipeline(session, pool, policy)
            first = await pipeline.hash_ref(ref(host, "a"))
        # The pool is closed: anything that still needed a worker would raise PoolClosed.
        again = await pipeline.hash_ref(ref(host, "a"))
        copy = await pipeline.hash_ref(ref(host, "copy-of-a"))  # same bytes, a new attachment
        with pytest.raises(PoolClosed):
            await pipeline.hash_ref(ref(host, "b"))
    assert first.hashes.hashed and not first.cached and first.data == PHOTOS["a"]
    # The caches keep hashes, not the pixels a preview is made from.
    hashes_only = replace(first.hashes, preview_detail=None)
    assert first.hashes.preview_detail is not None
    assert again.cached and again.data is None and again.hashes == hashes_only
    assert copy.hashes == hashes_only and copy.data == PHOTOS["a"]
    assert downloads == {"a": 1, "copy-of-a": 1, "b": 1}


def alive_results() -> int:
    gc.collect()
    return sum(isinstance(thing, MediaHashes) for thing in gc.get_objects())


async def test_the_caches_hold_no_objects_for_the_garbage_collector_to_walk(server) -> None:
    """A full collection walks every live object; cached results are kept as one bytes each."""
    host, _ = server
    policy = FetchPolicy(frozenset({host}), allow_http=True)
    async with aiohttp.ClientSession() as session, HashingPool(PoolSettings(workers=1)) as pool:
        pipeline = MediaPipeline(session, pool, policy)
        before = alive_results()  # other tests in this process may keep some
        for name in "abc":
            await pipeline.hash_ref(ref(host, name))
        after = alive_results()
        cached = await pipeline.hash_ref(ref(host, "c"))
    assert after == before
    assert cached.cached and cached.hashes.hashed


async def test_a_file_the_busy_pool_had_no_room_for_could_not_finish_and_is_not_cached(
    server, tmp_path: Path
) -> None:
    host, downloads = server
    policy = FetchPolicy(frozenset({host}), allow_http=True)
    settings = PoolSettings(workers=1, max_waiting=0, admission_seconds=0)
    async with (
        jobs.Gates(tmp_path, "a") as gates,
        aiohttp.ClientSession() as session,
        HashingPool(settings, job=jobs.wait_for_release) as pool,
    ):
        pipeline = MediaPipeline(session, pool, policy)
        busy = asyncio.create_task(pool.hash_media(gates.job("a")))
        assert await gates.next_started() == "a"
        turned_away = await pipeline.hash_ref(ref(host, "a"))
        await gates.release("a")
        await busy
        later = await pipeline.hash_ref(ref(host, "a"))
    assert turned_away.hashes.outcome is Outcome.UNFINISHED
    assert "too busy to check it" in str(turned_away.hashes.reason)
    assert later.hashes.hashed and not later.cached
    assert downloads["a"] == 2


async def test_a_file_turned_away_by_the_busy_pool_waits_for_room_and_is_hashed(
    server, tmp_path: Path
) -> None:
    host, downloads = server
    policy = FetchPolicy(frozenset({host}), allow_http=True)
    settings = PoolSettings(workers=1, max_waiting=0, admission_seconds=0)
    turned_away: list[int] = []
    async with (
        jobs.Gates(tmp_path, "a") as gates,
        aiohttp.ClientSession() as session,
        HashingPool(settings, job=jobs.wait_for_release) as pool,
    ):
        pipeline = MediaPipeline(session, pool, policy)
        busy = asyncio.create_task(pool.hash_media(gates.job("a")))
        assert await gates.next_started() == "a"
        was_busy = asyncio.Event()

        def heard(result, attempt: int) -> None:  # type: ignore[no-untyped-def]
            assert result.busy and "too busy" in str(result.hashes.reason)
            turned_away.append(attempt)
            was_busy.set()

        patient = asyncio.create_task(pipeline.hash_ref_patiently(ref(host, "b"), 3, heard))
        await was_busy.wait()
        assert not patient.done()  # waiting for room, not given up
        await gates.release("a")
        await busy
        result = await patient
    assert result.hashes.hashed and not result.busy
    assert turned_away == [1] and downloads["b"] == 2


async def test_a_file_still_turned_away_after_every_attempt_says_why(
    server, tmp_path: Path
) -> None:
    host, _ = server
    policy = FetchPolicy(frozenset({host}), allow_http=True)
    settings = PoolSettings(workers=1, max_waiting=0, admission_seconds=0)
    turned_away: list[int] = []
    async with (
        jobs.Gates(tmp_path, "a") as gates,
        aiohttp.ClientSession() as session,
        HashingPool(settings, job=jobs.wait_for_release) as pool,
    ):
        pipeline = MediaPipeline(session, pool, policy)
        busy = asyncio.create_task(pool.hash_media(gates.job("a")))
        assert await gates.next_started() == "a"
        result = await pipeline.hash_ref_patiently(
            ref(host, "b"), 1, lambda _, attempt: turned_away.append(attempt)
        )
        await gates.release("a")
        await busy
    assert result.busy and result.hashes.outcome is Outcome.UNFINISHED
    assert "too busy to check it" in str(result.hashes.reason) and turned_away == [1]


async def test_a_score_asked_for_is_never_answered_by_a_cached_result_without_one(server) -> None:
    host, downloads = server
    policy = FetchPolicy(frozenset({host}), allow_http=True)
    async with aiohttp.ClientSession() as session:
        async with HashingPool(PoolSettings(workers=1, job_seconds=30.0)) as pool:
            pipeline = MediaPipeline(session, pool, policy)
            plain = await pipeline.hash_ref(ref(host, "a"))
            scored = await pipeline.hash_ref(ref(host, "a"), explicit=True)
            plain_bytes = await pipeline.hash_bytes(PHOTOS["b"])
            scored_bytes = await pipeline.hash_bytes(PHOTOS["b"], explicit=True)
        # The pool is closed: from here on, anything not answered by a cache raises PoolClosed.
        again = await pipeline.hash_ref(ref(host, "a"), explicit=True)
        copy = await pipeline.hash_ref(ref(host, "copy-of-a"), explicit=True)
        unasked = await pipeline.hash_ref(ref(host, "a"))
    assert plain.hashes.explicit_score is None
    assert scored.hashes.explicit_score is not None and not scored.cached
    assert scored.hashes.frames == plain.hashes.frames
    assert plain_bytes.explicit_score is None and scored_bytes.explicit_score is not None
    scored_hashes = replace(scored.hashes, preview_detail=None)  # caches keep no pixels
    assert again.cached and again.hashes == scored_hashes
    assert copy.hashes == scored_hashes
    # No score unless asked for.
    assert unasked.cached and unasked.hashes == replace(plain.hashes, preview_detail=None)
    assert downloads == {"a": 2, "copy-of-a": 1}


async def test_a_fresh_result_previews_from_its_pixels_and_a_cached_one_from_the_file(
    server,
) -> None:
    host, downloads = server
    policy = FetchPolicy(frozenset({host}), allow_http=True)
    async with aiohttp.ClientSession() as session, HashingPool(PoolSettings(workers=1)) as pool:
        pipeline = MediaPipeline(session, pool, policy)
        fresh = await pipeline.hash_ref(ref(host, "a"))
        cached = await pipeline.hash_ref(ref(host, "a"))
        from_pixels = await pipeline.preview_source(fresh)
        from_file = await pipeline.preview_source(cached)
        assert from_pixels is not None and from_file is not None
        previews = [await pipeline.blurred_preview(s) for s in (from_pixels, from_file)]
    assert isinstance(from_pixels, PreviewDetail)
    assert from_file == PHOTOS["a"]  # downloaded again: a cached result has no bytes either
    assert downloads == {"a": 2}
    assert previews[0] is not None and previews[0] == previews[1]


async def test_a_preview_the_busy_pool_had_no_room_for_is_skipped(tmp_path: Path) -> None:
    settings = PoolSettings(workers=1, max_waiting=0, admission_seconds=0)
    async with (
        jobs.Gates(tmp_path, "a") as gates,
        aiohttp.ClientSession() as session,
        HashingPool(settings, job=jobs.wait_for_release) as pool,
    ):
        pipeline = MediaPipeline(session, pool, FetchPolicy(frozenset()))
        shown = await pipeline.blurred_preview(PHOTOS["a"])
        busy = asyncio.create_task(pool.hash_media(gates.job("a")))
        assert await gates.next_started() == "a"
        skipped = await pipeline.blurred_preview(PHOTOS["a"])
        await gates.release("a")
        await busy
    assert shown is not None and skipped is None

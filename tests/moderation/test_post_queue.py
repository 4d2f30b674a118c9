"""The mod channel's post queue: posts in order, one at a time; a burst past its room is counted
per server and summarised once the queue drains; a failing post doesn't stop the rest."""

from __future__ import annotations

import asyncio

from moderation.post_queue import PostQueue


async def test_a_burst_past_the_room_is_summarised_per_server_after_the_queue_drains() -> None:
    posted: list[str] = []
    summaries: list[tuple[int, int]] = []
    release = asyncio.Event()
    drained = asyncio.Event()

    async def post(item: str) -> None:
        await release.wait()  # the mod channel is rate-limited: nothing gets through yet
        if item == "broken":
            raise RuntimeError("Discord said no")
        posted.append(item)

    async def summarise(guild_id: int, skipped: int) -> None:
        summaries.append((guild_id, skipped))
        drained.set()

    queue: PostQueue[str] = PostQueue("test posts", 2, post, summarise)
    queue.start()
    assert queue.put(1, "first")
    await asyncio.sleep(0)  # the poster takes "first" and waits on the channel
    assert queue.put(1, "broken") and queue.put(2, "second")
    assert not queue.put(1, "lost") and not queue.put(1, "lost") and not queue.put(2, "lost")
    assert (queue.waiting, queue.skipped(1), queue.skipped(2)) == (2, 2, 1)
    release.set()
    await drained.wait()
    await queue.close()
    assert posted == ["first", "second"]
    assert sorted(summaries) == [(1, 2), (2, 1)] and queue.skipped(1) == 0

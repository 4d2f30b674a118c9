"""A bounded queue of posts for the mod channel, posted one at a time, with burst summaries.

In a raid Discord rate-limits the mod channel, and whatever found the thing to post (a scan)
must not wait for the post. So posts wait here, in order; past the queue's room a post is not
queued but counted for its server, and once the queue drains each server that lost posts gets
one message saying how many. What the post is about is recorded (a case) before it is queued,
so a skipped post loses nothing but the message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class PostQueue(Generic[T]):
    """Posts `T`s with `post`, one at a time; `summarise(guild_id, skipped)` tells a server
    how many of its posts a burst skipped."""

    SHUTDOWN_SECONDS = 5.0  # how long a shutdown waits for queued posts

    def __init__(
        self,
        name: str,
        room: int,
        post: Callable[[T], Awaitable[None]],
        summarise: Callable[[int, int], Awaitable[None]],
    ) -> None:
        self.name = name
        self._queue: asyncio.Queue[T] = asyncio.Queue(room)
        self._post = post
        self._summarise = summarise
        self._skipped: Counter[int] = Counter()  # guild id -> posts skipped in a burst
        self._poster: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._poster = asyncio.create_task(self._run(), name=self.name)

    async def close(self) -> None:
        """Post what is queued while the connection is still open, within reason."""
        try:
            await asyncio.wait_for(self._queue.join(), self.SHUTDOWN_SECONDS)
        except TimeoutError:
            log.warning("Shutting down with %d %s not posted", self.waiting, self.name)
        if self._poster is not None:
            self._poster.cancel()

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def skipped(self, guild_id: int) -> int:
        """Posts of a server skipped in a burst, still to be summarised."""
        return self._skipped[guild_id]

    @property
    def has_room(self) -> bool:
        """Whether a post queued now would be posted rather than counted for the summary
        (so work only a post needs, such as a preview, can be left out in a burst)."""
        return not self._queue.full()

    def put(self, guild_id: int, item: T) -> bool:
        """Queue a post; past the queue's room it is counted for the summary (False)."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self._skipped[guild_id] += 1
            log.warning("%s queue full: one in guild %s is not posted", self.name, guild_id)
            return False
        return True

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._post(item)
                if self._queue.empty():
                    await self._summaries()
            except Exception:
                log.exception("Posting one of the %s failed", self.name)
            finally:
                self._queue.task_done()

    async def _summaries(self) -> None:
        while self._skipped:
            guild_id, skipped = self._skipped.popitem()
            try:
                await self._summarise(guild_id, skipped)
            except Exception:
                log.exception(
                    "Summarising %d skipped %s in guild %s failed", skipped, self.name, guild_id
                )


class QueuedPosts(Generic[T]):
    """A service whose mod-channel posts go through a `PostQueue` (`self.posts`, made in its
    `__init__`): started and closed with the bot, and counted, through it."""

    posts: PostQueue[T]

    def start(self) -> None:
        self.posts.start()

    async def close(self) -> None:
        """Post what is queued while the connection is still open, within reason."""
        await self.posts.close()

    @property
    def waiting(self) -> int:
        """Posts queued and not yet posted."""
        return self.posts.waiting

    def skipped(self, guild_id: int) -> int:
        """Posts of a server not posted in a burst, to be summarised."""
        return self.posts.skipped(guild_id)

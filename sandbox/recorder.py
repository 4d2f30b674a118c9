"""What the bot did, as the sandbox saw it: REST calls and gateway frames, in order, awaitable.

Tests assert on these records instead of on the bot's internals: "the bot posted a message
with a Take down button" is a recorded `POST /channels/{channel_id}/messages`. Waiting scans
what was already recorded first, so a test cannot miss a call that happened before it awaited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass
class Call:
    """One REST request and the sandbox's answer."""

    method: str
    route: str  # the template, e.g. "/channels/{channel_id}/messages"
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    status: int = 0
    response: Any = None
    reason: str | None = None

    def __repr__(self) -> str:
        return f"<Call {self.method} {self.path} -> {self.status}>"


@dataclass
class Frame:
    """One gateway payload, sent by the sandbox ("out") or by the bot ("in")."""

    direction: str
    op: int
    event: str | None
    data: Any
    session_id: str | None
    seq: int | None = None
    connection: int = 0  # which websocket (numbered from 1 in order of connection)


class Recorder(Generic[T]):
    def __init__(self) -> None:
        self.items: list[T] = []
        self._waiters: list[tuple[Callable[[T], bool], asyncio.Future[T], int]] = []

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def append(self, item: T) -> None:
        self.items.append(item)
        index = len(self.items) - 1
        waiting = []  # one pass: a burst test may have a thousand waiters
        for predicate, future, since in self._waiters:
            if future.done():
                continue
            if index >= since and predicate(item):
                future.set_result(item)
                continue
            waiting.append((predicate, future, since))
        self._waiters = waiting

    def find(self, predicate: Callable[[T], bool], since: int = 0) -> list[T]:
        return [item for item in self.items[since:] if predicate(item)]

    async def wait_for(
        self, predicate: Callable[[T], bool], *, timeout: float, since: int = 0, what: str = ""
    ) -> T:
        for item in self.items[since:]:
            if predicate(item):
                return item
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future, since))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"nothing matched {what or predicate} within {timeout}s") from None


def call_matcher(
    method: str, route: str | None, where: Callable[[Call], bool] | None
) -> Callable[[Call], bool]:
    def match(call: Call) -> bool:
        if call.method != method.upper():
            return False
        if route is not None and call.route != route:
            return False
        return where is None or where(call)

    return match


def frame_matcher(
    event: str | None, op: int | None, direction: str, where: Callable[[Any], bool] | None
) -> Callable[[Frame], bool]:
    def match(frame: Frame) -> bool:
        if frame.direction != direction:
            return False
        if event is not None and frame.event != event:
            return False
        if op is not None and frame.op != op:
            return False
        return where is None or where(frame.data)

    return match

"""Fault injection: make chosen REST routes fail the way Discord fails, or answer late.

A rule matches a method and a route template and fires a set number of times. A 429 carries
Discord's JSON body and a `Via` header, because discord.py treats a 429 without them as a
Cloudflare ban and raises instead of waiting and retrying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    method: str
    route: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    fired: int = 0


@dataclass
class Lag:
    """Answers that reach the bot late, after Discord (the sandbox) has acted on the call."""

    method: str
    route: str
    seconds: float
    times: int = 1
    fired: int = 0


class Faults:
    def __init__(self) -> None:
        self.rules: list[Fault] = []
        self.lags: list[Lag] = []

    def answer_late(self, method: str, route: str, seconds: float, *, times: int = 1) -> Lag:
        """The next `times` calls are carried out at once (a test sees them, and the member sees
        what they show) but their answer reaches the bot `seconds` later, as over a slow
        network: what a member does meanwhile reaches the bot before its own answer does."""
        lag = Lag(method.upper(), route, seconds, times)
        self.lags.append(lag)
        return lag

    def lag(self, method: str, route: str) -> float:
        for lag in self.lags:
            if lag.method == method and lag.route == route and lag.fired < lag.times:
                lag.fired += 1
                return lag.seconds
        return 0.0

    def fail(
        self,
        method: str,
        route: str,
        status: int,
        *,
        code: int = 0,
        message: str | None = None,
        times: int = 1,
    ) -> Fault:
        """The next `times` calls to `method route` answer `status` with Discord's error body."""
        body = {"message": message or _default_message(status), "code": code}
        return self._add(Fault(method.upper(), route, status, body, times=times))

    def rate_limit(
        self,
        method: str,
        route: str,
        *,
        retry_after: float = 0.3,
        times: int = 1,
        glob: bool = False,
    ) -> Fault:
        """The next `times` calls get a 429 that discord.py must wait out and retry."""
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": glob,
        }
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": str(retry_after),
            "X-RateLimit-Scope": "global" if glob else "user",
        }
        if glob:
            headers["X-RateLimit-Global"] = "true"
        return self._add(Fault(method.upper(), route, 429, body, headers, times=times))

    def _add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def take(self, method: str, route: str) -> Fault | None:
        for fault in self.rules:
            if fault.method == method and fault.route == route and fault.fired < fault.times:
                fault.fired += 1
                return fault
        return None

    def clear(self) -> None:
        self.rules.clear()


def _default_message(status: int) -> str:
    return {
        400: "400: Bad Request",
        403: "Missing Permissions",
        404: "404: Not Found",
        500: "500: Internal Server Error",
        502: "502: Bad Gateway",
        503: "503: Service Unavailable",
    }.get(status, f"{status}: Error")

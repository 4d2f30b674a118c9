"""Safe download of media from Discord into memory.

Why so strict: every URL in a message comes from a stranger. We fetch only from hosts the caller
allows (Discord's CDN and media proxy, or a configured sandbox) and from Discord's external-image
proxy (`images-ext-N.discordapp.net`, which serves link previews and embed images; matched by
exact pattern, https only), follow redirects by hand and check every hop, cap the bytes while
reading (a Content-Length can lie or be absent), give the whole download one deadline, and ask
for and accept no compression (a gzip bomb is a bomb). The format is decided by magic bytes, not
by the name or the Content-Type.

A failed download says which kind of "could not check" it is (`FetchError.outcome`): over the
byte cap, past the deadline or a server error is UNFINISHED; a host, scheme, encoding or format
the bot refuses is UNSUPPORTED.

This module knows nothing of Discord or settings: the caller passes the allowed hosts in.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import aiohttp
import yarl

from core.phrases import Phrase, phrase, plural_phrase
from media.formats import MediaFormat, sniff_format
from media.outcomes import Outcome, detail

REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Discord's attachment CDN and media proxy; the caller adds DISCORD_CDN_BASE's host if set.
DISCORD_MEDIA_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})
# Discord's external-image proxy: images-ext-1.discordapp.net, images-ext-2..., on https only.
DISCORD_EXTERNAL_PROXY = re.compile(r"images-ext-[0-9]{1,3}\.discordapp\.net")
CHUNK = 64 * 1024


class FetchError(Exception):
    """A download that produced no media; `reason` is fit for a moderator (`str(exc)` is the
    English, for a log line), and `outcome` is the kind of "could not check" it is."""

    def __init__(self, reason: Phrase, outcome: Outcome) -> None:
        super().__init__(str(reason))
        self.reason = reason
        self.outcome = outcome


class FetchRejected(FetchError):
    """Refused by policy: host, scheme, size, encoding, format or too many redirects."""

    def __init__(self, reason: Phrase, outcome: Outcome = Outcome.UNSUPPORTED) -> None:
        super().__init__(reason, outcome)


class FetchFailed(FetchError):
    """The server or the network failed: an HTTP error status, a connection error, the deadline."""

    def __init__(self, reason: Phrase) -> None:
        super().__init__(reason, Outcome.UNFINISHED)


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    allowed_hosts: frozenset[str]  # "cdn.discordapp.com", or "127.0.0.1:8123" for a sandbox
    max_bytes: int = 25 * 1024 * 1024
    deadline_seconds: float = 20.0
    max_redirects: int = 3
    allow_http: bool = False  # plain http only for a local sandbox (never for the patterns)
    # Hosts allowed by exact pattern (the whole name must match), on https and port 443 only.
    host_patterns: tuple[re.Pattern[str], ...] = field(default=(DISCORD_EXTERNAL_PROXY,))


@dataclass(frozen=True, slots=True)
class FetchedMedia:
    data: bytes
    format: MediaFormat
    url: str  # the final URL, after redirects


def check_url(url: yarl.URL, policy: FetchPolicy) -> None:
    """Raise FetchRejected unless `url` is on an allowed host with an allowed scheme."""
    schemes = {"https", "http"} if policy.allow_http else {"https"}
    if url.scheme not in schemes:
        raise FetchRejected(
            phrase("the scheme {scheme} is not allowed", scheme=repr(url.scheme[:20]))
        )
    if url.user is not None or url.password is not None:
        raise FetchRejected(phrase("URLs with credentials are not allowed"))
    host = (url.host or "").lower().rstrip(".")
    name = host if url.explicit_port is None else f"{host}:{url.explicit_port}"
    if name in {h.lower() for h in policy.allowed_hosts}:
        return
    if any(pattern.fullmatch(host) for pattern in policy.host_patterns):
        if url.scheme == "https" and url.explicit_port in (None, 443):
            return
        raise FetchRejected(phrase("the host {host} is allowed on https only", host=repr(host)))
    raise FetchRejected(phrase("the host {host} is not an allowed media host", host=repr(name)))


async def fetch_media(
    session: aiohttp.ClientSession, url: str, policy: FetchPolicy
) -> FetchedMedia:
    """Download `url` into memory under `policy`; raise FetchRejected or FetchFailed."""
    try:
        target = yarl.URL(url)
    except (ValueError, TypeError) as exc:
        raise FetchRejected(phrase("not a valid URL ({detail})", detail=detail(exc))) from exc
    try:
        async with asyncio.timeout(policy.deadline_seconds):
            return await _follow(session, target, policy)
    except TimeoutError as exc:
        raise FetchFailed(
            phrase(
                "the download took longer than {seconds} s",
                seconds=f"{policy.deadline_seconds:g}",
            )
        ) from exc
    except aiohttp.ClientError as exc:
        raise FetchFailed(
            phrase("the download failed ({detail})", detail=type(exc).__name__)
        ) from exc


async def _follow(
    session: aiohttp.ClientSession, url: yarl.URL, policy: FetchPolicy
) -> FetchedMedia:
    for _ in range(policy.max_redirects + 1):
        check_url(url, policy)
        async with session.get(
            url,
            allow_redirects=False,
            auto_decompress=False,
            headers={"Accept-Encoding": "identity"},
        ) as response:
            if response.status in REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise FetchFailed(
                        phrase(
                            "the server answered HTTP {status} without a Location",
                            status=response.status,
                        )
                    )
                url = url.join(yarl.URL(location))
                continue
            data = await _read_capped(response, policy.max_bytes)
            fmt = sniff_format(data)
            if fmt is None:
                raise FetchRejected(
                    phrase("the download is not an image or video format the bot reads")
                )
            return FetchedMedia(data, fmt, str(url))
    raise FetchRejected(
        plural_phrase(
            "more than {count} redirect", "more than {count} redirects", policy.max_redirects
        ),
        Outcome.UNFINISHED,
    )


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    if response.status != 200:
        raise FetchFailed(phrase("the server answered HTTP {status}", status=response.status))
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise FetchRejected(
            phrase("compressed responses ({encoding}) are not accepted", encoding=encoding[:40])
        )
    too_large = phrase(
        "the file is larger than the {mib} MiB the bot downloads", mib=max_bytes // (1024 * 1024)
    )
    if response.content_length is not None and response.content_length > max_bytes:
        raise FetchRejected(too_large, Outcome.UNFINISHED)
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.content.iter_chunked(CHUNK):
        received += len(chunk)
        if received > max_bytes:
            raise FetchRejected(too_large, Outcome.UNFINISHED)
        chunks.append(chunk)
    return b"".join(chunks)

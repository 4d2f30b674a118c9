"""Safe download, against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import aiohttp
import pytest
import yarl
from aiohttp import web

from media.fetch import FetchFailed, FetchPolicy, FetchRejected, check_url, fetch_media
from media.formats import MediaFormat
from media.outcomes import Outcome
from tests.media import samples

JPEG = samples.encode(samples.photo(), "JPEG")


async def image(_: web.Request) -> web.Response:
    return web.Response(body=JPEG, content_type="text/plain")  # the type is deliberately wrong


async def endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()  # chunked: no Content-Length to trust
    await response.prepare(request)
    await response.write(JPEG)
    for _ in range(400):
        await response.write(b"\x00" * 65536)
    return response


async def slow(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(JPEG[:100])
    await asyncio.sleep(30)
    return response


async def text(_: web.Request) -> web.Response:
    return web.Response(text="hello")


async def gzipped(_: web.Request) -> web.Response:
    return web.Response(body=gzip.compress(JPEG), headers={"Content-Encoding": "gzip"})


def redirect_to(location: str):
    async def handler(_: web.Request) -> web.Response:
        raise web.HTTPFound(location)

    return handler


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/image", image)
    app.router.add_get("/endless", endless)
    app.router.add_get("/slow", slow)
    app.router.add_get("/gzip", gzipped)
    app.router.add_get("/text", text)
    app.router.add_get("/hop", redirect_to("/image"))
    app.router.add_get("/away", redirect_to("http://127.0.0.2:9/image"))
    app.router.add_get("/loop", redirect_to("/loop"))
    runner = web.AppRunner(app, shutdown_timeout=0.1)  # do not wait for /slow to finish
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def policy_for(host: str, **overrides: object) -> FetchPolicy:
    options: dict = {"allowed_hosts": frozenset({host}), "allow_http": True}
    options.update(overrides)
    return FetchPolicy(**options)


async def fetch(host: str, path: str, **overrides: object):
    async with aiohttp.ClientSession() as session:
        return await fetch_media(session, f"http://{host}{path}", policy_for(host, **overrides))


async def test_image_is_fetched_and_sniffed_by_magic_bytes(server: str) -> None:
    fetched = await fetch(server, "/image")
    assert fetched.data == JPEG
    assert fetched.format is MediaFormat.JPEG


async def test_redirect_on_an_allowed_host_is_followed(server: str) -> None:
    fetched = await fetch(server, "/hop")
    assert fetched.url.endswith("/image")


async def test_redirect_to_another_host_is_rejected(server: str) -> None:
    with pytest.raises(FetchRejected, match="not an allowed media host"):
        await fetch(server, "/away")


async def test_redirect_loop_could_not_finish(server: str) -> None:
    with pytest.raises(FetchRejected, match="redirects") as refused:
        await fetch(server, "/loop")
    assert refused.value.outcome is Outcome.UNFINISHED


async def test_byte_cap_is_enforced_while_reading_and_could_not_finish(server: str) -> None:
    with pytest.raises(FetchRejected, match="larger than") as refused:
        await fetch(server, "/endless", max_bytes=1_000_000)
    assert refused.value.outcome is Outcome.UNFINISHED


async def test_deadline_covers_the_whole_download(server: str) -> None:
    with pytest.raises(FetchFailed, match="longer than") as failed:
        await fetch(server, "/slow", deadline_seconds=0.5)
    assert failed.value.outcome is Outcome.UNFINISHED


async def test_compressed_response_is_unsupported(server: str) -> None:
    with pytest.raises(FetchRejected, match="compressed") as refused:
        await fetch(server, "/gzip")
    assert refused.value.outcome is Outcome.UNSUPPORTED


async def test_non_media_is_unsupported(server: str) -> None:
    with pytest.raises(FetchRejected, match="not an image or video format") as refused:
        await fetch(server, "/text")
    assert refused.value.outcome is Outcome.UNSUPPORTED


async def test_http_error_status_could_not_finish(server: str) -> None:
    with pytest.raises(FetchFailed, match="HTTP 404") as failed:
        await fetch(server, "/missing")
    assert failed.value.outcome is Outcome.UNFINISHED


async def test_host_not_allowed_is_rejected_without_connecting(server: str) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FetchRejected, match="not an allowed"):
            await fetch_media(session, f"http://{server}/image", policy_for("cdn.discordapp.com"))


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.discordapp.com/a.png",
        "ftp://cdn.discordapp.com/a.png",
        "https://user:pw@cdn.discordapp.com/a.png",
        "https://cdn.discordapp.com:8443/a.png",
        "https://cdn.discordapp.com.evil.example/a.png",
    ],
)
async def test_url_outside_the_policy_is_rejected(url: str) -> None:
    policy = FetchPolicy(allowed_hosts=frozenset({"cdn.discordapp.com"}))
    async with aiohttp.ClientSession() as session:
        with pytest.raises(FetchRejected):
            await fetch_media(session, url, policy)


@pytest.mark.parametrize(
    "url",
    [
        "https://images-ext-1.discordapp.net/external/aBc/https/example.com/a.png",
        "https://images-ext-2.discordapp.net/external/aBc/https/example.com/a.png",
        "https://IMAGES-EXT-12.discordapp.net./external/aBc/https/example.com/a.png",
        "https://images-ext-1.discordapp.net:443/external/aBc/https/example.com/a.png",
    ],
)
def test_discords_external_image_proxy_is_allowed_by_pattern(url: str) -> None:
    check_url(yarl.URL(url), FetchPolicy(allowed_hosts=frozenset({"cdn.discordapp.com"})))


@pytest.mark.parametrize(
    "url",
    [
        "http://images-ext-1.discordapp.net/external/aBc/https/example.com/a.png",
        "https://images-ext-1.discordapp.net:8443/external/aBc/a.png",
        "https://images-ext-1.discordapp.net.evil.example/external/a.png",
        "https://evil-images-ext-1.discordapp.net/external/a.png",
        "https://images-ext-x.discordapp.net/external/a.png",
        "https://images-ext-1234.discordapp.net/external/a.png",
        "https://images-ext-1.discordapp.com/external/a.png",
        "https://images-ext-1.evil.discordapp.net/external/a.png",
        "https://user@images-ext-1.discordapp.net/external/a.png",
    ],
)
def test_lookalikes_of_the_external_image_proxy_are_refused(url: str) -> None:
    # allow_http as for a local sandbox: the proxy's pattern stays https only even then.
    policy = FetchPolicy(allowed_hosts=frozenset({"cdn.discordapp.com"}), allow_http=True)
    with pytest.raises(FetchRejected) as refused:
        check_url(yarl.URL(url), policy)
    assert refused.value.outcome is Outcome.UNSUPPORTED

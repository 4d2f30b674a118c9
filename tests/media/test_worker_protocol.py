"""Worker replies are plain data read strictly: real results survive the trip, nothing else does."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from media.hashing import MediaHashes, entry_hashes_for_image, hash_media
from media.outcomes import Outcome
from media.preview import blurred_preview
from media.worker_protocol import (
    MAX_PREVIEW_BYTES,
    BadReply,
    check_preview,
    decode_hashes,
    encode_hashes,
)
from tests.media import samples


def photo_jpeg() -> bytes:
    return samples.encode(samples.photo(), "JPEG")


def real_results() -> dict[str, MediaHashes]:
    clip = samples.video([samples.photo(n).resize((160, 120)) for n in (1, 2, 3)], fps=1)
    return {
        "image": hash_media(photo_jpeg()),
        "image with a score": hash_media(photo_jpeg(), explicit=True),
        "entry": entry_hashes_for_image(photo_jpeg()),
        "video": hash_media(clip),
        "undecodable": hash_media(b"not a picture"),
        "crafted": hash_media(samples.gif_declaring(13000, 13000)),
    }


@pytest.mark.parametrize("name", list(real_results()))
def test_a_real_result_survives_the_trip_unchanged(name: str) -> None:
    result = real_results()[name]
    assert decode_hashes(encode_hashes(result)) == result


def hashed_document() -> dict[str, Any]:
    return json.loads(encode_hashes(hash_media(photo_jpeg(), explicit=True)))


def failed_document() -> dict[str, Any]:
    return json.loads(encode_hashes(MediaHashes.failed(Outcome.CRAFTED, "too big")))


def edit(change: Callable[[dict[str, Any]], object], start=hashed_document) -> bytes:
    document = start()
    change(document)
    return json.dumps(document).encode()


def frame(document: dict[str, Any]) -> dict[str, Any]:
    return document["frames"][0]


MALFORMED: dict[str, bytes | Callable[[], bytes]] = {
    "a pickle": lambda: pickle.dumps(hash_media(photo_jpeg())),
    "not utf-8": b"\xff\xfe{}",
    "not json": b"{'outcome': 'hashed'}",
    "a list": b"[]",
    "nan": lambda: encode_hashes(MediaHashes.failed(Outcome.CRAFTED, "x")).replace(
        b'"explicit_score":null', b'"explicit_score":NaN'
    ),
    "a key twice": lambda: encode_hashes(MediaHashes.failed(Outcome.CRAFTED, "x")).replace(
        b'{"outcome":"crafted"', b'{"outcome":"hashed","outcome":"crafted"'
    ),
    "a field more": lambda: edit(lambda d: d.update(code="run me")),
    "a field less": lambda: edit(lambda d: d.pop("extra")),
    "an unknown outcome": lambda: edit(lambda d: d.update(outcome="clean")),
    "an unknown kind": lambda: edit(lambda d: d.update(kind="pdf")),
    "an unknown format": lambda: edit(lambda d: d.update(format="bmp")),
    "a score above 1": lambda: edit(lambda d: d.update(explicit_score=1.5)),
    "a score as text": lambda: edit(lambda d: d.update(explicit_score="0.9")),
    "a score as a boolean": lambda: edit(lambda d: d.update(explicit_score=True)),
    "a quality as a boolean": lambda: edit(lambda d: frame(d).update(quality=True)),
    "a quality above 100": lambda: edit(lambda d: frame(d).update(quality=101)),
    "a quality as a float": lambda: edit(lambda d: frame(d).update(quality=80.0)),
    "a short pdq": lambda: edit(lambda d: frame(d).update(pdq="ab" * 16)),
    "an uppercase phash": lambda: edit(lambda d: frame(d).update(phash="AB" * 8)),
    "a pdq that is a number": lambda: edit(lambda d: frame(d).update(pdq=12)),
    "three variants": lambda: edit(lambda d: frame(d).update(pdq_variants=["0" * 64] * 3)),
    "a negative time": lambda: edit(lambda d: frame(d).update(time=-1.0)),
    "a frame field more": lambda: edit(lambda d: frame(d).update(score=1)),
    "a frame that is a list": lambda: edit(lambda d: d.update(frames=[[1, 2]])),
    "too many frames": lambda: edit(lambda d: d.update(frames=d["frames"] * 257)),
    "too many edge hashes": lambda: edit(lambda d: d.update(edge_phash=["0" * 16] * 65)),
    "a reason too long": lambda: edit(lambda d: d.update(reason="x" * 501), failed_document),
    "hashed with no frames": lambda: edit(lambda d: d.update(frames=[])),
    "hashed with a reason": lambda: edit(lambda d: d.update(reason="but why")),
    "failed with frames": lambda: edit(lambda d: d.update(outcome="unfinished", reason="x")),
    "failed with a score": lambda: edit(lambda d: d.update(explicit_score=0.5), failed_document),
    "failed without a reason": lambda: edit(lambda d: d.update(reason=""), failed_document),
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_reply_is_refused(name: str) -> None:
    reply = MALFORMED[name]
    with pytest.raises(BadReply):
        decode_hashes(reply() if callable(reply) else reply)


def test_a_preview_is_one_small_jpeg_or_nothing() -> None:
    preview = blurred_preview(photo_jpeg())
    assert preview is not None and check_preview(preview) == preview
    assert check_preview(b"") is None
    for bad in (samples.encode(samples.photo(), "PNG"), b"\xff\xd8\xff" + b"x" * MAX_PREVIEW_BYTES):
        with pytest.raises(BadReply):
            check_preview(bad)

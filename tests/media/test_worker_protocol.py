"""Worker replies are plain data read strictly: real results survive the trip, nothing else does."""

from __future__ import annotations

import base64
import json
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from core.phrases import phrase, plural_phrase
from media.hashing import MediaHashes, entry_hashes_for_image, hash_media
from media.outcomes import Outcome
from media.preview import blurred_preview
from media.worker_protocol import (
    MAX_CONFIRM_SIGNATURES,
    MAX_EDGE_HASHES,
    MAX_PREVIEW_BYTES,
    BadReply,
    check_preview,
    decode_confirm_request,
    decode_hashes,
    decode_inliers,
    encode_confirm_request,
    encode_hashes,
    encode_inliers,
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
        "a reason with a count and a phrase inside": MediaHashes.failed(
            Outcome.UNFINISHED,
            plural_phrase(
                "{count} thing: {why}", "{count} things: {why}", 2, why=phrase("a {x:,}", x=3)
            ),
        ),
    }


def test_a_reason_arrives_as_the_phrase_it_was_in_the_worker() -> None:
    reason = decode_hashes(encode_hashes(real_results()["crafted"])).reason
    assert (
        reason is not None
        and reason.text == "it declares {width}x{height} pixels, more than {most:,}"
    )
    assert dict(reason.values) == {"width": 13000, "height": 13000, "most": 40_000_000}
    assert str(reason) == "it declares 13000x13000 pixels, more than 40,000,000"


@pytest.mark.parametrize("name", list(real_results()))
def test_a_real_result_survives_the_trip_unchanged(name: str) -> None:
    result = real_results()[name]
    assert decode_hashes(encode_hashes(result)) == result


def hashed_document() -> dict[str, Any]:
    return json.loads(encode_hashes(hash_media(photo_jpeg(), explicit=True)))


def entry_document() -> dict[str, Any]:
    return json.loads(encode_hashes(entry_hashes_for_image(photo_jpeg())))


def failed_document() -> dict[str, Any]:
    reason = phrase("it is {size:,} bytes; at most {most:,}", size=10**9, most=10**8)
    return json.loads(encode_hashes(MediaHashes.failed(Outcome.CRAFTED, reason)))


def nested(depth: int) -> dict[str, Any]:
    inner: Any = 1 if depth == 0 else nested(depth - 1)
    return {"text": "{a}", "plural": None, "values": [["a", inner]]}


def reason(**change: Any) -> Callable[[dict[str, Any]], object]:
    return lambda document: document["reason"].update(change)


def edit(change: Callable[[dict[str, Any]], object], start=hashed_document) -> bytes:
    document = start()
    change(document)
    return json.dumps(document).encode()


def frame(document: dict[str, Any]) -> dict[str, Any]:
    return document["frames"][0]


def detail(document: dict[str, Any]) -> dict[str, Any]:
    return document["preview_detail"]


def base64_of(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


MALFORMED: dict[str, bytes | Callable[[], bytes]] = {
    "a pickle": lambda: pickle.dumps(hash_media(photo_jpeg())),
    "not utf-8": b"\xff\xfe{}",
    "not json": b"{'outcome': 'hashed'}",
    "a list": b"[]",
    "nan": lambda: encode_hashes(MediaHashes.failed(Outcome.CRAFTED, phrase("x"))).replace(
        b'"explicit_score":null', b'"explicit_score":NaN'
    ),
    "a key twice": lambda: encode_hashes(MediaHashes.failed(Outcome.CRAFTED, phrase("x"))).replace(
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
    "a mirror phash of a pdq's length": lambda: edit(
        lambda d: frame(d).update(phash_mirror="ab" * 32)
    ),
    "a pdq that is a number": lambda: edit(lambda d: frame(d).update(pdq=12)),
    "three variants": lambda: edit(lambda d: frame(d).update(pdq_variants=["0" * 64] * 3)),
    "a negative time": lambda: edit(lambda d: frame(d).update(time=-1.0)),
    "a frame field more": lambda: edit(lambda d: frame(d).update(score=1)),
    "a frame that is a list": lambda: edit(lambda d: d.update(frames=[[1, 2]])),
    "too many frames": lambda: edit(lambda d: d.update(frames=d["frames"] * 257)),
    "too many edge hashes": lambda: edit(
        lambda d: d.update(edge_phash=["0" * 16] * (MAX_EDGE_HASHES + 1))
    ),
    "a reason too long": lambda: edit(reason(text="x" * 501), failed_document),
    "a reason as plain text": lambda: edit(lambda d: d.update(reason="too big"), failed_document),
    "a reason field more": lambda: edit(reason(code="run me"), failed_document),
    "a reason without a value it names": lambda: edit(reason(values=[]), failed_document),
    "a reason with a value it doesn't name": lambda: edit(
        reason(text="it is big", values=[["size", 1]]), failed_document
    ),
    "a value named twice": lambda: edit(
        reason(text="{a}", values=[["a", 1], ["a", 2]]), failed_document
    ),
    "a placeholder with a format spec": lambda: edit(
        reason(text="{a:>999999999}", values=[["a", 1]]), failed_document
    ),
    "a placeholder with an attribute": lambda: edit(
        reason(text="{a.__class__}", values=[["a", 1]]), failed_document
    ),
    "a placeholder with a conversion": lambda: edit(
        reason(text="{a!r}", values=[["a", 1]]), failed_document
    ),
    "a positional placeholder": lambda: edit(reason(text="{}", values=[]), failed_document),
    "unbalanced braces": lambda: edit(reason(text="{a", values=[["a", 1]]), failed_document),
    "a value too long": lambda: edit(
        reason(text="{a}", values=[["a", "x" * 201]]), failed_document
    ),
    "a value that is a list": lambda: edit(
        reason(text="{a}", values=[["a", [1]]]), failed_document
    ),
    "a value that is a boolean": lambda: edit(
        reason(text="{a}", values=[["a", True]]), failed_document
    ),
    "a value without its name": lambda: edit(reason(text="{a}", values=[[1]]), failed_document),
    "phrases nested too deep": lambda: edit(
        reason(text="{a}", values=[["a", nested(3)]]), failed_document
    ),
    "a plural without a count": lambda: edit(
        reason(text="{n} file", plural="{n} files", values=[["n", 2]]), failed_document
    ),
    "too many values": lambda: edit(
        reason(
            text="".join(f"{{v{n}}}" for n in range(9)), values=[[f"v{n}", n] for n in range(9)]
        ),
        failed_document,
    ),
    "hashed with no frames": lambda: edit(lambda d: d.update(frames=[])),
    "hashed with a reason": lambda: edit(
        lambda d: d.update(reason={"text": "but why", "plural": None, "values": []})
    ),
    "failed with frames": lambda: edit(
        lambda d: d.update(outcome="unfinished", reason={"text": "x", "plural": None, "values": []})
    ),
    "failed with a score": lambda: edit(lambda d: d.update(explicit_score=0.5), failed_document),
    "failed without a reason": lambda: edit(lambda d: d.update(reason=None), failed_document),
    "failed with an empty reason": lambda: edit(reason(text=""), failed_document),
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "five quarters": lambda: edit(lambda d: d.update(regions=["0" * 64] * 5)),
    "a quarter that is not hex": lambda: edit(lambda d: d.update(regions=["x" * 64])),
    "a quarter as a pHash": lambda: edit(lambda d: d.update(regions=["0" * 16])),
    "failed with quarters": lambda: edit(lambda d: d.update(regions=["0" * 64]), failed_document),
    "a signature that is not base64": lambda: edit(
        lambda d: d.update(signature="not base64!"), entry_document
    ),
    "a signature cut short": lambda: edit(
        lambda d: d.update(signature=d["signature"][:-8]), entry_document
    ),
    "a signature too long": lambda: edit(
        lambda d: d.update(signature=d["signature"] * 2), entry_document
    ),
    "a signature as a number": lambda: edit(lambda d: d.update(signature=3), entry_document),
    "failed with a signature": lambda: edit(
        lambda d: d.update(signature=entry_document()["signature"]), failed_document
    ),
    "preview pixels of another size": lambda: edit(lambda d: detail(d).update(width=7)),
    "preview pixels too many": lambda: edit(
        lambda d: detail(d).update(width=21, height=21, rgb=base64_of(b"\0" * 21 * 21 * 3))
    ),
    "preview pixels cut short": lambda: edit(lambda d: detail(d).update(rgb=detail(d)["rgb"][:-8])),
    "preview pixels not base64": lambda: edit(lambda d: detail(d).update(rgb="not base64!")),
    "a preview size as a float": lambda: edit(lambda d: detail(d).update(width=20.0)),
    "a preview size as a boolean": lambda: edit(lambda d: detail(d).update(height=True)),
    "a preview field more": lambda: edit(lambda d: detail(d).update(jpeg="...")),
    "failed with preview pixels": lambda: edit(
        lambda d: d.update(preview_detail=hashed_document()["preview_detail"]), failed_document
    ),
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


def test_an_upload_brings_back_the_pixels_of_its_preview_and_an_entry_none() -> None:
    upload = decode_hashes(encode_hashes(hash_media(photo_jpeg())))
    assert upload.preview_detail is not None
    assert upload.preview_detail.blurred() == blurred_preview(photo_jpeg())
    assert decode_hashes(encode_hashes(entry_hashes_for_image(photo_jpeg()))).preview_detail is None


def test_an_entry_carries_its_signature_through_the_trip() -> None:
    entry = entry_hashes_for_image(photo_jpeg())
    assert entry.signature is not None and 0 < len(entry.signature) <= 4096
    assert decode_hashes(encode_hashes(entry)).signature == entry.signature


def test_a_confirmation_request_and_answer_are_read_strictly() -> None:
    signatures = [b"first", b"second" * 10]
    assert decode_confirm_request(encode_confirm_request(b"file bytes", signatures)) == (
        b"file bytes",
        signatures,
    )
    request = encode_confirm_request(b"file", signatures)
    for bad in (b"", request[:5], b"\x00\x00file", b"\xff\xff" + request[2:]):
        with pytest.raises(ValueError):
            decode_confirm_request(bad)
    with pytest.raises(ValueError):
        encode_confirm_request(b"file", [b"s"] * (MAX_CONFIRM_SIGNATURES + 1))
    assert decode_inliers(encode_inliers([0, 57]), 2) == (0, 57)
    assert decode_inliers(encode_inliers(None), 2) is None
    for reply in (
        encode_inliers([3]),
        encode_inliers([3, 4, 5]),
        encode_inliers([-1, 4]),
        encode_inliers([101, 4]),
        b'{"inliers":[true,4]}',
        b'{"inliers":[1.0,4]}',
        b'{"inliers":[1,4],"confirmed":true}',
        b"[1, 4]",
    ):
        with pytest.raises(BadReply):
            decode_inliers(reply, 2)

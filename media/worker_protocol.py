"""What the hashing pool and its workers say to each other: plain data, read strictly.

Why not pickle: a worker decodes files that strangers built, some to attack decoders. If one ever
ran code in a worker, a pickled reply would let it run code in the bot as well, since unpickling
calls whatever the pickle names. So a worker answers with data only: a hashing result is JSON of
strings and numbers, checked field by field (types, ranges, hex digits, counts, no duplicate
keys) into the same frozen dataclasses; a failure's reason is a phrase (`core.phrases`: its
English text and its values, translated by the bot for whoever reads it), checked as strictly:
its placeholders are plain names that match its values, and its values are short text, numbers
or phrases, nested at most `MAX_PHRASE_DEPTH` deep. A preview is the bytes of a small JPEG;
the few pixels a hashing result carries for one (`media.preview.PreviewDetail`) are base64 of
exactly their size, at most DETAIL_SIDE a side. Anything else, or anything longer than
`MAX_REPLY_BYTES`, is a `BadReply`: the pool counts the job as not finished and replaces the
worker. An entry's local-feature signature travels as base64 and is
read back through `media.features.decode_signature`; a confirmation's answer is one inlier
count per signature asked about (or null: the upload could not be read), checked as strictly.

Requests go the other way, from the bot to its own worker, as a job kind and the file's bytes;
a confirmation's request puts the signatures in front of the bytes (`encode_confirm_request`).
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import math
import string
import struct
from collections.abc import Callable
from typing import Any, TypeVar

from core.hashes import Hash
from core.phrases import Phrase, Value
from media.features import MAX_SIGNATURE_BYTES, SIGNATURE_POINTS, BadSignature, decode_signature
from media.formats import MediaFormat
from media.hashing import FrameHashes, MediaHashes
from media.outcomes import Outcome
from media.preview import DETAIL_SIDE, PreviewDetail
from media.reupload import EDGE_CROPS, EDGE_CUTS, OFF_CENTRE_CUTS

READY = b"ready"  # a new worker's first message, once its imports are warm
MAX_REPLY_BYTES = 1 << 20  # a 12-frame video's hashes take about 7 KB, a preview a few KB
MAX_PREVIEW_BYTES = 64 << 10
MAX_REASON_CHARS = 500  # a phrase's text, each of its forms
MAX_VALUE_CHARS = 200  # a text value inside a phrase (a library's words are cut to this)
MAX_PHRASE_VALUES = 8
MAX_PHRASE_DEPTH = 3  # a reason inside a description inside an explanation
FORMAT_SPECS = frozenset({"", ","})  # `{name}` or `{name:,}`: nothing a worker could abuse
PHRASE_FIELDS = frozenset({"text", "plural", "values"})
MAX_FRAMES = 256  # frames and extra pictures in one result; the decoder samples 12 by default
# An entry's edge crops (`media.reupload.edge_crops`): a reply with more is out of shape.
MAX_EDGE_HASHES = len(EDGE_CROPS) + len(EDGE_CUTS) + len(OFF_CENTRE_CUTS)
MAX_REGION_HASHES = 4  # a still image's quarters
KINDS = frozenset({"", "image", "animation", "video"})
FORMATS = frozenset({"", *(f.value for f in MediaFormat)})
RESULT_FIELDS = frozenset(
    {
        "outcome",
        "kind",
        "format",
        "reason",
        "frames",
        "extra",
        "edge_phash",
        "regions",
        "explicit_score",
        "signature",
        "preview_detail",
    }
)
MAX_CONFIRM_SIGNATURES = 16  # candidates confirmed in one job
_COUNT = struct.Struct("!H")
_SIZE = struct.Struct("!I")
FRAME_FIELDS = frozenset({"pdq", "quality", "phash", "pdq_variants", "time", "phash_mirror"})
DETAIL_FIELDS = frozenset({"width", "height", "rgb"})
MAX_DETAIL_CHARS = 4 * DETAIL_SIDE * DETAIL_SIDE  # base64 of DETAIL_SIDE squared RGB pixels

T = TypeVar("T")


class JobKind(enum.StrEnum):
    """What a worker is asked to do with the bytes that follow."""

    MEDIA = "media"  # hash an upload
    MEDIA_EXPLICIT = "media+explicit"  # hash an upload and score it with the classifier
    ENTRY = "entry"  # hash a new takedown entry, with its crops and rotations
    PREVIEW = "preview"  # make the blurred preview an alert shows
    LOAD_MODEL = "load-model"  # load the explicit-image model before the first scored file
    CONFIRM = "confirm"  # count an upload's keypoints that agree with entries' signatures


class BadReply(ValueError):
    """A worker's reply is not what the protocol allows; it is never acted on."""


def encode_hashes(result: MediaHashes) -> bytes:
    """A hashing result as the worker sends it."""
    document = {
        "outcome": result.outcome.value,
        "kind": result.kind,
        "format": result.format,
        "reason": None if result.reason is None else _phrase_document(result.reason),
        "frames": [_frame_document(frame) for frame in result.frames],
        "extra": [_frame_document(frame) for frame in result.extra],
        "edge_phash": [h.hex for h in result.edge_phash],
        "regions": [h.hex for h in result.regions],
        "explicit_score": result.explicit_score,
        "signature": None
        if result.signature is None
        else base64.b64encode(result.signature).decode("ascii"),
        "preview_detail": None
        if result.preview_detail is None
        else _detail_document(result.preview_detail),
    }
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()


def encode_confirm_request(data: bytes, signatures: list[bytes]) -> bytes:
    """A confirmation job's payload: how many signatures, each with its length, then the file."""
    if not 0 < len(signatures) <= MAX_CONFIRM_SIGNATURES:
        raise ValueError(f"confirm 1 to {MAX_CONFIRM_SIGNATURES} signatures, not {len(signatures)}")
    parts = [_COUNT.pack(len(signatures))]
    for signature in signatures:
        parts += [_SIZE.pack(len(signature)), signature]
    return b"".join([*parts, data])


def decode_confirm_request(payload: bytes) -> tuple[bytes, list[bytes]]:
    """The file and the signatures of a confirmation job (the worker's side); ValueError when
    the payload is out of shape."""
    if len(payload) < _COUNT.size:
        raise ValueError("a confirmation request without its count")
    (count,) = _COUNT.unpack_from(payload)
    if not 0 < count <= MAX_CONFIRM_SIGNATURES:
        raise ValueError(f"a confirmation request for {count} signatures")
    at, signatures = _COUNT.size, []
    for _ in range(count):
        if len(payload) < at + _SIZE.size:
            raise ValueError("a confirmation request cut short")
        (size,) = _SIZE.unpack_from(payload, at)
        at += _SIZE.size
        if size > MAX_SIGNATURE_BYTES or len(payload) < at + size:
            raise ValueError("a confirmation request with a signature out of shape")
        signatures.append(payload[at : at + size])
        at += size
    return payload[at:], signatures


def encode_inliers(counts: list[int] | None) -> bytes:
    """A confirmation's answer: the inliers per signature, or null when the upload could not be
    read."""
    return json.dumps({"inliers": counts}, separators=(",", ":")).encode()


def decode_inliers(reply: bytes, expected: int) -> tuple[int, ...] | None:
    """Read a worker's confirmation answer: one count per signature asked about (each at most
    SIGNATURE_POINTS), or None; raises BadReply for anything else."""
    counts = _fields(_json(reply), frozenset({"inliers"}), "a confirmation")["inliers"]
    if counts is None:
        return None
    found = _list(counts, expected, _inlier_count, "inliers")
    if len(found) != expected:
        raise BadReply(f"{len(found)} inlier counts for {expected} signatures")
    return found


def _inlier_count(value: object) -> int:
    if type(value) is not int or not 0 <= value <= SIGNATURE_POINTS:
        raise BadReply(f"an inlier count must be an integer 0-{SIGNATURE_POINTS}, not {value!r}")
    return value


def _phrase_document(said: Phrase) -> dict[str, Any]:
    return {
        "text": said.text,
        "plural": said.plural,
        "values": [
            [name, _phrase_document(v) if isinstance(v, Phrase) else _short(v)]
            for name, v in said.values
        ],
    }


def _short(value: Value) -> Value:
    return value[:MAX_VALUE_CHARS] if isinstance(value, str) else value


def _detail_document(detail: PreviewDetail) -> dict[str, Any]:
    return {
        "width": detail.width,
        "height": detail.height,
        "rgb": base64.b64encode(detail.rgb).decode("ascii"),
    }


def _preview_detail(value: object) -> PreviewDetail | None:
    """A preview's pixels: a size of at most DETAIL_SIDE a side and exactly its RGB bytes."""
    if value is None:
        return None
    fields = _fields(value, DETAIL_FIELDS, "a preview detail")
    width, height, text = fields["width"], fields["height"], fields["rgb"]
    if type(width) is not int or type(height) is not int:
        raise BadReply("a preview detail's size must be integers")
    try:
        rgb = base64.b64decode(
            _string(text, "a preview detail's pixels", MAX_DETAIL_CHARS), validate=True
        )
        return PreviewDetail(width, height, rgb)
    except (binascii.Error, ValueError) as exc:
        raise BadReply(f"a preview detail out of shape: {exc}") from None


def _frame_document(frame: FrameHashes) -> dict[str, Any]:
    return {
        "pdq": frame.pdq.hex,
        "quality": frame.quality,
        "phash": frame.phash.hex,
        "pdq_variants": [h.hex for h in frame.pdq_variants],
        "time": frame.time,
        "phash_mirror": None if frame.phash_mirror is None else frame.phash_mirror.hex,
    }


def decode_hashes(reply: bytes) -> MediaHashes:
    """Read a worker's hashing result; raises BadReply for anything out of shape."""
    fields = _fields(_json(reply), RESULT_FIELDS, "the result")
    try:
        outcome = Outcome(_string(fields["outcome"], "outcome"))
    except ValueError:
        raise BadReply(f"unknown outcome {fields['outcome']!r}") from None
    result = MediaHashes(
        outcome,
        frames=_list(fields["frames"], MAX_FRAMES, _frame, "frames"),
        kind=_choice(fields["kind"], KINDS, "kind"),
        format=_choice(fields["format"], FORMATS, "format"),
        reason=None if fields["reason"] is None else _phrase(fields["reason"], 1),
        extra=_list(fields["extra"], MAX_FRAMES, _frame, "extra"),
        edge_phash=_list(fields["edge_phash"], MAX_EDGE_HASHES, _phash, "edge_phash"),
        regions=_list(fields["regions"], MAX_REGION_HASHES, _region, "regions"),
        explicit_score=_score(fields["explicit_score"]),
        signature=_signature(fields["signature"]),
        preview_detail=_preview_detail(fields["preview_detail"]),
    )
    _check_consistent(result)
    return result


def _json(reply: bytes) -> object:
    """A reply as JSON: UTF-8, no key twice, no NaN or Infinity; else BadReply."""
    try:
        document = json.loads(
            reply.decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constant,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadReply(f"not JSON: {exc}") from None
    return document


def check_preview(reply: bytes) -> bytes | None:
    """A worker's preview: the bytes of one small JPEG, or empty for none."""
    if not reply:
        return None
    if len(reply) > MAX_PREVIEW_BYTES:
        raise BadReply(f"a preview of {len(reply)} bytes (at most {MAX_PREVIEW_BYTES})")
    if not (reply.startswith(b"\xff\xd8\xff") and reply.endswith(b"\xff\xd9")):
        raise BadReply("a preview that is not a JPEG")
    return reply


def _check_consistent(result: MediaHashes) -> None:
    """Only HASHED carries hashes and a score; a failure says why."""
    if result.hashed:
        if not result.frames or result.reason is not None:
            raise BadReply("a hashed result needs frames and no reason")
        return
    if (
        result.frames
        or result.extra
        or result.edge_phash
        or result.regions
        or result.explicit_score is not None
        or result.signature is not None
        or result.preview_detail is not None
    ):
        raise BadReply(f"a {result.outcome} result carries hashes")
    if result.reason is None or not result.reason.text:
        raise BadReply(f"a {result.outcome} result must say why")


def _phrase(value: object, depth: int) -> Phrase:
    """A reason: its text (and plural form) with plain placeholders, and exactly their values."""
    if depth > MAX_PHRASE_DEPTH:
        raise BadReply(f"a reason nests phrases more than {MAX_PHRASE_DEPTH} deep")
    fields = _fields(value, PHRASE_FIELDS, "a reason")
    text = _string(fields["text"], "a reason's text", MAX_REASON_CHARS)
    plural = fields["plural"]
    if plural is not None:
        plural = _string(plural, "a reason's plural", MAX_REASON_CHARS)
    values = _list(fields["values"], MAX_PHRASE_VALUES, lambda v: _named(v, depth), "values")
    names = [name for name, _ in values]
    if len(set(names)) != len(names):
        raise BadReply("a reason names a value twice")
    for form in (text, plural) if plural is not None else (text,):
        if _placeholders(form) - set(names):
            raise BadReply(f"a reason's placeholders {sorted(_placeholders(form))} lack values")
    if not set(names) <= _placeholders(text) | _placeholders(plural or ""):
        raise BadReply("a reason has values its text doesn't use")
    if plural is not None and type(dict(values).get("count")) is not int:
        raise BadReply("a plural reason needs a whole-number count")
    return Phrase(text, values, plural)


def _placeholders(text: str) -> set[str]:
    """The field names of a reason's text; anything but `{name}` and `{name:,}` is refused."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise BadReply("a reason's text has unbalanced braces") from None
    names = set()
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or conversion is not None or spec not in FORMAT_SPECS:
            raise BadReply(f"a reason has the placeholder {name!r} with {spec!r}, {conversion!r}")
        names.add(name)
    return names


def _named(value: object, depth: int) -> tuple[str, Value | Phrase]:
    if not isinstance(value, list) or len(value) != 2:
        raise BadReply("a reason's value must be a [name, value] pair")
    name, inner = value
    name = _string(name, "a value's name")
    if isinstance(inner, dict):
        return name, _phrase(inner, depth + 1)
    if isinstance(inner, str):
        return name, _string(inner, name, MAX_VALUE_CHARS)
    if type(inner) is int:
        return name, inner
    return name, _number(inner, name)


def _frame(value: object) -> FrameHashes:
    fields = _fields(value, FRAME_FIELDS, "a frame")
    quality = fields["quality"]
    if type(quality) is not int or not 0 <= quality <= 100:
        raise BadReply(f"a frame's quality must be an integer 0-100, not {quality!r}")
    variants = _list(fields["pdq_variants"], 7, _pdq, "pdq_variants")
    if len(variants) not in (0, 7):
        raise BadReply(f"a frame has 0 or 7 PDQ variants, not {len(variants)}")
    return FrameHashes(
        pdq=_pdq(fields["pdq"]),
        quality=quality,
        phash=_phash(fields["phash"]),
        pdq_variants=variants,
        time=_time(fields["time"]),
        phash_mirror=None if fields["phash_mirror"] is None else _phash(fields["phash_mirror"]),
    )


def _pdq(value: object) -> Hash:
    return _hash("pdq", value)


def _phash(value: object) -> Hash:
    return _hash("phash", value)


def _region(value: object) -> Hash:
    return _hash("pdq_region", value)


def _hash(algorithm: str, value: object) -> Hash:
    try:
        return Hash(algorithm, _string(value, algorithm))  # type: ignore[arg-type]
    except ValueError as exc:
        raise BadReply(str(exc)) from None


def _time(value: object) -> float | None:
    if value is None:
        return None
    number = _number(value, "time")
    if number < 0:
        raise BadReply(f"a frame's time must not be negative: {number}")
    return number


def _signature(value: object) -> bytes | None:
    """An entry's signature: base64 of at most MAX_SIGNATURE_BYTES that reads as one."""
    if value is None:
        return None
    text = _string(value, "signature", (MAX_SIGNATURE_BYTES + 2) // 3 * 4)
    try:
        data = base64.b64decode(text, validate=True)
        decode_signature(data)
    except (binascii.Error, BadSignature) as exc:
        raise BadReply(f"a signature out of shape: {exc}") from None
    return data


def _score(value: object) -> float | None:
    if value is None:
        return None
    number = _number(value, "explicit_score")
    if not 0.0 <= number <= 1.0:
        raise BadReply(f"explicit_score must lie in 0-1, not {number}")
    return number


def _number(value: object, name: str) -> float:
    if type(value) not in (int, float):  # bool is an int to isinstance, not here
        raise BadReply(f"{name} must be a number, not {value!r}")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise BadReply(f"{name} must be finite")
    return number


def _fields(value: object, names: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadReply(f"{what} must be an object")
    if value.keys() != names:
        raise BadReply(f"{what} has fields {sorted(value)}, not {sorted(names)}")
    return value


def _list(value: object, most: int, item: Callable[[object], T], name: str) -> tuple[T, ...]:
    if not isinstance(value, list):
        raise BadReply(f"{name} must be a list")
    if len(value) > most:
        raise BadReply(f"{name} has {len(value)} items (at most {most})")
    return tuple(item(v) for v in value)


def _string(value: object, name: str, most: int = 64) -> str:
    if not isinstance(value, str):
        raise BadReply(f"{name} must be a string, not {type(value).__name__}")
    if len(value) > most:
        raise BadReply(f"{name} is longer than {most} characters")
    return value


def _choice(value: object, allowed: frozenset[str], name: str) -> str:
    text = _string(value, name)
    if text not in allowed:
        raise BadReply(f"unknown {name} {text!r}")
    return text


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise BadReply("a field appears twice")
    return document


def _no_constant(name: str) -> float:
    raise BadReply(f"{name} is not a number JSON allows")

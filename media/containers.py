"""What an ISO (MP4, MOV, AVIF) or Matroska (WebM) file holds, read from its boxes, no decoder.

Why our own reading: FFmpeg would open a decoder for whatever codec a file names, and every
decoder is attack surface. The bot decodes only the video codecs Discord plays inline (H.264,
HEVC, VP8, VP9, AV1), so the codec is read from the container here and anything else is refused
before FFmpeg sees a byte. The same box walk gives an AVIF's declared size (its `ispe` boxes)
for the pixel caps. Every walk is bounded by a count of boxes or elements: a file with more is
crafted.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from core.phrases import Phrase, phrase
from media.outcomes import MediaCrafted, MediaUnsupported

MAX_BOXES = 10_000  # boxes or elements read from one file; real files have a few hundred

# Sample entry names (MP4/MOV `stsd`) and Matroska codec ids the bot decodes, by codec.
ISO_VIDEO_CODECS = {
    b"avc1": "H.264",
    b"avc3": "H.264",
    b"hvc1": "HEVC",
    b"hev1": "HEVC",
    b"vp08": "VP8",
    b"vp09": "VP9",
    b"av01": "AV1",
}
MATROSKA_VIDEO_CODECS = {
    "V_MPEG4/ISO/AVC": "H.264",
    "V_MPEGH/ISO/HEVC": "HEVC",
    "V_VP8": "VP8",
    "V_VP9": "VP9",
    "V_AV1": "AV1",
}
# Where a box's children start, for the boxes each walk descends into: a plain container's
# body is its children; `meta` has version and flags first, `stsd` also an entry count.
_AVIF_BOXES = {b"meta": 4, b"iprp": 0, b"ipco": 0, b"moov": 0, b"trak": 0}
_VIDEO_BOXES = {b"moov": 0, b"trak": 0, b"mdia": 0, b"minf": 0, b"stbl": 0, b"stsd": 8}


class _Budget:
    """Counts boxes across one walk; past MAX_BOXES the file is refused as crafted."""

    def __init__(self) -> None:
        self.left = MAX_BOXES

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise MediaCrafted(phrase("the file has more than {most:,} boxes", most=MAX_BOXES))


def iso_boxes(
    data: bytes, start: int, end: int, budget: _Budget | None = None
) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, body end) of each box in data[start:end], not descending."""
    budget = budget or _Budget()
    pos = start
    while pos + 8 <= end:
        budget.spend()
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise MediaUnsupported(phrase("the file is truncated inside a box header"))
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos  # the last box runs to the end of the file
        if size < header or pos + size > end:
            raise MediaUnsupported(phrase("the file is truncated or has a box of impossible size"))
        yield kind, pos + header, pos + size
        pos += size


def iso_walk(
    data: bytes, descend: dict[bytes, int], budget: _Budget | None = None
) -> Iterator[tuple[bytes, int, int]]:
    """Every box of an ISO file in document order, descending into the boxes in `descend`."""
    budget = budget or _Budget()
    stack = [iso_boxes(data, 0, len(data), budget)]
    while stack:
        box = next(stack[-1], None)
        if box is None:
            stack.pop()
            continue
        yield box
        kind, body, stop = box
        if kind in descend:
            stack.append(iso_boxes(data, body + descend[kind], stop, budget))


def avif_declared_size(data: bytes) -> tuple[int, int]:
    """The largest width and height any `ispe` (image) or `tkhd` (sequence) box declares."""
    width = height = 0
    for kind, body, stop in iso_walk(data, _AVIF_BOXES):
        if kind == b"ispe" and stop - body >= 12:
            w, h = struct.unpack_from(">II", data, body + 4)
        elif kind == b"tkhd" and stop - body >= 84:
            offset = body + (88 if data[body] == 1 else 76)  # 16.16 fixed point at the end
            if offset + 8 > stop:
                continue
            w, h = (v >> 16 for v in struct.unpack_from(">II", data, offset))
        else:
            continue
        width, height = max(width, w), max(height, h)
    return width, height


def iso_video_codec(data: bytes) -> str:
    """The codec of the first video track of an MP4 or MOV; refuse any the bot doesn't decode."""
    handler = None
    for kind, body, stop in iso_walk(data, _VIDEO_BOXES):
        if kind == b"trak":
            handler = None
        elif kind == b"hdlr" and handler is None and stop - body >= 12:
            handler = data[body + 8 : body + 12]  # the track's own; a MOV's `minf` has another
        elif kind == b"stsd" and handler == b"vide" and stop - body >= 16:
            entry = data[body + 12 : body + 16]
            if entry not in ISO_VIDEO_CODECS:
                name = entry.decode("latin-1").strip() or "an unnamed codec"
                raise MediaUnsupported(_codec_not_checked(name))
            return ISO_VIDEO_CODECS[entry]
    raise MediaUnsupported(phrase("the file has no video track"))


# Matroska element ids (with their length markers, as they appear in the file).
_EBML_HEADER = 0x1A45DFA3
_SEGMENT = 0x18538067
_TRACKS = 0x1654AE6B
_TRACK_ENTRY = 0xAE
_TRACK_TYPE = 0x83
_CODEC_ID = 0x86
_CLUSTER = 0x1F43B675
_UNKNOWN = -1


def _vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer at `pos`: its value and the position after it."""
    if pos >= len(data):
        raise MediaUnsupported(phrase("the WebM is truncated"))
    first = data[pos]
    length = 9 - first.bit_length() if first else 9
    if length > 8 or pos + length > len(data):
        raise MediaUnsupported(phrase("the WebM has a malformed element"))
    value = int.from_bytes(data[pos : pos + length], "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
        if value == (1 << (7 * length)) - 1:
            value = _UNKNOWN  # "unknown size": the element runs to its parent's end
    return value, pos + length


def _elements(data: bytes, start: int, end: int, budget: _Budget) -> Iterator[tuple[int, int, int]]:
    pos = start
    while pos < end:
        budget.spend()
        element, pos = _vint(data, pos, keep_marker=True)
        size, pos = _vint(data, pos, keep_marker=False)
        stop = end if size == _UNKNOWN else pos + size
        if stop > end:
            raise MediaUnsupported(phrase("the WebM is truncated inside an element"))
        yield element, pos, stop
        pos = stop


def matroska_video_codec(data: bytes) -> str:
    """The codec of the first video track of a WebM; refuse any the bot doesn't decode."""
    budget = _Budget()
    for element, body, stop in _elements(data, 0, len(data), budget):
        if element == _SEGMENT:
            return _segment_codec(data, body, stop, budget)
        if element != _EBML_HEADER:
            break
    raise MediaUnsupported(phrase("the WebM has no segment"))


def _segment_codec(data: bytes, start: int, end: int, budget: _Budget) -> str:
    for element, body, stop in _elements(data, start, end, budget):
        if element == _TRACKS:
            for entry, entry_body, entry_stop in _elements(data, body, stop, budget):
                if entry == _TRACK_ENTRY:
                    codec = _track_codec(data, entry_body, entry_stop, budget)
                    if codec is not None:
                        return codec
        elif element == _CLUSTER:
            break  # media data comes after the track list in any file a muxer writes
    raise MediaUnsupported(phrase("the WebM has no video track"))


def _track_codec(data: bytes, start: int, end: int, budget: _Budget) -> str | None:
    kind, codec_id = None, ""
    for element, body, stop in _elements(data, start, end, budget):
        if element == _TRACK_TYPE:
            kind = int.from_bytes(data[body:stop], "big")
        elif element == _CODEC_ID:
            codec_id = data[body:stop].decode("latin-1").rstrip("\x00")
    if kind != 1:
        return None
    if codec_id not in MATROSKA_VIDEO_CODECS:
        raise MediaUnsupported(_codec_not_checked(codec_id))
    return MATROSKA_VIDEO_CODECS[codec_id]


def _codec_not_checked(name: str) -> Phrase:
    return phrase("the video is in {codec}, a codec the bot does not check", codec=repr(name[:40]))

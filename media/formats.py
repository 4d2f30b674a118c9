"""Recognise media by its magic bytes and vet its structure before any decoder touches it.

Why before decoding: measured on Pillow 13 with its defaults, a 43-byte GIF or a 335-byte JPEG
that declares 13000x13000 pixels decodes into about 5 GB, and a progressive JPEG with 20,000
scans runs for minutes. Reading the declared sizes, and walking JPEG segments, PNG chunks, GIF
blocks, WebP chunks and AVIF boxes, is cheap and bounded, so hostile files are refused here as
crafted, with a named reason, and an animation past the frame budget as "could not finish"
before a frame is decoded (`media.outcomes`).

Why magic bytes: names and Content-Type come from the uploader; the first bytes are what the
decoder will actually see.
"""

from __future__ import annotations

import enum
import re
import struct
from dataclasses import dataclass

from core.phrases import phrase
from media.containers import avif_declared_size
from media.outcomes import MediaCrafted, MediaUnfinished, MediaUnsupported


class MediaFormat(enum.StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    GIF = "gif"
    WEBP = "webp"
    AVIF = "avif"
    MP4 = "mp4"
    MOV = "mov"
    WEBM = "webm"

    @property
    def shown(self) -> str:
        """The format's usual name, as a reason names it ("the WebP has ...")."""
        return _SHOWN_NAMES.get(self, self.value.upper())

    @property
    def is_video(self) -> bool:
        return self in (MediaFormat.MP4, MediaFormat.MOV, MediaFormat.WEBM)


_SHOWN_NAMES = {MediaFormat.WEBP: "WebP", MediaFormat.WEBM: "WebM"}


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Caps on what one file may cost. Defaults keep a worker well under 1 GiB and 5 s.

    The structure caps (JPEG scans and segments, PNG chunks, GIF blocks, declared pixels) refuse
    files as crafted: no camera or app comes near them. The work caps (frames, decoded pixels,
    pictures to hash, video length, `work_seconds`) say "could not finish": a real file can be
    long, but it is never checked in part.
    """

    max_side: int = 16384
    max_pixels_jpeg: int = 100_000_000  # draft mode decodes JPEG at 1/8 scale when large
    max_pixels_other: int = 40_000_000  # PNG/GIF/WebP/AVIF decode at full size: 160 MB as RGBA
    max_jpeg_scans: int = 64  # a normal progressive JPEG has about 10
    max_jpeg_segments: int = 2000
    max_png_chunks: int = 20000
    max_gif_blocks: int = 50000
    max_webp_chunks: int = 20000
    # The frame budget: every frame of an animation is decoded to see what a viewer sees.
    max_frames: int = 5000  # animation frames (a minute and a half at 50 frames a second)
    max_frames_pixels: int = 300_000_000  # pixels decoded across an animation's frames
    max_video_frames: int = 5400  # three minutes at 30 frames a second
    max_video_seconds: float = 180.0
    max_hashed_frames: int = 120  # different pictures hashed from one animation or video
    # Decoding stops with "could not finish" past this much CPU time, before the worker's own
    # budget (`media.workers.PoolSettings.job_seconds`) has the kernel end it.
    work_seconds: float = 4.0
    target_side: int = 512  # decode small: hashes need no more than this


@dataclass(frozen=True, slots=True)
class Declared:
    """What a file's headers say about it, read without decoding pixels."""

    format: MediaFormat
    width: int
    height: int
    frames: int = 1
    # A GIF whose first frame names no transparent palette index, or whose frames all name
    # the same one: its frames can be drawn over each other in palette mode and still be seen
    # as a browser shows them (the first frame's index stays transparent for the whole canvas).
    one_transparency: bool = True


_SIGNATURES: tuple[tuple[bytes, MediaFormat], ...] = (
    (b"\xff\xd8\xff", MediaFormat.JPEG),
    (b"\x89PNG\r\n\x1a\n", MediaFormat.PNG),
    (b"GIF87a", MediaFormat.GIF),
    (b"GIF89a", MediaFormat.GIF),
    (b"\x1a\x45\xdf\xa3", MediaFormat.WEBM),
)
_MOV_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip")
_AVIF_BRANDS = (b"avif", b"avis")
# HEIF stills (iPhone photos) share the ISO container with MP4 and AVIF; Discord does not show
# them inline and the bot does not read them.
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def sniff_format(data: bytes) -> MediaFormat | None:
    """The format the first bytes announce, or None for anything we don't accept."""
    for magic, fmt in _SIGNATURES:
        if data.startswith(magic):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return MediaFormat.WEBP
    if data[4:8] == b"ftyp":
        return _iso_format(data)
    if data[4:8] in _MOV_ATOMS:
        return MediaFormat.MOV
    return None


def _iso_format(data: bytes) -> MediaFormat | None:
    """MP4, MOV or AVIF by the `ftyp` box's major and compatible brands."""
    size = int.from_bytes(data[:4], "big")
    major = data[8:12]
    brands = [major] + [data[i : i + 4] for i in range(16, min(size, 64, len(data)) - 3, 4)]
    if any(brand in _AVIF_BRANDS for brand in brands):
        return MediaFormat.AVIF
    if major in _HEIF_BRANDS:
        return None
    return MediaFormat.MOV if major == b"qt  " else MediaFormat.MP4


def check_structure(data: bytes, limits: DecodeLimits) -> Declared:
    """Sniff and vet a still image or animation; raise a `media.outcomes.MediaFailure`."""
    fmt = sniff_format(data)
    if fmt is None:
        raise MediaUnsupported(phrase("not a JPEG, PNG, GIF, WebP, AVIF, MP4, MOV or WebM file"))
    walker = _WALKERS.get(fmt)
    if walker is None:
        return Declared(fmt, 0, 0)  # video: `media.containers` reads the codec in media.decode
    declared = walker(data, limits)
    check_dimensions(declared, limits)
    check_frame_budget(declared, limits)
    return declared


def check_dimensions(declared: Declared, limits: DecodeLimits) -> None:
    width, height = declared.width, declared.height
    if width <= 0 or height <= 0:
        raise MediaUnsupported(
            phrase("the {format} declares no size", format=declared.format.shown)
        )
    if max(width, height) > limits.max_side:
        raise MediaCrafted(
            phrase(
                "it declares {width}x{height} pixels; a side over {most:,}",
                width=width,
                height=height,
                most=limits.max_side,
            )
        )
    cap = limits.max_pixels_jpeg if declared.format is MediaFormat.JPEG else limits.max_pixels_other
    if width * height > cap:
        raise MediaCrafted(
            phrase(
                "it declares {width}x{height} pixels, more than {most:,}",
                width=width,
                height=height,
                most=cap,
            )
        )


def check_frame_budget(declared: Declared, limits: DecodeLimits) -> None:
    """An animation whose every frame can't be looked at within the budget is not started."""
    if declared.frames > limits.max_frames:
        raise MediaUnfinished(
            phrase(
                "the animation has {frames:,} frames; the bot looks at up to {most:,}",
                frames=declared.frames,
                most=limits.max_frames,
            )
        )
    pixels = declared.frames * declared.width * declared.height
    if pixels > limits.max_frames_pixels:
        raise MediaUnfinished(
            phrase(
                "the animation has {frames:,} frames of {width}x{height}; more pixels than the "
                "bot decodes for one file ({most:,})",
                frames=declared.frames,
                width=declared.width,
                height=declared.height,
                most=limits.max_frames_pixels,
            )
        )


# A marker is 0xFF then a byte other than 0x00 (stuffing), 0xD0-0xD7 (restart) or 0xFF (fill).
_JPEG_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _walk_jpeg(data: bytes, limits: DecodeLimits) -> Declared:
    pos, segments, scans, size = 2, 0, 0, None
    while True:
        match = _JPEG_MARKER.search(data, pos)
        if match is None:
            raise MediaUnsupported(phrase("the JPEG is truncated (no end marker)"))
        marker, start = match.group()[1], match.end()
        if marker == 0xD9:
            break
        if len(data) < start + 2:
            raise MediaUnsupported(phrase("the JPEG is truncated inside a segment header"))
        (length,) = struct.unpack_from(">H", data, start)
        segments += 1
        if segments > limits.max_jpeg_segments:
            raise MediaCrafted(
                phrase("the JPEG has more than {most:,} segments", most=limits.max_jpeg_segments)
            )
        if marker in _JPEG_SOF and len(data) >= start + 7:
            height, width = struct.unpack_from(">HH", data, start + 3)
            size = size or (width, height)
        elif marker == 0xDA:
            scans += 1
            if scans > limits.max_jpeg_scans:
                raise MediaCrafted(
                    phrase("the JPEG has more than {most:,} scans", most=limits.max_jpeg_scans)
                )
        pos = start + length
        if pos > len(data):
            raise MediaUnsupported(phrase("the JPEG is truncated inside a segment"))
    if size is None or scans == 0:
        raise MediaUnsupported(phrase("the JPEG has no frame header or no image data"))
    return Declared(MediaFormat.JPEG, size[0], size[1])


def _walk_png(data: bytes, limits: DecodeLimits) -> Declared:
    pos, chunks, size, frames, controls = 8, 0, None, 1, 0
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        chunks += 1
        if chunks > limits.max_png_chunks:
            raise MediaCrafted(
                phrase("the PNG has more than {most:,} chunks", most=limits.max_png_chunks)
            )
        body = data[pos + 8 : pos + 8 + min(length, 16)]
        if kind == b"IHDR" and len(body) >= 8:
            size = struct.unpack_from(">II", body)
        elif kind == b"acTL" and len(body) >= 4:
            (frames,) = struct.unpack_from(">I", body)
        elif kind == b"fcTL":
            controls += 1  # one per frame, whatever acTL claims
        elif kind == b"IEND":
            break
        pos += 12 + length
    else:
        raise MediaUnsupported(phrase("the PNG is truncated (no IEND chunk)"))
    if size is None:
        raise MediaUnsupported(phrase("the PNG has no IHDR chunk"))
    return Declared(MediaFormat.PNG, size[0], size[1], max(frames, controls, 1))


def _skip_gif_sub_blocks(data: bytes, pos: int) -> tuple[int, int]:
    """Skip a chain of GIF data sub-blocks; return the new position and how many there were."""
    count = 0
    while True:
        if pos >= len(data):
            raise MediaUnsupported(phrase("the GIF is truncated inside a data block"))
        size = data[pos]
        pos += 1 + size
        count += 1
        if size == 0:
            return pos, count


def _walk_gif(data: bytes, limits: DecodeLimits) -> Declared:
    if len(data) < 13:
        raise MediaUnsupported(phrase("the GIF is truncated in its header"))
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = blocks = 0
    named: set[int] = set()  # every palette index a control extension names transparent
    first_named = False  # whether one is named before the first image
    every_image_named = True  # whether one is named before every image
    this_image_named = False
    while True:
        if pos >= len(data):
            raise MediaUnsupported(phrase("the GIF is truncated (no trailer)"))
        introducer = data[pos]
        if introducer == 0x3B:
            break
        if introducer == 0x21:
            transparent = _gif_transparent(data, pos)
            if transparent is not None:
                named.add(transparent)
                this_image_named = True
            pos, count = _skip_gif_sub_blocks(data, pos + 2)
        elif introducer == 0x2C:
            pos, count = _gif_image(data, pos, width, height, limits)
            first_named = first_named or (frames == 0 and this_image_named)
            frames += 1
            every_image_named = every_image_named and this_image_named
            this_image_named = False
        else:
            raise MediaUnsupported(phrase("the GIF has an unknown block"))
        blocks += count
        if blocks > limits.max_gif_blocks:
            raise MediaCrafted(
                phrase("the GIF has more than {most:,} data blocks", most=limits.max_gif_blocks)
            )
    if frames == 0:
        raise MediaUnsupported(phrase("the GIF has no image"))
    one = not first_named or (len(named) == 1 and every_image_named)
    return Declared(MediaFormat.GIF, width, height, frames, one_transparency=one)


def _gif_transparent(data: bytes, pos: int) -> int | None:
    """The palette index a graphic control extension at `pos` names transparent, if it is one
    and names one."""
    if data[pos + 1 : pos + 3] != b"\xf9\x04" or pos + 7 > len(data):
        return None
    return data[pos + 6] if data[pos + 3] & 1 else None


def _gif_image(
    data: bytes, pos: int, width: int, height: int, limits: DecodeLimits
) -> tuple[int, int]:
    if pos + 10 > len(data):
        raise MediaUnsupported(phrase("the GIF is truncated in an image descriptor"))
    left, top, w, h, flags = struct.unpack_from("<HHHHB", data, pos + 1)
    # Pillow grows the canvas to hold a frame that overflows it, so a frame is a bomb too.
    check_dimensions(Declared(MediaFormat.GIF, max(width, left + w), max(height, top + h)), limits)
    pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    return _skip_gif_sub_blocks(data, pos + 1)


def _walk_webp(data: bytes, limits: DecodeLimits) -> Declared:
    if len(data) < 30:
        raise MediaUnsupported(phrase("the WebP is truncated in its header"))
    kind = data[12:16]
    if kind == b"VP8 ":
        width, height = (v & 0x3FFF for v in struct.unpack_from("<HH", data, 26))
        return Declared(MediaFormat.WEBP, width, height)
    if kind == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return Declared(MediaFormat.WEBP, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind != b"VP8X":
        raise MediaUnsupported(phrase("the WebP has an unknown first chunk"))
    width = 1 + int.from_bytes(data[24:27], "little")
    height = 1 + int.from_bytes(data[27:30], "little")
    return Declared(MediaFormat.WEBP, width, height, _webp_frames(data, width, height, limits))


def _webp_frames(data: bytes, width: int, height: int, limits: DecodeLimits) -> int:
    """Count an extended WebP's animation frames, vetting each frame's size; 1 for a still."""
    pos, chunks, frames = 12, 0, 0
    end = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    while pos + 8 <= end:
        chunks += 1
        if chunks > limits.max_webp_chunks:
            raise MediaCrafted(
                phrase("the WebP has more than {most:,} chunks", most=limits.max_webp_chunks)
            )
        kind, length = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if kind == b"ANMF" and length >= 16:
            frames += 1
            x, y, w, h = (
                int.from_bytes(data[o : o + 3], "little") for o in range(pos + 8, pos + 20, 3)
            )
            canvas = Declared(
                MediaFormat.WEBP, max(width, 2 * x + w + 1), max(height, 2 * y + h + 1)
            )
            check_dimensions(canvas, limits)
        pos += 8 + length + (length & 1)
    return max(frames, 1)


def _walk_avif(data: bytes, limits: DecodeLimits) -> Declared:
    width, height = avif_declared_size(data)
    return Declared(MediaFormat.AVIF, width, height)


_WALKERS = {
    MediaFormat.JPEG: _walk_jpeg,
    MediaFormat.PNG: _walk_png,
    MediaFormat.GIF: _walk_gif,
    MediaFormat.WEBP: _walk_webp,
    MediaFormat.AVIF: _walk_avif,
}

"""Hardened decoding: untrusted bytes in, small RGB pictures of what a viewer sees out.

Every file is vetted by `media.formats` first (declared sizes, JPEG scans and segments, PNG
chunks, GIF blocks, WebP chunks, AVIF boxes, the frame budget), then decoded small: JPEG in
draft mode, everything scaled to at most `target_side` pixels, because PDQ and pHash look at no
more than 64x64 anyway. A video's codec is read from its container (`media.containers`) and
only H.264, HEVC, VP8, VP9 and AV1 reach FFmpeg, through the demuxer its format names.

Why the care about "what a viewer sees": the naive hash is of the wrong picture for an
EXIF-rotated JPEG, a 16-bit PNG (clipped to white by a plain convert), transparent pixels whose
hidden colour differs from what is shown, and an animation whose first frame is a decoy. So we
apply EXIF orientation, scale 16-bit data, composite transparency on a fixed background, and
choose animation and video frames by display time (`media.frames`).

This module raises the failures of `media.outcomes`; it never answers "clean". Time and memory
are bounded by the worker process that runs it (`media.workers`).
"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
from PIL import GifImagePlugin, Image, ImageOps

from core.phrases import Phrase, phrase
from media import gif, png
from media.containers import iso_video_codec, matroska_video_codec
from media.formats import (
    Declared,
    DecodeLimits,
    MediaFormat,
    check_dimensions,
    check_frame_budget,
    check_structure,
)
from media.frames import SIGNATURE_SIDE, DecodedFrame, FrameSampler, signature
from media.outcomes import (
    NEEDS_TOO_MUCH_MEMORY,
    MediaCrafted,
    MediaFailure,
    MediaUnfinished,
    MediaUnsupported,
    detail,
)

BACKGROUND = (255, 255, 255, 255)  # transparency is shown on white; fixed so hashes agree
# Browsers, and so Discord's client, show a frame that asks for 10 ms or less for 100 ms.
FAST_FRAME_SECONDS = 0.010
SHOWN_INSTEAD = 0.100
VIDEO_DEMUXERS = {MediaFormat.MP4: "mov", MediaFormat.MOV: "mov", MediaFormat.WEBM: "matroska"}
VIDEO_DECODERS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "libdav1d"})
_PIL_FORMATS = {
    MediaFormat.JPEG: "JPEG",
    MediaFormat.PNG: "PNG",
    MediaFormat.GIF: "GIF",
    MediaFormat.WEBP: "WEBP",
    MediaFormat.AVIF: "AVIF",
}
# A GIF frame that uses the file's one palette can stay a palette picture (a byte a pixel,
# drawn over the last by the decoder itself) instead of being converted to RGB and pasted over
# the last frame, so the RGB composite is made only for the frames that are hashed. Safe only
# when the first frame names no transparent index or every frame names the same one
# (`Declared.one_transparency`): Pillow keeps the first frame's index transparent for the whole
# canvas, so a later frame drawing that index opaque would be seen as transparent here and in
# colour by a viewer (a way to hide a picture).
_GIF_PALETTE = GifImagePlugin.LoadingStrategy.RGB_AFTER_DIFFERENT_PALETTE_ONLY
_GIF_RGB = GifImagePlugin.LoadingStrategy.RGB_ALWAYS
_PIL_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError)
_VIDEO_ERRORS = (av.error.FFmpegError, ValueError, IndexError, EOFError, OSError)


@dataclass(frozen=True, slots=True)
class DecodedMedia:
    format: MediaFormat
    kind: str  # "image", "animation" or "video"
    frames: tuple[DecodedFrame, ...]


def decode_media(data: bytes, limits: DecodeLimits | None = None) -> DecodedMedia:
    """Decode a file's frames to hash, or raise a `media.outcomes.MediaFailure`."""
    limits = limits or DecodeLimits()
    declared = check_structure(data, limits)
    if declared.format.is_video:
        return _decode_video(data, declared.format, limits)
    with _pillow_failures(declared.format), _gif_loading(declared):
        return _decode_image(data, declared, limits)


def decode_first_picture(data: bytes, limits: DecodeLimits | None = None) -> Image.Image:
    """The picture a file opens with (for a preview): no frame sampling, same vetting."""
    limits = limits or DecodeLimits()
    declared = check_structure(data, limits)
    if declared.format.is_video:
        try:
            with _video_stream(data, declared.format) as (container, stream):
                for frame in container.decode(stream):
                    return _video_picture(frame, limits.target_side)
        except _VIDEO_ERRORS as exc:
            raise MediaUnsupported(_not_decoded(declared.format, exc)) from exc
        raise MediaUnsupported(_no_frame(declared.format))
    with _pillow_failures(declared.format), _gif_loading(declared):
        image = _open(data, declared, limits)
        if _animated(image):
            return viewable(image, limits.target_side)
        return _still(image, data, declared, limits)


@contextlib.contextmanager
def _pillow_failures(fmt: MediaFormat) -> Iterator[None]:
    """Pillow's exceptions become outcomes: a bomb is crafted, anything else unsupported."""
    try:
        yield
    except MediaFailure:
        raise
    except Image.DecompressionBombError as exc:
        raise MediaCrafted(
            phrase("Pillow refused it as a decompression bomb ({detail})", detail=detail(exc))
        ) from exc
    except MemoryError as exc:
        raise MediaUnfinished(NEEDS_TOO_MUCH_MEMORY) from exc
    except _PIL_ERRORS as exc:
        raise MediaUnsupported(_not_decoded(fmt, exc)) from exc


@contextlib.contextmanager
def _gif_loading(declared: Declared) -> Iterator[None]:
    """Pillow's GIF frames in palette mode while this file is decoded, where that is safe
    (`_GIF_PALETTE`); Pillow reads the setting at every seek, and a worker decodes one file at
    a time."""
    before = GifImagePlugin.LOADING_STRATEGY
    palette = declared.format is MediaFormat.GIF and declared.one_transparency
    GifImagePlugin.LOADING_STRATEGY = _GIF_PALETTE if palette else _GIF_RGB
    try:
        yield
    finally:
        GifImagePlugin.LOADING_STRATEGY = before


def _not_decoded(fmt: MediaFormat, exc: BaseException) -> Phrase:
    return phrase(
        "the {format} could not be decoded ({detail})", format=fmt.shown, detail=detail(exc)
    )


def _no_frame(fmt: MediaFormat) -> Phrase:
    return phrase("the {format} has no frame that could be decoded", format=fmt.shown)


def _open(data: bytes, declared: Declared, limits: DecodeLimits) -> Image.Image:
    # Our own caps were checked above; Pillow's global bomb check must not be stricter than them.
    Image.MAX_IMAGE_PIXELS = max(limits.max_pixels_jpeg, limits.max_pixels_other)
    image = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[declared.format]])
    check_dimensions(Declared(declared.format, *image.size), limits)
    return image


def _decode_image(data: bytes, declared: Declared, limits: DecodeLimits) -> DecodedMedia:
    image = _open(data, declared, limits)
    if _animated(image):
        frames = _frames_known(image)
        if frames is not None:
            check_frame_budget(Declared(declared.format, *image.size, frames), limits)
        sampled = _sample_animation(image, frames, limits, declared.format)
        return DecodedMedia(declared.format, "animation", sampled)
    picture = _still(image, data, declared, limits)
    return DecodedMedia(declared.format, "image", (DecodedFrame(picture),))


def _animated(image: Image.Image) -> bool:
    """Whether the file has more than one frame: Pillow's `is_animated`, which for a GIF reads
    no further than the second frame (its `n_frames` reads every frame's data, see
    `_frames_known`)."""
    return bool(getattr(image, "is_animated", False))


def _frames_known(image: Image.Image) -> int | None:
    """Pillow's frame count where it comes from the file's header (APNG, WebP, AVIF); None for
    a GIF, which is counted as its frames are decoded: Pillow counts a GIF's frames by reading
    every frame's data a sub-block at a time in Python (5% of a burst clip's instructions, its
    hashing included), and its frames are the ones its seeks find, counted or not. (Our own
    count of them was checked against the budget already, `check_structure`.)"""
    if isinstance(image, GifImagePlugin.GifImageFile):
        return None
    return int(getattr(image, "n_frames", 1))


def _still(
    image: Image.Image, data: bytes, declared: Declared, limits: DecodeLimits
) -> Image.Image:
    if declared.format is MediaFormat.PNG:
        # A plain PNG's thumbnail made from its rows as they are unfiltered: the same picture
        # as below, in a third of the time (`media.png`); None sends any other PNG to Pillow.
        small = png.thumbnail(data, limits.target_side)
        if small is not None:
            return _flattened(small)
    if declared.format is MediaFormat.JPEG:
        # libjpeg scales by 1/2, 1/4 or 1/8 while decoding; accepting 3/4 of the target size
        # lets a 1080p photo decode at 1/4 (480 px) instead of 1/2, twice as fast.
        scale = (limits.target_side * 3 / 4) / max(image.size)
        image.draft("RGB", (math.ceil(image.size[0] * scale), math.ceil(image.size[1] * scale)))
    _our_decoders(image)  # a PNG the path above left to Pillow, a GIF of one frame
    image.load()
    # In place: a copy of a large screenshot's pixels costs as much as a tenth of its decoding
    # (a 1789 x 3103 PNG: 14 ms for the orientation's copy, 27 for the thumbnail's).
    ImageOps.exif_transpose(image, in_place=True)
    return viewable(image, limits.target_side, keep=False)


def _our_decoders(image: Image.Image) -> None:
    """The picture Pillow loads next decoded by our own decoders where they apply (a PNG's
    rows, a GIF frame's codes), a half to a third of Pillow's time; Pillow still reads the
    file and composes the frames, and takes over any data ours find unclean."""
    png.decode_rows_ourselves(image)
    gif.decode_codes_ourselves(image)


def viewable(image: Image.Image, side: int, *, keep: bool = True) -> Image.Image:
    """What a viewer sees, as RGB at most `side` pixels: 16-bit scaled, transparency flattened.
    With `keep`, `image` itself is left as it was (an animation's frame, which the decoder draws
    the next one on); without, it may be shrunk in place (a still image, read once)."""
    image = _eight_bit(image)
    if image.mode not in ("L", "RGB", "RGBA"):
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif keep:
        image = image.copy()  # thumbnail() works in place
    image.thumbnail((side, side), png.RESAMPLE, reducing_gap=png.REDUCING_GAP)
    return _flattened(image)


def _flattened(image: Image.Image) -> Image.Image:
    """An L, RGB or RGBA thumbnail as RGB, transparency shown on `BACKGROUND`."""
    if image.mode == "RGBA":
        canvas = Image.new("RGBA", image.size, BACKGROUND)
        image = Image.alpha_composite(canvas, image)
    return image if image.mode == "RGB" else image.convert("RGB")  # already our own copy


def _eight_bit(image: Image.Image) -> Image.Image:
    """16- and 32-bit greys are scaled to 8 bits; Pillow's convert would clip them to white."""
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        values = np.asarray(image).astype(np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        return Image.fromarray(np.clip(values * (255.0 / peak), 0, 255).astype(np.uint8), "L")
    return image


def shown_for(milliseconds: float | None) -> float:
    """Seconds a frame is on screen, as a browser shows it (0-10 ms frames last 100 ms)."""
    seconds = (milliseconds or 0) / 1000
    return SHOWN_INSTEAD if seconds <= FAST_FRAME_SECONDS else seconds


def _sample_animation(
    image: Image.Image, frames: int | None, limits: DecodeLimits, fmt: MediaFormat
) -> tuple[DecodedFrame, ...]:
    """Every frame is decoded in order (each builds on the last); `FrameSampler` picks."""
    sampler = FrameSampler(limits)
    start = 0.0
    for index in _each_frame(image, frames, limits, fmt):
        _our_decoders(image)
        image.load()  # WebP and AVIF set the frame's duration when it is loaded
        gif.past_frame_data(image)
        duration = shown_for(image.info.get("duration"))
        sig = _frame_signature(image)
        sampler.add(index, start, duration, sig, lambda: viewable(image, limits.target_side))
        start += duration
    return sampler.frames()


def _each_frame(
    image: Image.Image, frames: int | None, limits: DecodeLimits, fmt: MediaFormat
) -> Iterator[int]:
    """Seek `image` to each of its `frames` in turn, yielding the index; with `frames` None (a
    GIF), on until Pillow finds no next frame, each checked against the frame budget first."""
    if frames is not None:
        for index in range(frames):
            image.seek(index)
            yield index
        return
    width, height = image.size
    image.seek(0)
    yield 0
    for index in itertools.count(1):
        check_frame_budget(Declared(fmt, width, height, index + 1), limits)
        try:
            image.seek(index)
        except EOFError:  # no more frames: how Pillow's own count ends
            return
        yield index


def _frame_signature(image: Image.Image) -> np.ndarray:
    """The signature of what a viewer sees in the current frame: a palette frame's indices
    through the greys its palette shows, any other frame as it is (`signature` shows
    transparent pixels on white)."""
    if image.mode == "P":
        return signature(image, _palette_greys(image))
    if image.mode in ("L", "RGB", "RGBA"):
        return signature(image)
    return signature(viewable(image, SIGNATURE_SIDE * 2))  # 16-bit, grey with alpha, ...


def _palette_greys(image: Image.Image) -> bytes:
    """Each palette entry's grey (as Pillow's "L") as shown: a transparent entry on the white
    background."""
    transparency = image.info.get("transparency")
    if not isinstance(transparency, int | bytes):
        transparency = None
    return _greys_shown(tuple(image.getpalette("RGB") or ()), transparency)


@functools.lru_cache(maxsize=8)  # most animations keep one palette for every frame
def _greys_shown(entries_rgb: tuple[int, ...], transparency: int | bytes | None) -> bytes:
    palette = np.zeros((256, 3), dtype=np.float32)
    entries = np.asarray(entries_rgb, dtype=np.float32).reshape(-1, 3)[:256]
    palette[: len(entries)] = entries
    grey = palette @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    alpha = np.ones(256, dtype=np.float32)
    if isinstance(transparency, int) and 0 <= transparency < 256:
        alpha[transparency] = 0.0
    elif isinstance(transparency, bytes):  # PNG: an alpha for each entry
        given = np.frombuffer(transparency[:256], dtype=np.uint8) / np.float32(255)
        alpha[: len(given)] = given
    shown = grey * alpha + BACKGROUND[0] * (1 - alpha)
    return np.clip(np.rint(shown), 0, 255).astype(np.uint8).tobytes()


def _decode_video(data: bytes, fmt: MediaFormat, limits: DecodeLimits) -> DecodedMedia:
    try:
        with _video_stream(data, fmt) as (container, stream):
            _check_declared_length(container, limits)
            frames = _sample_video(container, stream, fmt, limits)
    except (MediaFailure, MemoryError):
        raise
    except _VIDEO_ERRORS as exc:
        raise MediaUnsupported(_not_decoded(fmt, exc)) from exc
    if not frames:
        raise MediaUnsupported(_no_frame(fmt))
    return DecodedMedia(fmt, "video", frames)


@contextlib.contextmanager
def _video_stream(
    data: bytes, fmt: MediaFormat
) -> Iterator[tuple[av.container.InputContainer, av.video.stream.VideoStream]]:
    """The container opened with the demuxer its format names, and its vetted video stream.

    The codec is read from the container's own boxes first: a codec the bot doesn't decode is
    refused before FFmpeg opens anything.
    """
    if fmt is MediaFormat.WEBM:
        matroska_video_codec(data)
    else:
        iso_video_codec(data)
    try:
        container = av.open(io.BytesIO(data), mode="r", format=VIDEO_DEMUXERS[fmt])
    except _VIDEO_ERRORS as exc:
        raise MediaUnsupported(
            phrase(
                "the {format} could not be opened ({detail})", format=fmt.shown, detail=detail(exc)
            )
        ) from exc
    with container:
        if not container.streams.video:
            raise MediaUnsupported(phrase("the {format} has no video stream", format=fmt.shown))
        stream = container.streams.video[0]
        if stream.codec_context.name not in VIDEO_DECODERS:
            raise MediaUnsupported(
                phrase(
                    "the video is in {codec}, a codec the bot does not check",
                    codec=stream.codec_context.name[:40],
                )
            )
        # Every frame is decoded (none skipped): how long a scene lasts is measured from the
        # frames' own timestamps, and a skipped frame's time would go to the wrong scene.
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = 2
        yield container, stream


def _check_declared_length(container: av.container.InputContainer, limits: DecodeLimits) -> None:
    seconds = (container.duration or 0) / av.time_base
    if seconds > limits.max_video_seconds:
        raise MediaUnfinished(
            phrase(
                "the video is {seconds} s long; the bot checks videos up to {most} s",
                seconds=round(seconds),
                most=round(limits.max_video_seconds),
            )
        )


def _sample_video(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    fmt: MediaFormat,
    limits: DecodeLimits,
) -> tuple[DecodedFrame, ...]:
    """Every decoded frame goes to `FrameSampler`, shown until the next one starts.

    The container's declared duration is never trusted alone: decoded frames and their
    timestamps bound the work, and past the limits the video is "could not finish".
    """
    sampler = FrameSampler(limits)
    rate = float(stream.average_rate or 30)
    held: tuple[int, float, np.ndarray, av.VideoFrame] | None = None
    for decoded, frame in enumerate(container.decode(stream)):
        if decoded >= limits.max_video_frames:
            raise MediaUnfinished(
                phrase(
                    "the video has more than {most:,} frames; the bot looks at up to that many",
                    most=limits.max_video_frames,
                )
            )
        check_dimensions(Declared(fmt, frame.width, frame.height), limits)
        at = float(frame.time) if frame.time is not None else decoded / rate
        if at > limits.max_video_seconds:
            raise MediaUnfinished(
                phrase(
                    "the video runs past {most} s; the bot checks videos up to that long",
                    most=round(limits.max_video_seconds),
                )
            )
        sig = _video_signature(frame)
        if held is not None:
            _add_video_frame(sampler, held, max(0.0, at - held[1]), limits)
        held = (decoded, at, sig, frame)
    if held is not None:
        _add_video_frame(sampler, held, 1 / rate, limits)
    return sampler.frames()


def _add_video_frame(
    sampler: FrameSampler,
    held: tuple[int, float, np.ndarray, av.VideoFrame],
    duration: float,
    limits: DecodeLimits,
) -> None:
    index, at, sig, frame = held
    sampler.add(index, at, duration, sig, lambda: _video_picture(frame, limits.target_side))


def _video_signature(frame: av.VideoFrame) -> np.ndarray:
    grey = frame.reformat(
        width=SIGNATURE_SIDE, height=SIGNATURE_SIDE, format="gray", interpolation="AREA"
    )
    return grey.to_ndarray().astype(np.int16).ravel()


def _video_picture(frame: av.VideoFrame, side: int) -> Image.Image:
    scale = min(1.0, side / max(frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    return frame.reformat(width=width, height=height, format="rgb24").to_image()

"""Hardened decoding: untrusted bytes in, small RGB pictures of what a viewer sees out.

Every file is vetted by `media.formats` first (declared sizes, JPEG scans and segments, PNG
chunks, GIF blocks), then decoded small: JPEG in draft mode, everything scaled to at most
`target_side` pixels, because PDQ and pHash look at no more than 64x64 anyway.

Why the care about "what a viewer sees": the naive hash is of the wrong picture for an
EXIF-rotated JPEG, a 16-bit PNG (clipped to white by a plain convert), transparent pixels whose
hidden colour differs from what is shown, and an animation whose first frame is a decoy. So we
apply EXIF orientation, scale 16-bit data, composite transparency on a fixed background, and
sample animation and video frames (first, scene changes, evenly spaced; bounded).

This module raises `MediaRejected` / `MediaUndecodable`; it never answers "clean". Time and
memory are bounded by the worker process that runs it (`media.workers`).
"""

from __future__ import annotations

import heapq
import io
import math
import time
from dataclasses import dataclass

import av
import numpy as np
from PIL import Image, ImageOps

from media.formats import (
    Declared,
    DecodeLimits,
    MediaFormat,
    MediaRejected,
    MediaUndecodable,
    check_dimensions,
    check_structure,
)

BACKGROUND = (255, 255, 255, 255)  # transparency is shown on white; fixed so hashes agree
SCENE_CHANGE = 24.0  # mean absolute difference (0-255) of 16x16 greys that counts as a cut
_PIL_FORMATS = {
    MediaFormat.JPEG: "JPEG",
    MediaFormat.PNG: "PNG",
    MediaFormat.GIF: "GIF",
    MediaFormat.WEBP: "WEBP",
}


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    image: Image.Image  # RGB, at most target_side on its longer side
    index: int = 0  # frame number in an animation; 0 for a still image
    time: float | None = None  # seconds, for video


@dataclass(frozen=True, slots=True)
class DecodedMedia:
    format: MediaFormat
    kind: str  # "image", "animation" or "video"
    frames: tuple[DecodedFrame, ...]


def decode_media(data: bytes, limits: DecodeLimits | None = None) -> DecodedMedia:
    """Decode a file's frames to hash, or raise MediaRejected / MediaUndecodable."""
    limits = limits or DecodeLimits()
    declared = check_structure(data, limits)
    if declared.format.is_video:
        return _decode_video(data, declared.format, limits)
    try:
        return _decode_image(data, declared, limits)
    except (MediaRejected, MediaUndecodable, MemoryError):
        raise
    except Image.DecompressionBombError as exc:
        raise MediaRejected(f"Pillow refused it as a decompression bomb: {exc}") from exc
    except (OSError, ValueError, SyntaxError, EOFError, IndexError) as exc:
        raise MediaUndecodable(f"the {declared.format} could not be decoded: {exc}") from exc


def _decode_image(data: bytes, declared: Declared, limits: DecodeLimits) -> DecodedMedia:
    # Our own caps were checked above; Pillow's global bomb check must not be stricter than them.
    Image.MAX_IMAGE_PIXELS = max(limits.max_pixels_jpeg, limits.max_pixels_other)
    image = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[declared.format]])
    check_dimensions(Declared(declared.format, *image.size), limits)
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        return DecodedMedia(declared.format, "animation", _sample_animation(image, frames, limits))
    if declared.format is MediaFormat.JPEG:
        # libjpeg scales by 1/2, 1/4 or 1/8 while decoding; accepting 3/4 of the target size
        # lets a 1080p photo decode at 1/4 (480 px) instead of 1/2, twice as fast.
        scale = (limits.target_side * 3 / 4) / max(image.size)
        image.draft("RGB", (math.ceil(image.size[0] * scale), math.ceil(image.size[1] * scale)))
    image.load()
    image = ImageOps.exif_transpose(image) or image
    picture = viewable(image, limits.target_side)
    return DecodedMedia(declared.format, "image", (DecodedFrame(picture),))


def viewable(image: Image.Image, side: int) -> Image.Image:
    """What a viewer sees, as RGB at most `side` pixels: 16-bit scaled, transparency flattened."""
    image = _eight_bit(image)
    if image.mode not in ("L", "RGB", "RGBA"):
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    if image.mode == "RGBA":
        canvas = Image.new("RGBA", image.size, BACKGROUND)
        image = Image.alpha_composite(canvas, image)
    return image.convert("RGB")


def _eight_bit(image: Image.Image) -> Image.Image:
    """16- and 32-bit greys are scaled to 8 bits; Pillow's convert would clip them to white."""
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        values = np.asarray(image).astype(np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        return Image.fromarray(np.clip(values * (255.0 / peak), 0, 255).astype(np.uint8), "L")
    return image


def _sample_animation(
    image: Image.Image, frames: int, limits: DecodeLimits
) -> tuple[DecodedFrame, ...]:
    """First frame, evenly spaced frames and the strongest scene changes; at most N in all."""
    per_frame = max(1, image.size[0] * image.size[1])
    count = min(frames, limits.max_frames_scanned, max(1, limits.max_frames_pixels // per_frame))
    budget = max(1, limits.max_sampled_frames)
    even = set(_spread(count, max(1, budget // 2)))
    kept: dict[int, Image.Image] = {}
    cuts: list[tuple[float, int, Image.Image]] = []  # min-heap of the strongest scene changes
    previous: np.ndarray | None = None
    stop = time.monotonic() + limits.sampling_seconds
    for index in range(count):
        if index and time.monotonic() > stop:
            break
        image.seek(index)
        picture = viewable(image.copy(), limits.target_side)
        signature = np.asarray(picture.convert("L").resize((16, 16)), dtype=np.float32)
        change = 0.0 if previous is None else float(np.abs(signature - previous).mean())
        previous = signature
        if index == 0 or index in even:
            kept[index] = picture
        elif change >= SCENE_CHANGE:
            heapq.heappush(cuts, (change, index, picture))
            if len(cuts) > budget:
                heapq.heappop(cuts)
    for _, index, picture in sorted(cuts, reverse=True)[: max(0, budget - len(kept))]:
        kept[index] = picture
    return tuple(DecodedFrame(kept[i], index=i) for i in sorted(kept))


_VIDEO_ERRORS = (av.error.FFmpegError, ValueError, IndexError, EOFError, OSError)


def _decode_video(data: bytes, fmt: MediaFormat, limits: DecodeLimits) -> DecodedMedia:
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise MediaUndecodable("the video has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"
            stream.codec_context.thread_count = 1  # predictable memory inside the worker
            frames = _sample_video(container, stream, fmt, limits)
    except (MediaRejected, MediaUndecodable, MemoryError):
        raise
    except _VIDEO_ERRORS as exc:
        raise MediaUndecodable(f"the {fmt} could not be decoded: {exc}") from exc
    if not frames:
        raise MediaUndecodable(f"the {fmt} has no decodable frame")
    return DecodedMedia(fmt, "video", frames)


def _sample_video(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    fmt: MediaFormat,
    limits: DecodeLimits,
) -> tuple[DecodedFrame, ...]:
    """About one frame a second; when too many, every other one is dropped and the step doubles.

    The container's declared duration is never trusted: decoded frames, timestamps and a
    wall-clock budget bound it; what was sampled before the budget ran out is hashed.
    """
    samples: list[DecodedFrame] = []
    step, next_time = 1.0, 0.0
    stop = time.monotonic() + limits.sampling_seconds
    for decoded, frame in enumerate(container.decode(stream)):
        if decoded >= limits.max_video_decoded_frames or (samples and time.monotonic() > stop):
            break
        check_dimensions(Declared(fmt, frame.width, frame.height), limits)
        at = float(frame.time) if frame.time is not None else decoded / 30.0
        if at > limits.max_video_seconds:
            break
        if at + 1e-6 < next_time:
            continue
        samples.append(DecodedFrame(_video_picture(frame, limits.target_side), decoded, at))
        next_time = at + step
        if len(samples) >= 2 * limits.max_sampled_frames:
            samples, step = samples[::2], step * 2
    if len(samples) > limits.max_sampled_frames:
        samples = [samples[i] for i in _spread(len(samples), limits.max_sampled_frames)]
    return tuple(samples)


def _spread(count: int, picks: int) -> list[int]:
    """`picks` indexes evenly spread over range(count), first and last included."""
    return np.linspace(0, count - 1, picks).round().astype(int).tolist()


def _video_picture(frame: av.VideoFrame, side: int) -> Image.Image:
    scale = min(1.0, side / max(frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    return frame.reformat(width=width, height=height, format="rgb24").to_image()

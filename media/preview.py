"""The small, blurred preview a moderator alert shows instead of the image itself.

Made in memory, in a hashing worker (`HashingPool.blurred_preview`), under the same deadline
and memory cap as hashing: the file comes from a stranger even when it hashed fine once. Never
stored: moderators need to recognise what was removed, not to see an abusive image again. The
picture is shrunk to a few dozen pixels and blurred, so only shapes and colours survive; the
alert also sends it as a spoiler.

Why a `PreviewDetail`: the worker that hashes an upload already holds its decoded first picture,
so it also returns the few pixels a preview is made from (at most DETAIL_SIDE a side, under 1.2
KB). An alert then blurs those in the bot, a fraction of a millisecond, instead of sending the
file back to a worker to be decoded again (3-4 ms of a worker's time for a 1080p JPEG, for every
removal in a raid). They live only on the result of that one scan: the pipeline's caches keep
hashes, not pixels, so a cached result makes its preview the old way, from the file's bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageFilter

from media.decode import decode_first_picture
from media.formats import DecodeLimits
from media.outcomes import MediaFailure

PREVIEW_SIDE = 160  # pixels on the longer side of the preview as shown
DETAIL_SIDE = 20  # pixels kept before scaling up: faces are not recognisable at this size
BLUR_RADIUS = 6


def blurred_preview(data: bytes, limits: DecodeLimits | None = None) -> bytes | None:
    """A blurred JPEG of the first picture in `data`, or None when it can't be decoded.

    Call it through `media.workers.HashingPool.blurred_preview` for untrusted bytes.
    """
    try:
        return blur(decode_first_picture(data, limits))
    except (MediaFailure, MemoryError):
        return None


@dataclass(frozen=True, slots=True)
class PreviewDetail:
    """The pixels a preview is made from: RGB, at most DETAIL_SIDE on either side."""

    width: int
    height: int
    rgb: bytes

    def __post_init__(self) -> None:
        if not (0 < self.width <= DETAIL_SIDE and 0 < self.height <= DETAIL_SIDE):
            raise ValueError(f"a preview detail of {self.width}x{self.height} pixels")
        if len(self.rgb) != self.width * self.height * 3:
            raise ValueError(f"{len(self.rgb)} bytes for {self.width}x{self.height} RGB pixels")

    @classmethod
    def of(cls, image: Image.Image) -> PreviewDetail:
        small = image.convert("RGB")
        small.thumbnail((DETAIL_SIDE, DETAIL_SIDE), Image.Resampling.BOX)
        return cls(small.width, small.height, small.tobytes())

    def blurred(self) -> bytes:
        """The preview as an alert shows it: a small blurred JPEG."""
        return _blurred(Image.frombytes("RGB", (self.width, self.height), self.rgb))


def blur(image: Image.Image) -> bytes:
    return PreviewDetail.of(image).blurred()


def _blurred(small: Image.Image) -> bytes:
    scale = PREVIEW_SIDE / max(small.size)
    size = (max(1, round(small.width * scale)), max(1, round(small.height * scale)))
    shown = small.resize(size, Image.Resampling.BILINEAR).filter(
        ImageFilter.GaussianBlur(BLUR_RADIUS)
    )
    buffer = io.BytesIO()
    shown.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()

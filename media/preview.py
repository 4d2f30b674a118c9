"""The small, blurred preview a moderator alert shows instead of the image itself.

Made in memory, in a hashing worker (`HashingPool.blurred_preview`), under the same deadline
and memory cap as hashing: the file comes from a stranger even when it hashed fine once. Never
stored: moderators need to recognise what was removed, not to see an abusive image again. The
picture is shrunk to a few dozen pixels and blurred, so only shapes and colours survive; the
alert also sends it as a spoiler.
"""

from __future__ import annotations

import io

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


def blur(image: Image.Image) -> bytes:
    small = image.convert("RGB")
    small.thumbnail((DETAIL_SIDE, DETAIL_SIDE), Image.Resampling.BOX)
    scale = PREVIEW_SIDE / max(small.size)
    size = (max(1, round(small.width * scale)), max(1, round(small.height * scale)))
    shown = small.resize(size, Image.Resampling.BILINEAR).filter(
        ImageFilter.GaussianBlur(BLUR_RADIUS)
    )
    buffer = io.BytesIO()
    shown.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()

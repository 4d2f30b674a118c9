"""A plain still PNG's thumbnail without Pillow's PNG decoder: the same pixels, a third the time.

Why: a tall chat screenshot is a PNG of 4 to 6 megapixels, and Pillow spent 110 ms of a 2-core
server's time decoding one (1789 x 3103, 4.5 MB), then 7 more reducing it for the thumbnail,
where the hashes need no more than 512 pixels a side. A fifth of that is the inflate; most of
the rest is Pillow unfiltering every byte on its own (three rows in four of such a screenshot
use the Paeth filter) and widening each pixel to four bytes. Here zlib-ng inflates the image
data in one call, and `media._png` unfilters the rows a pixel at a time (four Paeth rows side
by side where the processor has AVX2), adding an RGB or grey picture's rows straight into the
box sums Pillow's `Image.reduce` would make: the full-size picture is never built (that file's
decoding and reduction: 118 -> about 40 ms). The result is the very picture `Image.thumbnail`
gives after Pillow's `load` (tests/media/test_png.py compares them, filter by filter, on every
kind of size), so a hash does not depend on which path decoded the file.

Only the plain kind takes this path: 8-bit grey, RGB or RGBA, not interlaced, with nothing
that changes what a viewer sees (no transparency chunk, no animation, no EXIF or XMP that could
turn it). Anything else, and anything unexpected in the data (a stream cut short, a bad
filter byte, a zlib error), returns None, and Pillow decodes the file as before: its outcome for
a broken or hostile file stays what it was. The structure was vetted before (`media.formats`).

Every other 8-bit PNG that is not interlaced (palettes, transparency chunks, grey with alpha)
and every frame of an APNG still goes through Pillow, which reads the chunks and composes the
frames (disposal, blending, a frame's region of the canvas), but its rows are decoded by
`_RowsDecoder` (`decode_rows_ourselves`): the same inflate and unfiltering as above instead of
Pillow's "zip" decoder, half an APNG's decoding time (a 41-frame clip: 119 -> 61 ms).
"""

from __future__ import annotations

import math
import struct
from typing import Any

from PIL import Image, ImageFile
from zlib_ng import zlib_ng

from media import _png

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MODES = {0: "L", 2: "RGB", 6: "RGBA"}  # colour type -> Pillow mode, 8 bits a sample
# Chunks that change what Pillow shows or how it turns the picture: transparency, animation,
# EXIF. Text chunks are read one by one (`_turns_it`).
_REFUSED = frozenset({b"tRNS", b"eXIf", b"acTL", b"fcTL", b"fdAT"})
_TEXT = frozenset({b"tEXt", b"zTXt", b"iTXt"})
_EXIF_KEYWORDS = frozenset({b"exif", b"Raw profile type exif"})  # read as EXIF by Pillow
_XMP_KEYWORD = b"XML:com.adobe.xmp"  # Pillow reads tiff:Orientation from it
RESAMPLE = Image.Resampling.BILINEAR
REDUCING_GAP = 2.0  # `media.decode.viewable`'s thumbnail, whose steps are reproduced here


def thumbnail(data: bytes, side: int) -> Image.Image | None:
    """What `Image.open(data)`, `load()` and `thumbnail((side, side), BILINEAR, reducing_gap=2)`
    give (mode L, RGB or RGBA), or None when the file is not the plain kind this path takes."""
    found = _plain_rows(data)
    if found is None:
        return None
    mode, width, height, compressed = found
    channels = len(mode)
    expected = (width * channels + 1) * height
    try:
        raw = zlib_ng.decompressobj().decompress(compressed, expected)  # never more than that
    except zlib_ng.error:
        return None
    del compressed
    if len(raw) != expected:
        return None
    size = thumbnail_size(width, height, side)
    factor_x = int(width / size[0] / REDUCING_GAP) or 1
    factor_y = int(height / size[1] / REDUCING_GAP) or 1
    whole = mode == "RGBA" or factor_x == factor_y == 1
    try:
        if whole:
            image = _whole(raw, width, height, mode)
        else:
            pixels = _png.reduced(raw, width, height, channels, factor_x, factor_y)
    except ValueError:  # a filter byte PNG does not define
        return None
    del raw  # as large as the picture: gone before the resize takes its own memory
    if mode == "RGBA":  # Pillow's RGBA thumbnail premultiplies the whole picture first
        image.thumbnail((side, side), RESAMPLE, reducing_gap=REDUCING_GAP)
        return image
    if whole:  # nothing to reduce: resized (or kept) as it is
        resized = image if size == image.size else image.resize(size, RESAMPLE)
        return resized.convert(mode) if resized.mode != mode else resized
    # Then the rest of Pillow's resize with a reducing gap: the reduced picture resized, the
    # box it stands for in the reduced picture's own pixels.
    reduced = Image.frombytes(
        mode, (math.ceil(width / factor_x), math.ceil(height / factor_y)), pixels
    )
    return reduced.resize(size, RESAMPLE, box=(0, 0, width / factor_x, height / factor_y))


def _whole(raw: bytes, width: int, height: int, mode: str) -> Image.Image:
    """The full-size picture over the unfiltered bytes themselves (no copy): an RGB picture as
    RGBX, Pillow's own layout for it, which resizes the same."""
    padded = mode == "RGB"
    pixels = _png.unfilter(raw, width, height, len(mode), padded)
    layout = "RGBX" if padded else mode
    return Image.frombuffer(layout, (width, height), pixels, "raw", layout, 0, 1)


def thumbnail_size(width: int, height: int, side: int) -> tuple[int, int]:
    """The size `Image.thumbnail((side, side))` gives a width x height picture (Pillow 13's
    `preserve_aspect_ratio`: the nearer of the two whole sizes to the aspect ratio)."""
    if width <= side and height <= side:
        return width, height
    aspect = width / height
    if aspect <= 1:  # side / side >= aspect: the height is the side
        wide = side * aspect
        near = min(math.floor(wide), math.ceil(wide), key=lambda n: abs(aspect - n / side))
        return max(near, 1), side
    near = min(
        math.floor(side / aspect),
        math.ceil(side / aspect),
        key=lambda n: 0 if n == 0 else abs(aspect - side / n),
    )
    return side, max(near, 1)


def _plain_rows(data: bytes) -> tuple[str, int, int, bytes] | None:
    """(mode, width, height, the image data) of a plain PNG, else None.

    The image data is the first run of IDAT chunks, as Pillow reads it (it stops at the first
    other chunk). The chunks after it are looked at too: a transparency or EXIF chunk may come
    there, and Pillow reads them once the pixels are in.
    """
    if not data.startswith(SIGNATURE) or len(data) < 33 or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour, compression, filtering, interlace = struct.unpack_from(
        ">IIBBBBB", data, 16
    )
    mode = _MODES.get(colour)
    if mode is None or depth != 8 or compression or filtering or interlace or not width * height:
        return None
    pos, parts, run, view = 8, [], "before", memoryview(data)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = view[pos + 8 : pos + 8 + length]  # no copy: the image data is joined once
        if len(body) < length or kind in _REFUSED or (kind in _TEXT and _turns_it(kind, body)):
            return None
        if kind == b"IDAT" and run != "after":
            parts.append(body)
            run = "in"
        elif run == "in":
            run = "after"
        if kind == b"IEND":
            break
        pos += 12 + length
    if not parts:
        return None
    return mode, width, height, b"".join(parts)


def _turns_it(kind: bytes, body: memoryview) -> bool:
    """Whether a text chunk may carry an orientation Pillow would apply (EXIF in a text chunk,
    or XMP naming one; compressed XMP can't be read here, so it counts)."""
    keyword, _, rest = bytes(body).partition(b"\0")
    if keyword in _EXIF_KEYWORDS:
        return True
    if keyword != _XMP_KEYWORD:
        return False
    compressed = kind == b"zTXt" or (kind == b"iTXt" and rest[:1] != b"\0")
    return compressed or b"Orientation" in rest


# Pillow's raw modes of the 8-bit PNG rows `media._png` unfilters, and their bytes a pixel.
_ROW_CHANNELS = {"L": 1, "P": 1, "LA": 2, "RGB": 3, "RGBA": 4}
ROWS_DECODER = "lightstick_png_rows"


def decode_rows_ourselves(image: Image.Image) -> None:
    """Have the picture Pillow is about to load (a PNG, or an APNG's current frame) decoded by
    `_RowsDecoder` instead of Pillow's own "zip" decoder, when its rows are of a kind that
    decoder takes (8-bit, not interlaced); otherwise leave it to Pillow. Call between `seek`
    and `load`: the swap lasts for that one load."""
    tile = getattr(image, "tile", None)
    if (
        not tile
        or len(tile) != 1
        or tile[0].codec_name != "zip"
        or tile[0].args not in _ROW_CHANNELS
        or image.info.get("interlace")
    ):
        return
    image.tile = [tile[0]._replace(codec_name=ROWS_DECODER)]


class _RowsDecoder(ImageFile.PyDecoder):
    """What Pillow's PNG "zip" decoder does for 8-bit rows that are not interlaced, in about a
    third of the time: zlib-ng inflates them as they are read, `media._png` unfilters them (its
    grouped Paeth rows), and Pillow's raw decoder places them in the picture (or the frame's
    region of an animation's canvas).

    Anything unexpected (a zlib error, a stream that ends before the rows, a filter PNG does
    not define) hands everything read so far to Pillow's own decoder, and what it makes of the
    data is the result: a broken file shows, or fails, exactly as it would in Pillow."""

    def init(self, args: tuple[Any, ...]) -> None:
        super().init(args)
        self.rawmode = args[0]
        self._inflater = zlib_ng.decompressobj()
        self._rows = bytearray()
        self._read: list[bytes] = []
        self._pillow: Any = None  # Pillow's decoder, once the data surprised this one

    def decode(self, buffer: Any) -> tuple[int, int]:
        if self._pillow is not None:
            return self._pillow.decode(buffer)
        buffer = bytes(buffer)
        self._read.append(buffer)
        width, height = self.state.xsize, self.state.ysize
        channels = _ROW_CHANNELS[self.rawmode]
        expected = (width * channels + 1) * height
        try:
            self._rows += self._inflater.decompress(buffer, expected - len(self._rows))
        except zlib_ng.error:
            return self._to_pillow(buffer)
        if len(self._rows) < expected:
            if self._inflater.eof:  # the stream ended before the rows did
                return self._to_pillow(buffer)
            return len(buffer), 0
        padded = channels == 3  # Pillow's own four-byte RGB, placed without unpacking
        try:
            pixels = _png.unfilter(self._rows, width, height, channels, padded)
        except ValueError:
            return self._to_pillow(buffer)
        self.set_as_raw(pixels, "RGBX" if padded else self.rawmode)
        return -1, 0

    def _to_pillow(self, buffer: bytes) -> tuple[int, int]:
        """Pillow's decoder given the frame's data from its start; what it consumed counted
        against `buffer`, the part ImageFile.load handed this call."""
        assert self.im is not None
        self._pillow = Image._getdecoder(self.mode, "zip", self.args)
        self._pillow.setimage(self.im, self.state.extents())
        everything = b"".join(self._read)
        self._read = []
        consumed, error = self._pillow.decode(everything)
        if consumed < 0:
            return consumed, error
        return max(0, consumed - (len(everything) - len(buffer))), error


Image.register_decoder(ROWS_DECODER, _RowsDecoder)

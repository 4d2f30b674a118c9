"""A GIF frame's pixels decoded by `media._gif` instead of Pillow's GIF decoder.

Why: an animated GIF is every frame decoded in full (each is drawn over the last), and
Pillow's decoder takes 4 to 5 ns a pixel: a 56-frame 400 x 300 clip, about 30 of the 50 ms
the worker spends on the file. `media._gif` decodes a frame's codes in one call, in a third
of the time (tests/media/test_gif.py; bench/RESULTS.md, twelfth session).

Pillow still does everything else: it reads the blocks, the palettes and the disposal, and
composes the frames; only the decoder named in the frame's tile is ours (`_CodesDecoder`,
registered with Pillow, chosen by `decode_codes_ourselves` for the one load that follows).
A frame that is not clean (an early end code, an empty sub-block, a code the table does not
hold, data that stops short) is handed whole to Pillow's own decoder, so a broken or hostile
file ends exactly as it did: the same partly drawn frame, or the same error.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import GifImagePlugin, Image, ImageFile

from media import _gif

CODES_DECODER = "lightstick_gif_codes"
_DONE, _MORE = 0, 1


def decode_codes_ourselves(image: Image.Image) -> None:
    """Have the GIF frame Pillow is about to load decoded by `_CodesDecoder`; call between
    `seek` and `load`. A frame with an odd code size keeps Pillow's decoder."""
    tile = getattr(image, "tile", None)
    if not tile or len(tile) != 1 or tile[0].codec_name != "gif":
        return
    bits = tile[0].args[0] if isinstance(tile[0].args, tuple) and tile[0].args else None
    if isinstance(bits, int) and 2 <= bits <= 8:
        image.tile = [tile[0]._replace(codec_name=CODES_DECODER)]


def _most_bytes(pixels: int) -> int:
    """The most data a clean frame of `pixels` can have without clear codes to spare: a code
    of at most 12 bits for each pixel, a length byte for each 255, the empty block. A frame
    with more (clear codes give no pixel) is read on in doubling steps."""
    payload = pixels * 3 // 2 + 2
    return payload + payload // 255 + 2


def past_frame_data(image: Image.Image) -> None:
    """Call after a GIF frame is loaded: the file is left just past the frame's data, where
    Pillow's next `seek` would otherwise find it by reading the data again a sub-block at a
    time in Python (about 5 ms of a 56-frame clip's 30). The same place its loop stops at (the
    empty block, or the end of the file); relies on Pillow 13's GIF plugin's own names, and
    leaves the file to Pillow where they are not found."""
    offset = getattr(image, "_GifImageFile__offset", 0)
    file = getattr(image, "_fp", None)
    if not isinstance(image, GifImagePlugin.GifImageFile) or not offset:
        return
    if not isinstance(file, io.BytesIO):
        return
    with file.getbuffer() as data:
        end = _gif.blocks_end(data, offset)
    file.seek(end)
    image._GifImageFile__offset = 0  # type: ignore[attr-defined]


class _CodesDecoder(ImageFile.PyDecoder):
    """Pillow's GIF decoder's work for a clean frame: the frame's data read from the file in
    one go and decoded by `media._gif`, the indices placed in the frame's region; a pixel of
    the transparent index (when Pillow names one for the frame) leaves the canvas as it was."""

    _pulls_fd = True

    def init(self, args: tuple[Any, ...]) -> None:
        super().init(args)
        self.bits, self.interlaced, self.transparency = (*args, 0, -1)[:3]

    def decode(self, buffer: Any) -> tuple[int, int]:
        assert self.fd is not None and self.im is not None
        width, height = self.state.xsize, self.state.ysize
        data = self.fd.read(_most_bytes(width * height))
        while True:
            status, pixels, mask = _gif.lzw(
                data, self.bits, width, height, bool(self.interlaced), self.transparency
            )
            if status != _MORE:
                break
            more = self.fd.read(len(data))
            if not more:
                break
            data += more
        if status != _DONE:
            return self._to_pillow(data + self.fd.read())
        if mask is None:
            self.set_as_raw(pixels, self.mode)
        else:
            frame = Image.frombuffer(self.mode, (width, height), pixels, "raw", self.mode, 0, 1)
            drawn = Image.frombuffer("L", (width, height), mask, "raw", "L", 0, 1)
            self.im.paste(frame.im, self.state.extents(), drawn.im)
        return -1, 0

    def _to_pillow(self, data: bytes) -> tuple[int, int]:
        """Pillow's decoder given everything from the frame's data to the end of the file, as
        it would have read it; when that is not enough, the file is truncated, as Pillow says."""
        assert self.im is not None
        decoder = Image._getdecoder(self.mode, "gif", self.args)
        decoder.setimage(self.im, self.state.extents())
        try:
            consumed, error = decoder.decode(data)
        finally:
            decoder.cleanup()
        if consumed < 0:
            return consumed, error
        raise OSError("image file is truncated")


Image.register_decoder(CODES_DECODER, _CodesDecoder)

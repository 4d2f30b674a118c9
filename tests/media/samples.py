"""Media the tests build for themselves, in memory: real photos from the pdqhash examples,
hostile files derived from them, and abstract pictures for the explicit-image classifier.
Nothing here is a committed binary except those photos."""

from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

REFERENCE_DIR = Path(__file__).parent / "data" / "pdq_reference"


def photo(number: int = 4) -> Image.Image:
    """One of the ten public-domain photos the pdqhash package tests with."""
    with Image.open(REFERENCE_DIR / f"image{number}.jpg") as image:
        return image.convert("RGB")


def stickered(number: int) -> Image.Image:
    """Photo `number` with two round stickers over its left half (about a fifth of it): its
    whole-picture hashes no longer find it, its right quarters are untouched."""
    picture = photo(number)
    width, height = picture.size
    draw = ImageDraw.Draw(picture)
    draw.ellipse((width * 0.05, height * 0.1, width * 0.4, height * 0.45), fill="white")
    draw.ellipse((width * 0.08, height * 0.55, width * 0.38, height * 0.9), fill=(230, 60, 120))
    return picture


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A small, valid-looking PNG whose header declares a huge size."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def gif_declaring(width: int, height: int, frame: tuple[int, int] | None = None) -> bytes:
    """A tiny GIF whose logical screen (or one frame) declares a huge size."""
    fw, fh = frame or (width, height)
    screen = struct.pack(
        "<6sHHBBB",
        b"GIF89a",
        width if frame is None else 10,
        height if frame is None else 10,
        0x80,
        0,
        0,
    )
    palette = b"\x00\x00\x00\xff\xff\xff"
    descriptor = struct.pack("<BHHHHB", 0x2C, 0, 0, fw, fh, 0)
    data = b"\x02\x02\x44\x01\x00"  # LZW min code size 2, one sub-block, terminator
    return screen + palette + descriptor + data + b"\x3b"


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG with its frame header patched to declare another size."""
    data = bytearray(encode(Image.new("RGB", (16, 16), "gray"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def webp_declaring(width: int, height: int) -> bytes:
    """An extended WebP whose canvas header declares a huge size."""
    data = bytearray(encode(Image.new("RGBA", (16, 16), (1, 2, 3, 128)), "WEBP"))
    assert data[12:16] == b"VP8X"
    data[24:27] = (width - 1).to_bytes(3, "little")
    data[27:30] = (height - 1).to_bytes(3, "little")
    return bytes(data)


def jpeg_with_scans(scans: int) -> bytes:
    """A progressive JPEG whose last scan is repeated until it has `scans` scans."""
    data = encode(photo().resize((64, 48)), "JPEG", progressive=True, quality=80)
    last_sos = data.rindex(b"\xff\xda")
    body, tail = data[:last_sos], data[last_sos:-2]
    existing = data.count(b"\xff\xda")
    return body + tail * max(1, scans - existing + 1) + b"\xff\xd9"


def video(
    pictures: list[Image.Image], fps: int = 10, container: str = "mp4", codec: str = "libx264"
) -> bytes:
    """Encode pictures as a video in memory; each picture is one frame."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height = pictures[0].size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for index, picture in enumerate(pictures):
            frame = av.VideoFrame.from_image(picture)
            frame.pts = index
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def noise(size: tuple[int, int], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size[1] // 16 + 1, size[0] // 16 + 1, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def gif_with_frames(count: int, side: int = 8) -> bytes:
    """A hand-built GIF of `count` tiny frames, each a flat colour from a 4-colour palette."""
    screen = struct.pack("<6sHHBBB", b"GIF89a", side, side, 0x81, 0, 0)
    palette = b"\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00\xff"
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frames = []
    for index in range(count):
        control = b"\x21\xf9\x04\x00\x02\x00\x00\x00"  # 20 ms a frame
        descriptor = struct.pack("<BHHHHB", 0x2C, 0, 0, side, side, 0)
        # LZW, min code size 2: clear code then a stream of one colour index, then end code.
        pixels = _lzw_flat(index % 4, side * side)
        frames.append(control + descriptor + b"\x02" + _sub_blocks(pixels))
    return screen + palette + loop + b"".join(frames) + b"\x3b"


def _lzw_flat(colour: int, count: int) -> bytes:
    return _lzw_uncompressed(bytes([colour]) * count, 2)


def _lzw_uncompressed(indices: bytes, min_code_size: int) -> bytes:
    """Uncompressed-style LZW: a clear code before every index keeps the code size fixed at
    one bit more than `min_code_size` (the table never grows)."""
    clear, width = 1 << min_code_size, min_code_size + 1
    codes = [code for index in indices for code in (clear, index)]
    codes.append(clear + 1)  # end of information
    value = bits = 0
    out = bytearray()
    for code in codes:
        value |= code << bits
        bits += width
        while bits >= 8:
            out.append(value & 0xFF)
            value >>= 8
            bits -= 8
    if bits:
        out.append(value)
    return bytes(out)


def gif_drawn(frames: list[tuple[Image.Image, int, int | None]]) -> bytes:
    """A GIF built by hand, byte by byte as the format allows: each frame is (a picture in
    palette mode over the first one's palette of at most 16 colours, its delay in hundredths
    of a second, the palette index its control extension names transparent or None), drawn
    whole at the top left and never disposed."""
    width, height = frames[0][0].size
    palette = bytes((frames[0][0].getpalette() or [])[:48]).ljust(48, b"\0")
    out = struct.pack("<6sHHBBB", b"GIF89a", width, height, 0xF3, 0, 0) + palette
    for picture, delay, transparent in frames:
        flags = (1 << 2) | (transparent is not None)  # disposal 1: leave it in place
        out += b"\x21\xf9\x04" + struct.pack("<BHB", flags, delay, transparent or 0) + b"\0"
        out += struct.pack("<BHHHHB", 0x2C, 0, 0, *picture.size, 0)
        out += b"\x04" + _sub_blocks(_lzw_uncompressed(picture.tobytes(), 4))
    return out + b"\x3b"


def _sub_blocks(data: bytes) -> bytes:
    blocks = [data[i : i + 255] for i in range(0, len(data), 255)]
    return b"".join(bytes([len(b)]) + b for b in blocks) + b"\x00"


# Ten ellipses, (centre x, centre y, width, height) as fractions of the side and an RGB colour,
# blurred on a brown ground. Found by a hill climb (random skin-tone ellipses, then 500 small
# moves kept when they raised open_nsfw's score on the picture and on a JPEG of it): abstract,
# nothing sexual in it, yet the model scores it about 0.999, because large smooth areas of skin
# tones are what drives its score. It stands in for an explicit picture in tests and the demo.
SKIN_TONE_GROUND = (118, 80, 66)
SKIN_TONE_ELLIPSES = (
    (0.652, 0.205, 0.33, 0.396, (201, 107, 100)),
    (0.568, 0.88, 0.382, 0.363, (216, 150, 142)),
    (0.242, 1.0, 0.797, 0.264, (190, 195, 163)),
    (0.938, 0.774, 0.219, 0.554, (138, 118, 77)),
    (0.512, 0.63, 0.475, 0.686, (225, 180, 134)),
    (1.0, 0.458, 0.176, 0.417, (159, 120, 45)),
    (0.342, 0.493, 0.463, 0.409, (224, 172, 150)),
    (0.806, 0.383, 0.358, 0.377, (241, 194, 170)),
    (0.568, 0.257, 0.475, 0.205, (219, 161, 152)),
    (0.828, 0.378, 0.145, 0.171, (146, 62, 48)),
)


def skin_tone_shapes(side: int = 256) -> Image.Image:
    """An abstract, non-sexual picture the explicit-image classifier scores near 1."""
    picture = Image.new("RGB", (side, side), SKIN_TONE_GROUND)
    draw = ImageDraw.Draw(picture)
    for x, y, width, height, colour in SKIN_TONE_ELLIPSES:
        box = ((x - width / 2) * side, (y - height / 2) * side)
        draw.ellipse((*box, box[0] + width * side, box[1] + height * side), fill=colour)
    return picture.filter(ImageFilter.GaussianBlur(10 * side / 256))

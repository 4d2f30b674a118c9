"""PNG rows decoded by `media.png._RowsDecoder` instead of Pillow's own "zip" decoder.

Used for an APNG's frames and for any PNG the plain path (`png.thumbnail`) leaves to Pillow
(palettes, transparency chunks, grey with alpha). Pillow still reads the chunks and composes
the frames (disposal, blending, the frame's region); only the rows are ours, so every frame
must be Pillow's to the byte: each filter in every 8-bit colour type, frames over parts of
the canvas with every dispose and blend operation, Pillow's own files. Broken data must end
as it does in Pillow: the same picture, or the same failure.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from media import png
from media.decode import decode_media
from tests.media.test_png import chunk, filtered, picture, png_file

COLOUR_TYPE = {"L": 0, "RGB": 2, "P": 3, "LA": 4, "RGBA": 6}
BYTES = {"L": 1, "RGB": 3, "P": 1, "LA": 2, "RGBA": 4}
PALETTE = bytes(np.random.default_rng(1).integers(0, 256, 768, dtype=np.uint8))


def pixels_of(mode: str, width: int, height: int, seed: int) -> np.ndarray:
    """Rows of `mode` samples (height x width x bytes a pixel) from a photo, with noise."""
    if mode == "P":
        grey = picture(width, height, "L", seed)
        return (grey.astype(np.uint16) * 7 % 256).astype(np.uint8)
    if mode == "LA":
        rgba = picture(width, height, "RGBA", seed)
        grey = np.asarray(Image.fromarray(rgba[:, :, :3]).convert("L"))[:, :, None]
        return np.concatenate([grey, rgba[:, :, 3:]], axis=2)
    return picture(width, height, mode, seed)


def rows(pixels: np.ndarray, filters: list[int]) -> bytes:
    height, _, channels = pixels.shape
    return filtered(pixels.reshape(height, -1), filters, channels)


def apng(
    mode: str,
    size: tuple[int, int],
    frames: list[tuple[bytes, tuple[int, int, int, int], int, int]],
    *,
    extra: bytes = b"",
) -> bytes:
    """An APNG of `frames`: (compressed rows, (x, y, width, height), dispose, blend) each; the
    first is the default image (IDAT). `extra` goes before the first frame (PLTE, tRNS)."""
    header = struct.pack(">IIBBBBB", *size, 8, COLOUR_TYPE[mode], 0, 0, 0)
    control = chunk(b"acTL", struct.pack(">II", len(frames), 0))
    out = [png.SIGNATURE, chunk(b"IHDR", header), control]
    if mode == "P":
        out.append(chunk(b"PLTE", PALETTE))
    out.append(extra)
    sequence = 0
    for number, (data, (x, y, width, height), dispose, blend) in enumerate(frames):
        control = struct.pack(">IIIIIHHBB", sequence, width, height, x, y, 1, 10, dispose, blend)
        out.append(chunk(b"fcTL", control))
        sequence += 1
        if number == 0:
            out.append(chunk(b"IDAT", data))
        else:
            out.append(chunk(b"fdAT", struct.pack(">I", sequence) + data))
            sequence += 1
    out.append(chunk(b"IEND", b""))
    return b"".join(out)


def frames_of(data: bytes, ours: bool) -> list[tuple[str, bytes]] | str:
    """Every frame's mode and pixels as Pillow composes them, its rows decoded by our decoder
    or by Pillow's; the exception's type when the file fails to load."""
    try:
        image = Image.open(io.BytesIO(data))
        found = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            if ours:
                png.decode_rows_ourselves(image)
            image.load()
            found.append((image.mode, image.tobytes()))
        return found
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return type(exc).__name__


def animation(mode: str, seed: int, filters: list[int] | None = None) -> bytes:
    """Four frames on a 90 x 70 canvas: the whole of it, then parts with each dispose and blend
    operation (OVER lets the canvas show through transparent pixels; a palette's transparent
    entries come from its tRNS chunk)."""
    rng = np.random.default_rng(seed)
    parts = [(0, 0, 90, 70), (10, 5, 60, 40), (0, 30, 90, 40), (33, 17, 41, 29)]
    operations = [(0, 0), (1, 1), (2, 1), (0, 0)]
    frames = []
    for number, (box, (dispose, blend)) in enumerate(zip(parts, operations, strict=True)):
        pixels = pixels_of(mode, box[2], box[3], seed * 10 + number)
        chosen = filters or list(rng.integers(0, 5, box[3]))
        frames.append((zlib.compress(rows(pixels, chosen[: box[3]])), box, dispose, blend))
    transparent = chunk(b"tRNS", bytes(range(0, 256, 4))) if mode == "P" else b""
    return apng(mode, (90, 70), frames, extra=transparent)


@pytest.mark.parametrize("mode", COLOUR_TYPE)
@pytest.mark.parametrize("kind", [*range(5), None])
def test_every_filter_and_colour_type_is_pillows_frame(mode: str, kind: int | None) -> None:
    data = animation(mode, 3, [kind] * 70 if kind is not None else None)
    ours = frames_of(data, ours=True)
    assert isinstance(ours, list) and len(ours) == 4
    assert ours == frames_of(data, ours=False)


def test_the_decoder_takes_8_bit_rows_and_leaves_the_rest_to_pillow() -> None:
    """Swapped for 8-bit rows that are not interlaced; 16-bit, 4-bit and interlaced keep
    Pillow's decoder (and still load as Pillow loads them)."""
    rgb = picture(60, 40, "RGB", 2)
    taken, files = {}, {}
    for name, image, options in [
        ("RGB", Image.fromarray(rgb), {}),
        ("P", Image.fromarray(rgb).convert("P"), {}),
        ("LA", Image.fromarray(rgb).convert("LA"), {}),
        ("16-bit", Image.fromarray(rgb[:, :, 0].astype(np.uint16) * 257), {}),
        ("4-bit", Image.fromarray(rgb).convert("P", colors=16), {"bits": 4}),
    ]:
        buffer = io.BytesIO()
        image.save(buffer, "PNG", **options)
        files[name] = buffer.getvalue()
    files["interlaced"] = png_file(rgb, interlace=1)  # Pillow writes no interlaced PNG
    for name, data in files.items():
        opened = Image.open(io.BytesIO(data))
        png.decode_rows_ourselves(opened)
        taken[name] = opened.tile[0].codec_name == png.ROWS_DECODER
        assert frames_of(data, ours=True) == frames_of(data, ours=False), name
    assert taken == {
        "RGB": True,
        "P": True,
        "LA": True,
        "16-bit": False,
        "4-bit": False,
        "interlaced": False,
    }


def test_clean_rows_never_reach_pillows_decoder() -> None:
    """The decoder given a frame's data in pieces, as ImageFile.load reads it: the picture is
    made from our rows alone (Pillow's decoder is kept for surprises)."""
    pixels = pixels_of("RGB", 50, 30, 4)
    compressed = zlib.compress(rows(pixels, [4, 1, 2, 3, 0] * 6))
    canvas = Image.new("RGB", (50, 30))
    decoder = Image._getdecoder("RGB", png.ROWS_DECODER, "RGB")
    decoder.setimage(canvas.im, (0, 0, 50, 30))
    pieces = [compressed[i : i + 97] for i in range(0, len(compressed), 97)]
    fed = 0
    for piece in pieces:
        consumed, error = decoder.decode(piece)
        fed += 1
        if consumed < 0:
            break
        assert (consumed, error) == (len(piece), 0)  # all taken in, nothing wrong
    assert (consumed, error) == (-1, 0)
    assert fed >= len(pieces) - 1  # done once the rows are in (the checksum may follow)
    assert decoder._pillow is None
    assert canvas.tobytes() == pixels.tobytes()


def test_pillows_own_apng_and_stills() -> None:
    """Files Pillow's encoder wrote: an APNG whose later frames cover only what changed, and
    still PNGs the plain path leaves to Pillow, through the product's decoder too."""
    base = Image.fromarray(picture(160, 120, "RGB", 5))
    frames = [base.rotate(angle) for angle in (0, 3, 6, 9)]
    for mode in ("RGB", "RGBA", "P", "L", "LA"):
        buffer = io.BytesIO()
        converted = [frame.convert(mode) for frame in frames]
        converted[0].save(buffer, "PNG", save_all=True, append_images=converted[1:], duration=200)
        data = buffer.getvalue()
        assert frames_of(data, ours=True) == frames_of(data, ours=False), mode
    still = io.BytesIO()
    base.convert("RGB").save(still, "PNG", transparency=(0, 0, 0))
    data = still.getvalue()
    assert png.thumbnail(data, 64) is None  # a transparency chunk: left to Pillow's load
    assert frames_of(data, ours=True) == frames_of(data, ours=False)
    assert decode_media(data).frames[0].image.size == (160, 120)


def test_broken_data_ends_as_it_does_in_pillow() -> None:
    """A filter byte PNG doesn't define, a stream cut short, a stream that ends before the
    rows, a zlib error, more data than the rows: the same frames or the same failure."""
    pixels = pixels_of("RGB", 90, 70, 6)
    raw = bytearray(rows(pixels, [4] * 70))
    bad_filter = bytearray(raw)
    bad_filter[(90 * 3 + 1) * 30] = 7
    whole = zlib.compress(bytes(raw))
    cases = {
        "bad filter": zlib.compress(bytes(bad_filter)),
        "cut short": whole[: len(whole) // 2],
        "ends early": zlib.compress(bytes(raw[: len(raw) // 3])),
        "zlib error": whole[:40] + bytes(40) + whole[80:],
        "extra rows": zlib.compress(bytes(raw) + bytes(5000)),
    }
    for name, broken in cases.items():
        frames = [(whole, (0, 0, 90, 70), 0, 0), (broken, (0, 0, 90, 70), 0, 0)]
        data = apng("RGB", (90, 70), frames)
        assert frames_of(data, ours=True) == frames_of(data, ours=False), name


def test_damaged_files_end_as_they_do_in_pillow() -> None:
    """Bytes flipped anywhere in an APNG (chunks, lengths, compressed data) or in its rows
    before they were compressed: frame for frame the same pictures, or the same failure."""
    rng = np.random.default_rng(23)
    clean = animation("RGBA", 8)
    pixels = pixels_of("RGBA", 90, 70, 9)
    raw = rows(pixels, list(rng.integers(0, 5, 70)))
    loaded = 0
    for case in range(300):
        if case % 2:
            data = bytearray(clean)
            for where in rng.integers(8, len(data), int(rng.integers(1, 4))):
                data[where] = int(rng.integers(0, 256))
        else:
            damaged = bytearray(raw)
            for where in rng.integers(0, len(damaged), int(rng.integers(1, 4))):
                damaged[where] = int(rng.integers(0, 256))
            data = apng("RGBA", (90, 70), [(zlib.compress(bytes(damaged)), (0, 0, 90, 70), 0, 0)])
        ours = frames_of(bytes(data), ours=True)
        assert ours == frames_of(bytes(data), ours=False), case
        loaded += isinstance(ours, list)
    assert loaded > 100

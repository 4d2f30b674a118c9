"""The plain PNG path (media/png.py, media/_png.c) against Pillow, pixel for pixel.

A hash must not depend on which path decoded a file, so every picture the fast path makes is
compared with what Pillow's `load` and `thumbnail((side, side), BILINEAR, reducing_gap=2)`
make of the same file. The files are built here row by row, so each of PNG's five filters is
exercised on its own and mixed, in grey, RGB and RGBA, at sizes that take each of Pillow's
reductions (none, 1x2, 2x2, 3x3, 4x4, 5x5 and the general one) with and without partial boxes
along the right and bottom edges. Files the path doesn't take, or whose data is wrong, must be
left to Pillow (None), so their outcome stays Pillow's.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from media import _png, png
from media.decode import decode_media
from media.outcomes import MediaUnsupported
from tests.media.samples import photo

SIDE = 64  # the thumbnail side in these tests: small pictures take every reduction
CHANNELS = {"L": 1, "RGB": 3, "RGBA": 4}
COLOUR_TYPE = {"L": 0, "RGB": 2, "RGBA": 6}
# (width, height) -> the reduction Pillow's thumbnail makes at SIDE: see `test_sizes_...`.
SIZES = {
    (50, 40): (1, 1),  # smaller than the side: kept as it is
    (100, 80): (1, 1),  # resized, nothing reduced
    (3, 300): (1, 2),
    (260, 300): (2, 2),
    (301, 263): (2, 2),  # partial boxes on the right and at the bottom
    (400, 387): (3, 3),
    (530, 515): (4, 4),
    (650, 641): (5, 5),
    (901, 899): (7, 7),
    (1100, 420): (8, 8),
}


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def filtered(rows: np.ndarray, filters: list[int], bpp: int) -> bytes:
    """Each row of `rows` (height x bytes, uint8) encoded with its filter, filter byte first."""
    out = []
    above = np.zeros(rows.shape[1], np.int16)
    for row, kind in zip(rows.astype(np.int16), filters, strict=True):
        left = np.concatenate([np.zeros(bpp, np.int16), row[:-bpp]])
        corner = np.concatenate([np.zeros(bpp, np.int16), above[:-bpp]])
        predictor = [
            np.zeros_like(row),
            left,
            above,
            (left + above) // 2,
            _paeth(left, above, corner),
        ][kind]
        out.append(bytes([kind]) + ((row - predictor) % 256).astype(np.uint8).tobytes())
        above = row
    return b"".join(out)


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    pa, pb, pc = np.abs(b - c), np.abs(a - c), np.abs(a + b - 2 * c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def png_file(
    pixels: np.ndarray,
    filters: list[int] | None = None,
    *,
    before: bytes = b"",
    after: bytes = b"",
    data: bytes | None = None,
    interlace: int = 0,
) -> bytes:
    """A PNG of `pixels` (height x width x channels, uint8), each row with its filter (all
    Paeth by default); `before` and `after` are chunks put around the image data, which
    `data` replaces (already compressed)."""
    height, width, channels = pixels.shape
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    rows = pixels.reshape(height, width * channels)
    raw = filtered(rows, filters if filters is not None else [4] * height, channels)
    header = struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPE[mode], 0, 0, interlace)
    idat = chunk(b"IDAT", zlib.compress(raw) if data is None else data)
    end = chunk(b"IEND", b"")
    return png.SIGNATURE + chunk(b"IHDR", header) + before + idat + after + end


def picture(width: int, height: int, mode: str, seed: int) -> np.ndarray:
    """A photo squeezed to the size, with noise and a flat band (every filter has work)."""
    rng = np.random.default_rng(seed)
    base = np.asarray(photo(1 + seed % 10).convert("RGB").resize((width, height)), np.int16)
    noisy = base + rng.integers(-12, 13, base.shape)
    noisy[: height // 5] = rng.integers(0, 256)
    rgb = np.clip(noisy, 0, 255).astype(np.uint8)
    if mode == "L":
        return np.asarray(Image.fromarray(rgb).convert("L"))[:, :, None]
    if mode == "RGBA":
        alpha = rng.integers(0, 256, (height, width, 1), dtype=np.uint8)
        alpha[:, : width // 2] = 255
        return np.concatenate([rgb, alpha], axis=2)
    return rgb


def pillows(data: bytes, side: int = SIDE) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    image.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return image


def assert_same(ours: Image.Image | None, theirs: Image.Image) -> None:
    assert ours is not None
    assert (ours.mode, ours.size) == (theirs.mode, theirs.size)
    assert np.array_equal(np.asarray(ours), np.asarray(theirs))


@pytest.mark.parametrize("mode", CHANNELS)
@pytest.mark.parametrize("size", SIZES)
def test_every_size_and_mode_is_pillows_picture(size: tuple[int, int], mode: str) -> None:
    width, height = size
    seed = width * 7 + height
    filters = list(np.random.default_rng(seed).integers(0, 5, height))
    data = png_file(picture(width, height, mode, seed), filters)
    assert_same(png.thumbnail(data, SIDE), pillows(data))


@pytest.mark.parametrize("kind", range(5))
@pytest.mark.parametrize("mode", CHANNELS)
def test_each_filter_alone(kind: int, mode: str) -> None:
    width, height = 301, 263
    data = png_file(picture(width, height, mode, kind), [kind] * height)
    assert_same(png.thumbnail(data, SIDE), pillows(data))


@pytest.mark.parametrize("mode", CHANNELS)
@pytest.mark.parametrize(("width", "height"), [(7, 9), (8, 9), (9, 13), (13, 4), (64, 33)])
def test_rows_come_back_as_they_were_paeth_runs_and_all(width: int, height: int, mode: str) -> None:
    """Unfiltered, every row is the pixels it was made of: rows of Paeth four at a time (where
    the processor has AVX2, `media/_png.c` does such runs side by side), runs of five, broken
    by other filters, and pictures too narrow for it."""
    channels = CHANNELS[mode]
    pixels = picture(width, height, mode, width * height)
    rows = pixels.reshape(height, width * channels)
    random_filters = list(np.random.default_rng(height).integers(0, 5, height))
    for filters in ([4] * height, ([4] * 5 + [1, 4, 4, 3]) * 4, random_filters):
        raw = filtered(rows, filters[:height], channels)
        assert _png.unfilter(raw, width, height, channels, False) == pixels.tobytes()
        data = png_file(pixels, filters[:height])
        assert_same(png.thumbnail(data, 4), pillows(data, 4))


@pytest.mark.parametrize(("size", "side"), [((1600, 2900), 512), ((1100, 700), 512)])
def test_pillows_own_files_at_the_products_side(size: tuple[int, int], side: int) -> None:
    """Files Pillow's encoder wrote (its own choice of filters), at the decoder's target side:
    a tall screenshot's reduction, and a picture resized without one."""
    buffer = io.BytesIO()
    Image.fromarray(picture(*size, "RGB", 3)).save(buffer, "PNG")
    data = buffer.getvalue()
    assert_same(png.thumbnail(data, side), pillows(data, side))


def test_sizes_take_the_reductions_named() -> None:
    """The table above says which reduction each size takes: checked, so every one is met."""
    for (width, height), factors in SIZES.items():
        size = png.thumbnail_size(width, height, SIDE)
        got = (int(width / size[0] / 2) or 1, int(height / size[1] / 2) or 1)
        assert got == factors, (width, height)


def test_thumbnail_size_is_pillows() -> None:
    rng = np.random.default_rng(5)
    shapes = [(1, 1), (64, 64), (65, 64), (1, 5000), (5000, 1), (3, 300)]
    shapes += [tuple(int(n) for n in rng.integers(1, 2500, 2)) for _ in range(60)]
    for width, height in shapes:
        image = Image.new("L", (width, height))
        image.thumbnail((SIDE, SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
        assert png.thumbnail_size(width, height, SIDE) == image.size, (width, height)


def test_decode_media_gives_the_picture_pillow_would() -> None:
    """Through the product's decoder (RGBA flattened on white, as for any PNG)."""
    for mode in CHANNELS:
        data = png_file(picture(1300, 900, mode, 11), list(range(5)) * 180)
        frame = decode_media(data).frames[0].image
        expected = pillows(data, 512)
        if mode == "RGBA":
            expected = Image.alpha_composite(Image.new("RGBA", expected.size, "white"), expected)
        assert np.array_equal(np.asarray(frame), np.asarray(expected.convert("RGB"))), mode


def _text(kind: bytes, keyword: bytes, text: bytes) -> bytes:
    if kind == b"iTXt":
        return chunk(kind, keyword + b"\0\0\0\0\0" + text)
    return chunk(kind, keyword + b"\0" + text)


XMP_TURNED = b'<x:xmpmeta><rdf:Description tiff:Orientation="6"/></x:xmpmeta>'


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("transparency chunk", {"before": chunk(b"tRNS", b"\0\1\0\1\0\1")}),
        ("EXIF chunk", {"after": chunk(b"eXIf", b"MM\0*\0\0\0\x08\0\0")}),
        ("animation control", {"before": chunk(b"acTL", struct.pack(">II", 1, 0))}),
        ("EXIF as text", {"before": _text(b"tEXt", b"Raw profile type exif", b"\nexif\n")}),
        ("XMP turning it", {"after": _text(b"iTXt", png._XMP_KEYWORD, XMP_TURNED)}),
        ("compressed XMP", {"before": _text(b"zTXt", png._XMP_KEYWORD, b"\0" + b"x")}),
        ("interlaced", {"interlace": 1}),
    ],
)
def test_files_that_may_show_otherwise_are_left_to_pillow(name: str, options: dict) -> None:
    data = png_file(picture(300, 200, "RGB", 1), **options)
    assert png.thumbnail(data, SIDE) is None, name


def test_other_kinds_are_left_to_pillow() -> None:
    rgb = picture(300, 200, "RGB", 2)
    for image in (
        Image.fromarray(rgb).convert("P"),
        Image.fromarray(rgb).convert("LA"),
        Image.fromarray(rgb[:, :, 0].astype(np.uint16) * 257),
    ):
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        assert png.thumbnail(buffer.getvalue(), SIDE) is None, image.mode


def test_text_that_turns_nothing_keeps_the_fast_path() -> None:
    """An iPhone screenshot's XMP names no orientation: such files are the common case."""
    pixels = picture(300, 200, "RGB", 4)
    xmp = _text(b"iTXt", png._XMP_KEYWORD, b"<x:xmpmeta>UserComment: Screenshot</x:xmpmeta>")
    data = png_file(pixels, before=_text(b"tEXt", b"Software", b"phone") + xmp)
    assert_same(png.thumbnail(data, SIDE), pillows(data))


def _raw(pixels: np.ndarray) -> bytes:
    height, _, channels = pixels.shape
    return filtered(pixels.reshape(height, -1), [4] * height, channels)


def test_broken_data_is_left_to_pillow_and_stays_unreadable() -> None:
    """A filter byte PNG doesn't define, a stream cut short, image data split by another chunk
    (Pillow reads the first run only): None here, and Pillow's own failure for the file."""
    pixels = picture(300, 200, "RGB", 6)
    raw = bytearray(_raw(pixels))
    raw[(300 * 3 + 1) * 50] = 5
    half = zlib.compress(_raw(pixels))
    split = chunk(b"IDAT", half[: len(half) // 2]) + chunk(b"tEXt", b"a\0b")
    split += chunk(b"IDAT", half[len(half) // 2 :])
    broken = [
        png_file(pixels, data=zlib.compress(bytes(raw))),
        png_file(pixels, data=zlib.compress(_raw(pixels))[:-2000]),
        png_file(pixels, data=b"").replace(chunk(b"IDAT", b""), split),
    ]
    for number, data in enumerate(broken):
        assert png.thumbnail(data, SIDE) is None, number
        with pytest.raises(MediaUnsupported):
            decode_media(data)


def test_more_data_than_the_rows_is_read_as_pillow_reads_it() -> None:
    pixels = picture(300, 200, "RGB", 7)
    data = png_file(pixels, data=zlib.compress(_raw(pixels) + b"\0" * 5000))
    assert_same(png.thumbnail(data, SIDE), pillows(data))


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("unfilter", (b"\0" * 10, 100, 100, 3, False)),  # fewer bytes than the rows
        ("unfilter", (b"\0" * 400, 10, 10, 4, True)),  # only 3-byte pixels are padded
        ("unfilter", (b"\0" * 400, 10, 10, 5, False)),  # no PNG pixel has 5 bytes
        ("unfilter", (b"\0" * 400, 0, 10, 3, False)),
        ("reduced", (b"\0" * 310, 10, 10, 3, 0, 2)),
        ("reduced", (b"\0" * 310, 10, 10, 3, 11, 2)),  # a box wider than the picture
    ],
)
def test_the_compiled_part_refuses_what_doesnt_fit(call: str, args: tuple) -> None:
    with pytest.raises(ValueError):
        getattr(_png, call)(*args)


def test_damaged_files_never_raise_and_never_differ_from_pillow() -> None:
    """Bytes flipped in a file's chunks (lengths, kinds, the header, the compressed data), or in
    its rows before they were compressed (filter bytes included): the path gives Pillow's
    picture or None, and never raises."""
    rng = np.random.default_rng(17)
    pixels = picture(120, 90, "RGB", 8)
    filters = list(rng.integers(0, 5, 90))
    raw = filtered(pixels.reshape(90, -1), filters, 3)
    clean = png_file(pixels, filters)
    compared = 0
    for case in range(400):
        if case % 2:
            data = bytearray(clean)
            damaged = data
        else:
            damaged = bytearray(raw)
        for where in rng.integers(8, len(damaged), int(rng.integers(1, 4))):
            damaged[where] = int(rng.integers(0, 256))
        if not case % 2:
            data = bytearray(png_file(pixels, data=zlib.compress(bytes(damaged))))
        ours = png.thumbnail(bytes(data), SIDE)
        try:
            theirs = pillows(bytes(data))
        except (OSError, SyntaxError, ValueError):
            continue  # Pillow refuses what its CRC and stream checks catch; we read the rows
        if ours is not None:
            assert_same(ours, theirs)
            compared += 1
    assert compared > 100

"""An animation frame's signature (`media.frames.signature`, `media/_frames.c`) against the box
means it stands for, computed here with numpy: every box the mean of its whole pixels' greys,
as a viewer sees them (Pillow's grey of RGB, a palette's greys, transparency shown on white).
The sampler compares frames by these numbers, so they must be exact for every kind of frame,
size (narrower or shorter than the 32 boxes, not a multiple of them) and way the pixels are
read (Pillow's Arrow export, or bytes for pictures it keeps in several blocks)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from media import _frames
from media.frames import SIGNATURE_SIDE, signature
from tests.media.test_png import picture

SIZES = [(306, 218), (320, 224), (33, 31), (20, 45), (7, 3), (1, 1), (640, 17)]


def box_means(grey: np.ndarray) -> np.ndarray:
    """The mean of each of 32 x 32 boxes of whole pixels (a row or column repeated where the
    picture has fewer than 32), rounded half up."""
    height, width = grey.shape
    out = np.empty((SIGNATURE_SIDE, SIGNATURE_SIDE))
    for j in range(SIGNATURE_SIDE):
        y0 = height * j // SIGNATURE_SIDE
        y1 = max(height * (j + 1) // SIGNATURE_SIDE, y0 + 1)
        for i in range(SIGNATURE_SIDE):
            x0 = width * i // SIGNATURE_SIDE
            x1 = max(width * (i + 1) // SIGNATURE_SIDE, x0 + 1)
            out[j, i] = grey[y0:y1, x0:x1].mean()
    return np.floor(out + 0.5).astype(np.int16).ravel()


def exact_grey(rgb: np.ndarray) -> np.ndarray:
    """Pillow's "L" weights, unrounded: a box's grey is rounded once, from its sum."""
    weights = np.array([19595, 38470, 7471]) / 65536
    return rgb[:, :, :3].astype(np.float64) @ weights


@pytest.mark.parametrize("size", SIZES)
def test_grey_and_rgb_frames(size: tuple[int, int]) -> None:
    width, height = size
    rgb = picture(width, height, "RGB", width + height)
    grey = picture(width, height, "L", width)[:, :, 0]
    assert np.array_equal(signature(Image.fromarray(grey)), box_means(grey.astype(np.float64)))
    found = signature(Image.fromarray(rgb))
    expected = box_means(exact_grey(rgb))
    # a box whose mean lies within a rounding error of a half may round either way
    assert np.abs(found.astype(int) - expected).max() <= 1
    assert np.mean(found != expected) < 0.02


@pytest.mark.parametrize("size", SIZES)
def test_transparent_pixels_are_seen_on_white(size: tuple[int, int]) -> None:
    width, height = size
    rgba = picture(width, height, "RGBA", width * 3)  # its right half partly transparent
    alpha = rgba[:, :, 3].astype(np.float64) / 255
    shown = exact_grey(rgba) * alpha + 255 * (1 - alpha)
    found = signature(Image.fromarray(rgba, "RGBA"))
    assert np.abs(found.astype(int) - box_means(shown)).max() <= 1
    opaque = rgba.copy()
    opaque[:, :, 3] = 255
    assert np.array_equal(
        signature(Image.fromarray(opaque, "RGBA")), signature(Image.fromarray(opaque[:, :, :3]))
    )


def test_a_palette_frame_through_its_greys() -> None:
    indices = picture(150, 100, "L", 4)[:, :, 0]
    greys = bytes(np.random.default_rng(3).integers(0, 256, 256, dtype=np.uint8))
    frame = Image.fromarray(indices, "L").convert("P")
    frame.putpalette(list(range(256)) * 3)
    expected = box_means(np.frombuffer(greys, np.uint8)[indices].astype(np.float64))
    assert np.array_equal(signature(frame, greys), expected)


def test_pictures_pillow_keeps_in_blocks_read_the_same() -> None:
    """A picture too large for one block of Pillow's memory has no Arrow export: its bytes are
    read instead, to the same numbers."""
    rgb = np.tile(picture(400, 300, "RGB", 9), (10, 10, 1))  # 4000 x 3000
    image = Image.fromarray(rgb)
    with pytest.raises(ValueError):
        image.__arrow_c_array__()
    small = Image.fromarray(rgb[:300, :400])
    assert small.__arrow_c_array__() is not None
    by_bytes = np.frombuffer(
        _frames.grey_boxes(small.tobytes("raw", "RGBX"), 400, 300, 4, b"", False, 32), np.int16
    )
    assert np.array_equal(signature(small), by_bytes)
    assert np.abs(signature(image).astype(int) - box_means(exact_grey(rgb))).max() <= 1


@pytest.mark.parametrize(
    "args",
    [
        (b"\0" * 10, 10, 10, 1, bytes(256), False, 32),  # fewer bytes than the pixels
        (b"\0" * 400, 10, 10, 3, bytes(256), False, 32),  # three-byte pixels: RGBX only
        (b"\0" * 100, 10, 10, 1, bytes(10), False, 32),  # a table too short
        (b"\0" * 100, 10, 10, 1, bytes(256), True, 32),  # one byte has no alpha
        (b"\0" * 100, 10, 10, 1, bytes(256), False, 65),
        (b"\0" * 100, 0, 10, 1, bytes(256), False, 32),
    ],
)
def test_the_compiled_part_refuses_what_doesnt_fit(args: tuple) -> None:
    with pytest.raises(ValueError):
        _frames.grey_boxes(*args)

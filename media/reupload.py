"""What makes edited re-uploads match: query-side trimming, entry-side extra hashes.

Why: PDQ and pHash survive recompression, resizing, colour changes and blur, but not added
borders, caption bars, screenshots, crops or rotations; each of those moves most of the picture.
Two remedies, both measured on bench/catch_rate.py before they were kept:

- Query side (`content_box`): a letterbox, meme caption bars and the chrome of a phone
  screenshot are rows and columns dominated by one flat colour. The largest block of rows and
  columns that are not flat is the picture; it is hashed as an extra query.
- Both sides (`quarters`): a sticker, an emoji, a caption or a blurred face covers a part of
  the picture and moves its whole-picture hashes out of reach, but most quarters of the
  picture stay as they were. Each quarter's PDQ is kept by an entry and asked by an upload
  (`media.hashing.region_hashes`); a quarter is not the picture, so such a match only alerts
  and goes to the local-feature confirmation (`media.matching`).
- Entry side (`entry_variants`, `edge_crops`): when a moderator adds a picture to the takedown
  list, we also store the hashes of its central crops, of crops along its left and right edges,
  cut off one side, off a corner, at both ends of one axis or off all four sides off-centre,
  and of small rotations, so a cropped or tilted copy lands near one of them. Each extra hash
  is one more chance of a false match, so its cost in false matches is part of the benchmark.
  Central crops and rotations keep PDQ and pHash. The other crops keep only their pHash: with
  the earlier 70% edge crops, PDQ at 31 caught 0.06 of off-centre crops and pHash at 8 every
  one of the 0.51 caught, and PDQ on the side cuts raised the confident catch by 0.01-0.07
  for 1,560 more bytes an entry (bench/RESULTS.md, "Crops and the pHash rule, issue 15"). A
  crop's pHash alone alerts, however near, unless PDQ agrees (`media.matching`); the local
  features may confirm it (`services.confirmation`).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

FLAT_TOLERANCE = 16  # 0-255 per channel: how close to the bar's colour a pixel must be
EDGE_SHARE = 0.95  # the outermost line must be this uniform to start a bar
BAR_SHARE = 0.5  # a line with less of the bar's colour than this is picture...
MARGIN_SHARE = 0.03  # ...unless both its ends, this share of its length each, are bar-coloured
TEXT_SHARE = 0.15  # and the run of such lines is no longer than a line of caption text
MIN_KEEP = 0.2  # a "picture" thinner than this share of a side is not one
MIN_TRIM = 0.04  # trims smaller than this share of a side are not worth another hash

# Entry-side crops: (share of area, anchor x, anchor y); anchors are 0 = left/top, 1 = right/bottom.
ENTRY_CROPS: tuple[tuple[float, float, float], ...] = ((0.8, 0.5, 0.5), (0.64, 0.5, 0.5))
ENTRY_ROTATIONS: tuple[float, ...] = (-10.0, -5.0, 5.0, 10.0)
# Edge crops (pHash only), for a copy cropped to 60-80% of the area along the left or right edge
# at any height. A crop's pHash is usually within 8 of such a copy's when their sides differ by
# up to about 3% and their centres by up to about 2% of the height (measured), so two sizes
# cover the range, each at the middles of equal height bands: 5 for 65% of the area, 4 for 75%
# (less room to move). Crops along the top or bottom edge would cost as many hashes again.
EDGE_CROPS: tuple[tuple[float, float, float], ...] = tuple(
    (area, side, (band + 0.5) / bands)
    for area, bands in ((0.65, 5), (0.75, 4))
    for band in range(bands)
    for side in (0.0, 1.0)
)

# Cut crops, as (left, top, right, bottom) shares cut off, for a copy cut on one side, on two
# sides at a corner, or at both ends of one axis (a cover-fit into another aspect: a collage's
# half, a square avatar). pHash at 8 finds a cut copy within about 3% of a stored cut, so one
# side is stored cut at 6 depths (8-38%, every 6%) and each corner at 10% and 20% on each side:
# pHash only. The centre is kept at 95-50% of either axis, every 5%, with PDQ too, so a
# collage's half that the views find can match on PDQ, which is less forgiving of a misfit
# (bench/RESULTS.md, "Crops and the pHash rule, issue 15", has each set's catch and cost).
SIDE_DEPTHS: tuple[float, ...] = (0.08, 0.14, 0.20, 0.26, 0.32, 0.38)
CORNER_DEPTHS: tuple[tuple[float, float], ...] = ((0.1, 0.1), (0.1, 0.2), (0.2, 0.1), (0.2, 0.2))
CENTRE_KEEPS: tuple[float, ...] = tuple(round(1 - 0.05 * step, 2) for step in range(1, 11))
Cuts = tuple[float, float, float, float]


def _side_and_corner_cuts() -> tuple[Cuts, ...]:
    cuts: list[Cuts] = []
    for depth in SIDE_DEPTHS:
        cuts += [(depth, 0, 0, 0), (0, depth, 0, 0), (0, 0, depth, 0), (0, 0, 0, depth)]
    for across, down in CORNER_DEPTHS:
        for left, right in ((across, 0), (0, across)):
            cuts += [(left, down, right, 0), (left, 0, right, down)]
    return tuple(cuts)


EDGE_CUTS = _side_and_corner_cuts()  # pHash only

# Off-centre cuts, for a copy cut on all four sides and placed anywhere. pHash follows where the
# crop's centre lies more than how deep it is: on 30 corpus photos (two stored cuts each), a copy
# was within 8 of a stored cut 0.88 of the time when its centre moved 2% of a side along one
# axis, 0.48 at 3%, 0.35 at 2% along both axes, but 0.88 when both ends of one axis were cut 3%
# deeper (0.72 on both axes). So each axis is cut 10% or 20% in all, three times as deep at one
# end as at the other (the centre 2.5% or 5% off), either way round, and every pairing of the
# two axes' four cuts is kept: 16 pHash. A centred copy, or one cut mostly at one end of an
# axis, is the central crops', the cut sides' and corners' and the edge crops'. Chosen among
# grids of 4-34 cuts on corpus photos 140-299 (none re-shared by the benchmark's 40- and
# 100-picture runs), checked on 300-399: the share of copies with a kept pHash within 8 or PDQ
# within 62, 5-30% of the area cut off all sides anywhere, 0.907 -> 0.966 (25 cuts: 0.973);
# 3-35% with the axes split 20-80% (the benchmark's 30-70), 0.865 -> 0.946 (bench/RESULTS.md,
# "Crops off all four sides", branch `allsides`).
AXIS_CUTS: tuple[tuple[float, float], ...] = ((0.075, 0.025), (0.15, 0.05))


def _off_centre_cuts() -> tuple[Cuts, ...]:
    ends = [pair for near, far in AXIS_CUTS for pair in ((near, far), (far, near))]
    return tuple((left, top, right, bottom) for left, right in ends for top, bottom in ends)


OFF_CENTRE_CUTS = _off_centre_cuts()  # pHash only
CENTRE_CUTS: tuple[Cuts, ...] = tuple(
    cuts
    for keep in CENTRE_KEEPS
    for cuts in (((1 - keep) / 2, 0, (1 - keep) / 2, 0), (0, (1 - keep) / 2, 0, (1 - keep) / 2))
)  # PDQ and pHash


def bar_depth(lines: np.ndarray) -> int:
    """How many lines, from the first, belong to a bar.

    `lines` is (n, length, 3). A bar starts with a line of one colour (a letterbox, a caption
    bar, a screenshot's background) and goes on while lines keep that colour on most of their
    length. A short run of lines that keep it only at both ends (a line of caption text, wide
    and centred) stays in the bar when a bar line follows it; a long run (a pillarboxed
    picture) does not.
    """
    colour = row_medians(lines[0].T)  # each channel's
    if _near(lines[:1], colour).mean() < EDGE_SHARE:
        return 0  # the common case, a photo to its edge, costs one line
    margin = max(1, int(lines.shape[1] * MARGIN_SHARE))
    longest_text = max(2, int(len(lines) * TEXT_SHARE))
    depth, run = 0, 0
    # Lines are compared in blocks that double in size, so a thin bar (or a flat sky that only
    # looks like one) costs a few lines rather than the whole picture.
    start, block = 0, 16
    while start < len(lines):
        near = _near(lines[start : start + block], colour)
        full = near.mean(axis=1) >= BAR_SHARE
        ends = np.minimum(near[:, :margin].mean(axis=1), near[:, -margin:].mean(axis=1))
        for is_full, is_edged in zip(full.tolist(), (ends >= EDGE_SHARE).tolist(), strict=True):
            if is_full:
                depth, run = depth + run + 1, 0
            elif is_edged and run < longest_text:
                run += 1
            else:
                return depth
        start, block = start + block, block * 2
    return depth


def row_medians(values: np.ndarray) -> np.ndarray:
    """np.median(values, axis=1) from a partial sort, without np.median's own overhead (a
    tenth of a millisecond a photo over its few calls)."""
    half = values.shape[1] // 2
    if values.shape[1] % 2:
        return np.partition(values, half, axis=1)[:, half].astype(np.float64)
    middle = np.partition(values, (half - 1, half), axis=1)
    return (middle[:, half - 1] + middle[:, half].astype(np.float64)) / 2


def _near(lines: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Which pixels of `lines` are within FLAT_TOLERANCE of `colour` on every channel."""
    diff = np.abs(lines.astype(np.int16) - colour.astype(np.int16))
    # Three channel compares beat .all(axis=2), a slow reduction over an axis of 3.
    close = (diff[..., 0] <= FLAT_TOLERANCE) & (diff[..., 1] <= FLAT_TOLERANCE)
    close &= diff[..., 2] <= FLAT_TOLERANCE
    return close


def content_box(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box (left, top, right, bottom) of the picture without bars and screenshot chrome,
    in an RGB array; None when nothing would be trimmed."""
    height, width = pixels.shape[:2]
    top, bottom = bar_depth(pixels), height - bar_depth(pixels[::-1])
    if bottom - top < height * MIN_KEEP:
        return None
    band = pixels[top:bottom].transpose(1, 0, 2)
    left, right = bar_depth(band), width - bar_depth(band[::-1])
    if right - left < width * MIN_KEEP:
        return None
    trimmed = (top + height - bottom) / height, (left + width - right) / width
    if max(trimmed) < MIN_TRIM:
        return None
    return left, top, right, bottom


def crop_share(picture: Image.Image, area: float, anchor_x: float, anchor_y: float) -> Image.Image:
    """A crop keeping `area` of the picture, same aspect, placed by its anchors."""
    side = math.sqrt(area)
    width, height = round(picture.width * side), round(picture.height * side)
    left = round((picture.width - width) * anchor_x)
    top = round((picture.height - height) * anchor_y)
    return picture.crop((left, top, left + width, top + height))


def rotate_inscribed(picture: Image.Image, degrees: float) -> Image.Image:
    """Rotate, then crop to the largest centred rectangle of the same aspect with no corners."""
    rotated = picture.rotate(degrees, resample=Image.Resampling.BILINEAR, expand=False)
    angle = math.radians(abs(degrees))
    width, height = picture.size
    # Largest centred box of aspect w:h inside the rotated w x h rectangle.
    scale = min(
        width / (width * math.cos(angle) + height * math.sin(angle)),
        height / (width * math.sin(angle) + height * math.cos(angle)),
    )
    inner_w, inner_h = round(width * scale), round(height * scale)
    left, top = (width - inner_w) // 2, (height - inner_h) // 2
    return rotated.crop((left, top, left + inner_w, top + inner_h))


def cut(picture: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    """The picture with these shares of its width (left, right) and height (top, bottom) cut."""
    width, height = picture.size
    box = (
        round(width * left),
        round(height * top),
        width - round(width * right),
        height - round(height * bottom),
    )
    return picture.crop(box)


def quarters(picture: Image.Image) -> list[Image.Image]:
    """The picture's four quarters (top left, top right, bottom left, bottom right)."""
    width, height = picture.size
    middle_x, middle_y = width // 2, height // 2
    boxes = (
        (0, 0, middle_x, middle_y),
        (middle_x, 0, width, middle_y),
        (0, middle_y, middle_x, height),
        (middle_x, middle_y, width, height),
    )
    return [picture.crop(box) for box in boxes]


def entry_variants(picture: Image.Image) -> list[Image.Image]:
    """Extra pictures to hash when an image is added to the takedown list (not the original)."""
    crops = [crop_share(picture, *crop) for crop in ENTRY_CROPS]
    rotations = [rotate_inscribed(picture, degrees) for degrees in ENTRY_ROTATIONS]
    return crops + rotations + [cut(picture, *cuts) for cuts in CENTRE_CUTS]


def edge_crops(picture: Image.Image) -> list[Image.Image]:
    """Crops whose pHash an entry also keeps: along the left and right edges (`EDGE_CROPS`),
    cut off one side or a corner's two sides (`EDGE_CUTS`), cut off all four sides off-centre
    (`OFF_CENTRE_CUTS`)."""
    crops = [crop_share(picture, *crop) for crop in EDGE_CROPS]
    return crops + [cut(picture, *cuts) for cuts in (*EDGE_CUTS, *OFF_CENTRE_CUTS)]

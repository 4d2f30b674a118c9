"""Query-side geometric normalisation: the picture's own boundary inside a re-share.

Why: a screenshot, a story over a blurred copy, a photo of a screen or a picture turned on its
canvas shows the listed picture whole (or nearly), only smaller, moved, turned or skewed. PDQ and
pHash look at the whole frame, so the surround moves every bit; once the picture's own
quadrilateral is found and warped back to an upright rectangle, it hashes like a plain re-upload.

How, cheaply (every upload pays for it): on a small grey thumbnail, OpenCV's Canny edges are
grouped into contours; the convex hull of a large contour that is close to a quadrilateral is a
candidate picture (its boundary against a flat or blurred surround, or the blob of its own
detail inside one). A turned picture whose corners the canvas cut off leaves no closed
quadrilateral, so its tilt is also read (from the fill in its corners, or from where its
outline must lie: `corner_tilt`, `outline_tilt`) and undone.
Each candidate becomes a view, warped from the decoded picture; `media.hashing` hashes the views
as extra queries (`MediaHashes.extra`).

Why candidates are checked before they are warped and hashed: every still upload pays for its
views, and on a plain photo the detectors still find windows, doors and horizons (3.4 candidates
a photo on average over the benchmark's real photos, each about 0.5 ms to warp and hash). A
re-shared picture stands out from what surrounds it: the surround is chrome (flat colour, with
some text), a blurred copy, a bezel, or a canvas corner filled with one colour or a blur, so it
holds much less fine detail than the picture, or much more flat area. A window inside a photo is
surrounded by more of the photo, and a level band of it reaches the frame's border along both
axes. So a rectangle (`find_rectangles`, most of a plain photo's candidates) is kept only when
its surround is plainer than its inside (`Texture.stands_out`) and, if level, it keeps clear of
the border along one axis (`Texture.enclosed`), or when it is one part of the frame split by a
straight seam (a side-by-side collage, whose other half is a photo too); the sharp region and
the convex outlines are kept as before (see `picture_views`). A turned picture's view is kept
only when the corners its turn leaves are plain (`Texture.corners_filled`), and the tilt is
looked for only when three of the frame's four corner pixels are plain (`Texture.corners_plain`:
0.32-0.37 of plain photos pass, 0.95-0.98 of turned ones, and no turned one with a useful view
is lost; since a lightly blurred copy's corners count too, 0.315 and 0.968).
Measured on 2 x 60 real photos of the benchmark corpus with each geometric re-share of
tests/media/reshares.py (seeds 5 and 9): views on a plain photo 3.2 -> 1.6; re-shares with a
view within PDQ 62 or pHash 10 of the picture 770 -> 764 of 960 (rotations, screenshots,
stories, collages, screen photos).

What the weak families of bench/catch_rate.py missed (bench/reshare_misses.py sorts the
misses; bench/RESULTS.md, "Re-shares: the weak families"), and what each fix looks at:
- a story's picture, small beside its status bar, caption and reply box, held less than the
  80% of the frame's detail `sharp_region` asked for: a region clear of the border all round
  is also kept when its surround is sparse in detail beside it (`_set_apart`), and a caption
  joined to it across a soft gap is split off (`_soft_fringe`);
- a photo of a screen: the closed outline is the bezel's, and the picture lies a few pixels in;
  `inside_frame` finds the band of one colour along every side of the outline's upright warp
  (in the decoded picture's pixels: the thumbnail has a thin bezel 2-4 pixels deep) and maps
  the picture's own sides back through the same perspective. It looks piece by piece along
  each side for a step just inside such a band and fits one line through the pieces (fifth
  session): a soft photo's thin bezel has no line without a step across it, glare or a dark
  edge of the picture hides the step in some pieces, and when the bezel runs off the frame
  (no closed outline at all) the frame's own border is the outline, the sides not parallel
  to it;
- a story's sharp region, snapped out to the strongest stepping line within reach, often
  reached the reply box or caption beyond the picture's own soft side: it now snaps to the
  nearest (`_snap`);
- a level rectangle's view that holds bars of its own (a collage's half fitted with bars) is
  hashed without them too (`content_box`, only when both ends of an axis are flat lines:
  `_barred`; every view checked cost a plain photo 0.5 more views and about 1 ms);
- a picture turned on a kept canvas shows its turn as plain triangles in the corners: their
  long sides give the tilt exactly (`corner_tilt`) where Hough's segments are too short;
- a collage's half or a post's picture was no candidate when the other half is a photo too
  (the surround is not plainer) or when the picture's sides do not all step against the
  chrome: the layout itself is read (`frame_parts`, sixth session). Gaps, bars and a post's
  background are plain lines right across the frame or across one part of it, so the frame
  is cut along them, and each piece again along the other axis (a recursive XY-cut, as
  document layout analysis does), at any position; a part is kept when one of its sides
  steps against the gap (a plain photo less its own band of sky does not).
- a story's picture found where it is, but a line or two of the decoded picture off (the
  thumbnail's pixel is 1.5 of them, and the picture only 100-250 wide), hashed beyond the
  confident radius: a level candidate's sides move to the strongest step across them within
  two thumbnail pixels, read in the decoded picture (`stepped_sides`, sixth session).
- a picture turned over a blurred copy of itself (or a flat fill near its edge's brightness)
  showed no turn: the corners hold no detail to trace (`corner_tilt`), and Hough's longest
  segments were often the photo's own leaning edges, not its soft sides. The outline of a
  picture turned on a kept or grown canvas follows from the tilt alone, so each edge pixel
  near the border votes for the tilt whose outline it lies on, its gradient across it
  (`outline_tilt`, seventh session); it takes Hough's place.
- a collage whose two halves meet with no gap (cover-fitted, or fitted with bars at the same
  rows) had no part and, its halves alike in brightness, no rectangle: two unrelated pictures
  break every row (or column) where they meet, so a line across the frame's middle where most
  rows break splits it into its halves (`seam_halves`, eighth session); a half's picture with
  a dark edge of its own beside a bar was cut short, so a picture between bars is also cut
  out between bars of one depth (`_centred`).
- a story's picture with little detail of its own (an object on a plain ground, a sky, open
  water) filled too little of its rectangle for `sharp_region`, or the chrome held as much
  detail over the frame as it did; a dark picture's side, stepping along little of its length,
  was snapped out to its blurred copy's own gradual steps; a caption wider than the picture
  kept its width when split off (eighth session). A region clear of the border is now kept,
  whatever its fill, when the band around it is sparse (`_set_apart`: a story's chrome lies
  further out); it takes in the outline its sides leave apart from an object
  (`_around_largest`); its sides snap only to sharp steps, with fine detail on them; and a
  split-off caption's region reads its columns again over the rows left, its cut side moving
  out no further than the gap.
- at 100 pictures a family (ninth session): a picture whose margins are of its surround's
  colour (an object on white in a light post, a dark photo in a dark post) had no side that
  stepped, so its part was dropped: a part clear of the frame's border all round is kept
  (`_inset`) and an entry also keeps the picture less its plain margins (`plain_margins`);
  a wide picture in a tall phone screenshot was under MIN_SIDE of its height (parts are
  measured against the frame's short side); two wide pictures fitted with bars into tall
  halves broke too few rows at their seam, most rows being bars on both sides (those rows no
  longer count); and a small picture turned over a lightly blurred copy of itself kept some
  detail in its corners, so its turn was never looked for (`Texture.corners_plain`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from media.reupload import EDGE_SHARE, FLAT_TOLERANCE, MIN_TRIM, content_box, row_medians

# A worker is one core's worth of work: OpenCV's own thread pool would only fight the others.
cv2.setNumThreads(1)

THUMB_SIDE = 192  # detection runs on a thumbnail whose short side is this (cheap, and enough)
THUMB_MAX = 384  # and whose long side is at most this (a tall story or screenshot)
MIN_AREA = 0.05  # a candidate covers at least this share of the frame...
MAX_AREA = 0.94  # ...and visibly less than all of it
MIN_SIDE = 0.08  # and each side at least this share of the frame's
MIN_FILL = 0.85  # the contour fills this much of its quadrilateral (a picture, not a shape)
SAME_QUAD = 0.015  # quads whose corners all lie this close (share of the side) are one
MAX_QUADS = 3  # the largest few candidates
STEP = 12  # grey levels: a brightness step across a picture's side
MIN_RUN = 0.1  # a candidate side steps over a run of at least this share of the frame
MAX_LINES = 10  # candidate sides each way
DETAIL = 24  # |Laplacian| of fine detail: a sharp picture has it, a blurred copy hardly any
CLOSE_SIDE = 9  # detail this close together is one region
SOFT_OUTSIDE = 0.2  # most of the frame's detail lies inside the sharp region...
FRINGE, SOFT_ROW = 0.25, 0.02  # a soft row in this share of either end splits a caption off
SPARSE_AROUND = 0.3  # ...or, clear of the border, the band around it this sparse beside it
AROUND = 0.1  # that band's width, a share of the frame's short side (chrome lies further out)
SNAP_REACH = 0.15  # a sharp region's side moves out to a stepping line this near (share of frame)
SNAP_SUPPORT = 0.3  # that steps over at least this share of the side
SHARP_FILL = 0.4  # and fills this much of its rectangle (a photo has smooth parts too), or not:
# a region set apart by that band may be mostly a sky or a plain ground
BY_SUPPORT, BY_AREA = 2, 2  # rectangles kept: the best-stepping ones, then the largest
MIN_SUPPORT = 0.75  # every side of a rectangle steps over at least this share of its length
MIN_TILT, MAX_TILT = 0.8, 20.0  # degrees: tilts worth undoing
TILT_BAND = 0.3  # a turned picture's sides lie within this share of a side from the border
VIEW_SIDE = 160  # views are hashed at this size (PDQ and pHash look at 64 and 32 pixels)
FLAT = 3  # |Laplacian| at most this: flat (chrome, a filled corner)
PLAINER = 0.5  # a candidate's surround has at most this share of its inside's fine detail...
FLAT_SURROUND = 0.3  # ...or at least this share of it is flat
FILL_PLAINER = 0.3  # a turn's filled corners: at most this share of the picture's detail...
FILL_FLAT = 0.3  # ...or at least this share flat
SEAM_SLACK = 2  # thumbnail pixels: a side this close to the frame's border lies on it
CORNER, PLAIN_CORNERS = 2, 3  # a turn's fill shows in this many corners' outermost pixels
CORNER_DETAIL, SOFT_CORNER = 32, 16  # |Laplacian|: a lightly blurred fill's corners (see
# `Texture.corners_plain`)
FRAME_REACH = 0.12  # a frame (a bezel) inside an outline is at most this share of its side deep
FRAME_FLAT = 4  # grey levels between a pixel's neighbours either way: plain (a bezel, with glare)
FRAME_PLAIN_SHARE = 0.8  # a line of a piece is plain when this share of its pixels is
FRAME_STEP = 6  # grey levels, across a line on average over a piece: the picture's side steps
FRAME_RUN = 2  # uniform lines at least, from the band's start to the side, with no step before
FRAME_PIECES = 16  # a side is found piece by piece along its length...
FRAME_SUPPORT = 0.5  # ...and its line must go through candidates of this share of them
FRAME_SLOPE = 0.15  # depth per pixel along: how far from parallel to the outline a side may be
FRAME_KEEP = 3  # candidates a piece, from the outside (a frame lies outside the picture)
FRAME_TOLERANCE = 1.5  # pixels of the warp: a candidate this near a line lies on it
BORDER_FLAT, BORDER_PLAIN, BORDER_SIDES = 3, 0.9, 2  # grey levels, share, sides: see _plain_border
FRAME_AREA = 0.5  # the picture fills at least this share of the outline
CORNERS_AGREE, CORNER_SPREAD = 3, 1.0  # corners whose fill must show one turn, degrees apart
TRIANGLE_LEG = 3  # thumbnail pixels: a corner's plain triangle is at least this long a side
LEVEL = 1.5  # degrees: a candidate whose sides are all this close to level or upright is level
CUT_DEPTH = 4  # a frame is cut into parts at most this many times over (a grid of a grid)
MAX_PARTS = 3  # the largest few parts are views
SIDE_REACH = 2  # thumbnail pixels: a level candidate's side moves to a step this near
SIDE_SPAN = 0.1  # the step is read along the side less this share at either end (the corners)
OUTLINE_EDGES = (10, 30)  # Canny's thresholds for a turned picture's outline: a faint step will do
OUTLINE_AGREE = 12.0  # degrees: an edge pixel's gradient lies this close to across the side
OUTLINE_NEAR = 0.75  # thumbnail pixels: an edge pixel this near the side lies on it
OUTLINE_STEPS = 4  # Newton's steps to the tilt a pixel's side lies at
OUTLINE_BIN, OUTLINE_WINDOW = 0.1, 0.5  # degrees: votes are counted over a window this wide
OUTLINE_SUPPORT = 0.06  # the votes at the tilt cover this share of the outline in the band...
OUTLINE_PEAK = 2.0  # ...and this many times the votes of any other tilt a degree or more away
SEAM_REACH = 2  # thumbnail pixels: a collage's seam lies this near the frame's middle
SEAM_AROUND, SEAM_SKIP = 8, 2  # a line's steps are compared with those this near, less the nearest
SEAM_CONTRAST = 2.0  # a row breaks at the seam: its step there is this many times those around
SEAM_SHARE = 0.4  # and this share of the rows break there
SEAM_PLAIN = 1  # grey levels: a row that steps no more near the middle is plain there (bars)
SEAM_ROWS = 0.1  # of the rows not plain there, which must be at least this share of them all
MAX_TILT_RADIANS = math.radians(MAX_TILT)


Region = tuple[int, int, int, int]  # left, top, right, bottom (thumbnail pixels)


@dataclass(frozen=True, slots=True)
class Candidates:
    """Where detection looked for the picture, in the picture's own pixels: the quadrilaterals
    to warp upright (`level` marks the level rectangles, whose views may hold bars of their
    own) and the turn to undo, if any. The benchmarks diagnose misses from this."""

    quads: tuple[np.ndarray, ...]
    level: tuple[bool, ...]
    tilt: float | None
    texture: Texture  # of the detection thumbnail, `scale` times the picture's size
    scale: float


def picture_views(picture: Image.Image, pixels: np.ndarray | None = None) -> list[Image.Image]:
    """Upright views of the picture found inside `picture` (none when there is no sign of one);
    `pixels` are its RGB pixels, when the caller has them already."""
    rgb = pixels
    if rgb is None:
        rgb = np.asarray(picture if picture.mode == "RGB" else picture.convert("RGB"))
    found = candidates(rgb)
    halves = _Halves(rgb)
    views = [_warp(halves, quad) for quad in found.quads]
    # A level rectangle may hold the picture between bars of its own (a collage's half fitted
    # with bars); the view's outermost pixels straddle the line it was cut along, so they are
    # left out.
    level = [
        view[1:-1, 1:-1]
        for view, is_level in zip(views, found.level, strict=True)
        if is_level and min(view.shape[:2]) > 2
    ]
    barred = []
    for view in level:
        box = content_box(view) if _barred(view) else None
        if box is not None:
            left, top, right, bottom = box
            barred.append(view[top:bottom, left:right])
            # Bars of one depth at both ends (the picture was centred between them); when
            # one end had none, that is the view itself, already hashed.
            centred = _centred(box, view.shape[:2])
            if centred not in (box, (0, 0, view.shape[1], view.shape[0])):
                left, top, right, bottom = centred
                barred.append(view[top:bottom, left:right])
    if found.tilt is not None:
        views += untilted(rgb, found.tilt, found.texture)
    return [Image.fromarray(view) for view in (*views, *barred)]


def candidates(rgb: np.ndarray) -> Candidates:
    """The candidate pictures inside `rgb` (see the module's docstring), before any warp."""
    scale, grey = detection_thumbnail(rgb)
    edges = edge_map(grey)
    texture = Texture.of(grey)
    # The sharp region's surround is soft by definition. A convex outline (find_quads) is kept
    # as it is: on a phone photo of a screen, grain and the keystoned bezel's edges make the
    # thin surround look as busy as the picture, and plain photos yield few (0.4 a photo).
    rectangles = list(filter(texture.stands_out, find_rectangles(grey)))
    outlines = find_quads(edges)
    # A bezel is a few thumbnail pixels deep: look for it in the decoded picture's pixels.
    full = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    framed = [
        inner * scale
        for quad in outlines
        if (inner := inside_frame(full, quad / scale)) is not None
    ]
    if not framed and _plain_border(grey):  # a bezel running off the frame leaves no closed
        # outline: the frame's own border is one (when two of its sides show one colour)
        height, width = full.shape
        whole = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
        inner = inside_frame(full, whole)
        framed = [inner * scale] if inner is not None else []
    # A part lies exactly where the picture meets its gap, where a rectangle may have snapped
    # a line or two off (a caption's step beside it): of two nearly alike, the part is kept.
    parts = frame_parts(grey)
    halves = seam_halves(grey)
    quads = _distinct(
        [*parts, *halves, *sharp_region(grey, texture.detail), *rectangles, *outlines, *framed],
        max(grey.shape),
    )
    level = tuple(any(quad is other for other in (*rectangles, *parts, *halves)) for quad in quads)
    tilt = None
    if texture.corners_plain():
        tilt = corner_tilt(texture.detail)
        tilt = outline_tilt(grey) if tilt is None else tilt
    # A picture inside a frame was placed in the decoded picture's pixels already (and keeps
    # the frame's perspective); a level candidate found on the thumbnail is placed again.
    reach = max(1, round(SIDE_REACH / scale))
    placed = tuple(
        stepped_sides(full, quad / scale, reach)
        if _skew(quad) <= LEVEL and not any(quad is inner for inner in framed)
        else quad / scale
        for quad in quads
    )
    return Candidates(placed, level, tilt, texture, scale)


def stepped_sides(grey: np.ndarray, quad: np.ndarray, reach: int) -> np.ndarray:
    """The level box around `quad` with each side moved, within `reach` pixels, to the line of
    `grey` (the decoded picture) that steps most across it (the median step along the side).

    Why: detection places a side to within a pixel of its thumbnail, and a story's or a
    screenshot's picture is small in the decoded picture (a 9:16 story decodes to 288 x 512,
    its picture 100-250 pixels wide), so a side one or two of the decoded picture's pixels
    off shows a line of the surround, and that alone moved PDQ from 16 to 70 on one story
    (bench/RESULTS.md, "Stories, crops and combinations, sixth session"). The median, not the
    mean: the picture's side steps along most of its length, an edge inside the picture
    along part of it. A side within `reach` of the frame's border is left where it is (the
    frame's border has no step to find)."""
    height, width = grey.shape
    x0, y0 = quad.min(axis=0)
    x1, y1 = quad.max(axis=0)
    sides = [float(x0), float(y0), float(x1), float(y1)]
    for number, rows in ((0, False), (1, True), (2, False), (3, True)):
        # A side at `line` lies between lines line - 1 and line of the picture, across its
        # length: a row (top, bottom) or a column (left, right).
        at = round(sides[number])
        length, across = (height, width) if rows else (width, height)
        if not reach <= at <= length - reach:
            continue
        start, end = (x0, x1) if rows else (y0, y1)
        first = max(0, round(start + SIDE_SPAN * (end - start)))
        last = min(across, round(end - SIDE_SPAN * (end - start)))
        low, high = max(1, at - reach), min(length - 1, at + reach)
        if last - first < 2:
            continue
        band = (
            grey[low - 1 : high + 1, first:last] if rows else grey[first:last, low - 1 : high + 1].T
        )
        # The step across line low + i, at steps[i].
        steps = row_medians(np.abs(np.diff(band.astype(np.int16), axis=0)))
        if steps.max() > 0:  # the strongest step, the nearest of equals
            strongest = np.flatnonzero(steps == steps.max()) + low
            sides[number] = float(strongest[np.argmin(np.abs(strongest - at))])
    left, top, right, bottom = sides
    return np.array([[left, top], [right, top], [right, bottom], [left, bottom]], np.float32)


def frame_parts(grey: np.ndarray) -> list[np.ndarray]:
    """The parts a layout cuts the frame into along plain lines (recursive XY-cut).

    A collage, a phone post or a chat screenshot sets pictures and text apart with gaps and
    bars of one colour that run right across the frame or across one part of it: a line (row
    or column) whose pixels are nearly all of one grey. Each part is cut again along the other
    axis, its plain margins trimmed, down to CUT_DEPTH. A cut may lie anywhere (not only at the
    middle) and the parts need not be alike, so a picture fitted with bars into one half, or a
    picture between a caption and a post's buttons, is a part of its own. A plain photo seldom
    holds a plain line right across it with detail on both sides, so it has no parts.
    A part's size is measured against the frame's short side (a phone's screen width), not
    each side: a phone screenshot is 2 to 2.2 times as tall as wide, mostly chrome below the
    post, and a wide picture in it (a panorama, a stage) was less than MIN_SIDE of its height
    and MIN_AREA of its area (seed 2's picture 40 at 100 pictures: 7% and 4%).
    """
    height, width = grey.shape
    short = min(height, width)
    found: list[tuple[Region, ...]] = []
    _cut(grey, (0, 0, width, height), CUT_DEPTH, found)
    parts = [
        boxes
        for part in found
        if (
            boxes := [
                (x0, y0, x1, y1)
                for x0, y0, x1, y1 in part
                if min(x1 - x0, y1 - y0) >= MIN_SIDE * short
                and MIN_AREA * short * short <= (x1 - x0) * (y1 - y0) <= MAX_AREA * width * height
                and (_edged(grey, (x0, y0, x1, y1)) or _inset(grey, (x0, y0, x1, y1)))
            ]
        )
    ]
    parts.sort(key=lambda boxes: -max((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes))
    return [
        np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
        for boxes in parts[:MAX_PARTS]
        for x0, y0, x1, y1 in boxes
    ]


def seam_halves(grey: np.ndarray) -> list[np.ndarray]:
    """The two halves of a frame split at its middle by a seam, as a collage of two pictures
    that meet with no gap leaves (none when there is no seam).

    Why: `frame_parts` cuts along a gap or bars, and `find_rectangles` needs a side that steps
    along most of its length; two photos side by side (or one above the other) with no gap and
    alike in brightness give neither. But two unrelated pictures that meet along a line break
    every row across it: on either side, neighbouring columns are alike; across it, they are
    not. So a row breaks at a column when its step across it is SEAM_CONTRAST times its steps
    across the columns around and at least STEP; a seam is a column where SEAM_SHARE of the
    rows break. A photo's own upright edge (a pole, a door, a horizon read the other
    way) breaks the rows too, so the seam is looked for only at the middle, where a collage
    app puts it (cells of equal size): of the benchmark corpus's first 240 photos, 50 have such
    a line within a quarter of the short side of the middle, 5 at the middle; of seeds 1 and
    2's 43 collages whose halves meet with no gap, 35 are split at it (7 of the other 8 are
    fitted with bars). Each half is a level candidate, so a half fitted with bars is also
    trimmed of them (`_barred`).
    Rows plain on both sides of the middle (the bars of two wide pictures fitted into tall
    halves, at the same rows) break nowhere whatever the layout, so the share is of the other
    rows: counted over every row, such a collage's seam broke 0.3 of them (seed 2's pictures
    49, 69 and 92 at 100 pictures), over the others 0.55-0.85; of the corpus's first 400
    photos, 13 are split at their middle (12 counting every row).
    """
    height, width = grey.shape
    best = (SEAM_SHARE, 0, None)  # share, axis (0: a column), position
    ahead = SEAM_REACH + SEAM_AROUND + 1  # columns read either side of the middle
    count = 2 * (SEAM_AROUND - SEAM_SKIP)  # columns each step is compared with
    for axis, frame in ((0, grey), (1, grey.T)):
        middle = frame.shape[1] // 2
        if middle - ahead < 0 or middle + ahead >= frame.shape[1]:
            continue
        band = frame[:, middle - ahead : middle + ahead + 1].astype(np.int16)
        # The step across each column, from the one before it to the one after (the thumbnail
        # may blend the two pictures into one column at the seam): steps[:, i] is across
        # column middle - ahead + 1 + i.
        steps = np.abs(band[:, 2:] - band[:, :-2])
        sums = np.zeros((steps.shape[0], steps.shape[1] + 1), np.int32)
        np.cumsum(steps, axis=1, out=sums[:, 1:])
        at = np.arange(SEAM_AROUND, SEAM_AROUND + 2 * SEAM_REACH + 1)  # the middle's columns
        usual = (
            sums[:, at - SEAM_SKIP] - sums[:, at - SEAM_AROUND]
            + sums[:, at + SEAM_AROUND + 1] - sums[:, at + SEAM_SKIP + 1]
        ) / count  # fmt: skip
        breaks = steps[:, at] >= np.maximum(SEAM_CONTRAST * usual, STEP)
        # Rows plain on both sides of the middle (bars both halves have at the same rows)
        # break nowhere, whatever the layout: the share is of the other rows.
        shown = steps.max(axis=1) > SEAM_PLAIN
        if np.count_nonzero(shown) < SEAM_ROWS * len(shown):
            continue
        shares = breaks[shown].mean(axis=0)
        strongest = int(shares.argmax())
        if shares[strongest] > best[0]:
            best = (float(shares[strongest]), axis, middle - SEAM_REACH + strongest)
    _, axis, at = best
    if at is None:
        return []
    halves = (
        [(0, 0, at, height), (at, 0, width, height)]
        if axis == 0
        else [(0, 0, width, at), (0, at, width, height)]
    )
    return [
        np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32) for x0, y0, x1, y1 in halves
    ]


def _cut(
    grey: np.ndarray,
    region: Region,
    depth: int,
    found: list[tuple[Region, ...]],
    layout: tuple[float, ...] | None = None,
) -> None:
    """Trim the region's plain margins, then cut it along the runs of plain lines inside it
    (along the axis with the widest run) and each piece again; a piece that cannot be cut is
    one part (`found`), once the frame has been cut at least once.

    The frame's own margins may be of any colour (bars); a piece's only of a colour the layout
    has already shown in a margin or a cut (`layout`): a picture's own plain edge, a band of
    clear sky, is another colour, and stays in the part. When it is of the gap's colour (a
    white sky beside a white gap) nothing tells them apart, so the part as it was cut is kept
    too."""
    x0, y0, x1, y1 = region
    rows = _plain_lines(grey[y0:y1, x0:x1])
    top, bottom = _margins(rows, layout)
    columns = _plain_lines(grey[y0 + top : y0 + bottom, x0:x1].T)
    left, right = _margins(columns, layout)
    if right - left < 2 or bottom - top < 2:
        return
    seen = [*(layout or ()), *_colours(rows, top, bottom), *_colours(columns, left, right)]
    block = grey[y0 + top : y0 + bottom, x0 + left : x0 + right]
    # Columns were read over these rows; rows were read over these columns if none went.
    columns = columns[0][left:right], columns[1][left:right]
    if (left, right) == (0, x1 - x0):
        rows = rows[0][top:bottom], rows[1][top:bottom]
    else:
        rows = _plain_lines(block)
    x0, y0, x1, y1 = x0 + left, y0 + top, x0 + right, y0 + bottom
    across, down = _runs(rows[0]), _runs(columns[0])
    if depth == 0 or not (across or down):
        if depth < CUT_DEPTH:  # the part, and as it was cut, with a plain edge of its own
            found.append(tuple(dict.fromkeys(((x0, y0, x1, y1), region))))
        return
    widest = max(((end - start) / length, axis)
                 for runs, length, axis in ((across, y1 - y0, 0), (down, x1 - x0, 1))
                 for start, end in runs)[1]  # fmt: skip
    runs, lines = (across, rows) if widest == 0 else (down, columns)
    seen += [colour for start, end in runs for colour in _colours(lines, start, end, inside=True)]
    bounds = [0, *(edge for run in runs for edge in run), (y1 - y0, x1 - x0)[widest]]
    least = MIN_SIDE * min(grey.shape)  # a thinner piece holds no part (a line of text)
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        piece = (x0, y0 + start, x1, y0 + end) if widest == 0 else (x0 + start, y0, x0 + end, y1)
        if end - start >= least:
            _cut(grey, piece, depth - 1, found, tuple(seen))


def _colours(
    lines: tuple[np.ndarray, np.ndarray], start: int, end: int, inside: bool = False
) -> list[float]:
    """The colours of the plain lines outside [start, end) (a region's trimmed margins), or
    inside it (a cut's run), one of each run of one colour."""
    colours = lines[1]
    picked = colours[start:end] if inside else np.concatenate((colours[:start], colours[end:]))
    picked = picked[picked >= 0]
    if not len(picked):
        return []
    first_of_run = np.empty(len(picked), bool)  # (np.r_ would cost as much as the rest)
    first_of_run[0] = True
    np.greater(np.abs(np.diff(picked)), FLAT_TOLERANCE, out=first_of_run[1:])
    return picked[first_of_run].tolist()


def _edged(grey: np.ndarray, part: Region) -> bool:
    """Whether a side of `part` inside the frame steps against the plain line beyond it over
    MIN_SUPPORT of its length, as a picture's straight side against a gap or bar does (one
    side: a picture's own plain edge, a white sky, may meet the gap without a step elsewhere).
    A plain photo's part is the photo less a band of its own sky or shadow, whose first line
    of detail (a tree top, a ripple) steps against it only here and there: of the benchmark's
    first 140 photos, 40 had such a part and 6 kept one (one a photo's own printed border).
    The line next to each side is skipped: the thumbnail blends it."""
    x0, y0, x1, y1 = part
    height, width = grey.shape
    grey = grey.astype(np.int16)
    sides = []
    if y0 > 0:
        sides.append((grey[y0 - 1, x0:x1], grey[min(y0 + 1, y1 - 1), x0:x1]))
    if y1 < height:
        sides.append((grey[y1, x0:x1], grey[max(y1 - 2, y0), x0:x1]))
    if x0 > 0:
        sides.append((grey[y0:y1, x0 - 1], grey[y0:y1, min(x0 + 1, x1 - 1)]))
    if x1 < width:
        sides.append((grey[y0:y1, x1], grey[y0:y1, max(x1 - 2, x0)]))
    return any(np.mean(np.abs(out - inside) >= STEP) >= MIN_SUPPORT for out, inside in sides)


def _inset(grey: np.ndarray, part: Region) -> bool:
    """Whether `part` keeps clear of the frame's border all round (`frame_parts` cut it out
    along plain lines, so plain lines then bound it on every side).

    A picture whose own edges are of the layout's colour (an object on white in a light post,
    a dark photo in a dark one) has no side that steps against its gap: cut out, it is the
    picture less its plain margins, which an entry also keeps (`plain_margins`). A plain
    photo's part is the photo less a band of sky or shadow, so it reaches the border (one
    that does not is an object on a plain ground: 0.05 more views a photo over the corpus's
    first 400)."""
    height, width = grey.shape
    x0, y0, x1, y1 = part
    return not _touches(x0, x1, width) and not _touches(y0, y1, height)


def plain_margins(picture: Image.Image) -> Image.Image | None:
    """The picture less its plain margins (lines at either end of one colour, as `frame_parts`
    trims a layout's: a white ground around an object, a dark edge, a band of sky), or None
    when they are thinner than MIN_TRIM of a side. Shown on a ground of their colour, they
    can't be told from it (`_inset`), so an entry keeps the picture without them too."""
    grey = np.asarray(picture.convert("L"))
    height, width = grey.shape
    top, bottom = _margins(_plain_lines(grey), None)
    left, right = _margins(_plain_lines(grey[top:bottom].T), None)
    trimmed = max((top + height - bottom) / height, (left + width - right) / width)
    if trimmed < MIN_TRIM or min(right - left, bottom - top) < MIN_SIDE * min(height, width):
        return None
    return picture.crop((left, top, right, bottom))


def _plain_lines(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of `block` are plain (EDGE_SHARE of their pixels within FLAT_TOLERANCE of
    their colour, as a bar is), and the colour of each plain one. Nine pixels spread along a
    row, nearly all near their middle one, come first (most rows of a picture fail); their
    median is the row's colour."""
    height, width = block.shape
    colours = np.full(height, -1.0)
    plain = np.zeros(height, bool)
    if width == 0:
        return plain, colours
    sample = block[:, :: max(1, width // 8)].astype(np.int16)
    middle = sample[:, sample.shape[1] // 2][:, None]
    close = np.count_nonzero(np.abs(sample - middle) <= 2 * FLAT_TOLERANCE, axis=1)
    maybe = np.flatnonzero(close >= sample.shape[1] - 2)
    if len(maybe):
        # The samples' median stands for the line's: a plain line is nearly all one grey.
        colour = row_medians(sample[maybe])
        # Twice over, in whole numbers: a median of an even count may end in a half.
        twice = np.rint(2 * colour).astype(np.int16)[:, None]
        near = np.abs(2 * block[maybe].astype(np.int16) - twice) <= 2 * FLAT_TOLERANCE
        flat = np.count_nonzero(near, axis=1) >= EDGE_SHARE * width
        plain[maybe[flat]] = True
        colours[maybe[flat]] = colour[flat]
    return plain, colours


def _margins(
    lines: tuple[np.ndarray, np.ndarray], layout: tuple[float, ...] | None
) -> tuple[int, int]:
    """The first and past-the-last line that are not a margin: plain lines at either end of
    one colour, the outermost one's (a bar), when the layout allows that colour (any, when
    `layout` is None)."""
    plain, colours = lines
    start, end = 0, len(plain)
    if plain[0] and _allowed(colours[0], layout):
        while start < end and plain[start] and abs(colours[start] - colours[0]) <= FLAT_TOLERANCE:
            start += 1
    if plain[-1] and _allowed(colours[-1], layout):
        while (
            end > start and plain[end - 1] and abs(colours[end - 1] - colours[-1]) <= FLAT_TOLERANCE
        ):
            end -= 1
    return start, end


def _allowed(colour: float, layout: tuple[float, ...] | None) -> bool:
    return layout is None or any(abs(colour - seen) <= FLAT_TOLERANCE for seen in layout)


def _runs(plain: np.ndarray) -> list[tuple[int, int]]:
    """The runs [start, end) of plain lines with lines that are not plain on both sides."""
    edges = np.flatnonzero(np.diff(plain.astype(np.int8)))
    starts, ends = edges[plain[edges + 1]] + 1, edges[~plain[edges + 1]] + 1
    if len(plain) and plain[0]:
        ends = ends[1:]
    return list(zip(starts.tolist(), ends.tolist(), strict=False))  # a run at the end is none


def _plain_border(grey: np.ndarray) -> bool:
    """Whether at least two sides of the frame's outermost lines are of one colour, as a
    bezel running off the frame leaves them (and a desk beside it): only then is the frame's
    own border worth searching for a frame inside it. Over the benchmark's 40 photos of a
    screen all pass, and 0.35 of 40 plain photos (the search costs them about 0.3 ms)."""
    soft = cv2.GaussianBlur(grey, (3, 3), 0).astype(np.int16)
    lines = (soft[1], soft[-2], soft[:, 1], soft[:, -2])
    plain = [np.mean(np.abs(np.diff(line)) <= BORDER_FLAT) >= BORDER_PLAIN for line in lines]
    return sum(plain) >= BORDER_SIDES


def _barred(view: np.ndarray) -> bool:
    """Whether both ends of one axis of `view` are flat lines, as the bars a picture was fitted
    between start (a line each end: most views have detail to their sides)."""
    return (_flat_line(view[0]) and _flat_line(view[-1])) or (
        _flat_line(view[:, 0]) and _flat_line(view[:, -1])
    )


def _centred(box: tuple[int, int, int, int], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """`box` (a picture between bars) with the bars at both ends of an axis as deep as the
    shallower: a picture is fitted between bars of one depth, and a dark edge of its own that
    a bar's test took for more bar (on one side) would cut it off."""
    height, width = shape
    left, top, right, bottom = box
    across, down = min(left, width - right), min(top, height - bottom)
    return across, down, width - across, height - down


def _flat_line(line: np.ndarray) -> bool:
    """Whether nearly all of `line` (length, 3) lies within the bar tolerance of its median.
    Nine pixels spread along it, all but two within twice that of their middle one, come
    first: a cheaper test that most lines (the picture's own) fail."""
    sample = line[:: max(1, len(line) // 8)].astype(np.int16)
    spread = np.abs(sample - sample[len(sample) // 2]).max(axis=1)
    if np.count_nonzero(spread <= 2 * FLAT_TOLERANCE) < len(sample) - 2:
        return False
    colour = row_medians(line.T).astype(np.int16)  # as `media.reupload.bar_depth` takes it
    near = np.abs(line.astype(np.int16) - colour) <= FLAT_TOLERANCE
    return bool(near.all(axis=1).mean() >= EDGE_SHARE)


@dataclass(frozen=True, slots=True)
class Texture:
    """Where a detection thumbnail has fine detail and where it is flat, with summed-area
    tables so any rectangle's share of either costs four lookups."""

    detail: np.ndarray  # bool: |Laplacian| >= DETAIL
    flat: np.ndarray  # bool: |Laplacian| <= FLAT
    detail_sums: np.ndarray
    flat_sums: np.ndarray
    corner_peaks: tuple[int, ...]  # the most |Laplacian| in each corner's CORNER x CORNER

    @classmethod
    def of(cls, grey: np.ndarray) -> Texture:
        laplacian = np.abs(cv2.Laplacian(grey, cv2.CV_16S, ksize=3))
        detail, flat = laplacian >= DETAIL, laplacian <= FLAT
        side = CORNER
        corners = (
            laplacian[:side, :side],
            laplacian[:side, -side:],
            laplacian[-side:, :side],
            laplacian[-side:, -side:],
        )
        return cls(
            detail,
            flat,
            cv2.integral(detail.view(np.uint8)),
            cv2.integral(flat.view(np.uint8)),
            tuple(int(corner.max()) for corner in corners),
        )

    def stands_out(self, quad: np.ndarray) -> bool:
        """Whether the picture `quad` outlines stands out from its surround (see the module's
        docstring): a surround plainer than its inside, or the frame split by a seam."""
        height, width = self.detail.shape
        x0, y0, x1, y1 = self._box(quad)
        if _split_by_seam(x0, x1, width) and _spans(y0, y1, height):
            return True
        if _split_by_seam(y0, y1, height) and _spans(x0, x1, width):
            return True
        if _skew(quad) <= LEVEL and not self.enclosed(quad):
            return False
        inside_area = (x1 - x0) * (y1 - y0)
        outside_area = height * width - inside_area
        if inside_area <= 0 or outside_area <= 0:
            return False
        detail_in = _box_sum(self.detail_sums, x0, y0, x1, y1)
        detail_out = self.detail_sums[-1, -1] - detail_in
        flat_out = self.flat_sums[-1, -1] - _box_sum(self.flat_sums, x0, y0, x1, y1)
        return bool(
            detail_out / outside_area <= PLAINER * detail_in / inside_area
            or flat_out >= FLAT_SURROUND * outside_area
        )

    def enclosed(self, quad: np.ndarray) -> bool:
        """Whether `quad` keeps clear of both ends of the frame along at least one axis, as a
        picture inside a screenshot, story or bezel does (a phone post's may span the width).
        A level candidate that reaches the frame's border along both axes is, in practice, the
        photo itself less a band of sky or shadow, or a corner of it."""
        height, width = self.detail.shape
        x0, y0, x1, y1 = self._box(quad)
        return not _touches(x0, x1, width) or not _touches(y0, y1, height)

    def _box(self, quad: np.ndarray) -> tuple[int, int, int, int]:
        height, width = self.detail.shape
        x0, y0 = np.floor(quad.min(axis=0)).astype(int).clip(0, (width, height))
        x1, y1 = np.ceil(quad.max(axis=0)).astype(int).clip(0, (width, height))
        return int(x0), int(y0), int(x1), int(y1)

    def corners_plain(self) -> bool:
        """Whether the frame's very corners hold no fine detail (three of the four at least): a
        picture turned on its canvas leaves them to the fill (one colour, or a blurred copy),
        so only then is the tilt worth looking for. Half the photos or more show detail in
        two corners or more, and skip the search (the costliest detection step).
        A blurred copy of a small picture is hardly shrunk in the thumbnail and keeps some
        detail (a contrasted edge at |Laplacian| 24-32), so three corners under CORNER_DETAIL
        will do when two of them are nearly flat (under SOFT_CORNER, as a blur's are): over
        seeds 1 and 2's 400 turned copies at 100 pictures, 0.955 -> 0.968 of them are searched,
        0.305 -> 0.315 of the corpus's first 200 photos (under CORNER_DETAIL alone, 0.375)."""
        peaks = sorted(self.corner_peaks)
        plain = peaks[PLAIN_CORNERS - 1]  # the most detail of the plainest three corners
        return plain < DETAIL or (plain < CORNER_DETAIL and peaks[1] < SOFT_CORNER)

    def corners_filled(self, picture: np.ndarray) -> bool:
        """Whether the frame outside the (turned) rectangle `picture` is plain, as the corners a
        turn leaves are (filled with one colour or a blurred copy); the rectangle's own outline,
        a pixel or so either way, counts as neither."""
        mask = np.zeros(self.detail.shape, np.uint8)
        cv2.fillPoly(mask, [np.round(picture).astype(np.int32)], 1)
        inside = cv2.erode(mask, np.ones((3, 3), np.uint8)).view(bool)
        outside = cv2.dilate(mask, np.ones((3, 3), np.uint8)) == 0
        if not outside.any() or not inside.any():
            return False
        detail_out = self.detail[outside].mean()
        return bool(
            detail_out <= FILL_PLAINER * self.detail[inside].mean()
            or self.flat[outside].mean() >= FILL_FLAT
        )


def _box_sum(sums: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> int:
    return int(sums[y1, x1] - sums[y0, x1] - sums[y1, x0] + sums[y0, x0])


def _spans(start: int, end: int, length: int) -> bool:
    return start <= SEAM_SLACK and end >= length - SEAM_SLACK


def _touches(start: int, end: int, length: int) -> bool:
    """Whether [start, end) reaches either end of [0, length)."""
    return start <= SEAM_SLACK or end >= length - SEAM_SLACK


def _skew(quad: np.ndarray) -> float:
    """How far (degrees) the quad's most tilted side is from level or upright."""
    sides = np.roll(quad, -1, axis=0) - quad
    angles = np.degrees(np.arctan2(sides[:, 1], sides[:, 0]))
    return float(np.abs((angles + 45) % 90 - 45).max())


def _split_by_seam(start: int, end: int, length: int) -> bool:
    """One side on the frame's border and the other inside it: one part of a split frame."""
    return (start <= SEAM_SLACK) != (end >= length - SEAM_SLACK)


def detection_thumbnail(rgb: np.ndarray) -> tuple[float, np.ndarray]:
    """The scale and grey thumbnail that detection looks at (never larger than the picture)."""
    height, width = rgb.shape[:2]
    scale = min(1.0, THUMB_SIDE / min(height, width), THUMB_MAX / max(height, width))
    size = max(1, round(width * scale)), max(1, round(height * scale))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR) if scale < 1 else rgb
    return scale, cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)


def edge_map(grey: np.ndarray) -> np.ndarray:
    """Canny with thresholds from the picture's own median (works on dark and light pictures)."""
    blurred = cv2.GaussianBlur(grey, (3, 3), 0)
    median = _median(blurred)
    low, high = max(10, int(0.5 * median)), max(30, min(255, int(1.2 * median)))
    return cv2.Canny(blurred, low, high)


def _median(grey: np.ndarray) -> float:
    """np.median of a uint8 picture, from its histogram (no sort of every pixel)."""
    count = grey.size
    below = np.cumsum(cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel())
    upper = float(np.searchsorted(below, count // 2, side="right"))
    if count % 2:
        return upper
    return (float(np.searchsorted(below, count // 2 - 1, side="right")) + upper) / 2


def find_quads(edges: np.ndarray) -> list[np.ndarray]:
    """Quadrilaterals (4 corners, float32, clockwise from top-left) that may be a picture."""
    height, width = edges.shape
    frame_area = float(height * width)
    closed = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found: list[tuple[float, np.ndarray]] = []
    for contour in contours:
        hull = cv2.convexHull(contour)
        area = cv2.contourArea(hull)
        if not MIN_AREA * frame_area <= area <= MAX_AREA * frame_area:
            continue
        quad = _quadrilateral(hull)
        if quad is None or cv2.contourArea(quad) <= 0:
            continue
        if area / cv2.contourArea(quad) < MIN_FILL:
            continue
        sides = np.linalg.norm(quad - np.roll(quad, 1, axis=0), axis=1)
        if sides.min() < MIN_SIDE * min(height, width):
            continue
        found.append((area, quad))
    found.sort(key=lambda item: -item[0])
    return _distinct([quad for _, quad in found], max(height, width))[:MAX_QUADS]


def _distinct(quads: list[np.ndarray], side: int) -> list[np.ndarray]:
    """The quads in order, leaving out any whose corners all lie near an earlier one's."""
    kept: list[np.ndarray] = []
    for quad in quads:
        if all(np.abs(quad - other).max() > SAME_QUAD * side for other in kept):
            kept.append(quad)
    return kept


def sharp_region(grey: np.ndarray, detail: np.ndarray | None = None) -> list[np.ndarray]:
    """The rectangle around the largest sharp region, when the rest of the frame is soft.

    A story puts the picture over a blurred enlargement of itself, whose sides may step little
    against it; but the blurred copy has almost no fine detail, and the picture has plenty.
    `detail` is `Texture.detail` of `grey`, when the caller has it.
    """
    height, width = grey.shape
    if detail is None:
        detail = Texture.of(grey).detail
    mask = cv2.morphologyEx(
        detail.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((CLOSE_SIDE, CLOSE_SIDE), np.uint8)
    )
    # 16-bit labels (the closing leaves a few hundred components at most) halve what the
    # labelling writes; Spaghetti numbers them in the default's order.
    count, _, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask, 8, cv2.CV_16U, cv2.CCL_SPAGHETTI
    )
    if count < 2:
        return []
    x, y, w, h, area = _around_largest(stats, (width, height))
    share = w * h / float(height * width)
    if not MIN_AREA <= share <= MAX_AREA:
        return []
    if w < MIN_SIDE * width or h < MIN_SIDE * height:
        return []
    # A picture set on a soft surround is one however little of its rectangle its detail fills
    # (a sky, a plain ground); else its detail must fill the rectangle and hold most of the
    # frame's.
    if not _set_apart(detail, x, y, w, h) and (
        area < SHARP_FILL * w * h or not _mostly_inside(detail, x, y, w, h)
    ):
        return []
    # A soft side steps on one row here and the next there: look at three rows at once. Only
    # a sharp step is a picture's side: fine detail lies on it (a blurred copy's own gradual
    # steps, beside the picture, have none).
    across, down = step_maps(grey)
    sharp = detail.view(np.uint8)
    across &= cv2.dilate(sharp, np.ones((3, 1), np.uint8))
    down &= cv2.dilate(sharp, np.ones((1, 3), np.uint8))
    across = cv2.dilate(across, np.ones((3, 1), np.uint8))
    down = cv2.dilate(down, np.ones((1, 3), np.uint8))
    found = [_snapped(across, down, (x, y, w, h))]
    # A caption typed just above or below a picture shown inside the frame (a story's) joins
    # its region across a soft gap; it may be wider than the picture, so the columns are read
    # again over the rows left, and a side cut at the gap moves out no further than the gap.
    inside = not _touches(x, x + w, width) and not _touches(y, y + h, height)
    top, bottom, gaps = _soft_fringe(detail[y : y + h, x : x + w]) if inside else (0, h, None)
    if (top, bottom) != (0, h):
        columns = np.flatnonzero(detail[y + top : y + bottom, x : x + w].any(axis=0))
        if len(columns):  # (none only if the closing bridged every row left)
            left, right = x + int(columns[0]), x + int(columns[-1]) + 1
            box = (left, y + top, right - left, bottom - top)
            found.append(_snapped(across, down, box, gaps))
    return found


def _around_largest(stats: np.ndarray, frame: tuple[int, int]) -> tuple[int, int, int, int, int]:
    """The box (x, y, w, h) of the largest component (of `connectedComponentsWithStats`'
    `stats`) and, when it is clear of the frame's (width, height) border all round, of every
    other whose box overlaps it; and their area.

    A picture shown inside the frame whose detail is one object on a plain ground (a tool on a
    white table) shows its own sides as a thin outline of detail (their steps) apart from the
    object: the outline's box overlaps the object's, and the picture is both. A region that
    reaches the border is left as it is (a turned photo's blurred corners would join it)."""
    boxes = stats[1:]
    largest = boxes[int(np.argmax(boxes[:, cv2.CC_STAT_AREA]))]
    x, y, w, h, _ = largest.tolist()
    if _touches(x, x + w, frame[0]) or _touches(y, y + h, frame[1]):
        return x, y, w, h, int(largest[4])
    overlap = (
        (boxes[:, 0] < x + w)
        & (boxes[:, 0] + boxes[:, 2] > x)
        & (boxes[:, 1] < y + h)
        & (boxes[:, 1] + boxes[:, 3] > y)
    )
    chosen = boxes[overlap]
    x0, y0 = chosen[:, 0].min(), chosen[:, 1].min()
    x1, y1 = (chosen[:, 0] + chosen[:, 2]).max(), (chosen[:, 1] + chosen[:, 3]).max()
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0), int(chosen[:, 4].sum())


def _snapped(
    across: np.ndarray,
    down: np.ndarray,
    region: tuple[int, int, int, int],
    gaps: tuple[int | None, int | None] | None = None,
) -> np.ndarray:
    """The rectangle (x, y, w, h) with each side moved out to the line it steps along; with
    `gaps`, the top and bottom sides move that many lines out at most (None: as far as any)."""
    x, y, w, h = region
    above, below = gaps if gaps is not None else (None, None)
    top, bottom = (
        _snap(across, y, x, x + w, -1, above),
        _snap(across, y + h - 1, x, x + w, 1, below),
    )
    left, right = _snap(down.T, x, top, bottom, -1), _snap(down.T, x + w - 1, top, bottom, 1)
    # The side's own step is detail on both of its pixels: keep the inner one.
    left, top, right, bottom = left + 1, top + 1, right - 1, bottom - 1
    corners = [[left, top], [right, top], [right, bottom], [left, bottom]]
    return np.array(corners, dtype=np.float32)


def _soft_fringe(region: np.ndarray) -> tuple[int, int, tuple[int | None, int | None]]:
    """The rows of `region` (its detail) between the last soft row of its top FRINGE and the
    first of its bottom FRINGE: a row with hardly any detail, inside a sharp region, is a gap
    the closing bridged (all of them, when there is none); and, at a side cut there, how many
    soft rows run on outwards from it (the gap: the picture's own soft edge lies in it, the
    caption beyond it; None at a side not cut)."""
    height = region.shape[0]
    soft = region.mean(axis=1) < SOFT_ROW
    rows = np.flatnonzero(soft)
    reach = round(FRINGE * height)
    upper, lower = rows[rows < reach], rows[rows >= height - reach]
    top = int(upper.max()) + 1 if len(upper) else 0
    bottom = int(lower.min()) if len(lower) else height
    above = below = None
    if top:
        sharp_above = np.flatnonzero(~soft[:top])
        above = top - 1 - (int(sharp_above[-1]) if len(sharp_above) else -1)
    if bottom < height:
        sharp_below = _first(~soft[bottom:])
        below = height - bottom if sharp_below is None else sharp_below
    return top, bottom, (above, below)


def _mostly_inside(detail: np.ndarray, x: int, y: int, w: int, h: int) -> bool:
    """Whether most of the frame's detail lies inside the region."""
    inside = int(detail[y : y + h, x : x + w].sum())
    return int(detail.sum()) - inside <= SOFT_OUTSIDE * int(detail.sum())


def _set_apart(detail: np.ndarray, x: int, y: int, w: int, h: int) -> bool:
    """Whether the region is clear of the frame's border all round and the band AROUND it is
    sparse in detail beside the region (a story's picture over its blurred copy).

    The band, not the whole frame: a story's status bar, caption and reply box hold detail
    away from the picture, as much of it as a picture with little of its own (a dolphin in
    open water: 0.43 of the picture's density over the frame, none in the band), while a
    region inside a plain photo is surrounded by more of the photo."""
    height, width = detail.shape
    if _touches(x, x + w, width) or _touches(y, y + h, height):
        return False
    band = round(AROUND * min(height, width))
    x0, y0 = max(0, x - band), max(0, y - band)
    x1, y1 = min(width, x + w + band), min(height, y + h + band)
    inside = int(detail[y : y + h, x : x + w].sum())
    beside = int(detail[y0:y1, x0:x1].sum()) - inside
    return beside / ((x1 - x0) * (y1 - y0) - w * h) <= SPARSE_AROUND * inside / (w * h)


def step_maps(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where brightness steps between rows (level sides) and between columns (upright sides)."""
    height, width = grey.shape
    smooth = cv2.blur(grey, (3, 3)).astype(np.int16)
    across = np.zeros((height, width), np.uint8)
    across[1:-1] = np.abs(smooth[2:] - smooth[:-2]) >= STEP
    down = np.zeros((height, width), np.uint8)
    down[:, 1:-1] = np.abs(smooth[:, 2:] - smooth[:, :-2]) >= STEP
    across = cv2.morphologyEx(across, cv2.MORPH_CLOSE, np.ones((1, 5), np.uint8))
    down = cv2.morphologyEx(down, cv2.MORPH_CLOSE, np.ones((5, 1), np.uint8))
    return across, down


def _snap(
    steps: np.ndarray, line: int, start: int, end: int, outward: int, lines: int | None = None
) -> int:
    """The nearest line to `line`, on its outer side (within `lines`, or SNAP_REACH of the
    frame), along which [start, end) steps over SNAP_SUPPORT of it, if any (a picture's smooth
    edge, a sky, shows no detail but its side still steps against the surround)."""
    if lines is None:
        lines = round(SNAP_REACH * steps.shape[0])
    reach = line + outward * lines
    low, high = sorted((line, min(max(reach, 0), steps.shape[0] - 1)))
    if high <= low:
        return line
    support = steps[low : high + 1, start:end].mean(axis=1)
    outwards = support if outward > 0 else support[::-1]  # from `line` outwards
    stepping = np.flatnonzero(outwards >= SNAP_SUPPORT)
    if not len(stepping):
        return line
    # The nearest such step, at its strongest line (a soft side steps over a few): further
    # out, a story's chrome (a caption, the reply box) may step along more of it than the
    # picture's own soft side does.
    at = int(stepping[0])
    while at + 1 < len(outwards) and outwards[at + 1] >= outwards[at]:
        at += 1
    return line + outward * at


def find_rectangles(grey: np.ndarray) -> list[np.ndarray]:
    """Upright rectangles whose four sides are straight edges (or the frame's own border).

    A picture pasted into a screenshot, a story or a collage keeps its sides level, and along
    each side the brightness steps over most of its length, whatever surrounds it. Rows and
    columns with a long run of such steps are candidate sides; every rectangle they make is
    scored by how much of each of its sides steps, and the best few that step nearly all round
    are kept.
    """
    height, width = grey.shape
    across, down = step_maps(grey)
    down = np.ascontiguousarray(down.T)  # columns as rows: both passes then read along rows
    rows = _side_lines(across, MIN_RUN * width)
    columns = _side_lines(down, MIN_RUN * height)
    ys = np.array(sorted({0, height - 1, *rows}))
    xs = np.array(sorted({0, width - 1, *columns}))
    row_sums = np.zeros((height, width + 1), np.int32)
    np.cumsum(across, axis=1, dtype=np.int32, out=row_sums[:, 1:])
    column_sums = np.zeros((width, height + 1), np.int32)  # a column's sums, along its row
    np.cumsum(down, axis=1, dtype=np.int32, out=column_sums[:, 1:])
    top, bottom = np.meshgrid(ys, ys, indexing="ij")
    left, right = np.meshgrid(xs, xs, indexing="ij")
    tall = (bottom - top >= MIN_SIDE * height).ravel()
    wide = (right - left >= MIN_SIDE * width).ravel()
    top, bottom = top.ravel()[tall], bottom.ravel()[tall]
    left, right = left.ravel()[wide], right.ravel()[wide]
    if not len(top) or not len(left):
        return []
    # Every pair of level sides with every pair of upright sides: (level pairs, upright pairs).
    t, b = top[:, None], bottom[:, None]
    lft, rgt = left[None, :], right[None, :]
    support = np.minimum.reduce(
        [
            _row_support(row_sums, t, lft, rgt, height),
            _row_support(row_sums, b, lft, rgt, height),
            _row_support(column_sums, lft, t, b, width),
            _row_support(column_sums, rgt, t, b, width),
        ]
    )
    area = (b - t) * (rgt - lft) / float(height * width)
    usable = (support >= MIN_SUPPORT) & (area >= MIN_AREA) & (area <= MAX_AREA)
    level, upright = np.nonzero(usable)
    strongest = np.lexsort((-area[level, upright], -support[level, upright]))
    largest = np.argsort(-area[level, upright], kind="stable")
    found = []
    # The best-stepping rectangles, then the largest: a picture against a blurred copy of
    # itself steps less along its sides than the windows of a building inside it do.
    for number in [*strongest[: BY_SUPPORT * 4], *largest[: BY_AREA * 4]]:
        y0, y1 = float(top[level[number]]), float(bottom[level[number]])
        x0, x1 = float(left[upright[number]]), float(right[upright[number]])
        found.append(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32))
    strong = _distinct(found[: BY_SUPPORT * 4], max(height, width))[:BY_SUPPORT]
    return _distinct([*strong, *found[BY_SUPPORT * 4 :]], max(height, width))[
        : BY_SUPPORT + BY_AREA
    ]


def _side_lines(steps: np.ndarray, least: float) -> list[int]:
    """Rows of `steps` with a run of steps at least `least` long, the strongest of neighbours."""
    longest = _longest_runs(steps)
    candidates = np.flatnonzero(longest >= least)
    chosen = candidates[np.argsort(-longest[candidates], kind="stable")].tolist()
    kept: list[int] = []
    for row in chosen:
        if all(abs(row - other) > 2 for other in kept):
            kept.append(row)
        if len(kept) == MAX_LINES:
            break
    return kept


def _longest_runs(steps: np.ndarray) -> np.ndarray:
    """The longest run of non-zero values along each row of `steps`.

    From where the rows, each padded with a zero at both ends, step up and down: a few
    thousand runs at most, where a running maximum over every pixel cost four times as much."""
    height, width = steps.shape
    padded = np.zeros((height, width + 2), np.int8)
    padded[:, 1:-1] = steps != 0
    change = np.diff(padded.ravel())
    starts, ends = np.flatnonzero(change == 1), np.flatnonzero(change == -1)
    longest = np.zeros(height, np.int64)
    np.maximum.at(longest, starts // (width + 2), ends - starts)  # a run ends on its own row
    return longest


def _row_support(
    sums: np.ndarray, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, count: int
) -> np.ndarray:
    """Share of each row's stretch [start, end) that steps; the frame's border counts as whole."""
    # The arrays broadcast against each other (a column of one, a row of the others).
    share = (sums[rows, ends] - sums[rows, starts]) / np.maximum(1, ends - starts)
    return np.where((rows == 0) | (rows == count - 1), 1.0, share)


def _quadrilateral(hull: np.ndarray) -> np.ndarray | None:
    """The hull as 4 ordered corners, if a 4-gon approximates it; else its min-area rectangle."""
    perimeter = cv2.arcLength(hull, True)
    for share in (0.02, 0.04):
        approx = cv2.approxPolyDP(hull, share * perimeter, True)
        if len(approx) == 4:
            return _ordered(approx.reshape(4, 2).astype(np.float32))
    return _ordered(cv2.boxPoints(cv2.minAreaRect(hull)).astype(np.float32))


def _ordered(corners: np.ndarray) -> np.ndarray:
    """Top-left, top-right, bottom-right, bottom-left."""
    sums, diffs = corners.sum(axis=1), np.diff(corners, axis=1).ravel()
    return np.array(
        [
            corners[sums.argmin()],
            corners[diffs.argmin()],
            corners[sums.argmax()],
            corners[diffs.argmax()],
        ],
        dtype=np.float32,
    )


class _Halves:
    """A picture and its copies averaged down by 2, 4, ..., each made once when first asked."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.levels = [rgb]

    def at(self, level: int) -> np.ndarray:
        while len(self.levels) <= level:
            last = self.levels[-1]
            size = ((last.shape[1] + 1) // 2, (last.shape[0] + 1) // 2)
            self.levels.append(cv2.resize(last, size, interpolation=cv2.INTER_AREA))
        return self.levels[level]


def _warp(rgb: np.ndarray | _Halves, quad: np.ndarray) -> np.ndarray:
    """The quadrilateral `quad` of `rgb`, warped to an upright rectangle of its own proportions.

    A view shrinking by more than half is read from a copy averaged down by powers of two (a
    perspective warp reads four pixels a point, so it would alias the picture's grain and
    JPEG noise into the small view, and PDQ, given 160 pixels, averages little more away: on
    the benchmark's screen photos, with the picture's exact outline, 34 of 40 views came
    within the confident radius of their entry's PDQ warped directly, 37 averaged first).
    """
    halves = rgb if isinstance(rgb, _Halves) else _Halves(rgb)
    quad = quad.astype(np.float32)
    top, right = np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[1])
    bottom, left = np.linalg.norm(quad[2] - quad[3]), np.linalg.norm(quad[3] - quad[0])
    width, height = (top + bottom) / 2, (left + right) / 2
    shrink = min(1.0, VIEW_SIDE / max(width, height))
    size = max(8, round(width * shrink)), max(8, round(height * shrink))
    level = 0
    while shrink * 2**level < 0.5 and min(halves.at(level).shape[:2]) > 16:
        level += 1
    source = halves.at(level)
    if level:  # where the quad lies in the smaller copy (pixel centres scale, not corners)
        factor = (
            np.float32(source.shape[1] / halves.at(0).shape[1]),
            np.float32(source.shape[0] / halves.at(0).shape[0]),
        )
        quad = (quad + 0.5) * np.array(factor, np.float32) - 0.5
    target = np.array([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    return cv2.warpPerspective(
        source, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def inside_frame(grey: np.ndarray, quad: np.ndarray) -> np.ndarray | None:
    """The picture inside a plain frame that runs all round `quad` (a screen's bezel, a
    border), or None.

    A photo of a screen shows the picture inside a dark bezel: the bezel's outline is the
    strong, closed one that `find_quads` finds, and the picture's own sides, a few pixels in,
    blur into it. Warped upright by `quad`'s own perspective, the bezel is a band of one
    colour along every side, and the picture's side is a straight step at its inner edge.
    Each side is found piece by piece along its length (`_frame_side`): glare or a dark part
    of the picture hides the step in some pieces, and a side only roughly parallel to the
    outline's (an outline that is the frame's own border, the bezel running off it) still
    lines up across the pieces. The four sides' lines are intersected and mapped back
    through the same perspective. Only the bands along the sides are warped.
    """
    quad = quad.astype(np.float32)
    top, right = np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[1])
    bottom, left = np.linalg.norm(quad[2] - quad[3]), np.linalg.norm(quad[3] - quad[0])
    size = max(16, round((top + bottom) / 2)), max(16, round((left + right) / 2))
    target = np.array([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    lines = []
    for side in ("top", "bottom", "left", "right"):  # most outlines fail the first: stop there
        line = _frame_side(_frame_band(grey, matrix, size, side))
        if line is None:
            return None
        lines.append(line)
    inner = _corners(lines, *size)
    if inner is None:
        return None
    return cv2.perspectiveTransform(inner[None], np.linalg.inv(matrix))[0]


def _frame_band(
    grey: np.ndarray, matrix: np.ndarray, size: tuple[int, int], side: str
) -> np.ndarray:
    """The band a frame may fill along `side` of the upright warp (`matrix` to `size`), the
    band alone warped and softened, as int16 lines from that side inwards."""
    width, height = size
    reach = max(6, round(FRAME_REACH * (height if side in ("top", "bottom") else width)))
    shift = np.eye(3)
    if side == "bottom":
        shift[1, 2] = reach - height
    elif side == "right":
        shift[0, 2] = reach - width
    band_size = (width, reach) if side in ("top", "bottom") else (reach, height)
    if np.allclose(matrix, np.eye(3), atol=1e-6) and grey.shape == (height, width):
        band = {"top": grey[:reach], "bottom": grey[height - reach :], "left": grey[:, :reach],
                "right": grey[:, width - reach :]}[side]  # fmt: skip
    else:
        band = cv2.warpPerspective(grey, shift @ matrix, band_size, flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    band = cv2.GaussianBlur(band, (3, 3), 0).astype(np.int16)
    lines = {"top": band, "bottom": band[::-1], "left": band.T, "right": band.T[::-1]}
    return lines[side]


def _frame_side(band: np.ndarray) -> tuple[float, float] | None:
    """The picture's side in `band` (int16, rows from the frame's outer edge inwards) as
    depth = offset + slope * position along it, or None.

    In each of FRAME_PIECES pieces along the band, a candidate is a line that steps
    (brightness changes across it) right after a run of plain lines (the frame); a piece may
    hold several (a desk's edge, then the bezel's inner one). The side is the straight line
    through candidates of the most pieces, at least FRAME_SUPPORT of them; of lines as well
    supported, the outermost (a picture's own level edge, a horizon, lies further in).
    """
    signed = (band[2:] - band[:-2])[:, 1:-1]  # at lines 1..depth-2
    if signed.shape[1] < FRAME_PIECES or signed.shape[0] < 2:
        return None  # too short a side to cut into pieces (a sliver of a view)
    along = np.abs(band[1:-1, 2:] - band[1:-1, :-2])
    starts = np.linspace(0, signed.shape[1], FRAME_PIECES + 1).astype(int)[:-1]
    counts = np.diff([*starts, signed.shape[1]])
    # Each piece's lines (pieces, lines): their mean step across, and their share of pixels
    # plain along the line (one colour, as a frame's line is, blurred or glared or not).
    step = np.add.reduceat(signed, starts, axis=1).T / counts[:, None]
    uniform = np.add.reduceat(along <= FRAME_FLAT, starts, axis=1).T / counts[:, None]
    size = np.abs(step)
    # Peaks of the step across; the first line may be one (the outline's own step).
    peak = size >= FRAME_STEP
    peak[:, :-1] &= size[:, :-1] > size[:, 1:]
    peak[:, 1:] &= size[:, 1:] >= size[:, :-1]
    lines = np.arange(step.shape[1])
    # The peak before each line (-1: none), and the uniform lines between them.
    before = np.full(step.shape, -1)
    before[:, 1:] = np.maximum.accumulate(np.where(peak, lines, -1), axis=1)[:, :-1]
    earlier = np.take_along_axis(step, before.clip(0), axis=1)
    opposite = (before >= 0) & (np.sign(earlier) == -np.sign(step))
    plain_lines = np.cumsum(uniform >= FRAME_PLAIN_SHARE, axis=1)
    between = plain_lines[:, np.maximum(lines - 1, 0)] - np.where(
        before >= 0, np.take_along_axis(plain_lines, before.clip(0), axis=1), 0
    )
    bracketed = peak & opposite & (between >= 1)
    # Or, in a piece with no such pair, no peak before, the band starting inside the frame (a
    # bezel running off the frame; where a desk shows, its edge is the pair's outer peak).
    framed_start = (before < 0) & (uniform[:, :1] >= FRAME_PLAIN_SHARE) & (between >= FRAME_RUN)
    side = bracketed | (peak & framed_start & ~bracketed.any(axis=1, keepdims=True))
    side &= np.cumsum(side, axis=1) <= FRAME_KEEP  # the outermost few of a piece
    piece, line = np.nonzero(side)
    if len(np.unique(piece)) < FRAME_SUPPORT * FRAME_PIECES:
        return None
    middle = starts + counts / 2
    points = np.stack([middle[piece], line + 1.0, piece], axis=1)  # +1: signed's lines
    return _best_line(points)


def _best_line(points: np.ndarray) -> tuple[float, float] | None:
    """The line through (position, depth, piece) points of the most pieces (see `_frame_side`)."""
    position, depth, piece = points.T
    slopes = np.linspace(-FRAME_SLOPE, FRAME_SLOPE, 2 * round(FRAME_SLOPE / 0.01) + 1)
    offsets = depth[None, :] - slopes[:, None] * position[None, :]  # (slopes, points)
    near = np.abs(offsets[:, :, None] - offsets[:, None, :]) <= FRAME_TOLERANCE
    # Pieces a line through each point meets (a piece's points lie apart: count it once).
    in_piece = (piece[:, None] == np.arange(FRAME_PIECES)[None, :]).astype(np.float32)
    support = (near.astype(np.float32) @ in_piece > 0).sum(axis=2)
    best = support.max()
    if best < FRAME_SUPPORT * FRAME_PIECES:
        return None
    outermost = np.where(support == best, offsets, np.inf)
    slope_at, point_at = np.unravel_index(int(outermost.argmin()), outermost.shape)
    inliers = near[slope_at, point_at]
    x, y = position[inliers], depth[inliers]
    spread = float(((x - x.mean()) ** 2).sum())
    if spread <= 0:
        return float(offsets[slope_at, point_at]), float(slopes[slope_at])
    slope = float(((x - x.mean()) * (y - y.mean())).sum()) / spread  # least squares
    return float(y.mean() - slope * x.mean()), slope


def _corners(lines: list[tuple[float, float]], width: int, height: int) -> np.ndarray | None:
    """The quadrilateral the top, bottom, left and right sides make (each as depth = offset +
    slope * position, measured in from its own edge of a width x height warp), or None when
    it is not a plausible picture inside it."""
    (t0, t1), (b0, b1), (l0, l1), (r0, r1) = lines

    def level(offset: float, slope: float, from_bottom: bool):  # y = a + b x
        return (height - offset, -slope) if from_bottom else (offset, slope)

    def upright(offset: float, slope: float, from_right: bool):  # x = a + b y
        return (width - offset, -slope) if from_right else (offset, slope)

    rows = [level(t0, t1, False), level(b0, b1, True)]
    columns = [upright(l0, l1, False), upright(r0, r1, True)]
    corners = []
    for row, column in ((0, 0), (0, 1), (1, 1), (1, 0)):
        (a, b), (c, d) = rows[row], columns[column]
        x = (c + d * a) / (1 - d * b)  # x = c + d y, y = a + b x
        corners.append((x, a + b * x))
    inner = np.array(corners, np.float32)
    if cv2.contourArea(inner) < FRAME_AREA * width * height:
        return None
    return inner


def corner_tilt(detail: np.ndarray) -> float | None:
    """The tilt (degrees, counter-clockwise as seen) that the fill in the frame's corners
    shows, when at least three corners agree.

    A picture turned on its canvas leaves a plain triangle in each corner, whose long side is
    a stretch of the picture's own side: where each row of the corner first meets detail
    traces it, and its slope is the turn. It needs no long straight edge, so it finds small
    turns whose corners Hough's segments are too short to see, and it reads the same turn in
    every corner (a photo's own leaning edges don't).
    """
    found = []
    for flip_x, flip_y in ((False, False), (True, False), (False, True), (True, True)):
        corner = detail[:: -1 if flip_y else 1, :: -1 if flip_x else 1]
        tilt = _triangle_tilt(corner)
        if tilt is not None:
            found.append(-tilt if flip_x != flip_y else tilt)  # a mirror turns the other way
    if len(found) < CORNERS_AGREE:
        return None
    middle = float(np.median(found))
    agree = [tilt for tilt in found if abs(tilt - middle) <= CORNER_SPREAD]
    if len(agree) < CORNERS_AGREE or not MIN_TILT <= abs(middle) <= MAX_TILT:
        return None
    return float(np.mean(agree))


def _triangle_tilt(detail: np.ndarray) -> float | None:
    """The tilt of the plain triangle's long side in the top-left corner of `detail`, if any."""
    height, width = detail.shape
    along, down = _first(detail[0]), _first(detail[:, 0])
    if along is None or down is None or min(along, down) < TRIANGLE_LEG:
        return None
    if along > width - TRIANGLE_LEG or down > height - TRIANGLE_LEG:
        return None  # a side with no detail at all: no triangle
    rows = np.arange(down)
    reach = [_first(detail[row, : along + 2]) for row in rows]
    points = [(row, x) for row, x in zip(rows.tolist(), reach, strict=True) if x is not None]
    if len(points) < TRIANGLE_LEG:
        return None
    ys, xs = np.array(points, dtype=np.float64).T
    slope = np.polyfit(ys, xs, 1)[0]  # x against y: the side runs from (along, 0) to (0, down)
    angle = math.degrees(math.atan2(-1.0, slope))
    return (angle + 45) % 90 - 45


def _first(line: np.ndarray) -> int | None:
    hits = np.flatnonzero(line)
    return int(hits[0]) if len(hits) else None


def outline_tilt(grey: np.ndarray) -> float | None:
    """The tilt (degrees, counter-clockwise as seen) of a picture turned on its canvas, read
    from where its outline must lie: the tilt whose outline the most edge pixels lie along.

    A turning tool either keeps the canvas (the picture, as large as the frame, turned about
    its centre) or grows it to hold the turned picture; either way the picture's outline
    follows from the tilt alone. Each edge pixel near the frame's border (a faint step is
    enough: a blurred-copy fill, or a flat fill close in brightness to the picture's edge)
    that lies on a side of that outline at some tilt, with its gradient across that side,
    votes for the tilt, for either canvas (`_outline_votes`). The side need not be long and
    straight (Hough's segments, which this replaced), nor bounded by detail (`corner_tilt`: a
    picture's smooth edge shows none, a blurred copy hardly any); it need only step here and
    there along the outline. A tilt is kept when the votes near it cover OUTLINE_SUPPORT of
    the outline's length inside the band, and OUTLINE_PEAK times those of any tilt a degree
    or more away (a photo's own edges, at every angle, vote for no one tilt).
    """
    height, width = grey.shape
    soft = cv2.GaussianBlur(grey, (3, 3), 0)
    edges = cv2.Canny(soft, *OUTLINE_EDGES, L2gradient=True)
    band_y, band_x = round(height * TILT_BAND), round(width * TILT_BAND)
    edges[band_y : height - band_y, band_x : width - band_x] = 0
    ys, xs = np.nonzero(edges)
    gx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)[ys, xs]
    gy = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)[ys, xs]
    # The side each pixel faces (level or upright) and the tilt its gradient shows (its sign
    # is either way); past MAX_TILT and OUTLINE_AGREE, no side.
    level = np.abs(gy) >= np.abs(gx)
    shown = np.where(level, np.arctan2(gx, gy), np.arctan2(-gy, gx))
    shown = (shown + np.float32(math.pi / 2)) % np.float32(math.pi) - np.float32(math.pi / 2)
    keep = np.abs(shown) <= math.radians(MAX_TILT + OUTLINE_AGREE)
    x = (xs[keep] - (width - 1) / 2).astype(np.float32)
    y = (ys[keep] - (height - 1) / 2).astype(np.float32)
    level, shown = level[keep], shown[keep]
    bins, window = round(2 * MAX_TILT / OUTLINE_BIN), round(OUTLINE_WINDOW / OUTLINE_BIN)
    best: tuple[float, float] | None = None  # (tilt, votes a pixel of its outline)
    for grown in (False, True):
        votes = _outline_votes(x, y, level, shown, (width, height), grown)
        if not len(votes):
            continue
        at = ((votes + MAX_TILT) / OUTLINE_BIN).astype(int)
        counts = np.convolve(np.bincount(at, minlength=bins), np.ones(window), mode="same")
        peak = int(counts.argmax())
        near = np.abs(votes - (peak + 0.5) * OUTLINE_BIN + MAX_TILT) <= OUTLINE_WINDOW / 2
        tilt = float(votes[near].mean())
        length = _outline_length((width, height), tilt, grown, (band_x, band_y))
        others = counts.copy()
        others[max(0, peak - 2 * window) : peak + 2 * window + 1] = 0
        if counts[peak] < OUTLINE_SUPPORT * length or counts[peak] < OUTLINE_PEAK * others.max():
            continue
        if MIN_TILT <= abs(tilt) <= MAX_TILT and (best is None or counts[peak] / length > best[1]):
            best = (tilt, counts[peak] / length)
    return None if best is None else best[0]


def _outline_votes(
    x: np.ndarray, y: np.ndarray, level: np.ndarray, shown: np.ndarray, frame: tuple[int, int],
    grown: bool,
) -> np.ndarray:  # fmt: skip
    """The tilt (degrees) at which each edge pixel (x, y from the frame's centre; facing a
    level side or an upright one; its gradient showing the tilt `shown`, radians) lies on that
    side of the turned picture's outline, for the pixels that lie on one with their gradient
    across it (within OUTLINE_AGREE).

    Of the two sides the pixel may face, the one on its half of the frame. Its outward normal
    at tilt t is n(t), and the pixel lies on it when n(t) . (x, y) = a cos t + b sin t =
    r cos(t - phase) equals the side's distance from the centre: half the frame's side for a
    kept canvas (solved outright), half the picture's for a grown one, which shrinks as t
    grows (Newton's method, from the tilt the gradient shows)."""
    width, height = frame
    # (a, b) of the top, bottom, right and left sides; n(t) turns counter-clockwise as seen.
    a = np.where(level, np.abs(y), np.abs(x))
    b = np.where(level, np.where(y < 0, -x, x), np.where(x < 0, y, -y))
    limit = math.radians(MAX_TILT + OUTLINE_AGREE)
    if grown:  # the picture a canvas grown to width x height holds
        across, along = np.where(level, height, width), np.where(level, width, height)
        tilt = shown
        for _ in range(OUTLINE_STEPS):
            cos, sin = np.cos(tilt), np.sin(tilt)
            turn = np.abs(sin)
            cos2, sin2 = cos * cos - turn * turn, 2 * turn * cos
            side = across * cos - along * turn
            value = a * cos + b * sin - side / (2 * cos2)
            slope = -(across * turn + along * cos)  # of `side`, as the turn grows
            derivative = (
                b * cos
                - a * sin
                - np.sign(tilt) * (slope * cos2 + 2 * side * sin2) / (2 * cos2 * cos2)
            )
            tilt = np.clip(tilt - value / np.where(np.abs(derivative) > 1e-6, derivative, 1e-6),
                           -limit, limit)  # fmt: skip
        on = np.abs(value) <= OUTLINE_NEAR  # before the last step: it misses by less after it
    else:
        radius, phase = np.hypot(a, b), np.arctan2(b, a)
        half = np.where(level, height, width) / 2
        reach = np.arccos(np.minimum(half / np.maximum(radius, 1e-6), 1))
        up, down = phase + reach, phase - reach
        tilt = np.where(np.abs(up - shown) <= np.abs(down - shown), up, down)
        on = radius >= half - OUTLINE_NEAR
    on &= (np.abs(tilt - shown) <= math.radians(OUTLINE_AGREE)) & (np.abs(tilt) < MAX_TILT_RADIANS)
    return np.degrees(tilt[on])


def _outline_length(frame: tuple[int, int], tilt: float, grown: bool, band: tuple[int, int]) -> int:
    """Pixels of the turned picture's outline inside the frame's outer band (as the votes)."""
    width, height = frame
    shown_w, shown_h = float(width), float(height)
    if grown:
        turn = math.radians(abs(tilt))
        cos, sin, cos2 = math.cos(turn), math.sin(turn), math.cos(2 * turn)
        shown_w, shown_h = (width * cos - height * sin) / cos2, (height * cos - width * sin) / cos2
    outline = _turned_rectangle(((width - 1) / 2, (height - 1) / 2), shown_w, shown_h, tilt)
    drawn = np.zeros((height, width), np.uint8)
    cv2.polylines(drawn, [np.round(outline).astype(np.int32)], True, 1)
    band_x, band_y = band
    drawn[band_y : height - band_y, band_x : width - band_x] = 0
    return max(1, int(np.count_nonzero(drawn)))


def untilted(rgb: np.ndarray, tilt: float, texture: Texture | None = None) -> list[np.ndarray]:
    """Views with `tilt` undone, each at most VIEW_SIDE: the canvas kept (corners show the
    fill), and the picture a grown canvas held, cut out by the size that canvas implies.

    With `texture` (of the detection thumbnail), a view is made only when the corners the turn
    it undoes would leave are plain (`Texture.corners_filled`): a photo whose edges merely lean
    is left alone.
    """
    height, width = rgb.shape[:2]
    angle = math.radians(abs(tilt))
    cos, sin = math.cos(angle), math.sin(angle)
    determinant = cos * cos - sin * sin
    inner_w = (width * cos - height * sin) / determinant
    inner_h = (height * cos - width * sin) / determinant
    pictures = [(width, height)]
    if inner_w > width * MIN_SIDE and inner_h > height * MIN_SIDE:
        pictures.append((inner_w, inner_h))
    views = []
    for shown_w, shown_h in pictures:
        if texture is not None:
            thumb_h, thumb_w = texture.detail.shape
            outline = _turned_rectangle(
                (thumb_w / 2, thumb_h / 2),
                shown_w * thumb_w / width,
                shown_h * thumb_h / height,
                tilt,
            )
            if not texture.corners_filled(outline):
                continue
        # Turn about the centre, move the picture's corner to the origin, shrink to VIEW_SIDE.
        shrink = min(1.0, VIEW_SIDE / max(shown_w, shown_h))
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -tilt, 1.0)
        matrix[:, 2] -= ((width - shown_w) / 2, (height - shown_h) / 2)
        matrix *= shrink
        size = max(8, round(shown_w * shrink)), max(8, round(shown_h * shrink))
        source = rgb if shrink >= 0.5 else _halved(rgb, shrink, matrix)
        views.append(
            cv2.warpAffine(
                source, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
        )
    return views


def _turned_rectangle(
    centre: tuple[float, float], width: float, height: float, tilt: float
) -> np.ndarray:
    """The corners of a width x height rectangle about `centre`, turned `tilt` degrees
    counter-clockwise as seen (image rows grow downwards)."""
    corners = np.array(
        [[-width / 2, -height / 2], [width / 2, -height / 2], [width / 2, height / 2],
         [-width / 2, height / 2]]
    )  # fmt: skip
    turn = math.radians(tilt)
    rotation = np.array([[math.cos(turn), math.sin(turn)], [-math.sin(turn), math.cos(turn)]])
    return corners @ rotation.T + centre


def _halved(rgb: np.ndarray, shrink: float, matrix: np.ndarray) -> np.ndarray:
    """`rgb` averaged down by a power of two while the warp still shrinks it by half or more
    (a linear warp reads 4 pixels a point: shrinking far, it would alias), with `matrix`
    rescaled in place to read the smaller copy."""
    while shrink < 0.5:
        rgb = cv2.resize(rgb, ((rgb.shape[1] + 1) // 2, (rgb.shape[0] + 1) // 2),
                         interpolation=cv2.INTER_AREA)  # fmt: skip
        matrix[:, :2] *= 2
        shrink *= 2
    return rgb

"""Local features: a compact signature of an entry's picture, and the check that confirms a
weak hash match with it (issue 15).

Why a second stage: a screenshot, story, rotation, photo of a screen or collage of a listed
picture often lands between the confident and the review radius of the hashes, so it only
alerts. Keypoints (OpenCV's ORB: a corner and a 256-bit descriptor of the patch around it,
invariant to rotation and scale) that agree on one geometric transform between the entry and
the upload are evidence no perceptual hash gives: an unrelated picture matches a few keypoints
by chance, but hardly ever dozens that all fit the same similarity transform.

The signature (`signature`): up to `SIGNATURE_POINTS` keypoints of the entry's decoded
picture, spread over a grid so one busy corner does not take them all, each stored as its
32-byte descriptor and its position (two 16-bit fixed-point numbers): `RECORD_BYTES` each,
at most `MAX_SIGNATURE_BYTES` in all. Descriptors of patches, never the picture: the picture
cannot be rebuilt from them.

The check (`inliers`): the upload decoded again (larger than for hashing, so a picture that
fills a fifth of a story keeps its detail), its keypoints matched against the signature's
(Hamming distance, Lowe's ratio test), a similarity transform (rotation, uniform scale,
translation) fitted with RANSAC, and its inliers counted; a transform that shrinks or grows
the picture beyond `SCALE_RANGE` counts none. A signature the first look does not confirm gets
more looks (`confirm_counts`): the upload at half its size, or enlarged when it is smaller than
the signatures' pictures, then mirrored at those sizes. Half the size for two reasons: a phone
photo of a screen is soft and grainy, so at full size ORB spends its keypoints on grain
(bench/catch_rate.py's 40 screen photos of seed 1: 20 inliers for 0.60 of them at full size,
0.95 at half); and a signature is made at about 400 pixels, so a large upload decoded at 1,600
shows the picture 4 times larger, beyond the scales ORB's pyramid spans (plain crops of
1,600-pixel photos kept 0-9 inliers at full size, 17-49 at half). Enlarged for the converse:
ORB's pyramid only shrinks, and most of a signature's keypoints come from its picture's finest
levels, so an upload shrunk to a third (a thumbnail, a copy resized, cropped and recompressed)
shows them at a scale finer than any level of its own; enlarged to the signature's size it
has that level again (bench/catch_rate.py's combinations of seeds 2 and 9, 110-360 pixels:
2-16 inliers as decoded, 23-58 enlarged; bench/RESULTS.md, "Combinations: the mirror's pHash with
PDQ, small uploads enlarged"). The caller compares the count with `CONFIRM_INLIERS`, chosen
on bench/catch_rate.py from the inlier counts of the best false pairs. Run it through
`media.workers.HashingPool.confirm` for untrusted bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np
from PIL import Image, ImageOps

from media.decode import decode_media
from media.formats import DecodeLimits

SIGNATURE_POINTS = 100  # keypoints an entry keeps
DESCRIPTOR_BYTES = 32  # ORB's 256-bit descriptor
POSITION_SCALE = 64  # positions in 1/64 pixel: a 512-pixel picture fits 16 bits
_HEADER = struct.Struct("!BBHH")  # version, unused, width, height of the described picture
_POSITION = struct.Struct("!HH")
RECORD_BYTES = DESCRIPTOR_BYTES + _POSITION.size
MAX_SIGNATURE_BYTES = 4096
VERSION = 1
assert _HEADER.size + SIGNATURE_POINTS * RECORD_BYTES <= MAX_SIGNATURE_BYTES

GRID = 4  # keypoints are chosen round-robin over GRID x GRID cells, strongest first
ENTRY_CANDIDATES = 1500  # keypoints detected before the spread choice
QUERY_POINTS = 8000  # keypoints of the upload: text in a screenshot takes thousands
QUERY_SIDE = 1600  # the upload is decoded to at most this many pixels a side
RATIO = 0.85  # Lowe's ratio test: best descriptor distance under this share of the second
REPROJECTION = 0.012  # RANSAC's inlier distance, as a share of the upload's longer side
SCALE_RANGE = (0.1, 4.0)  # entry pixels to upload pixels: a sane transform lies within
CONFIRM_INLIERS = 20  # inliers that confirm a match (see bench/RESULTS.md for the margin)
COARSE_MIN_SIDE = 64  # no look at half the size below this many pixels a side
# An upload is looked at enlarged when the signatures' pictures are larger than it by more than
# one step of ORB's pyramid (its scaleFactor): within a step, a level of its own is near.
FINER_STEP = 1.2


class BadSignature(ValueError):
    """Bytes that are not a signature this module wrote."""


@dataclass(frozen=True, slots=True)
class Signature:
    """Keypoints of one picture: positions (n, 2) float32 and descriptors (n, 32) uint8."""

    width: int
    height: int
    points: np.ndarray
    descriptors: np.ndarray

    def __len__(self) -> int:
        return len(self.points)

    def encode(self) -> bytes:
        header = _HEADER.pack(VERSION, 0, self.width, self.height)
        fixed = np.round(self.points * POSITION_SCALE).astype(">u2")
        records = np.concatenate([self.descriptors, fixed.view(np.uint8).reshape(-1, 4)], axis=1)
        return header + records.tobytes()


def decode_signature(data: bytes) -> Signature:
    """A signature read back; anything else raises BadSignature."""
    if not _HEADER.size <= len(data) <= MAX_SIGNATURE_BYTES:
        raise BadSignature(f"a signature of {len(data)} bytes")
    version, _unused, width, height = _HEADER.unpack_from(data)
    body = len(data) - _HEADER.size
    if version != VERSION or body % RECORD_BYTES or not width or not height:
        raise BadSignature("not a version-1 signature")
    records = np.frombuffer(data, np.uint8, offset=_HEADER.size).reshape(-1, RECORD_BYTES)
    descriptors = np.ascontiguousarray(records[:, :DESCRIPTOR_BYTES])
    fixed = np.ascontiguousarray(records[:, DESCRIPTOR_BYTES:]).view(">u2").reshape(-1, 2)
    points = fixed.astype(np.float32) / POSITION_SCALE
    return Signature(width, height, points, descriptors)


def _gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


def _orb(points: int) -> cv2.ORB:
    # A small edge threshold keeps keypoints near the picture's borders (a crop keeps those).
    return cv2.ORB_create(nfeatures=points, scaleFactor=1.2, nlevels=8, edgeThreshold=15)


def signature(image: Image.Image) -> Signature | None:
    """The signature of a decoded picture; None when it has too few keypoints to confirm
    anything (a flat or tiny picture)."""
    gray = _gray(image)
    keypoints, descriptors = _orb(ENTRY_CANDIDATES).detectAndCompute(gray, None)
    if descriptors is None or len(keypoints) < CONFIRM_INLIERS:
        return None
    chosen = _spread(keypoints, gray.shape[1], gray.shape[0])
    points = np.array([keypoints[i].pt for i in chosen], dtype=np.float32)
    return Signature(gray.shape[1], gray.shape[0], points, descriptors[chosen])


def _spread(keypoints: tuple[cv2.KeyPoint, ...], width: int, height: int) -> list[int]:
    """At most SIGNATURE_POINTS keypoints, strongest first within each grid cell, taken from
    the cells in turn."""
    cells: dict[tuple[int, int], list[int]] = {}
    for number, point in enumerate(keypoints):
        x, y = point.pt
        cell = (min(GRID - 1, int(x * GRID / width)), min(GRID - 1, int(y * GRID / height)))
        cells.setdefault(cell, []).append(number)
    queues = [sorted(c, key=lambda n: -keypoints[n].response) for c in cells.values()]
    chosen: list[int] = []
    while len(chosen) < SIGNATURE_POINTS and any(queues):
        for queue in queues:
            if queue and len(chosen) < SIGNATURE_POINTS:
                chosen.append(queue.pop(0))
    return chosen


def query_limits(limits: DecodeLimits | None) -> DecodeLimits:
    """The decode limits for a confirmation: the same caps, a larger picture."""
    return replace(limits or DecodeLimits(), target_side=QUERY_SIDE)


@dataclass(frozen=True, slots=True)
class Keypoints:
    """An upload's keypoints, computed once and matched against every candidate's signature."""

    points: np.ndarray
    descriptors: np.ndarray | None
    side: int

    @classmethod
    def of(cls, image: Image.Image) -> Keypoints:
        gray = _gray(image)
        keypoints, descriptors = _orb(QUERY_POINTS).detectAndCompute(gray, None)
        points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
        return cls(points, descriptors, max(gray.shape))


def upload_keypoints(data: bytes, limits: DecodeLimits | None = None) -> Keypoints:
    """The keypoints of a still upload's picture (the first frame of anything else); raises
    `media.outcomes.MediaFailure` for a file that can't be decoded within the limits."""
    return Keypoints.of(_upload_picture(data, limits))


def _upload_picture(data: bytes, limits: DecodeLimits | None) -> Image.Image:
    decoded = decode_media(data, query_limits(limits))
    if decoded.kind != "image":  # the scanner asks for still images only: the bytes changed
        raise ValueError(f"a {decoded.kind} is not confirmed, only a still image")
    return decoded.frames[0].image


def confirm_counts(
    data: bytes, signatures: list[Signature], limits: DecodeLimits | None = None
) -> list[int]:
    """The inliers of an upload against each signature, what the worker's confirmation job
    answers: the best of its looks (`_looks`), each taken only for the signatures the looks
    before it did not confirm. Raises `media.outcomes.MediaFailure` like `upload_keypoints`,
    and ValueError for an animation or a video."""
    counts = [0] * len(signatures)
    side = max((max(s.width, s.height) for s in signatures), default=0)
    for look in _looks(_upload_picture(data, limits), side):
        unconfirmed = [n for n, count in enumerate(counts) if count < CONFIRM_INLIERS]
        if not unconfirmed:
            break
        upload = Keypoints.of(look)
        for number in unconfirmed:
            counts[number] = max(counts[number], inliers(upload, signatures[number]))
    return counts


def _looks(picture: Image.Image, side: int) -> Iterator[Image.Image]:
    """The upload as decoded; at half its size (nearer the signature's scale, and where blur
    and grain leave the coarser keypoints intact); enlarged to `side`, the longer side of the
    largest signature's picture, when it is smaller (`_finer`); and each mirrored left to
    right (PDQ matches a mirrored copy through its mirror image; ORB's descriptors are not
    mirror-invariant). Made one at a time, as they are asked for."""
    yield picture
    yield from _coarser(picture)
    yield from _finer(picture, side)
    mirrored = ImageOps.mirror(picture)
    yield mirrored
    yield from _coarser(mirrored)
    yield from _finer(mirrored, side)


def _coarser(picture: Image.Image) -> Iterator[Image.Image]:
    if min(picture.size) >= 2 * COARSE_MIN_SIDE:
        yield picture.reduce(2)


def _finer(picture: Image.Image, side: int) -> Iterator[Image.Image]:
    """The picture enlarged until its longer side is `side`, when that is more than one step of
    ORB's pyramid larger (no larger than a signature's picture: at most 512 pixels a side)."""
    factor = side / max(picture.size)
    if factor > FINER_STEP:
        size = (round(picture.width * factor), round(picture.height * factor))
        yield picture.resize(size, Image.Resampling.BICUBIC)


def inliers(upload: Keypoints, entry: Signature) -> int:
    """How many of the entry's keypoints one sane similarity transform maps onto matching
    keypoints of the upload (0 when no such transform is found)."""
    if upload.descriptors is None or len(upload.descriptors) < 2 or len(entry) < 3:
        return 0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(entry.descriptors, upload.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < 3:
        return 0
    source = entry.points[[m.queryIdx for m in good]]
    target = upload.points[[m.trainIdx for m in good]]
    model, mask = cv2.estimateAffinePartial2D(
        source,
        target,
        method=cv2.RANSAC,
        ransacReprojThreshold=REPROJECTION * upload.side,
        maxIters=2000,
        confidence=0.995,
    )
    if model is None or mask is None:
        return 0
    scale = float(np.hypot(model[0, 0], model[1, 0]))
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        return 0
    # One upload keypoint counts once, however many entry keypoints landed on it.
    kept = {m.trainIdx for m, inlier in zip(good, mask.ravel().tolist(), strict=True) if inlier}
    return len(kept)

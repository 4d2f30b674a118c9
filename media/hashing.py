"""Perceptual hashes: how a decoded picture gets them (the value itself is `core.hashes.Hash`).

Why PDQ first: it is the hash StopNCII, Meta's ThreatExchange and Hasher-Matcher-Actioner share,
so a takedown list can travel between platforms. pHash (64 bits) is kept for lists that carry
it. A hash is validated where it enters (`core.hashes.parse_hash`) and is a plain, typed value
after that.

Why the dihedral variants: a mirrored or rotated re-upload has a PDQ hash far from the original,
but PDQ computes all eight rotations and flips of one image for little more than the cost of one,
so a query carries them and the index answers for any of them. pHash has no such shortcut for
the turns, but a frame hashed with its turns also gets the pHash of its mirror image from the
same DCT (a mirror only turns the sign of the odd horizontal frequencies;
`FrameHashes.phash_mirror`): an entry's crops keep only their pHash, so a mirrored *and* cropped
re-upload (a common pair of edits) is far from every PDQ the entry keeps and near one of its
crops' pHashes only once it is turned back (bench/RESULTS.md, "Stories, crops and combinations,
sixth session").

Why a result with an outcome: a hostile or broken file must never read as "no match, clean".
`MediaHashes.outcome` says whether hashes exist, and if not, which kind of failure it was
(`media.outcomes`: crafted, unfinished, unsupported) and why.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from core.hashes import Hash
from core.phrases import Phrase, phrase
from media import _pdq
from media.classifier import ExplicitModelError, explicit_score
from media.decode import DecodedMedia, decode_media
from media.features import signature
from media.formats import DecodeLimits
from media.outcomes import NEEDS_TOO_MUCH_MEMORY, MediaFailure, Outcome
from media.preview import PreviewDetail
from media.reupload import content_box, edge_crops, entry_variants, quarters
from media.views import picture_views, plain_margins

log = logging.getLogger(__name__)

# Below this PDQ quality an image is near-uniform and its hash matches too much (HMA's rule).
MIN_PDQ_QUALITY = 50
PDQ_BYTES = 32
# A part of a picture is hashed from a copy this many pixels a side at most: PDQ reads a 64x64
# summary of what it is given, so a small copy costs a fifth of the time (a crop's flatness came
# out the same on 1,450 corpus crops, bench/RESULTS.md; the quarters, `region_hashes`, likewise).
SMALL_SIDE = 128
PHASH_SIDE = 32  # imagehash.phash's default: 8 bits a side, times its high-frequency factor 4
PHASH_BAND = 8  # the DCT's low band, 8 x 8 coefficients: pHash's 64 bits
# pHash as imagehash.phash computes it (the reference most pHash lists come from): the 32x32
# grey copy's DCT-II along both axes, unnormalised (scipy.fftpack.dct: 2 cos(pi k (2n + 1) / 2N)),
# of which only the low band is kept; one bit a coefficient, set above the band's median. Only
# the band is needed, so it is two small products with this matrix instead of a DCT of every
# row and column (a sixth of the time; the same bits, tests/media/test_hashing.py).
_DCT_BAND = 2 * np.cos(
    np.pi * np.outer(np.arange(PHASH_BAND), 2 * np.arange(PHASH_SIDE) + 1) / (2 * PHASH_SIDE)
)
# A mirror image's band is the picture's with every odd horizontal frequency's sign turned
# (cos(pi k (2 (N - 1 - n) + 1) / 2N) = (-1)^k cos(pi k (2n + 1) / 2N)): no second copy needed.
_MIRROR_SIGNS = (-1.0) ** np.arange(PHASH_BAND)
_MIDDLE = PHASH_BAND * PHASH_BAND // 2


@dataclass(frozen=True, slots=True)
class FrameHashes:
    """The hashes of one picture (an image, or one sampled frame of an animation or video).

    `pdq_variants` are the PDQ hashes of the 7 other rotations and flips, in pdqhash's order:
    rotate 90, rotate 180, rotate 270, flip vertical, flip horizontal, rotate 90 and flip
    vertical, rotate 90 and flip horizontal (approximate, as in the reference implementation).
    `time` is when the frame is first shown, in seconds, for animations and video; None for
    still images.
    """

    pdq: Hash
    quality: int
    phash: Hash
    pdq_variants: tuple[Hash, ...] = ()
    time: float | None = None
    phash_mirror: Hash | None = None  # the pHash of the picture flipped left to right

    @property
    def matchable(self) -> bool:
        """PDQ of a near-uniform picture matches too much to act on."""
        return self.quality >= MIN_PDQ_QUALITY

    def pdq_all(self) -> tuple[Hash, ...]:
        return (self.pdq, *self.pdq_variants)

    def pdq_and_mirror(self) -> tuple[Hash, ...]:
        """The picture as it is and flipped left to right, the commonest way a re-upload
        turns (the mirror is `pdq_variants[4]`, "flip horizontal")."""
        return (self.pdq, self.pdq_variants[4]) if len(self.pdq_variants) == 7 else (self.pdq,)


@dataclass(frozen=True, slots=True)
class MediaHashes:
    """The result of hashing one file: its outcome, and the hashes of its sampled frames."""

    outcome: Outcome
    frames: tuple[FrameHashes, ...] = ()
    kind: str = ""  # "image", "animation" or "video"
    format: str = ""  # "jpeg", "png", "gif", "webp", "mp4", "mov", "webm"
    reason: Phrase | None = None  # when not hashed: why, in words a moderator can read
    # Upload: hashes of the picture inside bars or a screenshot. Entry: crops and rotations.
    extra: tuple[FrameHashes, ...] = field(default=())
    # Entry only: the pHash of each edge crop that is not near-uniform (no PDQ, see reupload).
    edge_phash: tuple[Hash, ...] = field(default=())
    # Upload and entry alike: the PDQ of each quarter of a still image (`region_hashes`), which
    # finds a picture partly covered by stickers or captions; a match through one only alerts.
    regions: tuple[Hash, ...] = field(default=())
    # How likely the picture is explicit (0-1, the best of its scored frames, see
    # media.classifier): None when no score was asked for, when the file has no hashes, or when
    # the model could not run (logged by the worker).
    explicit_score: float | None = None
    # Entry only: the local-feature signature of a still image (`media.features`), which
    # confirms a weak hash match; None for animations, videos and flat pictures.
    signature: bytes | None = None
    # Upload only: the pixels its alert's blurred preview is made from (`media.preview`), for
    # this scan alone; the pipeline's caches drop them. None for an entry or a failure.
    preview_detail: PreviewDetail | None = None

    @classmethod
    def failed(cls, outcome: Outcome, reason: Phrase, format: str = "") -> MediaHashes:
        return cls(outcome=outcome, reason=reason, format=format)

    @property
    def hashed(self) -> bool:
        return self.outcome is Outcome.HASHED

    @property
    def explanation(self) -> Phrase:
        """The outcome and its reason in one line, for an alert or (`str`) a log line."""
        if self.reason is None:
            return self.outcome.description
        return phrase("{outcome}: {reason}", outcome=self.outcome.description, reason=self.reason)


def pdq_hash(rgb: np.ndarray) -> tuple[Hash, int]:
    """PDQ of an RGB uint8 array (height, width, 3) and its quality (0-100)."""
    values, quality = _pdq_bytes(rgb, dihedral=False)
    return Hash("pdq", values.hex()), quality


def pdq_dihedral(rgb: np.ndarray) -> tuple[tuple[Hash, ...], int]:
    """PDQ of all 8 rotations and flips, the original first, and the quality."""
    values, quality = _pdq_bytes(rgb, dihedral=True)
    hashes = (values[i : i + PDQ_BYTES] for i in range(0, len(values), PDQ_BYTES))
    return tuple(Hash("pdq", value.hex()) for value in hashes), quality


def _pdq_bytes(rgb: np.ndarray, *, dihedral: bool) -> tuple[bytes, int]:
    """pdqhash's bits, from our compiled PDQ (`media/_pdq.c`: the same floats in a third of the
    time), 32 bytes a hash, most significant first, as the reference tool prints its hex."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"PDQ needs RGB pixels (height, width, 3), not {rgb.shape}")
    pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
    return _pdq.pdq(pixels, pixels.shape[0], pixels.shape[1], dihedral)


def phash64(image: Image.Image) -> Hash:
    return _phash(_phash_band(image))


def phash_and_mirror(image: Image.Image) -> tuple[Hash, Hash]:
    """pHash of the picture and of its mirror image, both from one 32-pixel grey copy."""
    band = _phash_band(image)
    return _phash(band), _phash(band * _MIRROR_SIGNS)


def _phash_band(image: Image.Image) -> np.ndarray:
    """The low band of the DCT of the 32x32 grey copy imagehash.phash reads."""
    grey = image.convert("L").resize((PHASH_SIDE, PHASH_SIDE), Image.Resampling.LANCZOS)
    return _DCT_BAND @ np.asarray(grey, dtype=np.float64) @ _DCT_BAND.T


def _phash(band: np.ndarray) -> Hash:
    """The bits row by row, most significant first, as imagehash prints them in hex.

    The median as np.median takes it (the mean of the two middle values of the 64), from a
    partial sort without np.median's own checks, a few times a picture."""
    middle = np.partition(band.ravel(), (_MIDDLE - 1, _MIDDLE))
    median = (middle[_MIDDLE - 1] + middle[_MIDDLE]) / 2
    return Hash("phash", np.packbits(band > median).tobytes().hex())


def hash_frame(
    image: Image.Image,
    *,
    variants: bool = True,
    time: float | None = None,
    pixels: np.ndarray | None = None,
) -> FrameHashes:
    """Hash one decoded RGB picture (already downscaled by `media.decode`); `pixels` are its
    RGB pixels when the caller has them already (see `hash_media`)."""
    if pixels is None:
        pixels = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    if not variants:
        pdq, quality = pdq_hash(pixels)
        return FrameHashes(pdq=pdq, quality=quality, phash=phash64(image), time=time)
    all_pdq, quality = pdq_dihedral(pixels)
    phash, mirror = phash_and_mirror(image)
    return FrameHashes(all_pdq[0], quality, phash, all_pdq[1:], time, mirror)


def region_hashes(picture: Image.Image) -> tuple[Hash, ...]:
    """The PDQ of each quarter of a picture that is not near-uniform (`media.reupload.quarters`),
    as "pdq_region" hashes: a covered quarter moves, the others stay near the entry's.

    The quarters are cut from one copy shrunk by whole pixels (box averages, `Image.reduce`)
    to at most twice SMALL_SIDE a side: 0.7 ms a decoded photo where shrinking each quarter on
    its own took 1.5 (an entry's quarters and an upload's are read alike either way)."""
    rgb = picture if picture.mode == "RGB" else picture.convert("RGB")  # reduce() refuses "P"
    factor = math.ceil(max(rgb.size) / (2 * SMALL_SIDE))
    small = rgb.reduce(factor) if factor > 1 else rgb
    found = (pdq_hash(np.asarray(quarter)) for quarter in quarters(small))
    return tuple(
        Hash("pdq_region", value.hex) for value, quality in found if quality >= MIN_PDQ_QUALITY
    )


def hash_media(
    data: bytes,
    limits: DecodeLimits | None = None,
    *,
    trim: bool = True,
    views: bool = True,
    explicit: bool = False,
) -> MediaHashes:
    """Decode and hash an upload in this process; every failure becomes an explicit outcome.

    With `trim`, a still image that has flat bars or screenshot chrome around it also gets the
    hashes of the picture inside (`MediaHashes.extra`), see `media.reupload.content_box`.
    With `views`, a still image also gets the hashes (PDQ and pHash, no turns) of the upright
    views `media.views.picture_views` finds: the picture inside a screenshot, story, collage,
    photo of a screen or turned canvas. A still image always gets the PDQ of its quarters
    (`MediaHashes.regions`, `region_hashes`).
    With `explicit`, the decoded picture (or a few sampled frames) is also scored by the
    explicit-image classifier (`MediaHashes.explicit_score`). The first picture also gives the
    pixels of the blurred preview an alert would show (`MediaHashes.preview_detail`).
    Call it through `media.workers.HashingPool` for untrusted bytes: only a worker process can
    bound the time and memory a decoder spends.
    """
    decoded = _decode(data, limits)
    if isinstance(decoded, MediaHashes):
        return decoded
    picture = decoded.frames[0].image
    extra: tuple[FrameHashes, ...] = ()
    pixels = None
    if decoded.kind == "image":
        # Read out once for every step that looks at them: Pillow packs a decoded 1080p
        # photo's pixels into an array in about 0.4 ms, a tenth of a plain photo's hashing
        # once the trim, the views and the hashes each did it.
        pixels = np.asarray(picture)
        box = content_box(pixels) if trim else None
        if box is not None:
            left, top, right, bottom = box
            block = pixels[top:bottom, left:right]
            extra = (hash_frame(picture.crop(box), pixels=block),)
        if views:
            found = picture_views(picture, pixels)
            extra += tuple(hash_frame(view, variants=False) for view in found)
    hashed = replace(
        _hashed(decoded, extra, pixels=pixels), preview_detail=PreviewDetail.of(picture)
    )
    if decoded.kind == "image":
        hashed = replace(hashed, regions=region_hashes(picture))
    return replace(hashed, explicit_score=_explicit_score(decoded)) if explicit else hashed


def _explicit_score(decoded: DecodedMedia) -> float | None:
    """None when the model can't run: the hashes still count, and the fault is ours, not the
    file's, so the file must not be refused for it."""
    try:
        return explicit_score([frame.image for frame in decoded.frames])
    except ExplicitModelError:
        log.exception("The explicit-image check could not run; the file was hashed without it")
        return None


def entry_hashes_for_image(data: bytes, limits: DecodeLimits | None = None) -> MediaHashes:
    """Hashes to store when a moderator adds this file to the takedown list.

    `frames` are the file's own hashes (what `hash_media` gives); for a still image, `extra`
    holds the hashes of its central crops and small rotations (`media.reupload.entry_variants`)
    and of the picture less its plain margins, if it has any (`media.views.plain_margins`),
    `edge_phash` the pHash of its edge crops (`media.reupload.edge_crops`), `regions` the PDQ
    of its quarters (`region_hashes`) and `signature` its local features (`media.features`).
    The takedown cog stores them all under one entry so edited copies match.
    """
    decoded = _decode(data, limits)
    if isinstance(decoded, MediaHashes):
        return decoded
    if decoded.kind != "image":
        return _hashed(decoded, ())
    picture = decoded.frames[0].image
    trimmed = plain_margins(picture)
    variants = [*entry_variants(picture), *([trimmed] if trimmed is not None else [])]
    extra = tuple(hash_frame(v, variants=False) for v in variants)
    edges = (phash64(crop) for crop in edge_crops(picture) if _detailed(crop))
    hashed = replace(_hashed(decoded, extra, tuple(edges)), regions=region_hashes(picture))
    found = signature(picture)
    return replace(hashed, signature=found.encode()) if found is not None else hashed


def _detailed(crop: Image.Image) -> bool:
    """Whether a crop's PDQ quality reaches MIN_PDQ_QUALITY (a near-uniform crop's pHash would
    match any flat picture); an entry has 74 such crops."""
    small = crop.copy()
    small.thumbnail((SMALL_SIDE, SMALL_SIDE), Image.Resampling.BILINEAR)
    return pdq_hash(np.asarray(small.convert("RGB")))[1] >= MIN_PDQ_QUALITY


def _decode(data: bytes, limits: DecodeLimits | None) -> DecodedMedia | MediaHashes:
    try:
        return decode_media(data, limits)
    except MediaFailure as exc:
        return MediaHashes.failed(exc.outcome, exc.reason)
    except MemoryError:
        return MediaHashes.failed(Outcome.UNFINISHED, NEEDS_TOO_MUCH_MEMORY)


def _hashed(
    decoded: DecodedMedia,
    extra: tuple[FrameHashes, ...],
    edge_phash: tuple[Hash, ...] = (),
    pixels: np.ndarray | None = None,
) -> MediaHashes:
    """The hashes of every decoded frame; `pixels` are the first frame's, when read out."""
    frames = tuple(
        hash_frame(f.image, time=f.time, pixels=pixels if number == 0 else None)
        for number, f in enumerate(decoded.frames)
    )
    return MediaHashes(
        Outcome.HASHED,
        frames,
        kind=decoded.kind,
        format=str(decoded.format),
        extra=extra,
        edge_phash=edge_phash,
    )

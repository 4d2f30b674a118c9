"""Which frames of an animation or video to hash: what a viewer sees, not every Nth frame.

Why: sampling 12 frames evenly by index let a listed picture shown for 10 s among flickering
noise frames go unhashed (it sat between two samples). A viewer sees what stays on screen, so
frames are chosen by display time:

- the first frame (the thumbnail and first impression) and the last (a GIF that plays once
  stays on it for good);
- every picture shown for at least `MIN_SHOWN` in all, counting each time it comes back, so a
  picture flashed between noise frames still adds up;
- the first frame of every scene (a cut: the picture changes at once) that lasts `MIN_SHOWN`;
- at least one frame every `SAMPLE_EVERY` of display time, for moving pictures.

Near-identical frames are one picture: a cheap 32x32 grey signature is compared before anything
is hashed, so a still held over hundreds of frames is hashed once. Every frame is looked at; the
limits bound the work, and a file past them is "could not finish" (`MediaUnfinished`), never
checked in part. Pure logic on decoded pictures: `media.decode` feeds it frames and times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.phrases import phrase
from media import _frames
from media.formats import DecodeLimits
from media.outcomes import MediaUnfinished

MIN_SHOWN = 0.1  # seconds: shown this long in all, a picture registers with a viewer
_ROUNDING = 0.001  # three frames of 1/30 s add up to 0.0999...: that is 100 ms
SAMPLE_EVERY = 1.0  # seconds of display: a moving picture is hashed at least this often
SIGNATURE_SIDE = 32  # grey pixels a side: finer than the 64x64 DCT's low band PDQ keeps
# Mean absolute difference (0-255) of two signatures: at most SAME_PICTURE they hash alike;
# from SCENE_CHANGE up the picture changed at once (a cut), not by motion.
SAME_PICTURE = 3.0
SCENE_CHANGE = 24.0
LOOKS = 64  # different pictures remembered while their display time adds up


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    image: Image.Image  # RGB, at most target_side on its longer side
    index: int = 0  # frame number in an animation or video; 0 for a still image
    time: float | None = None  # seconds from the start, for animations and video


def signature(picture: Image.Image, greys: bytes | None = None) -> np.ndarray:
    """A 32x32 grey thumbnail, each pixel the mean of a box of the picture: cheap to compare,
    blind to noise. Transparent pixels are seen on white, as shown; a palette picture's
    indices are read through `greys` (each entry's grey as shown, 256 bytes) when given.

    One pass over the picture in `media._frames` (a third of Pillow's grey, copy and box
    resize). Whole grey levels as int16, so two are compared in integers
    (`_Signatures.totals`), at a fifth of the cost of floats: the sampler compares every frame
    with up to `LOOKS` pictures.
    """
    mode = picture.mode
    if (mode == "P" and greys is not None) or mode == "L":
        found = _frames.grey_boxes(
            _pixels(picture), *picture.size, 1, greys or _IDENTITY, False, SIGNATURE_SIDE
        )
    elif mode in ("RGB", "RGBA"):
        pixels = _pixels(picture)
        found = _frames.grey_boxes(pixels, *picture.size, 4, b"", mode == "RGBA", SIGNATURE_SIDE)
    else:
        return signature(picture.convert("RGBA"))
    return np.frombuffer(found, dtype=np.int16)


def _pixels(picture: Image.Image) -> object:
    """The picture's pixels without a copy (the array of Pillow's Arrow export: RGB as RGBX),
    or as bytes when Pillow keeps them in several blocks of memory (large pictures)."""
    try:
        return picture.__arrow_c_array__()[1]
    except ValueError:
        return picture.tobytes("raw", "RGBX") if picture.mode == "RGB" else picture.tobytes()


_IDENTITY = bytes(range(256))  # an "L" picture's bytes are its greys
_PIXELS = SIGNATURE_SIDE**2
_SAME_TOTAL = SAME_PICTURE * _PIXELS  # the thresholds as sums over the pixels: no division
_SCENE_TOTAL = SCENE_CHANGE * _PIXELS


class _Signatures:
    """Signatures in one preallocated int16 array, compared with one signature at a time
    without allocating (the sampler does this for every frame)."""

    def __init__(self, capacity: int) -> None:
        self.rows = np.empty((capacity, _PIXELS), dtype=np.int16)
        self.count = 0
        self._scratch = np.empty_like(self.rows)

    def totals(self, sig: np.ndarray) -> np.ndarray:
        """Summed absolute differences of `sig` from each signature held (int32)."""
        rows, scratch = self.rows[: self.count], self._scratch[: self.count]
        np.subtract(rows, sig, out=scratch)
        np.abs(scratch, out=scratch)
        return scratch.sum(axis=1, dtype=np.int32)

    def append(self, sig: np.ndarray) -> None:
        if self.count == len(self.rows):  # only the kept pictures' store grows past its start
            self.rows = np.concatenate([self.rows, np.empty_like(self.rows)])
            self._scratch = np.empty_like(self.rows)
        self.rows[self.count] = sig
        self.count += 1


@dataclass(slots=True)
class _Candidate:
    """A frame that may be hashed: its signature, and its picture once made."""

    signature: np.ndarray
    index: int
    time: float
    picture: Callable[[], Image.Image]


class FrameSampler:
    """Feed every frame in display order with `add`, then `frames()` gives what to hash."""

    def __init__(self, limits: DecodeLimits) -> None:
        self.limits = limits
        self._kept: list[DecodedFrame] = []
        self._kept_signatures = _Signatures(16)
        self._looks = _Signatures(LOOKS)
        self._shown = np.zeros(LOOKS, dtype=np.float64)
        self._previous: np.ndarray | None = None
        self._scene: _Candidate | None = None  # the first frame of the scene on screen
        self._scene_shown = 0.0
        self._last: _Candidate | None = None
        self._last_sample = 0.0
        # CPU time, as the worker's own budget: a busy machine does not make a file unfinished.
        self._stop = time.process_time() + limits.work_seconds

    def add(
        self,
        index: int,
        start: float,
        duration: float,
        sig: np.ndarray,
        picture: Callable[[], Image.Image],
    ) -> None:
        """One frame, shown from `start` for `duration` seconds; `picture` makes what to hash.

        `picture` is called only while this frame is the decoder's current one (the last frame
        stays current until `frames()`), so the first frame of each scene is made at once, in
        case its scene lasts; other frames only when kept.
        """
        if time.process_time() > self._stop:
            raise MediaUnfinished(
                phrase(
                    "looking at every frame took longer than {seconds} s",
                    seconds=f"{self.limits.work_seconds:g}",
                )
            )
        frame = _Candidate(sig, index, start, picture)
        cut = self._previous is None or _total(sig, self._previous) >= _SCENE_TOTAL
        self._previous = sig
        if cut:
            made = picture()  # this frame may be kept once its scene has lasted MIN_SHOWN
            frame.picture = lambda: made
            self._scene, self._scene_shown = frame, 0.0
        self._scene_shown += duration
        shown = self._show(sig, duration)
        long_enough = MIN_SHOWN - _ROUNDING
        if index == 0 or shown >= long_enough or start - self._last_sample >= SAMPLE_EVERY:
            self._keep(frame)
        if self._scene is not None and self._scene_shown >= long_enough:
            self._keep(self._scene)
            self._scene = None
        self._last = frame

    def frames(self) -> tuple[DecodedFrame, ...]:
        """The pictures to hash, in display order; the last frame is always among them."""
        if self._last is not None:
            self._keep(self._last)
        return tuple(sorted(self._kept, key=lambda f: f.index))

    def _show(self, sig: np.ndarray, duration: float) -> float:
        """Add `duration` to the display time of the picture `sig` looks like; its total."""
        looks = self._looks
        if looks.count:
            totals = looks.totals(sig)
            nearest = int(totals.argmin())
            if totals[nearest] <= _SAME_TOTAL:
                self._shown[nearest] += duration
                return float(self._shown[nearest])
        if looks.count >= LOOKS:  # forget the picture shown least so far
            weakest = int(self._shown.argmin())
            looks.rows[weakest], self._shown[weakest] = sig, duration
        else:
            self._shown[looks.count] = duration
            looks.append(sig)
        return duration

    def _keep(self, frame: _Candidate) -> None:
        """Hash `frame` unless a near-identical picture is kept already."""
        self._last_sample = max(self._last_sample, frame.time)
        kept = self._kept_signatures
        if kept.count and kept.totals(frame.signature).min() <= _SAME_TOTAL:
            return
        if len(self._kept) >= self.limits.max_hashed_frames:
            raise MediaUnfinished(
                phrase(
                    "it shows more than {most:,} different pictures; the bot hashes up to that "
                    "many from one file",
                    most=self.limits.max_hashed_frames,
                )
            )
        self._kept.append(DecodedFrame(frame.picture(), frame.index, frame.time))
        kept.append(frame.signature)


def _total(a: np.ndarray, b: np.ndarray) -> int:
    """Summed absolute difference of two signatures (int16 arrays)."""
    return int(np.abs(a - b).sum(dtype=np.int32))

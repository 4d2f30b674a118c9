"""Animations as fans post them, drawn from seeded ranges, and what each kind costs a worker.

Run: .venv/bin/python bench/animations.py [per kind] [--seed N]  (prints the seed and figures)

Why: the burst benchmark's animations used to be one file, the evasion corpus's 61-frame GIF of
flickering noise hiding a listed picture: the costliest kind there is (noise is what LZW and
VP8 compress worst, and every frame is a new picture). Real animations are mostly short clips:
a fancam or a reaction, a photo panned and zoomed. Each clip here draws its length (1-4 s), frame
rate (10-25 a second), size (240-480 px on its longer side), zoom (1.0-1.6x, in or out, from or to
the whole picture) and where it pans to, and is encoded as one of:

- "GIF, one palette": one palette for the whole clip, as ffmpeg's palettegen and most GIF
  sites make them (frames stay in palette mode when decoded);
- "GIF, a palette a frame": each frame quantised on its own, as Pillow and some converters do;
- "WebP": animated WebP, lossy (quality 80), as Discord's own GIF picker and phones send;
- "APNG": animated PNG (lossless, so the largest);
- "noise GIF": the adversarial file (`tests.media.evasion.hidden_in_flicker`), kept in the mix.

The mix is equal shares of the five kinds (`KINDS`): we have no count of what fans post, and
equal shares give the adversarial kind a fifth of all animations, far more than it would be
in a real server's traffic. Nothing is written to disk.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.media.evasion import hidden_in_flicker

KINDS = ("GIF, one palette", "GIF, a palette a frame", "WebP", "APNG", "noise GIF")
SECONDS = (1.0, 4.0)
FPS = (10, 25)
LONGER_SIDE = (240, 480)
ZOOM = (1.0, 1.6)


@dataclass(frozen=True)
class Clip:
    """One drawn animation: its kind and the parameters it was made with."""

    kind: str
    seconds: float = 0.0
    fps: int = 0
    size: tuple[int, int] = (0, 0)
    zoom: float = 1.0
    zoom_out: bool = False  # ends on the whole picture instead of starting on it
    towards: tuple[float, float] = (0.5, 0.5)  # where the zoomed view is centred (0-1)

    @property
    def frames(self) -> int:
        return max(2, round(self.seconds * self.fps))

    def describe(self) -> str:
        if self.kind == "noise GIF":
            return "noise GIF: 61 frames of 320x240, the picture 10 s at frame 12"
        way = "out to" if self.zoom_out else "in from"
        return (
            f"{self.kind}: {self.seconds:.1f} s at {self.fps}/s ({self.frames} frames),"
            f" {self.size[0]}x{self.size[1]}, zoom {self.zoom:.2f}x {way} the whole picture"
        )


def draw_clip(rng: random.Random, photo_size: tuple[int, int], kind: str | None = None) -> Clip:
    """A clip's parameters; its kind drawn with equal shares unless given."""
    kind = kind or rng.choice(KINDS)
    if kind == "noise GIF":
        return Clip(kind)
    longer = rng.randint(*LONGER_SIDE)
    width, height = photo_size
    scale = longer / max(width, height)
    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    return Clip(
        kind,
        seconds=round(rng.uniform(*SECONDS), 1),
        fps=rng.randint(*FPS),
        size=size,
        zoom=rng.uniform(*ZOOM),
        zoom_out=rng.random() < 0.5,
        towards=(rng.random(), rng.random()),
    )


def clip_frames(clip: Clip, photo: Image.Image) -> list[Image.Image]:
    """The clip's frames: the whole photo, zooming smoothly to (or from) a part of it."""
    width, height = photo.size
    frames = []
    for n in range(clip.frames):
        progress = n / (clip.frames - 1)
        if clip.zoom_out:
            progress = 1 - progress
        zoom = 1 + (clip.zoom - 1) * progress
        view_w, view_h = width / zoom, height / zoom
        centre_x = width / 2 + (clip.towards[0] - 0.5) * (width - view_w) * progress
        centre_y = height / 2 + (clip.towards[1] - 0.5) * (height - view_h) * progress
        box = (
            centre_x - view_w / 2,
            centre_y - view_h / 2,
            centre_x + view_w / 2,
            centre_y + view_h / 2,
        )
        frames.append(photo.resize(clip.size, Image.Resampling.BILINEAR, box=box))
    return frames


def encode_clip(clip: Clip, photo: Image.Image) -> bytes:
    """The clip's file; the noise GIF ignores `photo` (it always hides the listed picture)."""
    if clip.kind == "noise GIF":
        return hidden_in_flicker("GIF")
    frames = clip_frames(clip, photo)
    duration = round(1000 / clip.fps)
    options: dict[str, object] = {"save_all": True, "loop": 0, "duration": duration}
    if clip.kind == "GIF, one palette":
        palette = frames[0].quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        frames = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
        fmt, options["palette"] = "GIF", bytes(palette.getpalette() or [])  # global, not local
    elif clip.kind == "GIF, a palette a frame":
        frames = [f.quantize(colors=256, method=Image.Quantize.MEDIANCUT) for f in frames]
        fmt = "GIF"
    elif clip.kind == "WebP":
        fmt, options["quality"] = "WEBP", 80
    else:
        fmt, options["compress_level"] = "PNG", 6
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, append_images=frames[1:], **options)
    return buffer.getvalue()


def cpu_ms(action: Callable[[], object], repeat: int) -> float:
    """Median CPU time of this process (less moved by other processes on a busy machine)."""
    timings = []
    for _ in range(repeat):
        started = time.process_time()
        action()
        timings.append(time.process_time() - started)
    return 1000 * statistics.median(timings)


def per_kind_cost(per_kind: int, seed: int, repeat: int = 3) -> None:
    """Each kind's worker cost: `hash_media` (what a worker runs) in CPU ms, one core."""
    from bench.corpus import catalogue, read_photo
    from media.hashing import hash_media

    rng = random.Random(seed)
    photos = catalogue()
    print(f"seed {seed}; {per_kind} animations a kind, each from its own corpus photo")
    for kind in KINDS:
        costs, hashed, sizes, frames = [], [], [], []
        for _ in range(per_kind if kind != "noise GIF" else 1):
            photo = read_photo(rng.choice(photos))
            clip = draw_clip(rng, photo.size, kind)
            data = encode_clip(clip, photo)
            result = hash_media(data)
            if not result.hashed:
                print(f"  not hashed: {clip.describe()}: {result.explanation}")
                continue
            costs.append(cpu_ms(lambda data=data: hash_media(data), repeat))
            hashed.append(len(result.frames))
            sizes.append(len(data) / 1024)
            frames.append(clip.frames if kind != "noise GIF" else 61)
        if costs:
            print(
                f"  {kind:24} CPU ms median {statistics.median(costs):6.1f},"
                f" max {max(costs):6.1f}; frames median {statistics.median(frames):.0f};"
                f" pictures hashed median {statistics.median(hashed):.0f},"
                f" max {max(hashed)}; KiB median {statistics.median(sizes):.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("per_kind", nargs="?", type=int, default=12)
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(10**6))
    args = parser.parse_args()
    per_kind_cost(args.per_kind, args.seed)


if __name__ == "__main__":
    main()

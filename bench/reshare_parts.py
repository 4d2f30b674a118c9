"""The parts of a re-share (bench/reshares.py): its result, and what the layouts draw with.

`Reshare` is what an edit family returns: the edited image, the parameters drawn for it, where
the picture's own pixels ended up (for the tests), and how it is saved. The drawing helpers give
text in PIL's default (scalable) font, round avatars, pasted pictures and blurred backgrounds.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFilter, ImageFont

Box = tuple[int, int, int, int]  # left, top, right, bottom


@dataclass
class Reshare:
    image: Image.Image
    params: dict[str, object] = field(default_factory=dict)
    box: Box | None = None  # the picture's bounding box in `image`, where it was pasted
    fmt: str = "JPEG"  # how it is saved: "JPEG", "PNG", "WEBP" or "GIF"
    quality: int = 90

    def encode(self) -> bytes:
        buffer = io.BytesIO()
        image = self.image
        if self.fmt == "GIF":
            image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
            image.save(buffer, "GIF")
        elif self.fmt == "PNG":
            image.save(buffer, "PNG", compress_level=1)  # fast; the bytes decode the same
        else:
            image.save(buffer, self.fmt, quality=self.quality)
        return buffer.getvalue()


Partner = Callable[[], Image.Image]
Edit = Callable[[Image.Image, random.Random, Partner], Reshare]
# -- drawing helpers --------------------------------------------------------------------------

CHAT_TEXT = (
    "omg look at this fancam from last night the stage was insane who took this i cant believe "
    "they posted it again please report this account bias wrecker comeback concert live today "
    "tomorrow photo new era album teaser streaming party vote now best day ever so proud"
)
WORDS = tuple(CHAT_TEXT.split())


def font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, round(size)))


def words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def handle(rng: random.Random) -> str:
    return (
        rng.choice(("", "@"))
        + "_".join(rng.choice(WORDS) for _ in range(2))
        + str(rng.randint(0, 99))
    )


def colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(40, 240), rng.randrange(40, 240), rng.randrange(40, 240))


def avatar(draw: ImageDraw.ImageDraw, x: float, y: float, size: float, rng: random.Random) -> None:
    """A round avatar: a coloured disc with a lighter head-and-shoulders silhouette."""
    draw.ellipse((x, y, x + size, y + size), fill=colour(rng))
    light = (230, 230, 230)
    draw.ellipse((x + size * 0.33, y + size * 0.18, x + size * 0.67, y + size * 0.52), fill=light)
    draw.chord(
        (x + size * 0.15, y + size * 0.55, x + size * 0.85, y + size * 1.15), 180, 360, fill=light
    )


def scaled(picture: Image.Image, width: int) -> Image.Image:
    width = max(8, width)
    height = max(8, round(picture.height * width / picture.width))
    return picture.resize((width, height), Image.Resampling.LANCZOS)


def rounded(picture: Image.Image, radius: int) -> Image.Image:
    """The mask of a rounded rectangle the size of `picture`."""
    mask = Image.new("L", picture.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, *picture.size), radius=radius, fill=255)
    return mask


def paste(canvas: Image.Image, picture: Image.Image, x: int, y: int, radius: int = 0) -> Box:
    canvas.paste(picture, (x, y), rounded(picture, radius) if radius else None)
    return (x, y, x + picture.width, y + picture.height)


def blurred_cover(picture: Image.Image, size: tuple[int, int], radius: float) -> Image.Image:
    """`picture` enlarged to cover `size`, centred, and blurred (a story's background)."""
    scale = max(size[0] / picture.width, size[1] / picture.height)
    big = picture.resize(
        (math.ceil(picture.width * scale), math.ceil(picture.height * scale)),
        Image.Resampling.BILINEAR,
    )
    left, top = (big.width - size[0]) // 2, (big.height - size[1]) // 2
    return big.crop((left, top, left + size[0], top + size[1])).filter(
        ImageFilter.GaussianBlur(radius)
    )


def text_lines(
    draw: ImageDraw.ImageDraw,
    x: float,
    y: float,
    size: float,
    ink: object,
    rng: random.Random,
    lines: int,
    width: float,
) -> float:
    """Draw `lines` lines of chat text no wider than `width`; returns the y below them."""
    face = font(size)
    for _ in range(lines):
        text = words(rng, 3, 12)
        while len(text) > 3 and draw.textlength(text, font=face) > width:
            text = text.rsplit(" ", 1)[0]
        draw.text((x, y), text, fill=ink, font=face)
        y += size * 1.4
    return y

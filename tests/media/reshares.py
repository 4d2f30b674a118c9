"""Geometric re-shares of a picture, drawn from parameter ranges (issue 15), for tests and
bench/reshare_views.py: rotations on a kept or grown canvas, crops off some sides, chat and phone
screenshots, a 9:16 story over a blurred copy, stickers and captions, a side-by-side collage and
a photo of a screen. Every edit takes the picture and a `random.Random`, so a seed repeats it.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

Edit = Callable[[Image.Image, random.Random], Image.Image]

FILLS = ("black", "white", "grey", "blur")


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(8, size))


def _fill_colour(fill: str) -> tuple[int, int, int]:
    return {"black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128)}[fill]


def _blurred_cover(picture: Image.Image, size: tuple[int, int], radius: float) -> Image.Image:
    """The picture enlarged to cover `size` and blurred, as apps put behind a story."""
    scale = max(size[0] / picture.width, size[1] / picture.height)
    big = picture.resize(
        (round(picture.width * scale) + 1, round(picture.height * scale) + 1),
        Image.Resampling.BILINEAR,
    )
    left, top = (big.width - size[0]) // 2, (big.height - size[1]) // 2
    return big.crop((left, top, left + size[0], top + size[1])).filter(
        ImageFilter.GaussianBlur(radius)
    )


def rotated(picture: Image.Image, degrees: float, fill: str, *, grow: bool) -> Image.Image:
    """The picture turned `degrees`, its canvas kept (corners filled) or grown to hold it."""
    rgba = picture.convert("RGBA")
    turned = rgba.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=grow)
    if fill == "blur":
        back = _blurred_cover(picture, turned.size, max(turned.size) / 30)
    else:
        back = Image.new("RGB", turned.size, _fill_colour(fill))
    back.paste(turned, (0, 0), turned)
    return back


def rotation_kept(picture: Image.Image, rng: random.Random) -> Image.Image:
    degrees = rng.uniform(1, 15) * rng.choice((-1, 1))
    return rotated(picture, degrees, rng.choice(FILLS), grow=False)


def rotation_grown(picture: Image.Image, rng: random.Random) -> Image.Image:
    degrees = rng.uniform(1, 15) * rng.choice((-1, 1))
    return rotated(picture, degrees, rng.choice(FILLS), grow=True)


def crop_sides(picture: Image.Image, rng: random.Random) -> Image.Image:
    """5-30 % of the width or height off one, two (a corner's) or all four sides."""
    sides = rng.choice((1, 2, 4))
    cut = {"left": 0.0, "right": 0.0, "top": 0.0, "bottom": 0.0}
    if sides == 1:
        cut[rng.choice(list(cut))] = rng.uniform(0.05, 0.3)
    elif sides == 2:
        cut[rng.choice(("left", "right"))] = rng.uniform(0.05, 0.3)
        cut[rng.choice(("top", "bottom"))] = rng.uniform(0.05, 0.3)
    else:
        total_x, total_y = rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3)
        split_x, split_y = rng.random(), rng.random()
        cut = {
            "left": total_x * split_x,
            "right": total_x * (1 - split_x),
            "top": total_y * split_y,
            "bottom": total_y * (1 - split_y),
        }
    width, height = picture.size
    return picture.crop(
        (
            round(width * cut["left"]),
            round(height * cut["top"]),
            round(width * (1 - cut["right"])),
            round(height * (1 - cut["bottom"])),
        )
    )


def _text_lines(
    draw: ImageDraw.ImageDraw,
    x: int,
    y: int,
    rng: random.Random,
    ink,
    size: int,
    count: int,
    width: int,
) -> int:
    words = ("omg", "look", "at", "this", "fancam", "so", "pretty", "lol", "who", "posted", "wait")
    for _ in range(count):
        line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 9)))
        draw.text((x, y), line[: width // (size // 2 + 1)], fill=ink, font=_font(size))
        y += int(size * 1.5)
    return y


def chat_client(picture: Image.Image, rng: random.Random, *, dark: bool) -> Image.Image:
    """A desktop chat client: sidebar, messages with avatars, the picture in one of them."""
    width, height = rng.choice(((1920, 1080), (1600, 900), (1440, 900), (1280, 800)))
    background = (49, 51, 56) if dark else (255, 255, 255)
    side = (43, 45, 49) if dark else (242, 243, 245)
    ink = (219, 222, 225) if dark else (40, 40, 45)
    canvas = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(canvas)
    sidebar = rng.randint(200, 320)
    draw.rectangle((0, 0, sidebar, height), fill=side)
    _text_lines(draw, 20, 20, rng, ink, 18, 20, sidebar)
    column = width - sidebar - 80
    shown_w = round(column * rng.uniform(0.4, 0.9))
    shown_h = round(picture.height * shown_w / picture.width)
    if shown_h > height * 0.8:
        shown_h = round(height * 0.8)
        shown_w = round(picture.width * shown_h / picture.height)
    x = sidebar + 80
    y = rng.randint(40, max(41, height - shown_h - 120))
    avatar = (x - 60, y - 50, x - 20, y - 10)
    draw.ellipse(avatar, fill=tuple(rng.randrange(256) for _ in range(3)))
    draw.text((x, y - 48), "fan_account " + str(rng.randint(1, 99)), fill=ink, font=_font(20))
    _text_lines(draw, x, max(5, y - 240), rng, ink, 20, 4, column)
    canvas.paste(picture.resize((shown_w, shown_h), Image.Resampling.BILINEAR), (x, y))
    _text_lines(draw, x, y + shown_h + 20, rng, ink, 20, 4, column)
    return canvas


def chat_dark(picture: Image.Image, rng: random.Random) -> Image.Image:
    return chat_client(picture, rng, dark=True)


def chat_light(picture: Image.Image, rng: random.Random) -> Image.Image:
    return chat_client(picture, rng, dark=False)


def phone_post(picture: Image.Image, rng: random.Random) -> Image.Image:
    """A phone screenshot of a social post: status bar, header, the picture, buttons, caption."""
    width, height = 1080, rng.choice((1920, 2340, 2400))
    dark = rng.random() < 0.5
    background, ink = ((0, 0, 0), (235, 235, 235)) if dark else ((255, 255, 255), (20, 20, 20))
    canvas = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(canvas)
    draw.text((40, 30), "9:41", fill=ink, font=_font(40))
    draw.text((width - 200, 30), "5G 87%", fill=ink, font=_font(36))
    draw.ellipse((40, 150, 140, 250), fill=(200, 80, 120))
    draw.text((170, 170), "kpop_fancams_daily", fill=ink, font=_font(44))
    shown_w = round(width * rng.uniform(0.4, 0.9)) if rng.random() < 0.5 else width
    shown_h = min(round(picture.height * shown_w / picture.width), height - 700)
    shown_w = round(picture.width * shown_h / picture.height)
    top = 300
    canvas.paste(picture.resize((shown_w, shown_h)), ((width - shown_w) // 2, top))
    below = top + shown_h + 40
    for offset in range(3):
        draw.ellipse(
            (40 + offset * 120, below, 110 + offset * 120, below + 70), outline=ink, width=6
        )
    draw.text((40, below + 120), f"{rng.randint(10, 9999):,} likes", fill=ink, font=_font(40))
    _text_lines(draw, 40, below + 190, rng, ink, 40, 3, width)
    return canvas


def story(picture: Image.Image, rng: random.Random) -> Image.Image:
    """A 9:16 story: the picture at 40-90 % of the width over a blurred enlargement of itself."""
    width, height = 1080, 1920
    canvas = _blurred_cover(picture, (width, height), rng.uniform(20, 50))
    shown_w = round(width * rng.uniform(0.4, 0.9))
    shown_h = round(picture.height * shown_w / picture.width)
    if shown_h > height * 0.8:
        shown_h = round(height * 0.8)
        shown_w = round(picture.width * shown_h / picture.height)
    x = (width - shown_w) // 2 + rng.randint(-40, 40)
    y = (height - shown_h) // 2 + rng.randint(-200, 200)
    canvas.paste(picture.resize((shown_w, shown_h), Image.Resampling.BILINEAR), (x, y))
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((40, 60, 120, 140), fill=(230, 230, 230))
    draw.text((140, 80), "bias_updates", fill="white", font=_font(36))
    return canvas


def sticker_caption(picture: Image.Image, rng: random.Random) -> Image.Image:
    """A round sticker and a caption, together over up to 10 % of the picture."""
    edited = picture.copy()
    draw = ImageDraw.Draw(edited)
    area = picture.width * picture.height * rng.uniform(0.03, 0.06)
    radius = int((area / 3.14) ** 0.5)
    cx = rng.randint(radius, picture.width - radius)
    cy = rng.randint(radius, picture.height - radius)
    colour = tuple(rng.randrange(256) for _ in range(3))
    draw.ellipse(
        (cx - radius, cy - radius, cx + radius, cy + radius), fill=colour, outline="white", width=4
    )
    size = max(12, picture.height // 18)
    text = rng.choice(("so pretty", "LOOK", "omg", "bias wrecker", "who is this"))
    tx, ty = rng.randint(0, picture.width // 2), rng.randint(0, picture.height - size * 2)
    draw.text(
        (tx, ty),
        text,
        fill=rng.choice(("white", "black", "yellow")),
        font=_font(size),
        stroke_width=2,
        stroke_fill="black",
    )
    return edited


def collage(
    picture: Image.Image, rng: random.Random, other: Image.Image | None = None
) -> Image.Image:
    """The picture as one half of a side-by-side collage with another picture."""
    if other is None:
        noise = np.random.default_rng(rng.randrange(1 << 30)).normal(128, 50, (6, 6, 3))
        other = Image.fromarray(noise.clip(0, 255).astype(np.uint8)).resize(
            picture.size, Image.Resampling.BICUBIC
        )
    height = picture.height
    other = other.resize((round(other.width * height / other.height), height))
    gap = rng.choice((0, 0, 8, 16))
    canvas = Image.new("RGB", (picture.width + other.width + gap, height), "white")
    first, second = (picture, other) if rng.random() < 0.5 else (other, picture)
    canvas.paste(first, (0, 0))
    canvas.paste(second, (first.width + gap, 0))
    return canvas


def screen_photo(picture: Image.Image, rng: random.Random) -> Image.Image:
    """A phone photo of a screen: slight keystone, a dark bezel around, soft focus, glare."""
    width, height = picture.size
    pad = 0.08 + rng.uniform(0, 0.1)
    out_w, out_h = round(width * (1 + 2 * pad)), round(height * (1 + 2 * pad))
    skew = rng.uniform(0.0, 0.05)
    px, py = width * pad, height * pad
    jitter = [rng.uniform(-skew, skew) for _ in range(8)]
    corners = [
        (px + jitter[0] * width, py + jitter[1] * height),
        (px + width + jitter[2] * width, py + jitter[3] * height),
        (px + width + jitter[4] * width, py + height + jitter[5] * height),
        (px + jitter[6] * width, py + height + jitter[7] * height),
    ]
    coeffs = _perspective_coefficients(corners, [(0, 0), (width, 0), (width, height), (0, height)])
    bezel = Image.new("RGB", (out_w, out_h), tuple(rng.randint(10, 40) for _ in range(3)))
    warped = picture.convert("RGBA").transform(
        (out_w, out_h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    bezel.paste(warped, (0, 0), warped)
    shot = bezel.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 2.0)))
    pixels = np.asarray(shot, dtype=np.float32)
    yy, xx = np.mgrid[0:out_h, 0:out_w]
    gx, gy = rng.uniform(0, out_w), rng.uniform(0, out_h)
    glare = np.exp(-(((xx - gx) / (out_w * 0.3)) ** 2 + ((yy - gy) / (out_h * 0.3)) ** 2))
    pixels = pixels * rng.uniform(0.85, 1.0) + glare[..., None] * rng.uniform(30, 70)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def _perspective_coefficients(source, target) -> tuple[float, ...]:
    """PIL's 8 coefficients mapping output points `source` to input points `target`."""
    rows = []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    matrix = np.array(rows, dtype=np.float64)
    values = np.array([c for point in target for c in point], dtype=np.float64)
    return tuple(np.linalg.solve(matrix, values).tolist())


RESHARES: dict[str, Edit] = {
    "rotation, canvas kept": rotation_kept,
    "rotation, canvas grown": rotation_grown,
    "crop off 1, 2 or 4 sides": crop_sides,
    "chat client, dark": chat_dark,
    "chat client, light": chat_light,
    "phone screenshot of a post": phone_post,
    "9:16 story over a blurred copy": story,
    "sticker and caption": sticker_caption,
    "side-by-side collage": collage,
    "photo of a screen": screen_photo,
}

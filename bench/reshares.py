"""How a picture gets re-shared: edit families, each drawn per picture from parameter ranges.

Every family is a function (picture, rng, partner) -> `Reshare`: the edited image, the
parameters drawn for it, and where the picture's own pixels ended up (for the tests). The
benchmark (`bench/catch_rate.py`) seeds one `random.Random` per picture and family, so a run is
repeatable from its printed seed and no method can be tuned to one fixed parameter. `partner`
gives an unrelated picture when a family needs one (the other half of a collage).

The layouts are drawn, not pasted from real apps: the screenshots are in bench/screenshots.py,
the parts they are drawn with in bench/reshare_parts.py; here are rotations, crops, stickers and
captions, a photo of a screen, a collage and the photometric edits, and `FAMILIES`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps
from reshare_parts import (
    Edit,
    Partner,
    Reshare,
    blurred_cover,
    colour,
    font,
    handle,
    paste,
    scaled,
    words,
)
from screenshots import chat_screenshot, phone_post, story

__all__ = ["FAMILIES", "Family", "Reshare"]


@dataclass(frozen=True)
class Family:
    name: str
    ranges: str  # the parameter ranges, printed with the results
    edit: Edit
    geometric: bool  # one of issue 15's re-share families, rather than a photometric edit


# -- rotations ---------------------------------------------------------------------------------

FILLS = ("black", "white", "grey", "blur")


def _angle(rng: random.Random) -> float:
    return rng.uniform(1.0, 15.0) * rng.choice((-1, 1))


def _rotated(picture: Image.Image, degrees: float, expand: bool, fill: str) -> Image.Image:
    if fill != "blur":
        value = {"black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128)}[fill]
        return picture.rotate(
            degrees, resample=Image.Resampling.BICUBIC, expand=expand, fillcolor=value
        )
    turned = picture.convert("RGBA").rotate(
        degrees, resample=Image.Resampling.BICUBIC, expand=expand
    )
    background = blurred_cover(picture, turned.size, max(turned.size) / 40)
    background.paste(turned, (0, 0), turned)
    return background


def rotate_kept(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    degrees, fill = _angle(rng), rng.choice(FILLS)
    image = _rotated(picture, degrees, False, fill)
    return Reshare(image, {"degrees": degrees, "fill": fill}, quality=rng.randint(75, 95))


def rotate_grown(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    degrees, fill = _angle(rng), rng.choice(FILLS)
    image = _rotated(picture, degrees, True, fill)
    return Reshare(image, {"degrees": degrees, "fill": fill}, quality=rng.randint(75, 95))


# -- crops -------------------------------------------------------------------------------------


def _crop(picture: Image.Image, cuts: dict[str, float]) -> Reshare:
    width, height = picture.size
    box = (
        round(width * cuts.get("left", 0.0)),
        round(height * cuts.get("top", 0.0)),
        width - round(width * cuts.get("right", 0.0)),
        height - round(height * cuts.get("bottom", 0.0)),
    )
    removed = 1 - (box[2] - box[0]) * (box[3] - box[1]) / (width * height)
    return Reshare(picture.crop(box), {**cuts, "removed": round(removed, 3)})


def crop_one_side(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    side = rng.choice(("left", "right", "top", "bottom"))
    return _crop(picture, {side: rng.uniform(0.05, 0.30)})


def crop_corner(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    """Two adjacent sides, together removing 5-30% of the area."""
    removed = rng.uniform(0.05, 0.30)
    share = rng.uniform(0.2, 0.8)  # how the loss splits between the two sides
    kept_x = (1 - removed) ** share
    kept_y = (1 - removed) / kept_x
    sides = rng.choice((("left", "top"), ("left", "bottom"), ("right", "top"), ("right", "bottom")))
    return _crop(picture, {sides[0]: 1 - kept_x, sides[1]: 1 - kept_y})


def crop_all_sides(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    """All four sides, anywhere (off-centre), together removing 5-30% of the area."""
    removed = rng.uniform(0.05, 0.30)
    kept_x = (1 - removed) ** rng.uniform(0.3, 0.7)
    kept_y = (1 - removed) / kept_x
    left, top = rng.uniform(0, 1 - kept_x), rng.uniform(0, 1 - kept_y)
    return _crop(
        picture,
        {"left": left, "right": 1 - kept_x - left, "top": top, "bottom": 1 - kept_y - top},
    )


# -- overlays, screens, collages ----------------------------------------------------------------


def stickers(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    """Round stickers, emoji faces and a caption covering up to 10% of the picture."""
    canvas = picture.copy()
    draw = ImageDraw.Draw(canvas)
    width, height = canvas.size
    area = width * height
    target = rng.uniform(0.02, 0.10)
    covered = Image.new("L", canvas.size, 0)
    cover = ImageDraw.Draw(covered)
    items = rng.randint(1, 4)
    for _ in range(items):
        budget = target * area / items
        kind = rng.choice(("sticker", "emoji", "caption"))
        if kind == "caption":
            size = max(10, min(height / 8, math.sqrt(budget / 8)))
            text = words(rng, 1, 4)
            face = font(size)
            length = draw.textlength(text, font=face)
            if length > width * 0.9:
                face = font(size * width * 0.9 / length)
            x, y = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height
            args = {"font": face, "anchor": "mm", "stroke_width": max(1, round(size / 12))}
            draw.text((x, y), text, fill="white", stroke_fill="black", **args)
            cover.text((x, y), text, fill=255, stroke_fill=255, **args)
            continue
        side = math.sqrt(budget * 4 / math.pi)  # a disc of the budget's area
        x, y = rng.uniform(0, width - side), rng.uniform(0, height - side)
        disc = (x, y, x + side, y + side)
        if kind == "sticker":
            draw.ellipse(disc, fill="white")
            inner = (x + side * 0.08, y + side * 0.08, x + side * 0.92, y + side * 0.92)
            draw.ellipse(inner, fill=colour(rng))
            draw.text(
                (x + side / 2, y + side / 2),
                rng.choice(("LOVE", "OMG", "WOW", "#1")),
                fill="white",
                font=font(side / 4),
                anchor="mm",
            )
        else:  # an emoji face
            draw.ellipse(disc, fill=(255, 204, 51))
            for eye in (0.33, 0.67):
                draw.ellipse(
                    (
                        x + side * (eye - 0.06),
                        y + side * 0.3,
                        x + side * (eye + 0.06),
                        y + side * 0.45,
                    ),
                    fill=(60, 40, 20),
                )
            draw.arc(
                (x + side * 0.25, y + side * 0.35, x + side * 0.75, y + side * 0.8),
                20,
                160,
                fill=(60, 40, 20),
                width=max(2, round(side / 20)),
            )
        cover.ellipse(disc, fill=255)
    share = float(np.asarray(covered, dtype=bool).mean())
    return Reshare(
        canvas,
        {"target": round(target, 3), "covered": round(share, 3)},
        (0, 0, width, height),
        quality=rng.randint(80, 95),
    )


def screen_photo(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    """A phone photo of a screen showing the picture: bezel, slight keystone, soft focus, glare."""
    shown = scaled(picture, rng.randint(700, 1400))
    bezel = round(shown.width * rng.uniform(0.01, 0.04))
    margin = round(shown.width * rng.uniform(0.0, 0.08))
    size = (shown.width + 2 * (bezel + margin), shown.height + 2 * (bezel + margin))
    desk = tuple(rng.randrange(60, 200) for _ in range(3))
    scene = Image.new("RGB", size, desk)
    ImageDraw.Draw(scene).rectangle(
        (margin, margin, size[0] - margin, size[1] - margin), fill=(15, 15, 18)
    )
    box = paste(scene, shown, margin + bezel, margin + bezel)
    # Keystone: each corner of the output samples a point moved inwards/outwards by up to 6%.
    skew = rng.uniform(0.01, 0.06)
    w, h = size
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    moved = [
        (x + rng.uniform(-skew, skew) * w, y + rng.uniform(-skew, skew) * h) for x, y in corners
    ]
    scene = scene.transform(
        size,
        Image.Transform.PERSPECTIVE,
        _perspective(corners, moved),
        Image.Resampling.BICUBIC,
        fillcolor=desk,
    )
    scene = scene.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0) * w / 1000))
    glare = Image.new("L", size, 0)
    gx, gy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
    gw, gh = rng.uniform(0.15, 0.5) * w, rng.uniform(0.1, 0.35) * h
    strength = rng.randint(60, 150)
    ImageDraw.Draw(glare).ellipse(
        (gx - gw / 2, gy - gh / 2, gx + gw / 2, gy + gh / 2), fill=strength
    )
    glare = glare.filter(ImageFilter.GaussianBlur(min(gw, gh) / 3))
    scene = Image.composite(Image.new("RGB", size, (255, 255, 250)), scene, glare)
    grain = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(2, 6), (h, w, 1))
    pixels = (np.asarray(scene, dtype=np.float32) + grain).clip(0, 255).astype(np.uint8)
    # Where the picture's corners went: the inverse map, output points from scene points.
    forward = _perspective(moved, corners)
    shown_corners = [_mapped(forward, x, y) for x, y in _box_corners(box)]
    return Reshare(
        Image.fromarray(pixels),
        {"skew": round(skew, 3), "glare": strength, "margin": margin, "corners": shown_corners},
        box,
        quality=rng.randint(70, 92),
    )


def _box_corners(box: tuple[int, int, int, int]) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _mapped(coefficients: list[float], x: float, y: float) -> tuple[float, float]:
    """The point a PERSPECTIVE transform with `coefficients` takes (x, y) to."""
    a, b, c, d, e, f, g, h = coefficients
    w = g * x + h * y + 1
    return (round((a * x + b * y + c) / w, 1), round((d * x + e * y + f) / w, 1))


def _perspective(
    source: list[tuple[float, float]], target: list[tuple[float, float]]
) -> list[float]:
    """The 8 coefficients mapping output points `source` to input points `target`."""
    rows, values = [], []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    return np.linalg.solve(np.array(rows), np.array(values)).tolist()


def collage(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    """Side by side (or one above the other) with an unrelated picture, each half the frame."""
    other = partner()
    across = rng.random() < 0.7
    half = (rng.randint(500, 900), rng.randint(500, 900))
    if rng.random() < 0.5:  # each picture fitted into its half with bars, or cover-cropped
        mine, theirs = ImageOps.pad(picture, half, color="black"), ImageOps.pad(other, half)
        fitted = "pad"
    else:
        mine, theirs = ImageOps.fit(picture, half), ImageOps.fit(other, half)
        fitted = "fit"
    gap = rng.choice((0, 0, 8, 16))
    size = (half[0] * 2 + gap, half[1]) if across else (half[0], half[1] * 2 + gap)
    canvas = Image.new("RGB", size, "white")
    first = rng.random() < 0.5
    step = (half[0] + gap, 0) if across else (0, half[1] + gap)
    where = (0, 0) if first else step
    box = paste(canvas, mine, *where)
    paste(canvas, theirs, *(step if first else (0, 0)))
    return Reshare(
        canvas,
        {"across": across, "fitted": fitted, "first": first, "half": half},
        box,
        quality=rng.randint(80, 95),
    )


# -- photometric edits (issue 4's, now with drawn parameters) ------------------------------------


def recompress(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    fmt = rng.choice(("JPEG", "JPEG", "WEBP"))
    quality = rng.randint(15, 95) if fmt == "JPEG" else rng.randint(40, 95)
    return Reshare(picture, {"format": fmt, "quality": quality}, fmt=fmt, quality=quality)


def resize(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    factor = math.exp(rng.uniform(math.log(0.25), math.log(2.0)))
    size = (max(8, round(picture.width * factor)), max(8, round(picture.height * factor)))
    return Reshare(picture.resize(size, Image.Resampling.BICUBIC), {"factor": round(factor, 3)})


def colour_edit(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    brightness, contrast = rng.uniform(0.7, 1.35), rng.uniform(0.6, 1.6)
    saturation = 0.0 if rng.random() < 0.25 else rng.uniform(0.5, 1.6)
    image = ImageEnhance.Brightness(picture).enhance(brightness)
    image = ImageEnhance.Contrast(image).enhance(contrast)
    image = ImageEnhance.Color(image).enhance(saturation)
    params = {"brightness": brightness, "contrast": contrast, "saturation": saturation}
    return Reshare(image, {k: round(v, 2) for k, v in params.items()})


def blur_noise(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    radius = rng.uniform(0, max(picture.size) / 300)
    sigma = rng.uniform(0, 16)
    image = picture.filter(ImageFilter.GaussianBlur(radius))
    grain = np.random.default_rng(rng.randrange(2**32)).normal(
        0, sigma, (picture.height, picture.width, 3)
    )
    pixels = (np.asarray(image, dtype=np.float32) + grain).clip(0, 255).astype(np.uint8)
    return Reshare(Image.fromarray(pixels), {"blur": round(radius, 2), "noise": round(sigma, 1)})


def gif_palette(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    return Reshare(picture, {}, fmt="GIF")


def mirror(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    return Reshare(ImageOps.mirror(picture), {}, quality=rng.randint(75, 95))


def letterbox(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    """Bars to a 16:9, 1:1, 4:5 or 9:16 frame, black, white or a flat colour."""
    ratio = rng.choice((16 / 9, 1.0, 4 / 5, 9 / 16))
    width, height = picture.size
    if width / height < ratio:
        size = (round(height * ratio), height)
    else:
        size = (width, round(width / ratio))
    fill = rng.choice(((0, 0, 0), (255, 255, 255), colour(rng)))
    canvas = Image.new("RGB", (max(size[0], width + 2), max(size[1], height + 2)), fill)
    box = paste(canvas, picture, (canvas.width - width) // 2, (canvas.height - height) // 2)
    return Reshare(canvas, {"ratio": round(ratio, 3), "fill": fill}, box)


def meme_bars(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    width, height = picture.size
    top = round(height * rng.uniform(0.1, 0.25))
    bottom = round(height * rng.uniform(0.1, 0.25)) if rng.random() < 0.6 else 0
    canvas = Image.new("RGB", (width, height + top + bottom), "white")
    box = paste(canvas, picture, 0, top)
    draw = ImageDraw.Draw(canvas)
    for bar, y in ((top, top / 2), (bottom, canvas.height - bottom / 2)):
        if bar:
            text = words(rng, 2, 5).upper()
            face = font(bar * 0.5)
            length = draw.textlength(text, font=face)
            if length > width * 0.92:  # meme makers shrink the caption to fit
                face = font(bar * 0.5 * width * 0.92 / length)
            draw.text((width / 2, y), text, fill="black", font=face, anchor="mm")
    return Reshare(canvas, {"top": top, "bottom": bottom}, box)


def watermark(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    canvas = picture.convert("RGBA")
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    opacity = rng.randint(60, 200)
    size = picture.width / rng.uniform(8, 20)
    x, y = rng.uniform(0.2, 0.8) * picture.width, rng.uniform(0.2, 0.9) * picture.height
    draw.text((x, y), handle(rng), fill=(255, 255, 255, opacity), font=font(size), anchor="mm")
    image = Image.alpha_composite(canvas, layer).convert("RGB")
    return Reshare(image, {"opacity": opacity})


PHOTOMETRIC: tuple[Edit, ...] = (recompress, resize, colour_edit, blur_noise, mirror)


def combination(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    """Two or three of the photometric edits above, then a light crop and recompression."""
    chosen = rng.sample(PHOTOMETRIC[1:], rng.randint(2, 3))
    image = picture
    for edit in chosen:
        image = edit(image, rng, partner).image
    cropped = crop_all_sides(image, random.Random(rng.random()), partner)
    keep = rng.random() < 0.5
    image = image if keep else cropped.image
    quality = rng.randint(40, 90)
    names = [edit.__name__ for edit in chosen] + ([] if keep else ["crop"])
    return Reshare(image, {"edits": names, "quality": quality}, quality=quality)


FAMILIES: tuple[Family, ...] = (
    Family(
        "rotate, canvas kept",
        "1-15 deg either way; corners black, white, grey or a blurred copy",
        rotate_kept,
        True,
    ),
    Family(
        "rotate, canvas grown",
        "1-15 deg either way; canvas grown to hold the picture, corners as above",
        rotate_grown,
        True,
    ),
    Family("crop one side", "5-30% off one side", crop_one_side, True),
    Family("crop corner", "5-30% of the area off two adjacent sides", crop_corner, True),
    Family("crop all sides", "5-30% of the area off four sides, anywhere", crop_all_sides, True),
    Family(
        "chat, dark",
        "desktop chat, a region or the whole window; picture 40-90% of the width; 1-6 messages",
        chat_screenshot(dark=True),
        True,
    ),
    Family("chat, light", "as dark, light theme", chat_screenshot(dark=False), True),
    Family(
        "phone post",
        "phone screenshot, status bar, author, caption, buttons; picture 40-90% of the width",
        phone_post,
        True,
    ),
    Family("story 9:16", "over a blurred enlargement; picture 40-90% of the width", story, True),
    Family(
        "stickers, captions",
        "1-4 stickers, emoji or captions over 2-10% of the picture",
        stickers,
        True,
    ),
    Family(
        "photo of a screen",
        "keystone 1-6%, blur 0.5-2 px/1000, glare, grain, bezel",
        screen_photo,
        True,
    ),
    Family("collage", "beside or above an unrelated picture, half the frame each", collage, True),
    Family("recompress", "JPEG q15-95 or WebP q40-95", recompress, False),
    Family("resize", "0.25-2x", resize, False),
    Family(
        "colour",
        "brightness 0.7-1.35, contrast 0.6-1.6, saturation 0.5-1.6 or grey",
        colour_edit,
        False,
    ),
    Family("blur, noise", "blur 0-side/300 px, noise sigma 0-16", blur_noise, False),
    Family("gif palette", "256 colours", gif_palette, False),
    Family("mirror", "left to right", mirror, False),
    Family("letterbox", "to 16:9, 1:1, 4:5 or 9:16; black, white or a colour", letterbox, False),
    Family("meme bars", "top 10-25% (and bottom 10-25%) with caption", meme_bars, False),
    Family("watermark", "a handle, opacity 60-200/255", watermark, False),
    Family(
        "combination",
        "2-3 of resize, colour, blur/noise, mirror, maybe a crop; q40-90",
        combination,
        False,
    ),
)

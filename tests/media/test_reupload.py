"""Re-upload tricks: trimming bars and screenshot chrome, extra hashes for crops and rotations."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from core.hashes import Hash
from media.entries import entry_hashes
from media.hashing import entry_hashes_for_image, hash_frame, hash_media
from media.reupload import EDGE_CROPS, content_block, crop_share, rotate_inscribed
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
    assert content_block(samples.photo(number)) is None
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
    block = content_block(canvas)
    assert block is not None
    assert abs(block.height - picture.height) <= 4


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
    assert len(entry.edge_phash) == len(EDGE_CROPS)
    assert all(value.algorithm == "phash" for value in entry.edge_phash)
    assert set(entry.edge_phash) <= set(entry_hashes([entry]).variants)


def test_flat_edge_crops_are_not_stored() -> None:
    picture = samples.photo(5)
    flat_left = Image.new("RGB", (picture.width * 5, picture.height), (90, 120, 160))
    flat_left.paste(picture, (picture.width * 4, 0))  # crops along the left edge are flat
    entry = entry_hashes_for_image(samples.encode(flat_left, "PNG"))
    assert entry.frames[0].matchable
    assert len(entry.edge_phash) == len(EDGE_CROPS) // 2

"""What a takedown entry keeps of a picture: one rule for adding, reports and Take down."""

from __future__ import annotations

from media.entries import entry_hashes
from media.hashing import entry_hashes_for_image, hash_media
from tests.media.samples import encode, photo


def test_an_entry_keeps_each_pictures_hashes_and_leaves_out_flat_frames() -> None:
    picture = hash_media(encode(photo(3), "PNG"))
    flat = hash_media(encode(photo(3).point(lambda _: 128), "PNG"))
    kept = entry_hashes([picture, flat])
    assert kept.own == (picture.frames[0].pdq, picture.frames[0].phash)
    assert kept.usable
    assert all(h not in kept.own for h in kept.variants)


def test_a_flat_picture_alone_makes_no_usable_entry() -> None:
    flat = hash_media(encode(photo(3).point(lambda _: 128), "PNG"))
    assert not entry_hashes([flat]).usable


def test_crops_rotations_and_edges_are_variants_never_repeating_the_pictures_own() -> None:
    entry = entry_hashes_for_image(encode(photo(5), "PNG"))
    kept = entry_hashes([entry, entry])  # the same file twice keeps each hash once
    assert len(kept.variants) == len(set(kept.variants))
    assert set(entry.edge_phash) <= set(kept.variants)
    assert {extra.pdq for extra in entry.extra if extra.matchable} <= set(kept.variants)
    assert not set(kept.own) & set(kept.variants)

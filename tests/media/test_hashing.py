"""PDQ and pHash values: equal to the reference implementation, stable under what matters."""

from __future__ import annotations

import csv

import imagehash
import numpy as np
import pytest
from PIL import Image

from core.hashes import Hash, parse_hash
from media.hashing import (
    MIN_PDQ_QUALITY,
    Outcome,
    hash_frame,
    hash_media,
    pdq_hash,
    phash64,
    phash_and_mirror,
)
from tests.media import samples

with open(samples.REFERENCE_DIR / "expected.csv", newline="") as handle:
    REFERENCE = [(row["file"], row["pdq"], int(row["tolerance"])) for row in csv.DictReader(handle)]


@pytest.mark.parametrize(("name", "expected", "tolerance"), REFERENCE)
def test_pdq_equals_the_reference_implementation(name: str, expected: str, tolerance: int) -> None:
    with Image.open(samples.REFERENCE_DIR / name) as image:
        pdq, quality = pdq_hash(np.asarray(image.convert("RGB")))
    assert pdq.distance(Hash("pdq", expected)) <= tolerance
    assert quality >= MIN_PDQ_QUALITY


@pytest.mark.parametrize(("name", "expected", "tolerance"), REFERENCE[:3])
def test_hash_media_of_a_jpeg_file_equals_the_reference(
    name: str, expected: str, tolerance: int
) -> None:
    result = hash_media((samples.REFERENCE_DIR / name).read_bytes())
    assert result.outcome is Outcome.HASHED
    assert (result.kind, result.format) == ("image", "jpeg")
    assert result.frames[0].pdq.distance(Hash("pdq", expected)) <= tolerance


def _phash_cases() -> list[Image.Image]:
    """Real photos, their halves, noise and smooth gradients (whose DCT has near-equal
    coefficients, where a rounding difference would first flip a bit), in grey and RGB."""
    rng = np.random.default_rng(20261207)
    photos = [Image.open(samples.REFERENCE_DIR / name).convert("RGB") for name, _, _ in REFERENCE]
    halves = [photo.crop((0, 0, photo.width // 2, photo.height)) for photo in photos]
    noise = [samples.noise((97 + 13 * n, 61 + 7 * n), n) for n in range(20)]
    y, x = np.mgrid[0:64, 0:96].astype(np.float64)
    ramps = [
        Image.fromarray(np.clip(128 + a * x + b * y, 0, 255).astype(np.uint8), "L")
        for a, b in rng.uniform(-2, 2, (20, 2))
    ]
    return [*photos, *halves, *noise, *ramps]


def test_phash_equals_imagehash_bit_for_bit_and_so_does_the_mirror() -> None:
    """pHash lists come from imagehash.phash; ours computes only the DCT's low band, and the
    mirror image's from the same band."""
    for picture in _phash_cases():
        mirror = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        expected = (str(imagehash.phash(picture)), str(imagehash.phash(mirror)))
        phash, mirrored = phash_and_mirror(picture)
        assert (phash.hex, mirrored.hex) == expected
        assert phash64(picture) == phash


def test_phash_is_sixteen_hex_digits_and_survives_recompression() -> None:
    original = hash_media(samples.encode(samples.photo(5), "PNG")).frames[0].phash
    again = hash_media(samples.encode(samples.photo(5), "JPEG", quality=50)).frames[0].phash
    assert len(original.hex) == 16
    assert original.distance(again) <= 6


def test_a_frame_carries_the_phash_of_its_mirror_image_and_a_view_none() -> None:
    picture = samples.photo(3)
    frame = hash_frame(picture)
    mirrored = hash_frame(picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    assert frame.phash_mirror == mirrored.phash
    assert frame.phash == mirrored.phash_mirror
    assert frame.phash.distance(mirrored.phash) > 10
    assert hash_frame(picture, variants=False).phash_mirror is None


def test_mirrored_upload_matches_one_of_the_dihedral_variants() -> None:
    frame = hash_frame(samples.photo(3))
    mirrored = hash_frame(
        samples.photo(3).transpose(Image.Transpose.FLIP_LEFT_RIGHT), variants=False
    )
    assert len(frame.pdq_variants) == 7
    assert frame.pdq.distance(mirrored.pdq) > 64
    assert min(v.distance(mirrored.pdq) for v in frame.pdq_all()) <= 31


def test_near_uniform_picture_is_not_matchable() -> None:
    frame = hash_frame(Image.new("RGB", (200, 200), (30, 30, 30)))
    assert not frame.matchable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pdq:" + "a" * 64, Hash("pdq", "a" * 64)),
        ("PDQ " + "B" * 64, Hash("pdq", "b" * 64)),
        ("phash:0123456789abcdef", Hash("phash", "0123456789abcdef")),
        ("f" * 64, Hash("pdq", "f" * 64)),
    ],
)
def test_parse_hash_accepts_the_import_forms(text: str, expected: Hash) -> None:
    assert parse_hash(text) == expected


@pytest.mark.parametrize(
    "text", ["", "md5:abcd", "pdq:xyz", "phash:" + "a" * 64, "pdq_region:" + "a" * 64]
)
def test_parse_hash_refuses_bad_hashes_with_a_reason(text: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        parse_hash(text)


@pytest.mark.parametrize("mode", ["RGB", "P", "L", "RGBA"])
def test_a_still_picture_gets_its_quarters_whatever_its_mode(mode: str) -> None:
    # Whatever mode the file holds its pixels in, its quarters are read alike.
    picture = samples.photo(3).resize((640, 480))
    data = samples.encode(picture.convert(mode), "GIF" if mode == "P" else "PNG")
    regions = hash_media(data).regions
    assert len(regions) == 4
    assert {value.algorithm for value in regions} == {"pdq_region"}
    reference = hash_media(samples.encode(picture, "PNG")).regions
    assert all(a.distance(b) <= 40 for a, b in zip(regions, reference, strict=True))

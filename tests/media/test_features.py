"""Local features (media/features.py) and the worker's confirmation job: re-shares of a listed
photo are confirmed, unrelated photos are not, a signature is small and read strictly, and an
upload the worker can't read is never confirmed."""

from __future__ import annotations

import functools
import io
import random

import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageOps

from media.features import (
    CONFIRM_INLIERS,
    MAX_SIGNATURE_BYTES,
    BadSignature,
    Keypoints,
    Signature,
    confirm_counts,
    decode_signature,
    inliers,
    upload_keypoints,
)
from media.hashing import entry_hashes_for_image, hash_media
from media.outcomes import MediaFailure
from media.reupload import cut
from media.workers import HashingPool, PoolSettings
from tests.media import reshares, samples

pytestmark = pytest.mark.timeout(180)
KNOWN = 1  # the listed photo (pdqhash's examples)
OTHERS = (2, 3, 4, 5, 6, 7, 8, 9, 10)
RESHARES = {
    "rotation": reshares.rotation_kept,
    "story": reshares.story,
    "chat screenshot": reshares.chat_dark,
    "phone screenshot": reshares.phone_post,
    "photo of a screen": reshares.screen_photo,
}


@functools.cache
def entry(number: int = KNOWN) -> bytes:
    """The signature `/takedown add` keeps for the photo (the entry job's own code)."""
    found = entry_hashes_for_image(samples.encode(samples.photo(number), "PNG")).signature
    assert found is not None
    return found


def reshared(edit, number: int, seed: int) -> bytes:  # type: ignore[no-untyped-def]
    picture = edit(samples.photo(number), random.Random(f"features/{seed}"))
    return samples.encode(picture, "JPEG", quality=80)


def test_a_signature_is_at_most_4_kib_and_reads_back_the_same() -> None:
    data = entry()
    assert len(data) <= MAX_SIGNATURE_BYTES
    signature = decode_signature(data)
    assert 50 <= len(signature) <= 100
    assert signature.encode() == data
    assert (signature.points[:, 0] < signature.width).all()
    assert (signature.points[:, 1] < signature.height).all()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01",
        b"\x02\x00\x01\x00\x01\x00" + b"x" * 36,
        b"\x01\x00\x01\x00\x01\x00" + b"x" * 35,
    ],
)
def test_bytes_that_are_not_a_signature_are_refused(data: bytes) -> None:
    with pytest.raises(BadSignature):
        decode_signature(data)
    with pytest.raises(BadSignature):
        decode_signature(entry() + entry())  # too long


@pytest.mark.parametrize("name", list(RESHARES))
def test_a_reshare_of_the_listed_photo_is_confirmed(name: str) -> None:
    signature = decode_signature(entry())
    for seed in range(2):
        upload = upload_keypoints(reshared(RESHARES[name], KNOWN, seed))
        assert inliers(upload, signature) >= CONFIRM_INLIERS, (name, seed)


def test_a_mirrored_reshare_is_confirmed_through_its_second_look() -> None:
    story = reshared(reshares.story, KNOWN, 2)
    mirrored = samples.encode(ImageOps.mirror(Image.open(io.BytesIO(story))), "JPEG")
    signature = decode_signature(entry())
    assert inliers(upload_keypoints(mirrored), signature) < CONFIRM_INLIERS // 2
    (count,) = confirm_counts(mirrored, [signature])
    assert count >= CONFIRM_INLIERS


def soft_screen_photo(seed: int) -> bytes:
    """A phone photo of a screen at a phone's resolution, out of focus and grainy."""
    shot = reshares.screen_photo(samples.photo(KNOWN), random.Random(f"features/{seed}"))
    shot = shot.resize((shot.width * 4, shot.height * 4), Image.Resampling.BICUBIC)
    shot = shot.filter(ImageFilter.GaussianBlur(3))
    grain = np.random.default_rng(seed).normal(0, 6, (shot.height, shot.width, 1))
    pixels = (np.asarray(shot, np.float32) + grain).clip(0, 255).astype(np.uint8)
    return samples.encode(Image.fromarray(pixels), "JPEG", quality=85)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_soft_grainy_screen_photo_is_confirmed_through_its_look_at_half_the_size(
    seed: int,
) -> None:
    signature = decode_signature(entry())
    upload = soft_screen_photo(seed)
    assert inliers(upload_keypoints(upload), signature) < CONFIRM_INLIERS
    (count,) = confirm_counts(upload, [signature])
    assert count >= CONFIRM_INLIERS


@pytest.mark.parametrize("cuts", [(0.2, 0, 0, 0), (0, 0, 0.25, 0), (0.1, 0.1, 0, 0)])
def test_a_crop_of_a_large_copy_is_confirmed_through_its_look_at_half_the_size(
    cuts: tuple[float, float, float, float],
) -> None:
    """The listed photo at 1,600 pixels, cut: 5 times the signature's scale at full size,
    beyond what ORB's pyramid spans."""
    photo = samples.photo(KNOWN)
    large = photo.resize((1600, round(1600 * photo.height / photo.width)), Image.Resampling.BICUBIC)
    upload = samples.encode(cut(large, *cuts), "JPEG", quality=90)
    signature = decode_signature(entry())
    assert inliers(upload_keypoints(upload), signature) < CONFIRM_INLIERS
    (count,) = confirm_counts(upload, [signature])
    assert count >= CONFIRM_INLIERS


def small_copy(number: int, side: int, mirrored: bool = False) -> bytes:
    """The photo cut a little on every side, shrunk to `side` pixels, recompressed hard: a
    thumbnail-sized re-share, a third of the signature's scale."""
    picture = cut(samples.photo(number), 0.06, 0.08, 0.1, 0.04)
    picture = ImageOps.mirror(picture) if mirrored else picture
    picture.thumbnail((side, side), Image.Resampling.BICUBIC)
    return samples.encode(picture, "JPEG", quality=60)


@pytest.mark.parametrize("mirrored", [False, True])
def test_a_small_copy_is_confirmed_through_its_look_enlarged(mirrored: bool) -> None:
    """ORB's pyramid only shrinks: at a third of the signature's scale the upload has no level
    as fine as the one most of the signature's keypoints come from, until it is enlarged."""
    signature = decode_signature(entry())
    upload = small_copy(KNOWN, 170, mirrored)
    as_decoded = upload_keypoints(upload)
    assert inliers(as_decoded, signature) < CONFIRM_INLIERS
    assert inliers(Keypoints.of(ImageOps.mirror(Image.open(io.BytesIO(upload)))), signature) < (
        CONFIRM_INLIERS
    )
    (count,) = confirm_counts(upload, [signature])
    assert count >= CONFIRM_INLIERS


def test_small_copies_of_unrelated_photos_are_not_confirmed_enlarged() -> None:
    signature = decode_signature(entry())
    counts = [
        count
        for number in OTHERS
        for side in (120, 170, 300)
        for count in confirm_counts(small_copy(number, side), [signature])
    ]
    assert max(counts) < CONFIRM_INLIERS // 2, counts


def test_unrelated_photos_are_not_confirmed_however_near_their_hashes() -> None:
    """Every other photo, as it is and re-shared, against the listed photo's signature; the one
    nearest by PDQ included. Chance agreement stays far below the threshold."""
    signature = decode_signature(entry())
    listed = hash_media(samples.encode(samples.photo(KNOWN), "PNG")).frames[0].pdq
    counts, distances = [], []
    for number in OTHERS:
        uploads = [samples.encode(samples.photo(number), "JPEG")]
        uploads += [reshared(edit, number, 0) for edit in RESHARES.values()]
        for data in uploads:
            counts += confirm_counts(data, [signature])
            hashes = hash_media(data)
            frames = (*hashes.frames, *hashes.extra)
            distances.append(min(listed.distance(f.pdq) for f in frames))
    nearest = distances.index(min(distances))
    assert max(counts) < CONFIRM_INLIERS // 2, counts
    assert counts[nearest] < CONFIRM_INLIERS // 2


def test_the_same_photo_is_not_confirmed_against_another_photos_signature() -> None:
    upload = upload_keypoints(reshared(reshares.story, KNOWN, 0))
    assert all(inliers(upload, decode_signature(entry(n))) < CONFIRM_INLIERS for n in (2, 4, 7))


def test_an_undecodable_or_hostile_upload_raises_an_outcome_not_a_crash() -> None:
    for data in (
        b"not a picture",
        samples.png_declaring(30000, 30000),
        samples.jpeg_with_scans(3000),
    ):
        with pytest.raises(MediaFailure):
            upload_keypoints(data)


def test_a_flat_picture_has_no_signature() -> None:
    flat = samples.encode(
        samples.photo(KNOWN).resize((64, 48)).convert("L").point(lambda _: 90), "PNG"
    )
    assert entry_hashes_for_image(flat).signature is None


async def test_the_worker_confirms_a_story_and_never_an_unreadable_upload() -> None:
    story = reshared(reshares.story, KNOWN, 1)
    unrelated = samples.encode(samples.photo(7), "JPEG")
    # Not a test of the deadline: on a machine loaded tenfold, the niced worker's 0.13 s of
    # CPU for this job (every look at entry 4's signature) took 4-6 s of wall time.
    async with HashingPool(PoolSettings(workers=1, job_seconds=30)) as pool:
        counts = await pool.confirm(story, [entry(), entry(4)])
        other = await pool.confirm(unrelated, [entry()])
        broken = await pool.confirm(b"not a picture", [entry()])
        bomb = await pool.confirm(samples.png_declaring(30000, 30000), [entry()])
        garbage = await pool.confirm(story, [b"not a signature"])
        animation = await pool.confirm(samples.gif_with_frames(5, side=64), [entry()])
        after = await pool.confirm(story, [entry()])  # the worker is still there
    assert counts is not None and counts[0] >= CONFIRM_INLIERS > counts[1]
    assert other is not None and other[0] < CONFIRM_INLIERS
    assert broken is None and bomb is None and garbage is None and animation is None
    assert after is not None and after[0] == counts[0]


def test_signature_dataclass_round_trip_keeps_positions_to_a_64th_of_a_pixel() -> None:
    signature = decode_signature(entry())
    again = decode_signature(
        Signature(
            signature.width, signature.height, signature.points + 0.001, signature.descriptors
        ).encode()
    )
    assert abs(again.points - signature.points).max() <= 1 / 64

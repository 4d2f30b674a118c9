"""Match tiers: what the scanner gets back for an upload against the takedown index."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from itertools import combinations

import pytest
from PIL import Image

from core.hashes import Hash
from core.vocabulary import FoundThrough
from media.entries import entry_hashes
from media.hashing import FrameHashes, MediaHashes, Outcome, entry_hashes_for_image, hash_media
from media.index import HammingIndex
from media.matching import Match, MatchPolicy, Radii, TakedownIndex, Tier, match_media
from media.reupload import cut
from tests.media import samples


def indexed(*photos: int) -> TakedownIndex:
    index = TakedownIndex()
    for number in photos:
        frame = hash_media(samples.encode(samples.photo(number), "PNG")).frames[0]
        index.add(number, [frame.pdq, frame.phash])
    return index


def test_recompressed_reupload_is_a_takedown_match() -> None:
    upload = hash_media(samples.encode(samples.photo(4), "JPEG", quality=40))
    matches = match_media(upload, indexed(4, 5, 6), MatchPolicy())
    assert [(m.entry_id, m.tier) for m in matches] == [(4, Tier.TAKEDOWN)]


def test_mirrored_reupload_matches_only_when_mirrors_are_on() -> None:
    mirrored = samples.photo(6).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    upload = hash_media(samples.encode(mirrored, "PNG"))
    index = indexed(6)
    assert [m.entry_id for m in match_media(upload, index, MatchPolicy())] == [6]
    assert match_media(upload, index, MatchPolicy(mirrors=False)) == []


def test_distance_between_the_radii_is_a_review_match() -> None:
    policy = MatchPolicy(pdq=Radii(confident=31, review=45))
    assert policy.pdq.tier(31) is Tier.TAKEDOWN
    assert policy.pdq.tier(32) is Tier.REVIEW
    assert policy.pdq.tier(46) is None


def test_review_radius_below_confident_is_refused() -> None:
    with pytest.raises(ValueError, match="review radius"):
        Radii(confident=31, review=20)


def test_unrelated_photo_does_not_match() -> None:
    upload = hash_media(samples.encode(samples.photo(1), "PNG"))
    assert match_media(upload, indexed(2, 3, 4, 5), MatchPolicy()) == []


def test_removed_entry_no_longer_matches() -> None:
    index = indexed(4)
    index.remove(4)
    upload = hash_media(samples.encode(samples.photo(4), "PNG"))
    assert match_media(upload, index, MatchPolicy()) == []
    assert len(index) == 0


def test_build_splits_hashes_by_algorithm() -> None:
    index = TakedownIndex()
    index.build(
        [(1, Hash("pdq", "0" * 64)), (1, Hash("phash", "0" * 16)), (2, Hash("pdq", "f" * 64))]
    )
    assert len(index.indexes["pdq"]) == 2
    assert len(index.indexes["phash"]) == 1


def flipped(value: Hash, bits: int) -> Hash:
    """`value` with its lowest `bits` bits inverted: exactly `bits` away."""
    number = int(value.hex, 16) ^ ((1 << bits) - 1)
    return Hash(value.algorithm, f"{number:0{len(value.hex)}x}")


def test_a_turned_copy_matches_within_the_confident_radius() -> None:
    turned = samples.photo(6).transpose(Image.Transpose.ROTATE_90)
    upload = hash_media(samples.encode(turned, "PNG"))
    matches = match_media(upload, indexed(6), MatchPolicy())
    assert [(m.entry_id, m.tier) for m in matches] == [(6, Tier.TAKEDOWN)]


def test_the_review_radius_looks_at_the_picture_and_its_mirror_not_the_turned_copies() -> None:
    frame = hash_media(samples.encode(samples.photo(6), "PNG")).frames[0]
    variants = frame.pdq_variants
    index = TakedownIndex()
    index.add(1, [flipped(frame.pdq, 40)])  # as uploaded, 40 bits off: review
    index.add(2, [flipped(variants[4], 45)])  # mirrored, 45 bits off: review
    index.add(3, [flipped(variants[0], 40)])  # turned a quarter, 40 bits off: not looked up
    index.add(4, [flipped(variants[1], 20)])  # turned upside down, 20 bits off: takedown
    upload = hash_media(samples.encode(samples.photo(6), "PNG"))
    found = {(m.entry_id, m.tier, m.distance) for m in match_media(upload, index, MatchPolicy())}
    assert found == {(1, Tier.REVIEW, 40), (2, Tier.REVIEW, 45), (4, Tier.TAKEDOWN, 20)}


def test_a_far_phash_match_removes_only_when_pdq_of_the_picture_agrees() -> None:
    frame = hash_media(samples.encode(samples.photo(6), "PNG")).frames[0]
    alone = MatchPolicy().phash_alone
    index = TakedownIndex()
    index.add(1, [flipped(frame.phash, 8)])  # pHash 8 off, no PDQ near: alerts only
    index.add(2, [flipped(frame.phash, 8), flipped(frame.pdq, 50)])  # PDQ within review: removes
    index.add(3, [flipped(frame.phash, alone)])  # this near, pHash removes on its own
    index.add(4, [flipped(frame.phash, 8), flipped(frame.pdq, 70)])  # PDQ beyond review: alerts
    index.add(5, [flipped(frame.phash, 10)])  # beyond the confident radius, alone: nothing
    index.add(6, [flipped(frame.phash, 10), flipped(frame.pdq, 56)])  # PDQ agrees: alerts
    upload = hash_media(samples.encode(samples.photo(6), "PNG"))
    found = {(m.entry_id, m.algorithm, m.tier) for m in match_media(upload, index, MatchPolicy())}
    assert found == {
        (1, "phash", Tier.REVIEW),
        (2, "phash", Tier.TAKEDOWN),
        (3, "phash", Tier.TAKEDOWN),
        (4, "phash", Tier.REVIEW),
        (6, "phash", Tier.REVIEW),
    }


def test_a_variants_phash_alone_alerts_where_the_entrys_own_would_remove() -> None:
    """An entry keeps the pHash of dozens of crops, each a chance for an unrelated picture to
    lie near: through one of them pHash removes only when PDQ agrees."""
    frame = hash_media(samples.encode(samples.photo(6), "PNG")).frames[0]
    alone = MatchPolicy().phash_alone
    index = TakedownIndex()
    index.add(1, [], [flipped(frame.phash, alone)])  # a crop's pHash this near, alone: alerts
    index.add(2, [flipped(frame.phash, alone)])  # the entry's own pHash this near: removes
    index.add(3, [flipped(frame.pdq, 50)], [flipped(frame.phash, 8)])  # PDQ agrees: removes
    index.add(4, [flipped(frame.pdq, 70)], [frame.phash])  # PDQ beyond review: alerts
    index.add(5, [], [flipped(frame.phash, 10)])  # beyond the confident radius, alone: nothing
    upload = hash_media(samples.encode(samples.photo(6), "PNG"))
    found = {(m.entry_id, m.tier, m.variant) for m in match_media(upload, index, MatchPolicy())}
    assert found == {
        (1, Tier.REVIEW, True),
        (2, Tier.TAKEDOWN, False),
        (3, Tier.TAKEDOWN, True),
        (4, Tier.REVIEW, True),
    }


def entry_index(number: int) -> TakedownIndex:
    """Photo `number` listed as `/takedown add` lists it: its own hashes and its variants."""
    entry = entry_hashes([entry_hashes_for_image(samples.encode(samples.photo(number), "JPEG"))])
    index = TakedownIndex()
    index.add(number, entry.own, entry.variants)
    return index


def test_a_stickered_copy_is_found_through_its_uncovered_quarters_and_only_alerts() -> None:
    index = entry_index(4)
    upload = hash_media(samples.encode(samples.stickered(4), "JPEG"))
    whole_only = replace(upload, regions=())
    assert match_media(whole_only, index, MatchPolicy()) == []  # the stickers hide it
    assert [
        (m.entry_id, m.algorithm, m.tier, m.region)
        for m in match_media(upload, index, MatchPolicy())
    ] == [(4, "pdq", Tier.REVIEW, True)]
    plain = hash_media(samples.encode(samples.photo(4), "JPEG", quality=80))
    (whole,) = match_media(plain, index, MatchPolicy())
    assert whole.tier is Tier.TAKEDOWN and not whole.region


def test_a_quarter_alone_never_removes_however_near() -> None:
    index = TakedownIndex()
    index.add(4, hash_media(samples.encode(samples.photo(4), "PNG")).regions)
    upload = hash_media(samples.encode(samples.photo(4), "PNG"))
    matches = match_media(upload, index, MatchPolicy())
    assert [(m.entry_id, m.distance, m.tier) for m in matches] == [(4, 0, Tier.REVIEW)]


def test_quarters_of_unrelated_photos_are_beyond_the_radius() -> None:
    quarters = {
        n: hash_media(samples.encode(samples.photo(n), "PNG")).regions for n in range(1, 11)
    }
    radius = MatchPolicy().pdq.confident
    assert all(len(found) >= 3 for found in quarters.values())
    for one, other in combinations(quarters, 2):
        nearest = min(a.distance(b) for a in quarters[one] for b in quarters[other])
        assert nearest > radius, (one, other, nearest)


@pytest.mark.parametrize("cuts", [(0.2, 0, 0, 0), (0.1, 0.2, 0, 0), (0, 0, 0.26, 0.1)])
def test_a_mirrored_and_cropped_copy_alerts_through_the_mirror_images_phash(
    cuts: tuple[float, float, float, float],
) -> None:
    # Only the entry's crops are near such a copy, and they keep pHash alone: the mirror's
    # PDQ (looked up since the first session) is far from all of them.
    picture = samples.photo(4)
    stored = entry_hashes([entry_hashes_for_image(samples.encode(picture, "PNG"))])
    index = TakedownIndex()
    index.add(4, stored.own, stored.variants)
    copy = cut(picture, *cuts).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    upload = hash_media(samples.encode(copy, "JPEG", quality=80))
    found = [(m.entry_id, m.algorithm, m.tier) for m in match_media(upload, index, MatchPolicy())]
    assert found == [(4, "phash", Tier.REVIEW)]
    assert match_media(upload, index, MatchPolicy(mirrors=False)) == []


def test_the_mirror_images_phash_removes_only_when_pdq_agrees() -> None:
    """The mirror's pHash doubles pHash's chances of a chance match: alone it alerts, even
    through an entry's own pHash; with PDQ of the same picture it counts as the picture's own."""
    frame = hash_media(samples.encode(samples.photo(6), "PNG")).frames[0]
    assert frame.phash_mirror is not None
    mirror, mirror_pdq = frame.phash_mirror, frame.pdq_variants[4]
    index = TakedownIndex()
    index.add(1, [flipped(mirror, 2)])  # the entry's own pHash this near, alone: alerts
    index.add(2, [flipped(mirror_pdq, 50)], [flipped(mirror, 8)])  # a crop's, PDQ agrees
    index.add(3, [flipped(mirror_pdq, 70)], [flipped(mirror, 4)])  # PDQ beyond review: alerts
    index.add(4, [flipped(mirror_pdq, 56), flipped(mirror, 10)])  # beyond confident: alerts
    index.add(5, [flipped(mirror, 10)])  # beyond the confident radius, alone: nothing
    upload = hash_media(samples.encode(samples.photo(6), "PNG"))
    found = {(m.entry_id, m.tier) for m in match_media(upload, index, MatchPolicy())}
    assert found == {(1, Tier.REVIEW), (2, Tier.TAKEDOWN), (3, Tier.REVIEW), (4, Tier.REVIEW)}


def random_frame(rng: random.Random) -> FrameHashes:
    def pdq() -> Hash:
        return Hash("pdq", f"{rng.getrandbits(256):064x}")

    return FrameHashes(
        pdq=pdq(),
        quality=100,
        phash=Hash("phash", f"{rng.getrandbits(64):016x}"),
        pdq_variants=tuple(pdq() for _ in range(7)),
        phash_mirror=Hash("phash", f"{rng.getrandbits(64):016x}"),
    )


def near(value: Hash, bits: int, rng: random.Random) -> Hash:
    number = int(value.hex, 16)
    for bit in rng.sample(range(len(value.hex) * 4), bits):
        number ^= 1 << bit
    return Hash(value.algorithm, f"{number:0{len(value.hex)}x}")


def brute_force_matches(
    media: MediaHashes,
    entries: list[tuple[int, Hash]],
    policy: MatchPolicy,
    variants: Sequence[tuple[int, Hash]] = (),
) -> dict[int, tuple[str, int, Tier]]:
    """What every lookup of every frame finds, entry by entry, the best kept. A pHash match
    beyond `phash_alone` (a variant's pHash, or the mirror image's: at any distance) counts
    fully only when PDQ of the same frame found the same entry; without, it alerts within the
    confident radius and is dropped beyond it."""
    frames = [*enumerate(media.frames), *((-1, extra) for extra in media.extra)]

    def lookups(frame: FrameHashes, algorithm: str) -> list[tuple[Hash, Radii]]:
        if algorithm == "phash":
            mirror = [(frame.phash_mirror, policy.phash)] if frame.phash_mirror else []
            return [(frame.phash, policy.phash), *mirror]
        wide = frame.pdq_and_mirror()
        turned = [v for v in frame.pdq_variants if v not in wide]
        asked = [(v, policy.pdq) for v in wide]
        return asked + [(v, Radii(policy.pdq.confident, policy.pdq.confident)) for v in turned]

    rows = [(entry_id, value, False) for entry_id, value in entries]
    rows += [(entry_id, value, True) for entry_id, value in variants]
    pdq_found = {
        (entry_id, number)
        for entry_id, value, _ in rows
        if value.algorithm == "pdq"
        for number, frame in frames
        for query, radii in lookups(frame, "pdq")
        if radii.tier(query.distance(value)) is not None
    }
    best: dict[int, tuple[str, int, Tier]] = {}
    for entry_id, value, variant in rows:
        for number, frame in frames:
            for query, radii in lookups(frame, value.algorithm):
                mirror = value.algorithm == "phash" and query == frame.phash_mirror
                alone = -1 if variant or mirror else policy.phash_alone
                distance = query.distance(value)
                tier = radii.tier(distance)
                if tier is None:
                    continue
                if (
                    value.algorithm == "phash"
                    and distance > alone
                    and (entry_id, number) not in pdq_found
                ):
                    if tier is Tier.REVIEW:
                        continue
                    tier = Tier.REVIEW
                rank = (tier is not Tier.TAKEDOWN, distance / value.bits)
                current = best.get(entry_id)
                if current is None or rank < (
                    current[2] is not Tier.TAKEDOWN,
                    current[1] / (256 if current[0] == "pdq" else 64),
                ):
                    best[entry_id] = (value.algorithm, distance, tier)
    return best


@pytest.mark.parametrize("probe", [False, True])
@pytest.mark.parametrize("frame_count", [1, 3])
@pytest.mark.parametrize("seed", range(3))
def test_every_lookup_of_an_upload_at_once_equals_a_brute_force_over_every_frame(
    seed: int, frame_count: int, probe: bool
) -> None:
    """Several lookups go through one pass over the rows; a single one (a still image's
    pHash) is probed when `probe` gives the tables any size."""
    rng = random.Random(seed)
    media = MediaHashes(
        Outcome.HASHED,
        tuple(random_frame(rng) for _ in range(frame_count)),
        kind="video",
        extra=(random_frame(rng),) if frame_count > 1 else (),
    )
    frames = [*media.frames, *media.extra]
    entries = [(i, Hash("pdq", f"{rng.getrandbits(256):064x}")) for i in range(1500)]
    entries += [(2000 + i, Hash("phash", f"{rng.getrandbits(64):016x}")) for i in range(500)]
    variants = []  # an entry's crops' pHashes: these never remove alone
    for i in range(60):  # near a picture, its mirror or a turn of any frame, at any distance
        frame = rng.choice(frames)
        if i % 4 == 0:
            rows = variants if i % 8 == 0 else entries
            phash = frame.phash if i % 3 else frame.phash_mirror
            assert phash is not None
            rows.append((3000 + i % 40, near(phash, rng.randint(0, 14), rng)))
        else:
            entries.append(
                (3000 + i % 40, near(rng.choice(frame.pdq_all()), rng.randint(0, 70), rng))
            )
    index = TakedownIndex()
    if probe:  # the bucket tables at any size (a few lookups at a time are probed)
        index.indexes = {
            "pdq": HammingIndex(256, small_scan=0),
            "phash": HammingIndex(64, small_scan=0),
            "phash_variant": HammingIndex(64, small_scan=0),
            "pdq_region": HammingIndex(256, small_scan=0),
        }
    index.build(entries)
    for entry_id, value in variants:
        index.add(entry_id, (), [value])
    policy = MatchPolicy()
    found = {
        m.entry_id: (m.algorithm, m.distance, m.tier) for m in match_media(media, index, policy)
    }
    assert found == brute_force_matches(media, entries, policy, variants)


def test_what_found_a_match_is_named_for_the_alert() -> None:
    def match(frame: int = 0, **kind: bool) -> Match:
        return Match(1, "pdq", 20, Tier.REVIEW, frame, **kind)

    assert match(region=True).found_through is FoundThrough.QUARTER
    assert match(variant=True).found_through is FoundThrough.CROP
    assert match(frame=-1).found_through is FoundThrough.INSIDE  # a view or the trimmed picture
    assert match().found_through is None and match(frame=3).found_through is None

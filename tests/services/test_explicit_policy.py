"""Explicit-image review's rules: where it scores, what flags, what counts as cleared."""

from __future__ import annotations

from PIL import Image, ImageOps

from db.guild_settings import GuildSettings
from media.hashing import MediaHashes, hash_media
from media.outcomes import Outcome
from services.explicit_policy import Where, flags, frame_pdq, is_cleared, reviews
from tests.media.samples import encode, photo, skin_tone_shapes, video

ON = GuildSettings(
    guild_id=1,
    explicit_review=True,
    explicit_skipped_channel_ids=frozenset({20}),
    explicit_skipped_role_ids=frozenset({30}),
)


def where(channel: int = 10, parent: int | None = None, nsfw: bool = False, roles=()) -> Where:  # type: ignore[no-untyped-def]
    return Where(channel, parent, nsfw, frozenset(roles))


def test_only_servers_that_turned_it_on_and_never_age_restricted_channels() -> None:
    assert reviews(ON, where())
    assert not reviews(GuildSettings(guild_id=1), where())  # off by default
    assert not reviews(ON, where(nsfw=True))
    assert not reviews(ON, where(channel=20))
    assert not reviews(ON, where(channel=21, parent=20))  # a thread of a skipped channel
    assert not reviews(ON, where(roles=(5, 30)))
    assert reviews(ON, where(roles=(5,)))


def test_a_score_flags_at_the_threshold_and_only_for_a_hashed_file() -> None:
    hashed = hash_media(encode(photo(1), "JPEG"))
    assert flags(ON, MediaHashes(Outcome.HASHED, hashed.frames, explicit_score=0.8))
    assert not flags(ON, MediaHashes(Outcome.HASHED, hashed.frames, explicit_score=0.79))
    assert not flags(ON, MediaHashes(Outcome.HASHED, hashed.frames))  # not scored
    assert not flags(ON, MediaHashes.failed(Outcome.UNSUPPORTED, "broken"))


def test_copies_and_mirrors_of_a_cleared_picture_are_cleared_other_pictures_are_not() -> None:
    picture = skin_tone_shapes(512)
    cleared = [f[0] for f in frame_pdq(hash_media(encode(picture, "JPEG", quality=85)))]
    smaller = picture.resize((300, 300))
    for copy in (smaller, ImageOps.mirror(picture)):
        assert is_cleared(frame_pdq(hash_media(encode(copy, "JPEG", quality=60))), cleared)
    flipped = picture.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    assert not is_cleared(frame_pdq(hash_media(encode(flipped, "JPEG"))), cleared)
    assert not is_cleared(frame_pdq(hash_media(encode(photo(2), "JPEG"))), cleared)
    assert not is_cleared((), cleared)  # nothing shows it is the picture that was cleared


def test_a_cleared_clip_with_another_scene_spliced_in_is_not_cleared() -> None:
    scenes = [photo(n).resize((320, 240)) for n in (1, 2)]
    clip = hash_media(video(scenes, fps=1))
    cleared = [forms[0] for forms in frame_pdq(clip)]
    assert is_cleared(frame_pdq(clip), cleared)
    spliced = hash_media(video([*scenes, skin_tone_shapes(240).resize((320, 240))], fps=1))
    assert not is_cleared(frame_pdq(spliced), cleared)

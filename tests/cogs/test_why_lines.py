"""`/takedown why`'s line for a weak match that local features confirmed says why it was weak."""

from __future__ import annotations

import pytest

from cogs.takedowns.why import _verdict
from db.guild_settings import GuildSettings
from media.hashing import MediaHashes
from media.list_scope import ListMatch
from media.matching import Match, Tier
from media.outcomes import Outcome
from media.pipeline import HashedMedia, MediaRef
from moderation.i18n import guild_texts
from services.why import Explained, Verdict

LABELS = {5: ("idol edit", None, True)}


def confirmed(algorithm: str, distance: int) -> Explained:
    media = HashedMedia(MediaRef("attachment:1", "https://cdn/x.png", "attachment"),
                        MediaHashes(Outcome.HASHED))  # fmt: skip
    match = ListMatch(Match(5, algorithm, distance, Tier.TAKEDOWN, 0), list_id=1, action="remove")
    return Explained(media, Verdict.CONFIRMED, match)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_confirmed_match_beyond_the_radius_says_so(language: str) -> None:
    settings = GuildSettings(guild_id=1, language=language)
    line = _verdict(guild_texts(language), confirmed("pdq", 48), settings, LABELS)
    assert "48" in line and str(settings.pdq_confident_radius) in line
    assert ("beyond the confident radius" in line) == (language == "en")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_confirmed_phash_match_within_its_radius_is_not_called_beyond_it(language: str) -> None:
    # pHash at 8 is within its confident radius but alone (PDQ didn't agree) only alerts.
    settings = GuildSettings(guild_id=1, language=language)
    line = _verdict(guild_texts(language), confirmed("phash", 8), settings, LABELS)
    assert "beyond" not in line and "밖" not in line
    assert ("alone would only alert" in line) == (language == "en")
    assert "8" in line


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_phash_match_near_only_a_crop_says_so_not_that_it_was_too_far(language: str) -> None:
    # pHash 4 of one of the entry's crops, within phash_alone (6): a crop's pHash alone alerts.
    settings = GuildSettings(guild_id=1, language=language)
    match = ListMatch(
        Match(5, "phash", 4, Tier.REVIEW, 0, variant=True), list_id=1, action="remove"
    )
    media = HashedMedia(MediaRef("attachment:1", "https://cdn/x.png", "attachment"),
                        MediaHashes(Outcome.HASHED))  # fmt: skip
    line = _verdict(
        guild_texts(language), Explained(media, Verdict.REVIEW_TIER, match), settings, LABELS
    )
    assert "4" in line and "only within" not in line and "이내일 때" not in line
    assert ("one of the crops the entry keeps" in line) == (language == "en")
    assert ("잘라낸 부분" in line) == (language == "ko")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_quarters_match_says_part_of_the_picture_matched_not_that_phash_was_alone(
    language: str,
) -> None:
    # PDQ 20 of one of the entry's quarters: within the confident radius, yet only an alert.
    settings = GuildSettings(guild_id=1, language=language)
    match = ListMatch(Match(5, "pdq", 20, Tier.REVIEW, 0, region=True), list_id=1, action="remove")
    media = HashedMedia(MediaRef("attachment:1", "https://cdn/x.png", "attachment"),
                        MediaHashes(Outcome.HASHED))  # fmt: skip
    line = _verdict(
        guild_texts(language), Explained(media, Verdict.REVIEW_TIER, match), settings, LABELS
    )
    assert "20" in line and "pHash" not in line
    assert ("a quarter of the picture" in line) == (language == "en")
    assert ("4분의 1" in line) == (language == "ko")

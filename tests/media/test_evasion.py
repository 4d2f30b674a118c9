"""The hostile-evasion corpus (`tests/media/evasion.py`): every file that shows the listed picture
is hashed within the confident radius of it or refused with a reason, innocent files stay
unmatched, and no file needs more than 10 s or 1 GiB."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from PIL import Image

import bot
from core.hashes import Hash, parse_hash
from media.hashing import MediaHashes, hash_media
from media.matching import MatchPolicy
from media.outcomes import Outcome
from media.workers import HashingPool, PoolSettings
from tests.media import evasion, samples

pytestmark = pytest.mark.timeout(300)

CONFIDENT = MatchPolicy().pdq.confident
CASES = {case.name: case for case in evasion.corpus()}


def listed_pdq() -> Hash:
    return hash_media(evasion.listed_jpeg()).frames[0].pdq


def nearest(result: MediaHashes) -> int:
    target = listed_pdq()
    return min(frame.pdq.distance(target) for frame in result.frames)


@pytest.mark.parametrize("name", ["comments.jpg", "chunks.png", "blocks.gif"])
def test_the_structure_cap_files_are_small_valid_pictures_pillow_shows(name: str) -> None:
    """They are real evasions: a viewer sees the listed picture, so refusing them matters."""
    with Image.open(io.BytesIO(CASES[name].data)) as image:
        image.load()
        shown = image.convert("RGB")
    frame = hash_media(samples.encode(shown, "PNG")).frames[0]
    assert frame.pdq.distance(listed_pdq()) <= CONFIDENT


async def test_every_case_gets_its_outcome_within_10_s_and_1_gib_each() -> None:
    settings = PoolSettings(workers=2, job_seconds=10.0, memory_bytes=1 << 30)
    async with HashingPool(settings) as pool:
        results = await asyncio.gather(*(pool.hash_media(c.data) for c in CASES.values()))
        killed = pool.killed
    assert killed == 0  # no file ran into the 10 s deadline or the 1 GiB cap
    for case, result in zip(CASES.values(), results, strict=True):
        assert result.outcome is case.expected, (case.name, result.explanation)
        if result.hashed and case.shows_listed:
            assert nearest(result) <= CONFIDENT, case.name
        elif result.hashed:
            assert nearest(result) > 2 * CONFIDENT, case.name  # innocent: nowhere near
        else:
            assert result.reason, case.name


def test_hash_command_prints_the_listed_picture_or_names_the_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = []
    for case in CASES.values():
        path = tmp_path / case.name
        path.write_bytes(case.data)
        paths.append(str(path))

    code = bot.main(["hash", *paths])

    captured = capsys.readouterr()
    assert code == 1  # some files are refused
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    target = listed_pdq()
    for case in CASES.values():
        pdq = [
            parse_hash(f"pdq:{row['hash']}")
            for row in rows
            if row["algorithm"] == "pdq" and row["label"].split(" at ")[0] == case.name
        ]
        if case.expected is Outcome.HASHED:
            assert pdq, case.name
            closest = min(h.distance(target) for h in pdq)
            assert (closest <= CONFIDENT) == case.shows_listed, (case.name, closest)
        else:
            assert not pdq, case.name
            assert f"{case.name}: {case.expected} (" in captured.err, case.name

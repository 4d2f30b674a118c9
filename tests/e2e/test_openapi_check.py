"""The sandbox's answers are checked against Discord's OpenAPI description on every run; a
missing description is a failure, never a silent skip."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.e2e.openapi import SPEC_PATH, SpecMissing, spec_path


def test_the_description_ships_with_the_tests() -> None:
    assert spec_path() == SPEC_PATH
    assert len(gzip.decompress(SPEC_PATH.read_bytes())) > 100_000  # the whole description


def test_a_missing_description_fails_instead_of_skipping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_OPENAPI_SPEC", str(tmp_path / "nowhere.json"))
    with pytest.raises(SpecMissing, match=r"nowhere\.json"):
        spec_path()

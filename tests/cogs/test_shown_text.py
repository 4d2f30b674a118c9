"""Discord's limits: whatever the input, what the bot builds fits, cut with an ellipsis."""

from __future__ import annotations

import random

import discord
import pytest

from moderation.shown_text import (
    DESCRIPTION,
    EMBED_TITLE,
    EMBED_TOTAL,
    FIELD_NAME,
    FIELD_VALUE,
    FOOTER,
    fit_embed,
    shorten,
)


def test_shorten_keeps_what_fits_and_marks_what_it_cut() -> None:
    assert shorten("Be kind", 7) == "Be kind"
    cut = shorten("x" * 300, 256)
    assert len(cut) == 256 and cut.endswith("…")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_any_embed_fits_every_limit_and_the_total(seed: int) -> None:
    rng = random.Random(seed)
    print(f"seed {seed}")

    def text() -> str:
        return "é" * rng.choice([0, 1, 80, 255, 256, 257, 1024, 1025, 5000])

    embed = discord.Embed(title=text() or "t", description=text() or None)
    for _ in range(rng.randint(0, 25)):
        embed.add_field(name=text() or "n", value=text() or "v")
    embed.set_footer(text=text() or None)
    fitted = fit_embed(embed)
    assert len(fitted.title or "") <= EMBED_TITLE
    assert len(fitted.description or "") <= DESCRIPTION
    assert len(fitted.footer.text or "") <= FOOTER
    for field in fitted.fields:
        assert len(field.name or "") <= FIELD_NAME and len(field.value or "") <= FIELD_VALUE
    assert len(fitted) <= EMBED_TOTAL


def test_a_short_status_field_survives_a_long_description() -> None:
    embed = discord.Embed(title="Report #1", description="x" * 4096)
    embed.add_field(name="Reported", value="y" * 1024)
    embed.add_field(name="Reporters", value="z" * 1024)
    embed.add_field(name="Status", value="Open: waiting for a moderator")
    fitted = fit_embed(embed)
    assert len(fitted) <= EMBED_TOTAL
    assert fitted.fields[2].value == "Open: waiting for a moderator"

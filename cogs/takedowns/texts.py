"""How takedown entries, hashes and counts read to moderators, in every /takedown answer."""

from __future__ import annotations

from core.hashes import Hash
from moderation.shown_text import inert


def short_hash(value: Hash) -> str:
    return f"{value.algorithm}:{value.hex[:8]}…"


def quoted_label(label: str) -> str:
    """A label as moderators read it: inert (it may come from another server's shared list)."""
    return f"“{inert(label)}”" if label else "no label"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else many or word + 's'}"

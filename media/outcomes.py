"""What became of one file: hashed, or which of three kinds of "could not check it", and why.

Why three kinds and not one: a file the bot cannot check is never treated as clean, but what a
server should do about it depends on why, so each kind has its own per-server policy:

- CRAFTED, refused as crafted or hostile: declared sizes over the caps, JPEG segments or scans,
  PNG chunks or GIF blocks past what any camera or app writes, decompression bombs. Real
  uploads never look like this, so the default is to remove the message and alert.
- UNFINISHED, could not finish: over the byte cap, the time or the memory cap, a video too long,
  an animation or video over the frame budget, or the bot too busy to get to it. Real files can
  land here (a long clip), so the default is to alert, not remove.
- UNSUPPORTED, unsupported or corrupt: not a format the bot reads, a video codec it does not
  decode, a truncated or broken file. The default is to alert.

Every failure in `media` is raised as one of the three exceptions below (or, for downloads and
the worker pool, becomes one of the three outcomes), with a reason in words a moderator can read:
a `core.phrases.Phrase`, which the Discord side reads in the moderator's language.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from core.phrases import N_, Phrase, phrase


class Outcome(enum.StrEnum):
    """What became of one piece of media; only HASHED carries hashes."""

    HASHED = "hashed"
    CRAFTED = "crafted"
    UNFINISHED = "unfinished"
    UNSUPPORTED = "unsupported"

    @property
    def description(self) -> Phrase:
        """The outcome in a moderator's words, to lead the reason in an alert or a log line."""
        return phrase(_DESCRIPTIONS[self])


_DESCRIPTIONS = {
    Outcome.HASHED: N_("checked"),
    Outcome.CRAFTED: N_("refused as crafted or hostile"),
    Outcome.UNFINISHED: N_("could not be checked to the end"),
    Outcome.UNSUPPORTED: N_("unsupported or corrupt"),
}

# Said wherever decoding runs out of memory: in the decoder, the hasher and the worker.
NEEDS_TOO_MUCH_MEMORY = phrase("decoding it needs more memory than the bot allows")


def detail(exc: BaseException) -> str:
    """A library's own words for what went wrong, quoted in a reason (English, kept short)."""
    return str(exc)[:200] or type(exc).__name__


class MediaFailure(Exception):
    """A file that could not be checked; `reason` says why in a moderator's words (`str(exc)`
    is the English)."""

    outcome: ClassVar[Outcome]

    def __init__(self, reason: Phrase) -> None:
        super().__init__(str(reason))
        self.reason = reason


class MediaCrafted(MediaFailure):
    """Built to hurt a decoder or past any cap a real camera or app comes near."""

    outcome = Outcome.CRAFTED


class MediaUnfinished(MediaFailure):
    """A real file, perhaps, but more than the bot checks: size, time, memory, length, frames."""

    outcome = Outcome.UNFINISHED


class MediaUnsupported(MediaFailure):
    """Not a format or codec the bot reads, or truncated or corrupt."""

    outcome = Outcome.UNSUPPORTED

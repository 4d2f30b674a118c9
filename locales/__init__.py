"""The bot's languages and their gettext catalogs (standard library only).

Source strings are English and live in the code; each other language is a compiled catalog
`locales/<language>/LC_MESSAGES/messages.mo`, made from the `.po` beside it (README's
development section has the extract, update and compile commands). The `.mo` files ship with
the package, so an install needs no build step.

Adding a language is dropping in its catalog and naming it in `LANGUAGES`.

The pseudo-locale wraps every translated string in ⟦ ⟧: a run with it on shows, in whatever
the bot sends, any text that was built outside the catalogs (it is left unwrapped).
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
# Every language the bot speaks, the source first. Discord locales map onto these by their
# language part ("ko" -> "ko", "en-US" and "en-GB" -> "en"); anything else gets the source.
LANGUAGES: tuple[str, ...] = (SOURCE_LANGUAGE, "ko")
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"


class PseudoTranslations(gettext.NullTranslations):
    """Every string marked as translated: ⟦source text⟧, placeholders left as they are."""

    def gettext(self, message: str) -> str:
        return f"{PSEUDO_OPEN}{message}{PSEUDO_CLOSE}"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self.gettext(msgid1 if n == 1 else msgid2)

    def pgettext(self, context: str, message: str) -> str:
        return self.gettext(message)

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        return self.ngettext(msgid1, msgid2, n)


def language_of(locale: str | None) -> str:
    """The bot language for a Discord locale ("ko", "en-US", …): its language part if the bot
    speaks it, else the source language."""
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    return language if language in LANGUAGES else SOURCE_LANGUAGE


@cache
def catalog(language: str) -> gettext.NullTranslations:
    """The compiled catalog of one language (the source language has none: its text is the
    code's own). A language named in LANGUAGES without its `.mo` fails loudly here."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; the bot speaks {', '.join(LANGUAGES)}")
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=DIRECTORY, languages=[language])


def pseudo_catalog() -> gettext.NullTranslations:
    return PseudoTranslations()

"""Sentences written before anyone knows who will read them, in which language (standard
library only, so every layer can say why in words).

A layer below `moderation/` (the media decoder, the hash-list parser, settings validation, the
moderation policy) can't know whether a Korean or an English moderator will read its reason,
and must not import the catalogs or Discord. It returns a `Phrase` instead: the English source
text, marked for the catalogs, and its placeholders' values. `moderation.i18n.Texts.read`
translates it in the reader's language; `str(phrase)` is the English, for the log and the
command line.

- `N_("…")` marks a constant for the catalogs (the value stays the English text);
- `phrase("…", name=value)` is a sentence with values, which may be phrases themselves (a
  reason inside a refusal), read in the same language;
- `plural_phrase("… {count} …", "… {count} …", count)` is one whose form follows a count.

Placeholders are `str.format` fields, filled after translation. A value is text, a whole
number (written `{name}`, or `{name:,}` with thousands separators) or a decimal.
"""

from __future__ import annotations

from dataclasses import dataclass

Value = str | int | float


def N_(message: str) -> str:
    """Mark a string for the catalogs without translating it yet (it is sent later)."""
    return message


@dataclass(frozen=True, slots=True)
class Phrase:
    """A marked sentence and its placeholders' values, translated when its reader is known.

    With `plural` set, `text` is the singular and `plural` the plural source form, chosen by the
    value named `count`. A value may itself be a phrase; it is read in the same language.
    """

    text: str
    values: tuple[tuple[str, Value | Phrase], ...] = ()
    plural: str | None = None

    def __str__(self) -> str:
        """The English sentence: for the log, the command line, an exception's message."""
        values = {name: str(v) if isinstance(v, Phrase) else v for name, v in self.values}
        chosen = self.text
        if self.plural is not None and values.get("count") != 1:
            chosen = self.plural
        return chosen.format(**values) if values else chosen


def phrase(text: str, /, **values: Value | Phrase) -> Phrase:
    return Phrase(text, tuple(values.items()))


def plural_phrase(singular: str, plural: str, count: int, /, **values: Value | Phrase) -> Phrase:
    """A phrase whose form follows `count` (its `{count}` placeholder)."""
    return Phrase(singular, (("count", count), *values.items()), plural)


class PhrasedError(ValueError):
    """A refusal whose reason is a phrase: `str(error)` is the English, `error.phrase` is read
    in the language of whoever caused it."""

    def __init__(self, said: Phrase) -> None:
        super().__init__(str(said))
        self.phrase = said

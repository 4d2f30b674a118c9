"""Speaking the member's language: the catalogs of `locales/` as the bot's replies see them.

Who hears which language:
- a reply to an interaction (ephemeral answers, forms, selects, buttons, errors) follows the
  member's client language, `interaction.locale`: `member_texts(interaction)`;
- a post in a shared place (alerts, queue messages, `/config check`, DMs, the framing of posted
  rules) follows the server's language, `/config language`: `guild_texts(settings)`;
- command names, descriptions, options and choices are translated by `CommandTranslator`, and
  Discord shows each member the ones of their client language.

Strings are English in the code. A module constant is marked with `N_` (extraction finds it,
the value stays the English text) and translated where it is sent: `tr(THANKS, number=7)`.
A string written where it is sent is `tr("…")`; a count is `tr.plural("…", "…", n)`. A
sentence made before anyone knows who will read it (a problem an action met, shown on an alert
in the server's language and to the moderator in theirs) is a `phrase("…", name=value)`, read
later with `tr.read(p)`.
Placeholders are `str.format` fields, filled after translation, so a translation moves them
freely; numbers are formatted by Babel for the language.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from typing import Any

import discord
from babel.numbers import format_decimal
from discord import app_commands

import locales
from core.phrases import N_, Phrase, PhrasedError, phrase, plural_phrase

__all__ = [
    "N_",
    "Phrase",
    "PhrasedError",
    "phrase",
    "plural_phrase",
]

# Contexts of command strings in the catalog: a command's name and a word of text differ.
COMMAND_CONTEXTS: dict[app_commands.TranslationContextLocation, str] = {
    app_commands.TranslationContextLocation.command_name: "command name",
    app_commands.TranslationContextLocation.group_name: "command name",
    app_commands.TranslationContextLocation.parameter_name: "option name",
    app_commands.TranslationContextLocation.command_description: "command description",
    app_commands.TranslationContextLocation.group_description: "command description",
    app_commands.TranslationContextLocation.parameter_description: "option description",
    app_commands.TranslationContextLocation.choice_name: "choice",
    app_commands.TranslationContextLocation.other: "command",
}
CHOICE = app_commands.TranslationContextLocation.choice_name
OPTION = app_commands.TranslationContextLocation.parameter_name
# The Discord locales a command carries translations for, by bot language.
DISCORD_LOCALES: dict[str, tuple[discord.Locale, ...]] = {"ko": (discord.Locale.korean,)}

_pseudo = False


@dataclass(frozen=True, slots=True)
class PluralText:
    """A count's two English forms, marked for the catalogs; `tr.plural` picks the form."""

    singular: str
    plural: str


def plural_text(singular: str, plural: str) -> PluralText:
    return PluralText(singular, plural)


def use_pseudo_locale(on: bool) -> None:
    """Every language becomes the pseudo-locale (⟦text⟧): for the run that finds text built
    outside the catalogs."""
    global _pseudo
    _pseudo = on


@dataclass(frozen=True, slots=True)
class Texts:
    """One language's strings: call it with a source string and its placeholders' values."""

    language: str
    catalog: gettext.NullTranslations

    def __call__(self, message: str, /, **values: Any) -> str:
        return self._fill(self.catalog.gettext(message), values)

    def plural(self, singular: str, plural: str, count: int, /, **values: Any) -> str:
        """The form for `count` (given as `{count}`, formatted for the language)."""
        chosen = self.catalog.ngettext(singular, plural, count)
        return self._fill(chosen, {"count": self.number(count), **values})

    def count(self, text: PluralText, count: int, /, **values: Any) -> str:
        return self.plural(text.singular, text.plural, count, **values)

    def read(self, said: Phrase) -> str:
        """A phrase in this language, its inner phrases too (`core.phrases`)."""
        values = {
            name: self.read(value) if isinstance(value, Phrase) else value
            for name, value in said.values
        }
        if said.plural is not None:
            count = values.pop("count")
            assert isinstance(count, int)
            return self.plural(said.text, said.plural, count, **values)
        return self(said.text, **values)

    def choice(self, name: str) -> str:
        """A choice's name as the commands show it (report categories on forms and posts)."""
        return self.catalog.pgettext(COMMAND_CONTEXTS[CHOICE], name)

    def option(self, name: str) -> str:
        """A command option's name as the commands show it, for a reply that names one."""
        return self.catalog.pgettext(COMMAND_CONTEXTS[OPTION], name)

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=self.language)

    @staticmethod
    def _fill(text: str, values: dict[str, Any]) -> str:
        return text.format(**values) if values else text


def texts(language: str) -> Texts:
    """The strings of one of `locales.LANGUAGES`."""
    if _pseudo:
        return Texts(locales.SOURCE_LANGUAGE, locales.pseudo_catalog())
    return Texts(language, locales.catalog(language))


def source_texts() -> Texts:
    """The source language's strings: for what nobody reads in Discord (the log, a button
    rebuilt from a click's custom id)."""
    return texts(locales.SOURCE_LANGUAGE)


def member_texts(interaction: discord.Interaction) -> Texts:
    """For a reply only this member sees: their Discord client's language."""
    return texts(locales.language_of(str(interaction.locale)))


def guild_texts(language: str | None, guild: discord.Guild | None = None) -> Texts:
    """For a post in a shared place: the server's chosen language, else its preferred locale."""
    if language:
        return texts(locales.language_of(language))
    preferred = str(guild.preferred_locale) if guild is not None else None
    return texts(locales.language_of(preferred))


class CommandTranslator(app_commands.Translator):
    """Command names, descriptions, options and choices from the catalogs, by Discord locale.

    A string without a translation gets none (Discord then shows the English); the tests fail
    on any such string, so that only happens to a catalog that is out of date.
    """

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if _pseudo:
            return None  # command names must stay valid Discord names
        language = locales.language_of(str(locale))
        if language == locales.SOURCE_LANGUAGE or locale not in DISCORD_LOCALES.get(language, ()):
            return None
        return translate_command_string(language, string.message, context.location)


def translate_command_string(
    language: str, message: str, location: app_commands.TranslationContextLocation
) -> str | None:
    """The catalog's translation of one command string, or None when it has none."""
    context = COMMAND_CONTEXTS[location]
    translated = locales.catalog(language).pgettext(context, message)
    return translated if translated != message else None


def every_language() -> list[Texts]:
    """One `Texts` a language: for checks that must hold in all of them (Discord's limits)."""
    return [texts(language) for language in locales.LANGUAGES]

"""Translations: gettext catalogs for zh_Hans and en, read with Babel, chosen per member.

Catalogs live as ``.po`` files in ``bot/locales``; they are compiled in memory when the bot
starts, so there is no build step and no stale ``.mo`` file. Mark strings with ``_`` (one
message) or ``_n`` (singular and plural); translate them through a ``Translator``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, get_timezone_name
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from bot.markup import Markup

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "branchbot"
LOCALES = ("zh_Hans", "en")
ALIASES = {
    "zh": "zh_Hans",
    "zh_hans": "zh_Hans",
    "zh-hans": "zh_Hans",
    "zh_cn": "zh_Hans",
    "zh-cn": "zh_Hans",
    "cn": "zh_Hans",
    "chinese": "zh_Hans",
    "中文": "zh_Hans",
    "汉语": "zh_Hans",
    "简体中文": "zh_Hans",
    "普通话": "zh_Hans",
    "en": "en",
    "english": "en",
    "英文": "en",
    "英语": "en",
}
"""Every word someone may type for a language (``/lang 英语``), lower case."""


def _(message: str) -> str:
    """Mark a message for translation; it is translated when sent, in the reader's language."""
    return message


@dataclass(frozen=True, slots=True)
class Plural:
    singular: str
    plural: str


def _n(singular: str, plural: str) -> Plural:
    """Mark a message with a plural form."""
    return Plural(singular, plural)


LIST_SEPARATOR = _(", ")
"""Between the items of a list shown to people: ``、`` in Chinese, never an ASCII comma."""
DATE_PATTERN = _("yyyy-MM-dd")
"""A date in replies, as a CLDR pattern for Babel: ``2026年12月1日`` in Chinese."""
MOMENT = _("{date} {time} ({zone})")
"""A moment in replies, with the time zone named so that nobody misreads it."""
BABEL_LOCALES = {"zh_Hans": "zh_Hans_CN", "en": "en"}


def normalize_locale(value: str | None) -> str | None:
    """``zh``, ``zh-CN``, ``中文`` → ``zh_Hans``; ``en`` → ``en``; anything else → None."""
    if not value:
        return None
    return ALIASES.get(value.strip().lower())


@cache
def _translations(locale: str) -> Translations:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale.replace("_Hans", ""), domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@dataclass(frozen=True, slots=True)
class Translator:
    locale: str

    def __call__(
        self, message: str | Plural, /, count: int | None = None, **values: object
    ) -> Markup:
        return Markup.format(self.text(message, count), count=count, **values)

    def text(self, message: str | Plural, count: int | None = None) -> str:
        """The translated template, before values are put in."""
        translations = _translations(self.locale)
        if isinstance(message, Plural):
            return translations.ngettext(message.singular, message.plural, count or 0)
        return translations.gettext(message)

    def listing(self, items: Iterable[str]) -> str:
        """``items`` as one list in this language (``Mei、Sam``; ``Mei, Sam``)."""
        return self.text(LIST_SEPARATOR).join(items)

    def join(self, parts: Iterable[Markup]) -> Markup:
        """Pieces of markup as one list in this language."""
        return Markup.join(parts, self.text(LIST_SEPARATOR))

    def moment(self, when: datetime, zone: str, *, named: bool = True) -> str:
        """``when`` in the organisation's time zone, written as this language writes dates
        (``2026年12月1日 09:00（中国时间）``, ``2026-12-01 09:00 (China Time)``); ``named=False``
        where the zone is named once above a list."""
        local = when.astimezone(ZoneInfo(zone))
        babel = BABEL_LOCALES[self.locale]
        date = format_date(local, self.text(DATE_PATTERN), locale=babel)
        if not named:
            return f"{date} {local:%H:%M}"
        return self.text(MOMENT).format(date=date, time=f"{local:%H:%M}", zone=self.zone(zone))

    def day(self, when: date) -> str:
        """A calendar day as this language writes it (``2026年12月1日``, ``2026-12-01``)."""
        return str(format_date(when, self.text(DATE_PATTERN), locale=BABEL_LOCALES[self.locale]))

    def zone(self, zone: str) -> str:
        """The time zone's name in this language (``中国时间``, ``China Time``)."""
        return str(get_timezone_name(ZoneInfo(zone), locale=BABEL_LOCALES[self.locale]))


def translator(locale: str | None, default: str) -> Translator:
    return Translator(normalize_locale(locale) or normalize_locale(default) or "zh_Hans")

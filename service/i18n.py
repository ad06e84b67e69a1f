"""User-facing text: Vietnamese in the source, other languages from gettext catalogs.

Catalogs are `locale/<lang>/LC_MESSAGES/messages.po`, compiled in memory at start, so
there is no build step and no binary file to keep in sync.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import lru_cache

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from service.settings import ROOT

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
# The console's language, chosen by its switch (sent with /console requests only).
CONSOLE_LANG_COOKIE = "hl_console_lang"
LOCALE_DIR = ROOT / "locale"


@lru_cache
def translations(lang: str) -> NullTranslations:
    po_file = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT_LANGUAGE or not po_file.exists():
        return NullTranslations()
    with po_file.open("rb") as source:
        catalog = read_po(source, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def pick_language(*candidates: str | None) -> str:
    """The first supported language among the candidates (query, form, invitation), read
    as a language tag is: in any case, its region left out (?lang=EN and ?lang=en-US were
    ignored, and the page came in Vietnamese; audit)."""
    for candidate in candidates:
        if (spoken := spoken_language(candidate)) is not None:
            return spoken
    return DEFAULT_LANGUAGE


def spoken_language(tag: str | None) -> str | None:
    """The supported language a tag names ("EN", "en-US": en), or None."""
    if tag is None:
        return None
    primary = tag.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary if primary in LANGUAGES else None


def gettext_for(lang: str) -> Callable[[str], str]:
    return translations(lang).gettext


def ngettext_for(lang: str) -> Callable[[str, str, int], str]:
    """A sentence with a count, in the form the count takes: Vietnamese has one ("1 hồ sơ",
    "2 hồ sơ"), English two, and its pages said "1 dossiers" (console audit)."""
    return translations(lang).ngettext

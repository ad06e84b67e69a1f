"""Every text on a page has its English translation."""

from __future__ import annotations

import html
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from service.i18n import LOCALE_DIR, gettext_for, ngettext_for
from service.portal import picker
from service.portal.plain_words import Fact
from service.reports.words import count, num
from service.settings import ROOT
from service.templating import make_templates
from service.web.pages import words


def _template_messages() -> set[str]:
    method_map = [("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    return {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options)
    }


def test_every_template_text_is_translated_to_english() -> None:
    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source)
    # A sentence with a count (ngettext) is its singular, translated in both its forms.
    translated = {
        str(m.id[0]) if isinstance(m.id, tuple) else str(m.id)
        for m in catalog
        if m.id and m.string and all(m.string if isinstance(m.string, tuple) else [m.string])
    }
    missing = _template_messages() - translated
    assert not missing, f"run `make i18n` and add English for: {sorted(missing)}"


def test_english_catalog_is_used_and_vietnamese_is_the_source() -> None:
    assert gettext_for("en")("Gửi đánh giá") == "Send"
    assert gettext_for("vi")("Gửi đánh giá") == "Gửi đánh giá"


def test_a_count_takes_its_form_in_english() -> None:
    """(console audit) English pages said "1 dossiers", "Overdue by 1 working days"."""
    dossiers = ("%(n)s hồ sơ", "%(n)s hồ sơ")
    assert [ngettext_for("en")(*dossiers, n) % {"n": n} for n in (0, 1, 2)] == [
        "0 dossiers",
        "1 dossier",
        "2 dossiers",
    ]
    assert ngettext_for("vi")(*dossiers, 1) % {"n": 1} == "1 hồ sơ"


def _english_fact(fact: Fact) -> str:
    module: Any = (
        make_templates()
        .env.get_template("portal/_words.html")
        .make_module(
            {
                **words("en"),
                "num": lambda value, places=2: num(value, places),
                "count": count,
                "day": lambda value: picker.day(value, "en"),
            }
        )
    )
    return html.unescape(" ".join(str(module.fact(fact)).split()))


def test_a_part_of_a_whole_reads_right_whatever_the_two_counts() -> None:
    """(review) The "part of whole" sentences took their form by the whole while their verb
    followed the part: "1 of 5 dossiers were resolved on time". Worded with no verb to
    agree, the noun follows the whole."""
    assert _english_fact(Fact("a_on_time", 1, 5)) == "Resolved on time: 1 of 5 dossiers."
    assert _english_fact(Fact("a_on_time", 0, 1)) == "Resolved on time: 0 of 1 dossier."
    assert (
        _english_fact(Fact("g5_petitions_on_time", 1, 4))
        == "Handled on time: 1 of 4 petitions within the agency's authority."
    )


def test_a_fact_s_other_counts_read_right_when_they_are_one() -> None:
    """(review) A profile may give a grace of 1 working day and 1 point for it: the facts
    read "1 working days", "1 points each"."""
    grace = _english_fact(Fact("a_late_grace", 2, 5, 1, 1))
    assert grace == "Late, within the grace of 1 working day(s), worth 1 each: 2 of 5 dossiers."
    over = _english_fact(Fact("a_late_over", 2, 5, limit=1))
    assert over == "Late past the grace of 1 working day(s), worth nothing: 2 of 5 dossiers."

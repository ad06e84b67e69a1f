"""The words of invitation and reminder messages (Vietnamese), and how many SMS segments
a text takes.

SMS: a text in the GSM 7-bit alphabet takes 160 characters in one segment, 153 per
segment when split; anything else (Vietnamese with its diacritics) is sent as UCS-2: 70
characters, 67 per segment when split. A message is kept to at most MAX_SMS_SEGMENTS:
the fullest wording that fits, else a shorter one, else the same without diacritics, in
GSM characters (in_gsm).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from service.calendar.working_days import LOCAL_TZ
from service.text_clean import one_line, strip_bidi_controls

MAX_SMS_SEGMENTS = 2
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")  # two septets each (escape + character)


def sms_segments(text: str) -> int:
    """The number of SMS segments `text` is sent in (0 for an empty text)."""
    if not text:
        return 0
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        septets = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        return 1 if septets <= 160 else -(-septets // 153)
    # UCS-2 counts UTF-16 code units: a character outside the BMP (an emoji) takes two.
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def without_diacritics(text: str) -> str:
    """'Phường Tân Định' -> 'Phuong Tan Dinh' (đ is a letter of its own, not an accent)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


# Typographic punctuation as GSM writes it. Any of them left in the text without
# diacritics made the whole SMS UCS-2, and so short that the agency and the dossier were
# dropped ("Bà Rịa – Vũng Tàu"; audit).
_GSM_PUNCTUATION = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
        "\u2026": "...",
    }
)
# What the fallback keeps: GSM characters a provider also sends as plain text (ASCII; the
# eSMS adapter sends any other as Unicode, two and a bit times the segments counted here).
_GSM_PLAIN = frozenset(ch for ch in _GSM_BASIC | _GSM_EXTENDED if ch.isascii()) - {"\f"}
_SPACES = re.compile(r" {2,}")


def in_gsm(text: str) -> str:
    """The text without diacritics, in GSM 03.38's plain characters: typographic dashes,
    quotes and the ellipsis as GSM writes them, every space (a no-break one) a space, and
    any other character dropped."""
    plain = without_diacritics(text).translate(_GSM_PUNCTUATION)
    plain = "".join(" " if ch.isspace() and ch not in "\n\r" else ch for ch in plain)
    return _SPACES.sub(" ", "".join(ch for ch in plain if ch in _GSM_PLAIN))


def name_in_text(name: str) -> str:
    """A name the message quotes (a dossier's procedure, posted by the one-stop system;
    an agency's) as one line without direction controls: a line break in a procedure name
    wrote lines of its own into the e-mail (a fake "Từ chối nhận tin" or link looked like
    ours), and one U+202E turned the rest of its line around (audit)."""
    return one_line(strip_bidi_controls(name))


# A message's kind in words, for a template parameter (Zalo's `kind` field): the
# template is read by the citizen, in the message's language.
_KIND_WORDS = {
    "vi": {"invitation": "Mời đánh giá", "reminder": "Nhắc đánh giá", "alert": "Cảnh báo"},
    "en": {"invitation": "Survey invitation", "reminder": "Survey reminder", "alert": "Alert"},
}


def kind_words(kind: str, language: str) -> str:
    return _KIND_WORDS.get(language, _KIND_WORDS["vi"])[kind]


@dataclass(frozen=True)
class MessageFacts:
    kind: str  # "invitation" or "reminder"
    agency_name: str
    dossier_code: str
    procedure_name: str | None
    expires_at: datetime
    link: str
    opt_out_link: str


def subject(facts: MessageFacts) -> str:
    lead = "Nhắc: mời" if facts.kind == "reminder" else "Mời"
    return f"{lead} ông/bà đánh giá sự hài lòng – {facts.agency_name}"


def email_text(facts: MessageFacts) -> str:
    procedure = f" ({facts.procedure_name})" if facts.procedure_name else ""
    # With its time, as the slip: the survey ends at the hour it was issued ("đến ngày
    # 12/12" read as through that day; audit).
    until = facts.expires_at.astimezone(LOCAL_TZ).strftime("%H:%M ngày %d/%m/%Y")
    opening = (
        "Ông/bà chưa gửi đánh giá cho hồ sơ này. Ý kiến của ông/bà giúp cơ quan phục vụ tốt hơn."
        if facts.kind == "reminder"
        else "Cảm ơn ông/bà đã sử dụng dịch vụ hành chính công."
    )
    return (
        "Kính gửi ông/bà,\n\n"
        f"{facts.agency_name} đã trả kết quả hồ sơ {facts.dossier_code}{procedure}. "
        f"{opening}\n\n"
        "Mời ông/bà dành khoảng một phút đánh giá sự hài lòng tại:\n"
        f"{facts.link}\n\n"
        f"Phiếu đánh giá có hiệu lực đến {until}. Mỗi hồ sơ chỉ được đánh giá một lần.\n\n"
        "--\n"
        "Thư này được gửi tự động; vui lòng không trả lời thư.\n"
        f"Từ chối nhận tin: {facts.opt_out_link}\n"
    )


def sms_text(facts: MessageFacts) -> str:
    """The fullest wording that fits in MAX_SMS_SEGMENTS; ValueError if none does (a
    base URL too long for an SMS)."""
    lead = "Nhắc: mời" if facts.kind == "reminder" else "Mời"
    links = f"{facts.link} Từ chối nhận tin: {facts.opt_out_link}"

    def wordings(agency: str) -> list[str]:
        return [
            f"{agency}: {lead} ông/bà đánh giá hồ sơ {facts.dossier_code}: {links}",
            f"{agency}: {lead} đánh giá: {links}",
            f"{lead} đánh giá: {links}",
        ]

    # The name in GSM first: a character dropped at its end left a space before the colon.
    plain = [in_gsm(w) for w in wordings(in_gsm(facts.agency_name).strip())]
    for text in (*wordings(facts.agency_name), *plain):
        if sms_segments(text) <= MAX_SMS_SEGMENTS:
            return text
    raise ValueError("the survey and opt-out links do not fit in an SMS; shorten the base URL")

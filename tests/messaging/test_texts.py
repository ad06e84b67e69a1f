"""SMS segment counting and the message texts (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.messaging import contacts, texts


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a" * 160, 1),  # GSM 7-bit: 160 in one segment...
        ("a" * 161, 2),  # ...153 per segment once split
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extended characters take two septets
        ("€" * 81, 2),
        ("ệ" * 70, 1),  # UCS-2 (Vietnamese diacritics): 70 in one segment...
        ("ệ" * 71, 2),  # ...67 per segment once split
        ("ệ" * 134, 2),
        ("ệ" * 135, 3),
        ("a" * 69 + "ệ", 1),  # one non-GSM character turns the whole text to UCS-2
        ("a" * 70 + "ệ", 2),
        ("😀" * 35, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_sms_segments(text: str, segments: int) -> None:
    assert texts.sms_segments(text) == segments


def _facts(agency: str, base: str = "https://danhgia.tphcm.gov.vn") -> texts.MessageFacts:
    token = contacts.opt_out_token(b"k", "sms", "84912345678")
    return texts.MessageFacts(
        kind="invitation",
        agency_name=agency,
        dossier_code="G22.39-250915-0001",
        procedure_name="Đăng ký khai sinh",
        expires_at=datetime(2025, 10, 15, 7, tzinfo=UTC),
        link=f"{base}/m/7KQ4M2XD",
        opt_out_link=f"{base}/u/{token}",
    )


@pytest.mark.parametrize(
    "agency", ["UBND Phường Tân Định", "Trung tâm Phục vụ hành chính công Thành phố Hồ Chí Minh"]
)
def test_sms_text_fits_two_segments_with_both_links(agency: str) -> None:
    facts = _facts(agency)
    text = texts.sms_text(facts)
    assert texts.sms_segments(text) <= texts.MAX_SMS_SEGMENTS
    assert facts.link in text and facts.opt_out_link in text


def test_sms_text_drops_diacritics_only_when_needed() -> None:
    short = texts.sms_text(_facts("UBND Phường 1", base="https://hl.vn"))
    assert "Mời" in short  # fits with its diacritics
    long_base = "https://danh-gia-su-hai-long.mot-cua.thanhphohochiminh.gov.vn"
    text = texts.sms_text(_facts("UBND Phường Tân Định", base=long_base))
    assert texts.sms_segments(text) <= 2 and text == texts.without_diacritics(text)


def test_sms_text_refuses_links_that_cannot_fit() -> None:
    with pytest.raises(ValueError, match="base URL"):
        texts.sms_text(_facts("X", base="https://" + "a" * 200 + ".vn"))


def test_email_text_is_vietnamese_with_both_links() -> None:
    facts = _facts("UBND Phường Tân Định")
    body = texts.email_text(facts)
    assert "Kính gửi ông/bà" in body
    # With the hour the survey ends (07:00 UTC is 14:00 in Vietnam): a date alone read as
    # "through that day" to a citizen who then met "expired" (audit).
    assert "có hiệu lực đến 14:00 ngày 15/10/2025." in body
    assert facts.link in body and f"Từ chối nhận tin: {facts.opt_out_link}" in body
    assert texts.subject(facts).startswith("Mời ông/bà đánh giá")


def test_opt_out_token_is_verified_without_lookup() -> None:
    token = contacts.opt_out_token(b"key", "email", "a@b.vn")
    assert contacts.read_opt_out_token(b"key", token) == (
        "email",
        contacts.contact_hash(b"key", "a@b.vn"),
    )
    assert contacts.read_opt_out_token(b"other key", token) is None
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert contacts.read_opt_out_token(b"key", forged) is None
    assert contacts.read_opt_out_token(b"key", "s" + token[1:]) is None  # another channel


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("0912345678", "84912345678"),
        ("+84 912 345 678", "84912345678"),
        ("84-387.654.321", "84387654321"),
        ("(0)70 123 4567".replace("(0)", "0"), "84701234567"),
        # As cards and forms write them: refused with a 422 before (messaging audit).
        ("+84 (0) 912 345 678", "84912345678"),
        ("+84 0912 345 678", "84912345678"),
        ("0084 912 345 678", "84912345678"),
    ],
)
def test_phone_normalised(typed: str, normalised: str) -> None:
    assert contacts.normalize_phone(typed) == normalised


@pytest.mark.parametrize(
    "typed",
    [
        "0212345678",
        "091234567",
        "09123456789",
        "+1 912345678",
        "00 912345678",
        "840 212345678",
        "abc",
        # Other scripts' digits: stored so, they were another number than the citizen's,
        # which an opt-out of the real one did not reach (audit).
        "09" + "".join(chr(0xFF10 + int(d)) for d in "12345678"),  # full-width
        "09" + "".join(chr(0x0660 + int(d)) for d in "12345678"),  # Arabic-Indic
    ],
)
def test_not_a_vietnamese_mobile(typed: str) -> None:
    with pytest.raises(ValueError, match="Vietnamese mobile"):
        contacts.normalize_phone(typed)


@pytest.mark.parametrize(
    "typed",
    [
        *("a@b", "a b@c.vn", "@c.vn", "a@@c.vn", "a..b@c.vn", "a@c..vn"),
        # A dot that begins or ends the name: a mail server refuses it (RFC 5322 dot-atom).
        *(".dan@c.vn", "dan.@c.vn", ".@c.vn", "dan@.c.vn"),
        # An encoded word: the To header read it as someone.else@c.vn (audit).
        "=?utf-8?q?someone.else?=@c.vn",
    ],
)
def test_not_an_email(typed: str) -> None:
    with pytest.raises(ValueError, match="e-mail"):
        contacts.normalize_email(typed)

"""The SMS without diacritics is in GSM characters (no database). Typographic punctuation
kept in it ("Bà Rịa – Vũng Tàu", “quotes”, a no-break space) made the whole text UCS-2,
so short that only "Moi danh gia: <link>" fitted: a link from nobody, for no dossier, as
phishing reads (audit)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.messaging import contacts, texts
from service.messaging.channels.sms_esms import is_plain

BASE = "https://danhgia.dichvucong.hochiminhcity.gov.vn"  # long: no room for diacritics
DOSSIER = "G22.39-250915-0001"


def _sms(agency: str) -> str:
    facts = texts.MessageFacts(
        kind="invitation",
        agency_name=agency,
        dossier_code=DOSSIER,
        procedure_name=None,
        expires_at=datetime(2025, 10, 15, 7, tzinfo=UTC),
        link=f"{BASE}/m/ABCD2345",
        opt_out_link=f"{BASE}/u/{contacts.opt_out_token(b'k' * 32, 'sms', '84912345678')}",
    )
    return texts.sms_text(facts)


@pytest.mark.parametrize(
    ("agency", "written"),
    [
        ("UBND Phường 1 – Quận 3", "UBND Phuong 1 - Quan 3"),
        ("UBND Phường 1 — Quận 3", "UBND Phuong 1 - Quan 3"),
        ("UBND “Phường 1”", 'UBND "Phuong 1"'),
        ("UBND \u2018Phường 1\u2019", "UBND 'Phuong 1'"),
        ("UBND Phường 1…", "UBND Phuong 1..."),
        ("UBND\u00a0Phường\u202f1", "UBND Phuong 1"),
        ("UBND Phường 1 ★", "UBND Phuong 1"),  # no GSM equivalent: dropped
    ],
)
def test_the_fallback_names_the_agency_and_the_dossier_in_gsm(agency: str, written: str) -> None:
    sms = _sms(agency)
    assert sms.startswith(f"{written}: Moi ong/ba danh gia ho so {DOSSIER}: "), sms
    assert texts.sms_segments(sms) <= texts.MAX_SMS_SEGMENTS
    assert is_plain(sms)  # sent by eSMS as GSM text, as counted


def test_in_gsm_keeps_what_gsm_has() -> None:
    kept = "Ho so 12/2025 (ban sao) #3: 100% + [a] {b} ~ ^ | \\ @ $ _ & * = < > ? !"
    assert texts.in_gsm(kept) == kept
    assert texts.in_gsm("Đường Tân Định – Q.1 ß `x`") == "Duong Tan Dinh - Q.1 x"

"""Which official an identity provider's claims name (service/auth/officials.py)."""

from __future__ import annotations

import threading
import time

import pytest

from service.auth.officials import NotAnOfficial, add_official, official_for_claims
from tests.conftest import DbFactory

EMAIL = "lan@phuongbenthanh.tphcm.gov.vn"


@pytest.mark.usefixtures("agencies")
@pytest.mark.parametrize(
    "unverified", [False, "false", "False", "FALSE", "0", "no", None, "absent"]
)
@pytest.mark.parametrize("verified", [True, "true", "TRUE"])
def test_only_an_address_the_provider_says_is_verified_binds_an_account(
    db: DbFactory, unverified: object, verified: object
) -> None:
    """Some providers send the boolean as a string: "false" was taken as verified, and
    "FALSE", "0" or no claim at all still were (audit): only an explicit yes binds."""
    with db() as session:
        add_official(session, "test", email=EMAIL, name="Lan", role="manager", agency_code="79.BTH")
    claims: dict[str, object] = {"sub": "u-1", "email": EMAIL, "email_verified": unverified}
    if unverified == "absent":
        del claims["email_verified"]
    with db() as session, pytest.raises(NotAnOfficial) as refused:
        official_for_claims(session, claims)
    assert refused.value.reason == "email_unverified"
    with db() as session:
        claims = {"sub": "u-1", "email": EMAIL, "email_verified": verified}
        assert official_for_claims(session, claims).email == EMAIL


@pytest.mark.usefixtures("agencies")
def test_a_bound_account_is_known_without_the_claim_and_a_provider_may_never_send_it(
    db: DbFactory,
) -> None:
    """Microsoft Entra ID sends no email_verified: an official bound already signs in by
    the account (review: refusing a claim left out locked every official out), and with
    HAILONG_OIDC_REQUIRE_EMAIL_VERIFIED=false the first sign-in binds without it. An
    address said to be unverified is refused either way."""
    with db() as session:
        add_official(session, "test", email=EMAIL, name="Lan", role="manager", agency_code="79.BTH")
        add_official(session, "test", email="an@x.vn", name="An", role="manager", agency_code=None)
    with db() as session:
        official_for_claims(session, {"sub": "u-1", "email": EMAIL, "email_verified": True})
    with db() as session:
        assert official_for_claims(session, {"sub": "u-1", "email": EMAIL}).email == EMAIL
    with db() as session, pytest.raises(NotAnOfficial):
        official_for_claims(session, {"sub": "u-1", "email": EMAIL, "email_verified": "no"})
    with db() as session:
        bound = official_for_claims(session, {"sub": "u-2", "email": "an@x.vn"}, False)
        assert bound.subject == "u-2"
    with db() as session, pytest.raises(NotAnOfficial):
        official_for_claims(
            session, {"sub": "u-2", "email": "an@x.vn", "email_verified": False}, False
        )


@pytest.mark.usefixtures("agencies")
def test_a_look_alike_letter_does_not_make_another_officials_address(db: DbFactory) -> None:
    """str.lower() folds KELVIN SIGN (U+212A) into "k": a provider account vouched for as
    "\u212aim@..." signed in as the official kim@..., and bound its subject to them (audit).
    Only ASCII letters are folded; an address in another case still finds its official."""
    with db() as session:
        add_official(session, "test", email="kim@x.vn", name="Kim", role="admin", agency_code=None)
    with db() as session, pytest.raises(NotAnOfficial):
        official_for_claims(
            session, {"sub": "other", "email": "\u212aim@x.vn", "email_verified": True}
        )
    with db() as session:
        claims = {"sub": "kim", "email": "Kim@X.vn", "email_verified": True}
        assert official_for_claims(session, claims).email == "kim@x.vn"


@pytest.mark.usefixtures("agencies")
@pytest.mark.parametrize(
    ("email", "subject", "reason"),
    [("lan\ud800@x.vn", "u-1", "no_email"), (EMAIL, "u-\ud800", "bad_subject")],
)
def test_half_a_character_in_a_claim_is_refused_not_a_500(
    db: DbFactory, email: str, subject: str, reason: str
) -> None:
    """JSON's "\\ud800" decodes to a lone surrogate, which no UTF-8 holds: the lookup (or
    the subject's write) failed at the database driver, a 500 on the callback (audit)."""
    with db() as session:
        add_official(session, "test", email=EMAIL, name="Lan", role="manager", agency_code="79.BTH")
    with db() as session, pytest.raises(NotAnOfficial) as refused:
        official_for_claims(session, {"sub": subject, "email": email, "email_verified": True})
    assert refused.value.reason == reason


@pytest.mark.usefixtures("agencies")
def test_two_accounts_with_one_address_signing_in_at_once_bind_only_the_first(
    db: DbFactory,
) -> None:
    """Two provider accounts with the same verified address signing in at the same instant
    both found the official unbound and were both let in; the later commit bound the row
    to its account (operations audit). The second waits for the first and is refused."""
    with db() as session:
        add_official(session, "test", email=EMAIL, name="Lan", role="manager", agency_code="79.BTH")
    claims = {"email": EMAIL, "email_verified": True}
    second: dict[str, object] = {}
    started = threading.Event()

    def sign_in_second() -> None:
        started.set()
        try:
            with db() as session:
                second["official"] = official_for_claims(session, {**claims, "sub": "u-2"})
        except Exception as exc:  # what it raised is the answer
            second["error"] = exc

    with db() as session:
        official_for_claims(session, {**claims, "sub": "u-1"})
        session.flush()
        thread = threading.Thread(target=sign_in_second)
        thread.start()
        started.wait(5)
        time.sleep(0.5)  # the second's read is under way, or waiting for this one
    thread.join(30)
    assert not thread.is_alive()
    error = second.get("error")
    assert isinstance(error, NotAnOfficial), second
    assert error.reason == "other_subject"
    with db() as session:
        assert official_for_claims(session, {**claims, "sub": "u-1"}).subject == "u-1"

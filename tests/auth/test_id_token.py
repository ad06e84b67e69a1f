"""The ID token check of the console's OpenID Connect sign-in (service/auth/oidc.py), with
tokens signed here by a key made for the test: a good token gives its claims; a token from
another issuer, for another client, for another sign-in (nonce), expired, without a
subject, signed by another key, unsigned or HMAC-signed, or not a token at all, is refused
as "id_token_invalid". And the pending sign-in that waits in the browser's cookie.
No servers, no database."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from service.auth import oidc
from service.auth.oidc import PendingSignIn, SignInFailed
from service.settings import Settings
from tests.conftest import make_settings

ISSUER, CLIENT_ID, NONCE, KID = "https://sso.example.vn", "hailong", "n-0123456789", "k1"
HEADER = {"alg": "RS256", "kid": KID}


@pytest.fixture(scope="module")
def settings() -> Settings:
    # Any URL: nothing here opens the database.
    return make_settings("sqlite:///unused.db", oidc_issuer=ISSUER, oidc_client_id=CLIENT_ID)


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": KID})


@pytest.fixture(scope="module")
def keys(key: RSAKey) -> dict[str, Any]:
    """The provider's published key set (jwks_uri): the public half only."""
    public = key.as_dict(private=False)
    assert "d" not in public and public["kid"] == KID
    return {"keys": [public]}


def claims(**changes: Any) -> dict[str, Any]:
    """A good ID token's claims; a change to None drops the claim."""
    now = int(time.time())
    good: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "u-lan",
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "email": "lan@phuongbenthanh.tphcm.gov.vn",
        "email_verified": True,
    }
    good.update(changes)
    return {name: value for name, value in good.items() if value is not None}


def sign(payload: dict[str, Any], key: RSAKey | OctKey, header: dict[str, Any] = HEADER) -> str:
    return jwt.encode(header, payload, key)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def refused(settings: Settings, token: str, keys: dict[str, Any], nonce: str = NONCE) -> str:
    with pytest.raises(SignInFailed) as caught:
        oidc.check_id_token(settings, token, keys, nonce, ISSUER)
    assert caught.value.reason == "id_token_invalid", caught.value
    return caught.value.detail


# --- the ID token ----------------------------------------------------------------------------


@pytest.mark.parametrize("published", [{}, {"keys": None}, {"keys": [{"kty": "nope"}]}])
def test_keys_the_provider_mangled_fail_the_sign_in_not_the_server(
    settings: Settings, key: RSAKey, published: dict[str, Any]
) -> None:
    with pytest.raises(SignInFailed) as caught:
        oidc.check_id_token(settings, sign(claims(), key), published, NONCE, ISSUER)
    assert caught.value.reason == "provider_misconfigured"


def test_a_good_token_gives_its_claims(
    settings: Settings, key: RSAKey, keys: dict[str, Any]
) -> None:
    payload = claims()
    assert oidc.check_id_token(settings, sign(payload, key), keys, NONCE, ISSUER) == payload


def test_an_audience_list_naming_the_client_is_accepted(
    settings: Settings, key: RSAKey, keys: dict[str, Any]
) -> None:
    payload = claims(aud=[CLIENT_ID])
    checked = oidc.check_id_token(settings, sign(payload, key), keys, NONCE, ISSUER)
    assert checked["aud"] == [CLIENT_ID]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"iss": "https://sso.other.vn"}, id="wrong-iss"),
        pytest.param({"iss": ISSUER + "/"}, id="iss-with-slash"),
        pytest.param({"iss": None}, id="missing-iss"),
        pytest.param({"aud": "another-client"}, id="wrong-aud"),
        pytest.param({"aud": ["another-client"]}, id="wrong-aud-list"),
        pytest.param({"aud": None}, id="missing-aud"),
        pytest.param({"aud": ["another-client", CLIENT_ID]}, id="also-for-another-audience"),
        pytest.param({"nonce": None}, id="missing-nonce"),
        pytest.param({"nonce": "n-of-another-sign-in"}, id="wrong-nonce"),
        pytest.param({"exp": int(time.time()) - 3600}, id="expired"),
        pytest.param({"exp": None}, id="missing-exp"),
        pytest.param({"exp": "tomorrow"}, id="exp-not-a-date"),
        pytest.param({"sub": None}, id="missing-sub"),
        pytest.param({"sub": 42}, id="sub-not-a-string"),
        pytest.param({"nbf": int(time.time()) + 3600}, id="not-yet-valid"),
    ],
)
def test_a_token_with_the_wrong_claims_is_refused(
    settings: Settings, key: RSAKey, keys: dict[str, Any], changes: dict[str, Any]
) -> None:
    refused(settings, sign(claims(**changes), key), keys)


def test_an_expired_token_is_refused_even_when_everything_else_is_right(
    settings: Settings, key: RSAKey, keys: dict[str, Any]
) -> None:
    now = int(time.time())
    detail = refused(settings, sign(claims(iat=now - 7200, exp=now - 3600), key), keys)
    assert "exp" in detail or "expired" in detail.lower()


def test_a_token_for_another_sign_in_is_refused(
    settings: Settings, key: RSAKey, keys: dict[str, Any]
) -> None:
    token = sign(claims(), key)
    refused(settings, token, keys, nonce="n-of-this-browser")
    refused(settings, token, keys, nonce="")


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(
    settings: Settings, keys: dict[str, Any]
) -> None:
    impostor = RSAKey.generate_key(2048, parameters={"kid": KID})
    refused(settings, sign(claims(), impostor), keys)


def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_refused(
    settings: Settings, keys: dict[str, Any]
) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    refused(settings, sign(claims(), stranger, {"alg": "RS256", "kid": "k2"}), keys)


def test_a_token_whose_payload_was_changed_after_signing_is_refused(
    settings: Settings, key: RSAKey, keys: dict[str, Any]
) -> None:
    header, _, signature = sign(claims(), key).split(".")
    forged = f"{header}.{b64(claims(sub='u-admin'))}.{signature}"
    refused(settings, forged, keys)


@pytest.mark.parametrize("header", [{"alg": "none"}, {"alg": "none", "kid": KID}])
def test_an_unsigned_token_is_refused(
    settings: Settings, keys: dict[str, Any], header: dict[str, Any]
) -> None:
    refused(settings, f"{b64(header)}.{b64(claims())}.", keys)


def test_an_hmac_token_is_refused(settings: Settings, key: RSAKey, keys: dict[str, Any]) -> None:
    # HS256 with a secret an attacker knows: the client's own id, or the provider's public
    # key (the classic confusion of a verifier that lets the token pick the algorithm).
    header = {"alg": "HS256", "kid": KID}
    for secret in (CLIENT_ID.encode() * 4, json.dumps(keys["keys"][0]).encode()):
        refused(settings, sign(claims(), OctKey.import_key(secret), header), keys)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "garbage",
        "a.b.c",
        "a.b.c.d.e",  # the shape of an encrypted token
        "eyJhbGciOiJSUzI1NiJ9..",
        "ééé.ééé.ééé",
    ],
)
def test_garbage_is_refused(settings: Settings, keys: dict[str, Any], garbage: str) -> None:
    refused(settings, garbage, keys)


# --- the pending sign-in ---------------------------------------------------------------------


def pending(expires: int) -> PendingSignIn:
    return PendingSignIn(state="s-1", nonce="n-1", verifier="v" * 64, expires=expires)


def test_a_pending_sign_in_survives_its_trip_through_the_cookie() -> None:
    waiting = pending(int(time.time()) + oidc.PENDING_SECONDS)
    value = waiting.encode()
    assert value.isascii() and ";" not in value and "," not in value and " " not in value
    assert PendingSignIn.decode(value) == waiting
    assert PendingSignIn.decode(value, now=waiting.expires - 1) == waiting


def test_a_pending_sign_in_expires() -> None:
    expires = int(time.time()) + 60
    value = pending(expires).encode()
    assert PendingSignIn.decode(value, now=expires) is None
    assert PendingSignIn.decode(value, now=expires + 3600) is None
    assert PendingSignIn.decode(pending(int(time.time()) - 1).encode()) is None


def raw(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("garbage", id="not-base64"),
        pytest.param("!!!!", id="not-base64-alphabet"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(), id="not-utf8"),
        pytest.param(base64.urlsafe_b64encode(b"{not json").decode(), id="not-json"),
        pytest.param(raw([1, 2, 3]), id="a-list"),
        pytest.param(raw("text"), id="a-string"),
        pytest.param(raw(None), id="null"),
        pytest.param(raw({"state": "s", "nonce": "n"}), id="missing-fields"),
        pytest.param(
            raw({"state": "s", "nonce": "n", "verifier": "v", "expires": 2**40, "x": 1}),
            id="unknown-field",
        ),
        pytest.param(
            raw({"state": "s", "nonce": "n", "verifier": "v", "expires": "9999999999"}),
            id="expires-a-string",
        ),
        pytest.param(
            raw({"state": "s", "nonce": "n", "verifier": "v", "expires": 9999999999.5}),
            id="expires-a-float",
        ),
    ],
)
def test_garbage_is_no_pending_sign_in(value: str) -> None:
    assert PendingSignIn.decode(value) is None

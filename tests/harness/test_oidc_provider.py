"""The OpenID Connect provider harness against the real oidc-provider, with plain httpx (no
hailong code): discovery, the authorization code flow with PKCE S256 and client_secret_basic,
the ID token's claims, and the refusals (no code_challenge, a wrong code_verifier, an unknown
login).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.harness.oidc_provider import OidcProvider, sign_in

pytestmark = pytest.mark.servers

CLIENT_ID = "hailong-test"
CLIENT_SECRET = secrets.token_urlsafe(32)
REDIRECT_URI = "http://127.0.0.1:9/auth/oidc/callback"  # never requested
POST_LOGOUT_URI = "http://127.0.0.1:9/"
LAN = {
    "sub": "u-lan",
    "email": "lan@tphcm.gov.vn",
    "email_verified": True,
    "name": "Nguyễn Thị Lan",
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    with OidcProvider(
        CLIENT_ID,
        CLIENT_SECRET,
        REDIRECT_URI,
        {"lan": LAN},
        post_logout_uri=POST_LOGOUT_URI,
        log_dir=tmp_path_factory.mktemp("oidc"),
    ) as running:
        yield running


def pkce_pair() -> tuple[str, str]:
    """A code_verifier and its S256 code_challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(provider: OidcProvider, **params: str) -> str:
    endpoint = provider.discovery()["authorization_endpoint"]
    assert isinstance(endpoint, str)
    query = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "scope": "openid email profile",
        "redirect_uri": REDIRECT_URI,
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        **params,
    }
    return f"{endpoint}?{urlencode(query)}"


def jwt_part(token: str, index: int) -> dict[str, object]:
    part = token.split(".")[index]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def redeem(provider: OidcProvider, code: str, verifier: str) -> httpx.Response:
    token_endpoint = provider.discovery()["token_endpoint"]
    assert isinstance(token_endpoint, str)
    return httpx.post(
        token_endpoint,
        auth=(CLIENT_ID, CLIENT_SECRET),  # client_secret_basic
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
    )


def test_discovery(provider: OidcProvider) -> None:
    discovery = provider.discovery()
    assert discovery["issuer"] == provider.issuer
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert discovery["response_types_supported"] == ["code"]
    assert "client_secret_basic" in str(discovery["token_endpoint_auth_methods_supported"])
    for endpoint in ("end_session_endpoint", "revocation_endpoint", "userinfo_endpoint"):
        assert str(discovery[endpoint]).startswith(provider.issuer)
    keys = httpx.get(str(discovery["jwks_uri"])).json()["keys"]
    assert [(key["kty"], key["alg"], key["use"]) for key in keys] == [("RSA", "RS256", "sig")]
    assert all("d" not in key for key in keys)  # the public half only


def test_code_flow_with_pkce(provider: OidcProvider) -> None:
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    url = authorize_url(
        provider, state=state, nonce=nonce, code_challenge=challenge, code_challenge_method="S256"
    )
    with httpx.Client() as browser:
        location = sign_in(browser, url, "lan")

    assert location.startswith(f"{REDIRECT_URI}?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    assert query["iss"] == [provider.issuer]

    token = redeem(provider, query["code"][0], verifier)
    assert token.status_code == 200, token.text
    tokens = token.json()
    header, claims = jwt_part(tokens["id_token"], 0), jwt_part(tokens["id_token"], 1)
    jwks = httpx.get(str(provider.discovery()["jwks_uri"])).json()
    assert header["alg"] == "RS256"
    assert header["kid"] in [key["kid"] for key in jwks["keys"]]
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == CLIENT_ID
    assert claims["sub"] == "u-lan"
    assert claims["email"] == "lan@tphcm.gov.vn"
    assert claims["email_verified"] is True
    assert claims["name"] == "Nguyễn Thị Lan"
    assert claims["nonce"] == nonce

    userinfo = httpx.get(
        str(provider.discovery()["userinfo_endpoint"]),
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["email"] == "lan@tphcm.gov.vn"

    # A code is good once.
    again = redeem(provider, query["code"][0], verifier)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_wrong_code_verifier_is_refused(provider: OidcProvider) -> None:
    _, challenge = pkce_pair()
    url = authorize_url(provider, code_challenge=challenge, code_challenge_method="S256")
    with httpx.Client() as browser:
        location = sign_in(browser, url, "lan")
    code = parse_qs(urlsplit(location).query)["code"][0]
    token = redeem(provider, code, pkce_pair()[0])
    assert (token.status_code, token.json()["error"]) == (400, "invalid_grant")


def test_authorization_without_pkce_is_refused(provider: OidcProvider) -> None:
    url = authorize_url(provider)  # no code_challenge
    with httpx.Client() as browser:
        response = browser.get(url, follow_redirects=False)
        assert response.is_redirect
        location = response.headers["location"]
        assert location.startswith(f"{REDIRECT_URI}?")
        query = parse_qs(urlsplit(location).query)
        assert query["error"] == ["invalid_request"]
        assert "PKCE" in query["error_description"][0]
        assert "code" not in query

        with pytest.raises(AssertionError, match="invalid_request"):
            sign_in(browser, url, "lan")


def test_unknown_login_fails(provider: OidcProvider) -> None:
    _, challenge = pkce_pair()
    url = authorize_url(provider, code_challenge=challenge, code_challenge_method="S256")
    with httpx.Client() as browser, pytest.raises(AssertionError, match="Unknown login: minh"):
        sign_in(browser, url, "minh")


def test_second_sign_in_needs_a_fresh_client(provider: OidcProvider) -> None:
    """The provider remembers a signed-in user by cookie: `sign_in` with the same client then
    sees no login form, and says so rather than signing in as whoever is remembered."""
    _, challenge = pkce_pair()
    url = authorize_url(provider, code_challenge=challenge, code_challenge_method="S256")
    with httpx.Client() as browser:
        sign_in(browser, url, "lan")
        with pytest.raises(AssertionError, match="asked for no login"):
            sign_in(browser, url, "lan")

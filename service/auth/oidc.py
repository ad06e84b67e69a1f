"""Officials' sign-in with the province's OpenID Connect provider.

The authorization code flow with PKCE (S256): `begin` sends the browser to the provider
with a fresh state, nonce and code verifier, which wait in a signed cookie
(`PendingSignIn`); `finish` exchanges the code (with the verifier and the client's secret)
and checks the ID token — signature against the provider's published keys, issuer,
audience, expiry, nonce — and returns its claims. Authlib builds the authorization request
and the PKCE challenge, httpx (the service's one HTTP client) carries the requests, and
joserfc (Authlib's JOSE library) checks the token. Discovery and keys are fetched on every
sign-in: sign-ins are rare, and a provider's rotated key is then never missed.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from service.auth.compare import same_secret
from service.outbound_tls import tls_context
from service.settings import Settings

CALLBACK_PATH = "/console/sign-in/oidc/callback"
PENDING_SECONDS = 600  # from leaving for the provider to coming back
# An ID token's iat, exp and nbf are judged with this much difference between the
# provider's clock and ours: with none, a provider 2 s ahead ("issued in the future")
# signed no one in, and each try was audited as a forged answer (operations audit). The
# provider itself (oidc-provider) allows 15 s.
CLOCK_LEEWAY_SECONDS = 60
# The token endpoint's errors that are about hailong's client, not the answer it carried
# (RFC 6749 5.2).
CLIENT_REFUSED = ("invalid_client", "unauthorized_client")
HTTP_TIMEOUT_SECONDS = 10.0
# What the provider may sign ID tokens with (never "none", never an HMAC with our secret).
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


class SignInFailed(Exception):
    """The provider refused, or answered something we cannot trust: `reason` says which."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class PendingSignIn:
    """What waits in the browser's cookie while the official is at the provider; its first
    answer spends it on the server (sessions.spend_pending_sign_in)."""

    state: str
    nonce: str
    verifier: str
    expires: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(json.dumps(asdict(self)).encode()).decode()

    @classmethod
    def decode(cls, value: str, now: float | None = None) -> PendingSignIn | None:
        try:
            fields = json.loads(base64.urlsafe_b64decode(value.encode()))
            pending = cls(**fields)
        except (ValueError, TypeError):
            return None
        if not isinstance(pending.expires, int):
            return None
        return pending if pending.expires > (now if now is not None else time.time()) else None


def redirect_uri(settings: Settings) -> str:
    return settings.base_url + CALLBACK_PATH


async def _send(
    http: httpx.AsyncClient, method: str, url: str, reason: str, what: str, **options: Any
) -> httpx.Response:
    """The provider's answer at `url`, or SignInFailed(`reason`). Every request to the
    provider goes through here: an address from its discovery document that httpx cannot
    parse ("http://127.0.0.1:token/token") raises httpx.InvalidURL, neither an HTTPError
    nor a ValueError, and was a 500 at the callback (audit)."""
    try:
        return await http.request(method, url, **options)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise SignInFailed(reason, f"{what} at {url}: {type(exc).__name__}: {exc}") from None


async def _get_json(http: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
    response = await _send(http, "GET", url, "provider_unreachable", what)
    try:
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInFailed("provider_unreachable", f"{what} at {url}: {exc}") from None
    if not isinstance(document, dict):
        raise SignInFailed("provider_unreachable", f"{what} at {url} is not a JSON object")
    return document


async def _metadata(http: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    issuer = settings.oidc_issuer or ""
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    metadata = await _get_json(http, url, "the provider's configuration")
    missing = [name for name in ENDPOINTS if not isinstance(metadata.get(name), str)]
    if missing:
        raise SignInFailed(
            "provider_misconfigured", f"the provider's configuration lacks {', '.join(missing)}"
        )
    # OpenID Connect Discovery 4.3: the issuer must be the one asked. A trailing "/" more or
    # less in the setting is forgiven (one was stripped before); the ID token's `iss` is
    # then checked against the provider's own spelling.
    named = metadata.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        raise SignInFailed(
            "provider_misconfigured",
            f"the provider calls itself '{metadata.get('issuer')}', "
            f"not HAILONG_OIDC_ISSUER '{settings.oidc_issuer}'",
        )
    return metadata


async def begin(settings: Settings) -> tuple[str, PendingSignIn]:
    """The provider's authorization URL to send the browser to, and what to remember."""
    pending = PendingSignIn(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),  # 64 characters: within RFC 7636's 43..128
        expires=int(time.time()) + PENDING_SECONDS,
    )
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, verify=tls_context()) as http:
        metadata = await _metadata(http, settings)
    url: str = prepare_grant_uri(
        metadata["authorization_endpoint"],
        client_id=settings.oidc_client_id,
        response_type="code",
        redirect_uri=redirect_uri(settings),
        scope=settings.oidc_scopes,
        state=pending.state,
        nonce=pending.nonce,
        code_challenge=create_s256_code_challenge(pending.verifier),
        code_challenge_method="S256",
        # The provider asks who is signing in every time: the console is used on counter
        # PCs several people share, and its sign-out ends hailong's session, not the
        # provider's. Without it, the next person pressing "Đăng nhập bằng ..." came back
        # signed in as the official who had just signed out (console audit).
        prompt="login",
    )
    return url, pending


def check_state(pending: PendingSignIn, params: dict[str, str]) -> None:
    """SignInFailed("state_mismatch") unless the provider's answer `params` carries the
    state of this browser's sign-in (an error answer too: RFC 6749 4.1.2.1 returns it)."""
    if not same_secret(params.get("state", ""), pending.state):
        raise SignInFailed("state_mismatch", "the answer is not for this browser's sign-in")


async def finish(
    settings: Settings, pending: PendingSignIn, params: dict[str, str]
) -> dict[str, Any]:
    """The ID token's claims for the provider's answer `params` (the callback's query)."""
    check_state(pending, params)
    if "error" in params:
        raise SignInFailed(
            "provider_refused", f"{params['error']}: {params.get('error_description', '')}"
        )
    if not params.get("code"):
        raise SignInFailed("no_code", "the provider's answer carries no code")
    form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": redirect_uri(settings),
        "code_verifier": pending.verifier,
    }
    secret = settings.oidc_client_secret
    auth = None
    if secret is None:  # a public client: PKCE alone
        form["client_id"] = settings.oidc_client_id or ""
    else:  # client_secret_basic (RFC 6749 2.3.1: both parts form-encoded first)
        auth = httpx.BasicAuth(
            quote_plus(settings.oidc_client_id or ""), quote_plus(secret.get_secret_value())
        )
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, verify=tls_context()) as http:
        metadata = await _metadata(http, settings)
        url = metadata["token_endpoint"]
        options: dict[str, Any] = {"data": form} | ({"auth": auth} if auth else {})
        # Not reached, or failing on its side (5xx): an outage, not a refused answer. Taken
        # for "token_refused", every official coming back during it was audited as a
        # forged sign-in and counted a wrong guess, until the office's address was
        # throttled out of the console (operations audit).
        answer = await _send(
            http, "POST", url, "provider_unreachable", "the token endpoint", **options
        )
        if answer.status_code >= 500:
            raise SignInFailed(
                "provider_unreachable", f"the token endpoint: HTTP {answer.status_code}"
            )
        try:
            token = answer.json()
        except ValueError as exc:
            if answer.status_code == 401:  # a gateway's bare 401 for the client (review)
                token = None
            else:
                raise SignInFailed("token_refused", f"{type(exc).__name__}: {exc}") from None
        if answer.status_code != 200 or not isinstance(token, dict):
            error = token.get("error") if isinstance(token, dict) else None
            # A 401 names the client unless it says another error (invalid_grant: the
            # code, a browser's to send; RFC 6749 5.2 gives that a 400 anyway).
            if error in CLIENT_REFUSED or (answer.status_code == 401 and error is None):
                # hailong's own client refused (its secret expired or rotated, as
                # Entra ID's are): no browser can cause it, and taken for a refused token
                # it audited every official as a forger and throttled the office (review).
                raise SignInFailed(
                    "provider_misconfigured",
                    f"the token endpoint refused this client: HTTP {answer.status_code} "
                    f"{error or ''}; check HAILONG_OIDC_CLIENT_ID and HAILONG_OIDC_CLIENT_SECRET",
                )
            raise SignInFailed("token_refused", f"HTTP {answer.status_code} {error or ''}")
        keys = await _get_json(http, metadata["jwks_uri"], "the provider's keys")
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SignInFailed("no_id_token", "the token answer carries no ID token")
    return check_id_token(settings, id_token, keys, pending.nonce, metadata["issuer"])


def check_id_token(
    settings: Settings, id_token: str, keys: dict[str, Any], nonce: str, issuer: str
) -> dict[str, Any]:
    """The token's claims, once signed by one of `keys` and issued by `issuer` (the
    provider's spelling of itself) for this client and sign-in."""
    try:
        key_set = KeySet.import_key_set(keys)  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise SignInFailed("provider_misconfigured", f"unusable keys: {exc!r}") from None
    try:
        decoded = jwt.decode(id_token, key_set, algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": settings.oidc_client_id or ""},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise SignInFailed("id_token_invalid", f"{type(exc).__name__}: {exc}") from None
    # OpenID Connect Core 3.1.3.7: refuse a token also meant for audiences we do not trust.
    audiences = decoded.claims["aud"]
    if isinstance(audiences, list) and set(audiences) != {settings.oidc_client_id}:
        raise SignInFailed("id_token_invalid", f"the token is also for {audiences}")
    return dict(decoded.claims)

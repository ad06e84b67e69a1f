"""CSRF: every console form carries a token derived from its session; every POST checks it.

The token is HMAC(signing key, session id): nothing to store, different for every session,
and useless to another site, which can neither read it nor (SameSite=Strict) send our cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from service.auth.compare import same_secret
from service.errors import Forbidden

FIELD = "csrf"


class CsrfRejected(Forbidden):
    code = "csrf_rejected"


def token_for(signing_key: bytes, sid: str) -> str:
    digest = hmac.new(signing_key, b"console-csrf:" + sid.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check(signing_key: bytes, sid: str | None, sent: str | None) -> None:
    expected = token_for(signing_key, sid) if sid else ""
    if not expected or not sent or not same_secret(sent, expected):
        raise CsrfRejected(
            "This form is out of date or did not come from the console. Open the page again "
            "and send it from there."
        )

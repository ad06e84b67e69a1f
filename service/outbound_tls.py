"""The TLS context of every outgoing HTTPS call (webhooks, SMS/Zalo providers, the OpenID
provider), built once per process.

Why: httpx builds a new context, loading the whole CA bundle (~30 ms of CPU), for every
client it creates, and messaging and sign-in create a client per call. A context is safe to
share between threads and connections once built.
"""

from __future__ import annotations

import ssl
from functools import lru_cache

import httpx


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """httpx's own default (certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR when set)."""
    return httpx.create_ssl_context()

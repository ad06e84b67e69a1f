"""Webhook signing secrets: shown once, kept encrypted so the worker can still sign."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet

from service.settings import Settings

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    # Standard Webhooks secrets are base64 of 24-64 random bytes, prefixed whsec_.
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _fernet(settings: Settings) -> Fernet:
    if settings.webhook_encryption_key is not None:
        material = settings.webhook_encryption_key.get_secret_value().encode()
    else:
        material = b"webhook-secrets:" + settings.signing_key()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material).digest()))


def encrypt(settings: Settings, secret: str) -> str:
    return _fernet(settings).encrypt(secret.encode()).decode()


def decrypt(settings: Settings, token: str) -> str:
    return _fernet(settings).decrypt(token.encode()).decode()

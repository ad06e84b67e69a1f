"""The imports' tests: a webhook receiver on 127.0.0.1 (a rebuild announces its changes)."""

from tests.webhooks.conftest import receiver  # noqa: F401

"""Outgoing HTTPS shares one TLS context per process, and it still checks certificates."""

from __future__ import annotations

import ssl

from service.outbound_tls import tls_context


def test_one_context_that_verifies_certificates_and_host_names() -> None:
    context = tls_context()
    assert context is tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded

"""STARTTLS against a real SMTP server (aiosmtpd) that requires it, with a self-signed
certificate made here: the mail goes out when the certificate is trusted (SSL_CERT_FILE,
as for every outgoing TLS connection, service/outbound_tls.py), and is refused, never
sent in the clear or to an unverified server, when it is not (found by an audit: the
upgrade failed every time, and the certificate was never checked)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from sqlmodel import select

from service.messaging.channels.base import SendFailed
from service.messaging.channels.email import EmailChannel
from service.models import OutgoingMessageRow
from service.outbound_tls import tls_context
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, free_port, handover_body, make_settings
from tests.messaging.conftest import Mailbox, Worker, local
from tests.messaging.test_sms_zalo_channels import MESSAGE

pytestmark = pytest.mark.usefixtures("agencies")
MAIL = dataclasses.replace(MESSAGE, channel="email", recipient="dan@example.vn", subject="Mời")


@dataclasses.dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


def self_signed(folder: Path, name: str, *, ip: str | None) -> Certificate:
    """A certificate for `name` (and `ip`), signed by its own key: no CA trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    names: list[x509.GeneralName] = [x509.DNSName(name)]
    if ip is not None:
        names.append(x509.IPAddress(ipaddress.ip_address(ip)))
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    made = Certificate(folder / f"{name}.pem", folder / f"{name}.key")
    made.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    made.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return made


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    """The server's certificate, for 127.0.0.1 (where the test connects)."""
    return self_signed(tmp_path, "localhost", ip="127.0.0.1")


@pytest.fixture
def tls_reset(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No CA trusted beyond the default bundle, and the process's TLS context (built once)
    built again after the test: a CA trusted here must not outlive it."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    tls_context.cache_clear()
    try:
        yield monkeypatch
    finally:
        tls_context.cache_clear()


def trust(monkeypatch: pytest.MonkeyPatch, certificate: Certificate) -> None:
    """What the operator does for a server with a CA of its own (README)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    tls_context.cache_clear()


def starttls_server(certificate: Certificate, mailbox: Mailbox) -> Controller:
    """A server that refuses MAIL before STARTTLS."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert, certificate.key)
    return Controller(
        mailbox, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True
    )


@pytest.fixture
def tls_mailbox(certificate: Certificate) -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    controller = starttls_server(certificate, mailbox)
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def settings(database_url: str, tls_mailbox: tuple[Mailbox, int]) -> Settings:
    return make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=tls_mailbox[1],
        smtp_starttls=True,
        smtp_from="hailong@phuong.gov.vn",
    )


def test_an_invitation_goes_over_starttls_to_a_server_whose_ca_is_trusted(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    db: DbFactory,
    tls_mailbox: tuple[Mailbox, int],
    certificate: Certificate,
    tls_reset: pytest.MonkeyPatch,
) -> None:
    trust(tls_reset, certificate)
    body = handover_body(contact={"email": "dan@example.vn", "consent": True})
    assert client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).is_success
    Worker(engine, settings).run(local(1, 10))
    mailbox, _ = tls_mailbox
    assert [m["To"] for m in mailbox.received] == ["dan@example.vn"]
    with db() as session:
        row = session.exec(select(OutgoingMessageRow)).one()
    assert (row.status, row.reason) == ("sent", None)


def test_a_server_whose_certificate_cannot_be_verified_gets_no_mail(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    db: DbFactory,
    tls_mailbox: tuple[Mailbox, int],
    tls_reset: pytest.MonkeyPatch,
) -> None:
    """A self-signed certificate nobody said to trust: what a man in the middle shows."""
    body = handover_body(contact={"email": "dan@example.vn", "consent": True})
    assert client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).is_success
    Worker(engine, settings).run(local(1, 10))
    mailbox, _ = tls_mailbox
    assert mailbox.received == []
    with db() as session:
        row = session.exec(select(OutgoingMessageRow)).one()
    # Waits for the operator to trust the server's CA (or fix the server), with a reason
    # that says so; not an adapter's bug.
    assert row.status == "pending" and row.attempts == 1
    assert row.reason is not None and "certificate" in row.reason, row.reason
    assert "SSL_CERT_FILE" in row.reason


def test_a_trusted_certificate_for_another_host_is_refused(
    tmp_path: Path, tls_mailbox: tuple[Mailbox, int], tls_reset: pytest.MonkeyPatch
) -> None:
    """The name is checked too: a certificate of another server, even from a trusted CA,
    is not the mail server's."""
    trust(tls_reset, self_signed(tmp_path, "mail.example.vn", ip=None))
    mailbox, port = tls_mailbox
    channel = EmailChannel("127.0.0.1", port, sender="hailong@phuong.gov.vn", starttls=True)
    with pytest.raises(SendFailed) as failed:
        channel.send(MAIL)
    assert "certificate" in failed.value.reason and failed.value.retry
    assert mailbox.received == []


def test_the_channel_sends_over_starttls_when_trusted(
    certificate: Certificate, tls_mailbox: tuple[Mailbox, int], tls_reset: pytest.MonkeyPatch
) -> None:
    trust(tls_reset, certificate)
    mailbox, port = tls_mailbox
    channel = EmailChannel("127.0.0.1", port, sender="hailong@phuong.gov.vn", starttls=True)
    sent = channel.send(MAIL)
    assert [m["Message-ID"] for m in mailbox.received] == [sent.provider_id]

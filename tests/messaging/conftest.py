"""Invitations by message against a real SMTP server (aiosmtpd) on 127.0.0.1, with the
app's settings pointing at it. The worker is driven by hand, with `now` moved forward."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from service.calendar.working_days import LOCAL_TZ
from service.messaging import sending
from service.messaging.channels.registry import configured_channels
from service.models import utcnow
from service.settings import Settings
from tests.conftest import free_port, make_settings

LINK = re.compile(r"http://testserver/m/[A-Z0-9]+")
OPT_OUT = re.compile(r"http://testserver/u/[A-Za-z0-9_-]+")


@dataclass
class Mailbox:
    """What the SMTP server received; `refuse` queues RCPT answers ("451 ...", "550 ..."),
    `quit` is the answer to QUIT."""

    received: list[EmailMessage] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)
    quit: str = "221 Bye"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse:
            return self.refuse.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 Message accepted"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return self.quit

    def texts(self) -> list[str]:
        bodies = []
        for message in self.received:
            part = message.get_body(("plain",))
            assert part is not None
            bodies.append(part.get_content())
        return bodies

    def links(self, index: int = -1) -> tuple[str, str]:
        text = self.texts()[index]
        link, opt_out = LINK.search(text), OPT_OUT.search(text)
        assert link is not None and opt_out is not None, text
        return link.group(0), opt_out.group(0)


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port, mailbox)
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: SmtpServer) -> Mailbox:
    smtp_server.mailbox.received.clear()
    smtp_server.mailbox.refuse.clear()
    smtp_server.mailbox.quit = "221 Bye"
    return smtp_server.mailbox


@pytest.fixture
def settings(database_url: str, smtp_server: SmtpServer) -> Settings:
    return make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_from="hailong@phuong.gov.vn",
    )


def local(days: int, hour: int, minute: int = 0) -> datetime:
    """`days` after today, at this Vietnam time (days >= 1: later than any row's now)."""
    day = utcnow().astimezone(LOCAL_TZ).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), LOCAL_TZ)


class Worker:
    def __init__(self, engine: sa.Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.channels = configured_channels(settings)

    def run(self, now: datetime) -> int:
        return sending.run_round(self.engine, self.settings, self.channels, now)


@pytest.fixture
def worker(engine: sa.Engine, settings: Settings) -> Worker:
    return Worker(engine, settings)

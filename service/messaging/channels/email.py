"""E-mail through an SMTP server (the standard library's smtplib): a Vietnamese plain-text
body with an HTML alternative. SMTP 4xx answers and connection problems are worth another
try later; 5xx answers are final."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import threading
from email.message import EmailMessage
from email.utils import formatdate

from service.messaging.channels.base import ChannelName, OutgoingMessage, SendFailed, Sent

TIMEOUT_SECONDS = 30.0


class EmailChannel:
    name: ChannelName = "email"

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls = username, password, starttls
        self.timeout = timeout

    def message_id(self, message: OutgoingMessage) -> str:
        """The same for every attempt at one message: a receiver can drop a duplicate."""
        domain = self.sender.rsplit("@", 1)[-1]
        return f"<hailong.{message.kind}.{message.message_id}@{domain}>"

    def build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        # One line: an agency name with a line break made every e-mail of the agency fail
        # here (the header refuses it) and be retried for a day as an adapter's bug.
        email["Subject"] = " ".join(message.subject.split())
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = self.message_id(message)
        # One-click unsubscribe for mail clients that offer it (RFC 8058). Alerts to
        # officials (service/alerts) have none: an official's role decides them.
        if message.opt_out_link:
            email["List-Unsubscribe"] = f"<{message.opt_out_link}>"
            # RFC 8058: the client POSTs this body to the link (POST /u/... records it).
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email["Auto-Submitted"] = "auto-generated"
        email.set_content(message.text)
        email.add_alternative(_html(message), subtype="html")
        return email

    def send(self, message: OutgoingMessage) -> Sent:
        email = self.build(message)
        # smtplib's timeout bounds each socket operation, not the conversation: a server
        # that answers a byte at a time held the message thread past the row's lease, and
        # the mail went again from the next claim. At the timeout the connection is cut.
        smtp = smtplib.SMTP(timeout=self.timeout)
        cut = threading.Event()
        watchdog = threading.Timer(self.timeout, _cut_off, (smtp, cut))
        watchdog.daemon = True
        watchdog.start()
        try:
            with smtp:
                smtp.connect(self.host, self.port)
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _failed(code, reply) from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth...
            raise _failed(exc.smtp_code, exc.smtp_error) from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            if cut.is_set():
                raise SendFailed(
                    f"smtp: the server did not finish within {self.timeout:g} s", retry=True
                ) from exc
            raise SendFailed(f"smtp: {type(exc).__name__}: {exc}"[:255], retry=True) from exc
        finally:
            watchdog.cancel()
        if refused:  # only with several recipients; hailong sends to one
            code, reply = next(iter(refused.values()))
            raise _failed(code, reply)
        return Sent(provider_id=self.message_id(message))


def _cut_off(smtp: smtplib.SMTP, cut: threading.Event) -> None:
    """Wake the conversation's blocked read: it fails as a closed connection."""
    cut.set()
    if smtp.sock is not None:
        with contextlib.suppress(OSError):
            smtp.sock.shutdown(socket.SHUT_RDWR)


def _failed(code: int, reply: bytes | str) -> SendFailed:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    # 4xx: a passing condition (greylisting, a full mailbox queue); 5xx: final.
    return SendFailed(f"smtp {code}: {text}"[:255], retry=400 <= code < 500)


def _html(message: OutgoingMessage) -> str:
    from html import escape

    body = "".join(
        "<p>" + escape(part).replace("\n", "<br>") + "</p>"
        for part in message.text.split("\n\n")
        if part.strip()
    )
    for url in (message.link, message.opt_out_link):
        if not url:
            continue
        shown = escape(url)
        body = body.replace(shown, f'<a href="{escape(url, quote=True)}">{shown}</a>', 1)
    head = f'<!doctype html><html lang="{message.language}"><meta charset="utf-8">'
    return f"{head}<body>{body}</body></html>"

"""E-mail through an SMTP server (the standard library's smtplib): a Vietnamese plain-text
body with an HTML alternative. SMTP 4xx answers and connection problems are worth another
try later; 5xx answers are final.

With STARTTLS the server's certificate is verified, against the CAs every outgoing TLS
connection trusts (service/outbound_tls.py: certifi's bundle, or SSL_CERT_FILE /
SSL_CERT_DIR): a server with a certificate of its own CA is trusted by adding that CA."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from service.messaging.channels.base import ChannelName, OutgoingMessage, SendFailed, Sent
from service.outbound_tls import tls_context
from service.text_clean import one_line

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
        """The same for every attempt at one message: a receiver can drop a duplicate. A
        new link (a survey issued again) is a new message: a mail service dropped it as a
        copy of the first (audit)."""
        # The address of a named sender ("Một cửa <noreply@x.vn>"): its tail was "x.vn>".
        domain = parseaddr(self.sender)[1].rsplit("@", 1)[-1]
        return f"<hailong.{message.kind}.{message.send_key}@{domain}>"

    def build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        # One line: an agency name with a line break made every e-mail of the agency fail
        # here (the header refuses it) and be retried for a day as an adapter's bug.
        _set_subject(email, one_line(message.subject))
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
        # starttls() checks the certificate against the host the constructor was given;
        # connect() below does not record it, and an empty name failed every upgrade
        # (audit). Connecting in the constructor would leave the greeting to no watchdog.
        smtp._host = self.host  # type: ignore[attr-defined]
        cut = threading.Event()
        watchdog = threading.Timer(self.timeout, _cut_off, (smtp, cut))
        watchdog.daemon = True
        watchdog.start()
        try:
            smtp.connect(self.host, self.port)
            if self.starttls:
                smtp.starttls(context=tls_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            # The envelope names the recipient given, not what the To header decodes
            # to: an encoded word in it was read as another address (audit).
            refused = smtp.send_message(
                email, from_addr=parseaddr(self.sender)[1], to_addrs=[message.recipient]
            )
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _failed(code, reply) from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth...
            raise _failed(exc.smtp_code, exc.smtp_error) from exc
        except ssl.SSLError as exc:  # an OSError, but no connection problem
            if cut.is_set():
                raise _too_slow(self.timeout) from exc
            raise _tls_failed(exc) from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            if cut.is_set():
                raise _too_slow(self.timeout) from exc
            raise SendFailed(f"smtp: {type(exc).__name__}: {exc}"[:255], retry=True) from exc
        finally:
            _hang_up(smtp)
            watchdog.cancel()
        if refused:  # only with several recipients; hailong sends to one
            code, reply = next(iter(refused.values()))
            raise _failed(code, reply)
        return Sent(provider_id=self.message_id(message))


def _hang_up(smtp: smtplib.SMTP) -> None:
    """QUIT, whatever the server answers. Once it accepted the message (250 after DATA),
    the message is sent: `with smtp:` raised an odd QUIT reply as the message's refusal, and
    a 421 sent the citizen copies, a "250 Bye" marked a delivered mail failed (audit)."""
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    smtp.close()


def _cut_off(smtp: smtplib.SMTP, cut: threading.Event) -> None:
    """Wake the conversation's blocked read: it fails as a closed connection."""
    cut.set()
    if smtp.sock is not None:
        with contextlib.suppress(OSError):
            smtp.sock.shutdown(socket.SHUT_RDWR)


def _too_slow(timeout: float) -> SendFailed:
    return SendFailed(f"smtp: the server did not finish within {timeout:g} s", retry=True)


def _tls_failed(exc: ssl.SSLError) -> SendFailed:
    """Nothing was sent: the server is not the one it claims to be, or speaks no TLS we
    accept. Worth another try: the operator can trust its CA or fix its certificate
    before the messages give up."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = (exc.verify_message or str(exc))[:100]
        reason = (
            f"smtp: the server's TLS certificate could not be verified ({why}); "
            "if it is signed by a CA of your own, add the CA to SSL_CERT_FILE"
        )
        return SendFailed(reason[:255], retry=True)
    return SendFailed(f"smtp: TLS failed: {exc}"[:255], retry=True)


def _set_subject(email: EmailMessage, subject: str) -> None:
    """The Subject exactly as written. The standard library's folding of a long
    non-ASCII Subject put the space before the next encoded word outside it, where a
    reader drops it ("sự hài lòng– UBND ...", audit); encoded as whole encoded words, split
    inside the text, every space is kept."""
    if subject.isascii():
        email["Subject"] = subject
        return
    email.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())


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

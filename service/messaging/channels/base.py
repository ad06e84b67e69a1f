"""What every channel adapter implements: one message in, a provider id out, or a failure
that says whether trying again later can help.

A province adds its own SMS provider in one file: a class with `name` and `send`, built
from the settings in `service/messaging/channels/registry.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

ChannelName = Literal["email", "sms", "zalo"]
MessageKind = Literal["invitation", "reminder", "alert"]  # alert: to officials (service/alerts)


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: int  # hailong's id of this message (its outbox row)
    channel: ChannelName
    kind: MessageKind
    # E-mail: the address. SMS and Zalo: the phone in international form without "+"
    # ("84912345678"), as Vietnamese providers expect.
    recipient: str
    subject: str  # e-mail only
    text: str  # the whole message text (SMS: what is sent; e-mail: the plain-text body)
    link: str  # the survey's short link
    opt_out_link: str  # "Từ chối nhận tin": never message this contact again
    agency_name: str
    dossier_code: str
    language: str  # "vi" or "en"
    # Which link the message carries, in a few characters that tell nothing of it: a survey
    # issued again after a revoke sends its rows again, with a new link. Empty: no link to
    # tell apart (an alert to officials).
    link_key: str = ""

    @property
    def send_key(self) -> str:
        """The idempotency key where a provider takes one (eSMS's RequestId, Zalo's
        tracking_id, the e-mail's Message-ID): the same on every attempt at one message, so
        that a provider drops a copy of what it took, and another for a new link, which is
        a new message (audit: eSMS answered "duplicate" to the reissued link, which never
        left it)."""
        return f"{self.message_id}.{self.link_key}" if self.link_key else str(self.message_id)


@dataclass(frozen=True)
class Sent:
    provider_id: str | None  # the provider's message id, when it gives one


class SendFailed(Exception):
    """The provider did not take the message. `retry`: a passing problem (timeout, 5xx,
    rate limit, quota for today) worth trying again later; otherwise never (an invalid
    number, a refused template): the message is marked failed with `reason`."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason, self.retry = reason, retry


class AccountProblem(SendFailed):
    """The provider refuses every message of the account until the operator acts: an
    expired access token, a balance run dry, the account's daily quota used up. Nothing is
    wrong with the message: it waits, retried, without counting toward
    HAILONG_MESSAGE_GIVE_UP_HOURS (only its survey's expiry ends it). Given up on, the
    weekend's messages behind an expired Zalo token were failed for good (audit)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retry=True)


class Channel(Protocol):
    name: ChannelName

    def send(self, message: OutgoingMessage) -> Sent:
        """Called in a worker thread, outside any database transaction."""
        ...

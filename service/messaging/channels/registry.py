"""The channels this installation can send on, built from the settings.

Adding a channel: a class with `name` and `send` (base.py), and a few lines below that
build it when its settings are there. SMS providers and Zalo are built by providers.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from service.messaging.channels import providers
from service.messaging.channels.base import Channel, ChannelName
from service.messaging.channels.email import EmailChannel
from service.settings import Settings

# Every channel hailong knows, in the order a handover's messages are listed.
CHANNEL_ORDER: tuple[ChannelName, ...] = ("email", "sms", "zalo")


def email_sender(settings: Settings) -> str:
    return settings.smtp_from or f"no-reply@{urlsplit(settings.base_url).hostname}"


def configured_names(settings: Settings) -> set[ChannelName]:
    """The channels with their settings present, without building them (read at every
    handover: cheap)."""
    names: set[ChannelName] = set()
    if settings.smtp_host:
        names.add("email")
    # SMS and Zalo: the same conditions as providers.sms_and_zalo_channels.
    if settings.sms_provider:
        names.add("sms")
    if settings.zalo_access_token and settings.zalo_template_id:
        names.add("zalo")
    return names


def configured_channels(settings: Settings) -> dict[str, Channel]:
    """The channels to send on, by name."""
    channels: dict[str, Channel] = {}
    if settings.smtp_host:
        channels["email"] = EmailChannel(
            settings.smtp_host,
            settings.smtp_port,
            sender=email_sender(settings),
            username=settings.smtp_username,
            password=(
                settings.smtp_password.get_secret_value() if settings.smtp_password else None
            ),
            starttls=settings.smtp_starttls,
        )
    # SMS (HAILONG_SMS_PROVIDER, channels/sms_<name>.py) and Zalo ZNS (HAILONG_ZALO_*).
    channels.update(providers.sms_and_zalo_channels(settings))
    return channels

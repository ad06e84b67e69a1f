"""The SMS and Zalo channels the settings configure.

SMS providers are modules `sms_<name>.py` in this package, chosen by HAILONG_SMS_PROVIDER=<name>;
each has `REQUIRED_SETTINGS` (the Settings fields it needs) and `channel(settings)`. A
province adds its own provider by adding one such module (sms_esms.py is the example); the
generic HAILONG_SMS_API_KEY, _SECRET_KEY, _BRANDNAME and _URL settings carry its account.
Zalo ZNS is on when HAILONG_ZALO_ACCESS_TOKEN and HAILONG_ZALO_TEMPLATE_ID are set.

`check(settings)` runs when the settings are built (a model validator), so a half-configured
provider stops the start with the names of what is missing, not the first message.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import TYPE_CHECKING

from service.messaging.channels import zalo_zns
from service.messaging.channels.base import Channel

if TYPE_CHECKING:
    from service.settings import Settings

PROVIDER_NAME = re.compile(r"[a-z][a-z0-9_]*")


def sms_provider(name: str) -> ModuleType:
    """The module of SMS provider `name`; ValueError when there is none."""
    module_name = f"{__package__}.sms_{name}"
    if not PROVIDER_NAME.fullmatch(name):
        raise ValueError(f"HAILONG_SMS_PROVIDER={name!r}: not a provider name (e.g. esms)")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise ValueError(
            f"HAILONG_SMS_PROVIDER={name!r}: no SMS provider module "
            f"service/messaging/channels/sms_{name}.py"
        ) from None
    return module


def _env(field: str) -> str:
    return f"HAILONG_{field.upper()}"


def check(settings: Settings) -> None:
    """ValueError naming every setting missing for the SMS provider or Zalo, if any."""
    problems = []
    if settings.sms_provider:
        module = sms_provider(settings.sms_provider)
        missing = [f for f in module.REQUIRED_SETTINGS if not getattr(settings, f)]
        if missing:
            problems.append(
                f"HAILONG_SMS_PROVIDER={settings.sms_provider} needs "
                + ", ".join(_env(f) for f in missing)
            )
    zalo = {
        "zalo_access_token": bool(settings.zalo_access_token),
        "zalo_template_id": bool(settings.zalo_template_id),
    }
    if any(zalo.values()) and not all(zalo.values()):
        missing = [_env(f) for f, is_set in zalo.items() if not is_set]
        problems.append(f"Zalo ZNS is half configured: set {', '.join(missing)} as well")
    params = zalo_zns.parse_template_params(settings.zalo_template_params)
    if all(zalo.values()):
        try:
            zalo_zns.require_links(params)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("; ".join(problems))


def sms_and_zalo_channels(settings: Settings) -> dict[str, Channel]:
    """The configured channels by name ("sms", "zalo"); none when nothing is set."""
    check(settings)
    channels: dict[str, Channel] = {}
    if settings.sms_provider:
        channels["sms"] = sms_provider(settings.sms_provider).channel(settings)
    if settings.zalo_access_token and settings.zalo_template_id:
        channels["zalo"] = zalo_zns.channel(settings)
    return channels

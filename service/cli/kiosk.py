"""Counter kiosk tablets: pairing codes, devices, unpairing."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli.apps import kiosk_app
from service.cli.common import CLI_ACTOR, one_transaction, row_id
from service.settings import get_settings


@kiosk_app.command("pair")
def kiosk_pair(
    agency: Annotated[str, typer.Option(help="The counter's agency code")],
    counter: Annotated[str, typer.Option(help="The counter's code (created if new)")],
) -> None:
    """Create a one-time pairing code for a counter's tablet; the code is the last line."""
    from service.kiosk.pairing import checked_counter_code, create_pairing

    settings = get_settings()
    with one_transaction(settings) as session:
        made = create_pairing(
            session,
            agency_code=agency,
            counter_code=checked_counter_code(counter),
            actor=CLI_ACTOR,
            principal=None,
            minutes=settings.kiosk_pairing_minutes,
        )
        typer.echo(
            f"pairing code for counter {made.counter.code} of {made.agency.code}, valid until "
            f"{made.expires_at:%Y-%m-%d %H:%M} UTC: open {settings.base_url}/kiosk on the "
            "tablet and type it",
            err=True,
        )
    typer.echo(made.code)


@kiosk_app.command("devices")
def kiosk_devices() -> None:
    """List the paired tablets; times in UTC."""
    from service.kiosk.pairing import list_devices

    with one_transaction() as session:
        for device in list_devices(session, None):
            typer.echo(
                f"{device.key.id}\t{device.agency.code}\t{device.counter.code}\t"
                f"paired {device.key.created_at:%Y-%m-%d %H:%M} UTC"
            )


@kiosk_app.command("unpair")
def kiosk_unpair(
    device_id: Annotated[int, row_id("The id from `kiosk devices`")],
) -> None:
    """Unpair a tablet: its device key stops working at once."""
    from service.kiosk.pairing import unpair

    with one_transaction() as session:
        device = unpair(session, device_id, actor=CLI_ACTOR, principal=None)
        typer.echo(f"unpaired kiosk {device_id} at counter {device.counter.code}")

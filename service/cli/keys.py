"""API keys: create, list, revoke, rotate."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli.apps import keys_app
from service.cli.common import CLI_ACTOR, one_transaction, parse_expiry, print_table, row_id, when
from service.errors import field_error
from service.models import ROLES

PAIR_A_TABLET = (
    "a kiosk key comes from pairing the tablet with its counter: run "
    "`hailong kiosk pair --agency CODE --counter CODE` and type the code on the tablet"
)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="issuer, reader, manager, admin or auditor")],
    agency: Annotated[str | None, typer.Option(help="Limit the key to this agency's tree")] = None,
    name: Annotated[str | None, typer.Option(help="Who the key is for")] = None,
    expires: Annotated[
        str | None, typer.Option(help="Last day the key works, YYYY-MM-DD (Vietnam time)")
    ] = None,
) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    from service.admin.keys import create_key

    # A tablet's key must be joined to its counter, which only pairing does: a bare kiosk
    # key would be refused everywhere.
    creatable = [r for r in ROLES if r != "kiosk"]
    expires_at = parse_expiry(expires)
    with one_transaction() as session:
        if role not in creatable:
            refusal = PAIR_A_TABLET if role == "kiosk" else f"must be one of {', '.join(creatable)}"
            raise field_error("role", refusal)
        key, raw = create_key(
            session,
            role=role,
            name=name or f"{role} key",
            agency_code=agency,
            actor=CLI_ACTOR,
            expires_at=expires_at,
        )
        scope = f" for agency {agency}" if agency else ""
        until = f", working through {expires}" if expires else ""
        typer.echo(
            f"created {role} key #{key.id}{scope}{until}; store it now, it is not shown again:",
            err=True,
        )
    typer.echo(raw)


@keys_app.command("list")
def keys_list() -> None:
    """List the API keys (never the keys themselves); times in UTC."""
    from service.admin.keys import list_keys

    header = ("ID", "NAME", "ROLE", "SCOPE", "CREATED", "LAST USED", "EXPIRES", "REVOKED")
    table: list[tuple[str, ...]] = [header]
    with one_transaction() as session:
        after = 0
        while rows := list_keys(session, None, after=after, limit=500):
            for row in rows:
                key = row.key
                revoked = f"{when(key.revoked_at)} by {key.revoked_by}" if key.revoked_at else "-"
                table.append(
                    (
                        str(key.id),
                        key.name,
                        key.role,
                        row.agency_code or "all",
                        when(key.created_at),
                        when(key.last_used_at),
                        when(key.expires_at),
                        revoked,
                    )
                )
            after = rows[-1].key.id or after
    print_table(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, row_id("The id from `keys list`")]) -> None:
    """Revoke a key: every server process refuses it within HAILONG_AUTH_CACHE_SECONDS."""
    from service.admin.keys import revoke_key

    with one_transaction() as session:
        key = revoke_key(session, key_id, actor=CLI_ACTOR)
        typer.echo(f"revoked {key.role} key #{key_id} ({key.name})")


@keys_app.command("rotate")
def keys_rotate(key_id: Annotated[int, row_id("The id from `keys list`")]) -> None:
    """Revoke a key and print its successor (same name, role, scope, expiry) on the last line."""
    from service.admin.keys import rotate_key

    with one_transaction() as session:
        key, raw = rotate_key(session, key_id, actor=CLI_ACTOR)
        typer.echo(
            f"revoked key #{key_id}; its successor is {key.role} key #{key.id}; store it now, "
            "it is not shown again:",
            err=True,
        )
    typer.echo(raw)

"""Officials who sign in to the console with the province's identity provider."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli.apps import officials_app
from service.cli.common import CLI_ACTOR, one_transaction, print_table, row_id, when


@officials_app.command("add")
def officials_add(
    email: Annotated[str, typer.Argument(help="The e-mail the identity provider vouches for")],
    role: Annotated[str, typer.Option(help="manager, admin or auditor")],
    agency: Annotated[str | None, typer.Option(help="Limit to this agency's tree")] = None,
    name: Annotated[str, typer.Option(help="The official's name")] = "",
) -> None:
    """Let an official sign in to the console (with HAILONG_OIDC_ISSUER set)."""
    from service.auth.officials import add_official

    with one_transaction() as session:
        official = add_official(session, CLI_ACTOR, email, name, role, agency)
        typer.echo(f"added {official.role} official #{official.id} ({official.email})")


@officials_app.command("list")
def officials_list() -> None:
    """List the officials; times in UTC."""
    from service.auth.officials import list_officials
    from service.models import Agency

    header = ("ID", "E-MAIL", "NAME", "ROLE", "SCOPE", "LAST SIGN-IN", "DISABLED")
    table: list[tuple[str, ...]] = [header]
    with one_transaction() as session:
        for official in list_officials(session):
            agency = session.get(Agency, official.agency_id) if official.agency_id else None
            disabled = official.disabled_at
            table.append(
                (
                    str(official.id),
                    official.email,
                    official.name,
                    official.role,
                    agency.code if agency else "all",
                    when(official.last_sign_in_at),
                    f"{when(disabled)} by {official.disabled_by}" if disabled else "-",
                )
            )
    print_table(table)


@officials_app.command("update")
def officials_update(
    official_id: Annotated[int, row_id("The id from `officials list`")],
    role: Annotated[str | None, typer.Option(help="manager, admin or auditor")] = None,
    agency: Annotated[str | None, typer.Option(help="Move to this agency's tree")] = None,
    every_agency: Annotated[
        bool, typer.Option("--every-agency", help="No longer limited to an agency")
    ] = False,
    name: Annotated[str | None, typer.Option(help="The official's name")] = None,
    email: Annotated[
        str | None,
        typer.Option(help="The address the provider now gives (a renamed mailbox)"),
    ] = None,
    enable: Annotated[
        bool, typer.Option("--enable", help="Let a disabled official sign in again")
    ] = False,
    unbind: Annotated[
        bool,
        typer.Option(
            "--unbind",
            help="Release the provider account bound at the first sign-in (a mailbox handed "
            "to a successor): the next sign-in binds again",
        ),
    ] = False,
) -> None:
    """Change an official's role, agency, name or e-mail address, or enable them again:
    one who moves to another ward keeps their account; their sessions follow at the next
    request."""
    from service.auth.officials import OfficialChange, update_official

    if agency is not None and every_agency:
        raise typer.BadParameter("give --agency or --every-agency, not both")
    change = OfficialChange(
        name=name,
        email=email,
        role=role,
        set_agency=agency is not None or every_agency,
        agency_code=agency,
        enabled=True if enable else None,
        unbind_subject=unbind,
    )
    with one_transaction() as session:
        official = update_official(session, CLI_ACTOR, official_id, change)
        typer.echo(f"updated official #{official_id} ({official.email})")


@officials_app.command("disable")
def officials_disable(
    official_id: Annotated[int, row_id("The id from `officials list`")],
) -> None:
    """Disable an official: every console session of theirs ends at its next request."""
    from service.auth.officials import disable_official
    from service.models import Official

    with one_transaction() as session:
        before = session.get(Official, official_id)
        earlier = (before.disabled_at, before.disabled_by) if before else (None, None)
        official = disable_official(session, CLI_ACTOR, official_id)
        if earlier[0] is None:
            typer.echo(f"disabled official #{official_id} ({official.email})")
        else:  # idempotent, as the API; said as it is (it read "disabled", as if just now)
            by = earlier[1] or "an earlier version of hailong"
            typer.echo(
                f"official #{official_id} ({official.email}) was already disabled on "
                f"{earlier[0]:%Y-%m-%d %H:%M} UTC by {by}"
            )

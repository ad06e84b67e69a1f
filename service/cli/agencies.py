"""The agency tree."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.apps import agencies_app
from service.cli.common import CLI_ACTOR, one_transaction


@agencies_app.command("add")
def agencies_add(
    code: str,
    name: str,
    parent: Annotated[
        str | None, typer.Option(help="Code of the parent agency (moves an existing one)")
    ] = None,
    root: Annotated[
        bool, typer.Option("--root", help="Make it a top-level agency (moves an existing one)")
    ] = False,
) -> None:
    """Add an agency, or rename / move an existing one. Without --parent or --root, an
    existing agency keeps its place in the tree."""
    from service.admin.agencies import upsert_agency

    if parent is not None and root:
        raise typer.BadParameter("give --parent or --root, not both")
    with one_transaction() as session:
        _, created = upsert_agency(
            session, code, name, parent, actor=CLI_ACTOR, keep_parent=not root
        )
    typer.echo(f"{'added' if created else 'updated'} agency {code}")


@agencies_app.command("import")
def agencies_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import agencies from a CSV file with the columns code, name, parent_code."""
    from service.admin.agencies import import_agencies_csv

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:  # Excel's plain "CSV" (a Windows code page) was a traceback
        typer.secho(
            f"error: {file.name} is not UTF-8 text; save it as CSV UTF-8",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2) from None
    with one_transaction() as session:
        result = import_agencies_csv(session, text, actor=CLI_ACTOR)
    # A move takes the agency's subtree out of the scopes above its old place: said apart.
    moved = f" ({result.moved} moved to another parent)" if result.moved else ""
    typer.echo(
        f"imported agencies: {result.created} added, {result.updated} updated{moved}, "
        f"{result.unchanged} unchanged"
    )

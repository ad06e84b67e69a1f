"""The `hailong` command line: the root command and its groups (one module per group)."""

from __future__ import annotations

import typer

from service.cli.common import CheckedArguments

app = typer.Typer(
    cls=CheckedArguments,  # every argument checked as text the service can store
    help="hailong: citizen satisfaction surveys for one-stop offices.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
agencies_app = typer.Typer(help="The agency tree.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
officials_app = typer.Typer(
    help="Officials who sign in to the console with the province's identity provider.",
    no_args_is_help=True,
)
scores_app = typer.Typer(help="Score counters.", no_args_is_help=True)
calendar_app = typer.Typer(help="Working-day calendar overrides.", no_args_is_help=True)
kiosk_app = typer.Typer(help="Counter kiosk tablets.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(scores_app, name="scores")
app.add_typer(calendar_app, name="calendar")
app.add_typer(agencies_app, name="agencies")
app.add_typer(keys_app, name="keys")
app.add_typer(officials_app, name="officials")
app.add_typer(kiosk_app, name="kiosk")

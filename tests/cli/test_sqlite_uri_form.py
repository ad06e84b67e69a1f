"""A database named in SQLite's URI form (`sqlite:///file:hailong.db?uri=true`) is set up
once upgraded: the check for a SQLite file that does not exist took `file:hailong.db` for
a path, never found it, and told every command (and `serve`) to run db upgrade (review)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.cli_runner import cli_for


@pytest.mark.parametrize("query", ["uri=true", "mode=rw&uri=true", "mode=ro&uri=true"])
def test_an_upgraded_database_named_in_sqlites_uri_form_is_set_up(
    database_url: str, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's URI filenames")
    live = Path(str(make_url(database_url).database))
    monkeypatch.chdir(live.parent)  # a relative name, as in the README's ./hailong.db
    url = f"sqlite:///file:{live.name}?{query}"
    upgraded = cli_for(url)("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    listed = cli_for(url)("keys", "list")
    assert listed.exit_code == 0, listed.output  # was: "is not set up ... run `hailong db upgrade`"
    assert "not set up" not in listed.output

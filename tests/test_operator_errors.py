"""An operator's mistakes end in one line saying what to do, not in a traceback: a database
never upgraded, unreachable or read-only, a setting's value out of range, a scoring profile
or a secret key file that cannot be used."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import make_url
from sqlmodel import select
from typer.testing import CliRunner, Result

from service.app import create_app
from service.cli import app
from service.delivery.worker import DeliveryWorker
from service.models import AuditLog, CalendarOverride
from service.settings import Settings, get_settings
from tests.cli_runner import cli_for
from tests.conftest import TEST_SECRET, WORKER, Backend, DbFactory, make_settings
from tests.harness.processes import fresh_database
from tests.key_file_worker import key_of_a_worker

HAILONG = Path(sys.executable).parent / "hailong"
NOT_SET_UP = "is not set up (or not upgraded): run `hailong db upgrade`"


@pytest.fixture
def empty_url(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """A database nobody ran `hailong db upgrade` on: a new SQLite file, a new PostgreSQL
    database."""
    if backend.name == "sqlite":
        yield f"sqlite:///{tmp_path}/new.db"
        return
    with fresh_database(f"hailong_test_{WORKER}_{os.getpid()}_empty") as url:
        yield url


@pytest.mark.parametrize(
    "command",
    [("keys", "list"), ("demo",), ("kiosk", "devices"), ("import", __file__)],
    ids=["keys list", "demo", "kiosk devices", "import"],
)
def test_a_command_on_a_database_never_upgraded_says_to_upgrade(
    empty_url: str, command: tuple[str, ...]
) -> None:
    result = cli_for(empty_url)(*command)
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [f"error: the database at {empty_url} {NOT_SET_UP}"]
    if empty_url.startswith("sqlite"):  # and no empty file left behind (a misspelt path)
        assert not Path(empty_url.removeprefix("sqlite:///")).exists()


def test_db_upgrade_sets_up_a_new_database_then_commands_work(empty_url: str) -> None:
    cli = cli_for(empty_url)
    assert cli("db", "upgrade").exit_code == 0
    listed = cli("keys", "list")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.startswith("ID")
    assert listed.stderr == ""  # nothing logged by the check (a logging error, it was)


def test_serve_and_worker_refuse_a_database_never_upgraded(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` started anyway and answered every request with a 500."""
    started: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: started.append("serve"))
    monkeypatch.setattr(DeliveryWorker, "run_forever", lambda *_: started.append("worker"))
    cli = cli_for(empty_url)
    for command in ("serve", "worker"):
        result = cli(command)
        assert result.exit_code == 1, result.output
        assert NOT_SET_UP in result.stderr
    assert started == []


def test_the_message_never_shows_the_database_password(backend: Backend, empty_url: str) -> None:
    if backend.name == "sqlite":
        pytest.skip("a SQLite URL has no password")
    url = make_url(empty_url).set(password="s3cret")  # trust auth: any password will do
    result = cli_for(url.render_as_string(hide_password=False))("keys", "list")
    assert result.exit_code == 1, result.output
    assert "s3cret" not in result.output and "***" in result.stderr
    # Given in the query (ops audit: "not set up" printed it whole, SQLAlchemy hiding the
    # URL's own password only).
    result = cli_for(f"{empty_url}?password=s3cret")("keys", "list")
    assert result.exit_code == 1, result.output
    assert NOT_SET_UP in result.stderr
    assert "s3cret" not in result.output and "password=***" in result.stderr


@pytest.mark.servers  # two `hailong` processes
def test_two_upgrades_at_once_both_end_with_the_schema_up_to_date(
    empty_url: str, tmp_path: Path
) -> None:
    """(ops audit) Replicas of the image starting together each run `db upgrade` first:
    both found no schema and both made it, and one exited 1 on a duplicate table."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HAILONG_")}
    env.update(HAILONG_DATABASE_URL=empty_url, HAILONG_SECRET_KEY=TEST_SECRET)
    upgrades = [
        subprocess.Popen(
            [str(HAILONG), "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for upgrade in upgrades:
        out, err = upgrade.communicate(timeout=180)
        assert upgrade.returncode == 0, err[-600:]
        assert out.strip() == "database schema is up to date"
    listed = cli_for(empty_url)("keys", "list")
    assert listed.exit_code == 0, listed.output


def test_a_schema_newer_than_this_release_is_said_so(empty_url: str) -> None:
    """(ops audit) After a release was rolled back, every command and /readyz said to run
    `hailong db upgrade`, which then failed in a traceback (Alembic knows no such
    revision). Each says now that the schema is newer than the code, and what to do."""
    cli = cli_for(empty_url)
    assert cli("db", "upgrade").exit_code == 0
    engine = sa.create_engine(empty_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    newer = "revision 0999, newer than this release"
    for command in (("db", "upgrade"), ("keys", "list")):
        result = cli(*command)
        assert result.exit_code == 1, result.output
        # One error line (db upgrade's own INFO lines from Alembic come before it).
        [line] = [line for line in result.stderr.splitlines() if not line.startswith("INFO")]
        assert line.startswith("error: ") and newer in line, line
        assert "run the release that migrated it" in line
    with TestClient(create_app(make_settings(empty_url))) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert newer in ready.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing?password=s3cretpw",
        "postgresql+psycopg:///nothing?host=127.0.0.1&port=1&user=postgres&password=s3cretpw",
        "postgresql+psycopg://postgres:s3cretpw@127.0.0.1:1/nothing?sslpassword=s3cretpw",
    ],
)
@pytest.mark.parametrize("command", [("keys", "list"), ("db", "upgrade")], ids=" ".join)
def test_a_password_in_the_url_query_is_not_printed(url: str, command: tuple[str, ...]) -> None:
    """(operations audit) `?password=` (which libpq and SQLAlchemy take, for a password a
    URL's userinfo would need escaped) was printed whole in every command's error line."""
    result = cli_for(url)(*command)
    assert result.exit_code == 1, result.output
    assert "cannot reach the database at " in result.stderr, result.stderr
    assert "s3cretpw" not in result.output and "=***" in result.stderr, result.stderr


@pytest.mark.servers  # runs `hailong` in a subprocess
def test_a_setting_out_of_range_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    """It was a long traceback naming pydantic's field (invitation_ttl_days)."""
    env = {
        **os.environ,
        "HAILONG_DATABASE_URL": f"sqlite:///{tmp_path}/h.db",
        "HAILONG_INVITATION_TTL_DAYS": "0",
        "HAILONG_GUESS_LIMIT": "many",
    }
    done = subprocess.run(
        [str(HAILONG), "keys", "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "Invalid setting HAILONG_INVITATION_TTL_DAYS=0: Input should be greater than or equal to 1",
        "Invalid setting HAILONG_GUESS_LIMIT=many: write a whole number",
    ]
    assert not (tmp_path / "h.db").exists()


@pytest.mark.parametrize(
    ("name", "value", "told"),
    [
        ("MESSAGE_QUIET_START", "9pm", "write a Vietnam time as HH:MM, from 00:00 to 23:59"),
        ("MESSAGE_QUIET_END", "24:00", "write a Vietnam time as HH:MM, from 00:00 to 23:59"),
        ("SMTP_STARTTLS", "maybe", "write true or false"),
        ("WORKER_POLL_SECONDS", "half", "write a number (a dot before decimals, e.g. 0.5)"),
        ("OIDC_SCOPES", "email profile", "must include openid"),
    ],
)
def test_a_refused_value_is_told_what_to_write(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, told: str
) -> None:
    """(ops audit) The quiet hours were refused in pydantic's words, quoting its regular
    expression, and a boolean with "unable to interpret input"; scopes without openid were
    taken, and no official could then sign in (the provider sends no ID token)."""
    monkeypatch.setenv(f"HAILONG_{name}", value)
    result = cli_for("sqlite://")("keys", "list")
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Invalid setting HAILONG_{name}={value}: {told}"), line


def test_a_check_across_settings_is_one_line_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAILONG_CONSOLE_KEY_SIGN_IN", "false")
    result = cli_for("sqlite://")("keys", "list")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "Invalid settings: HAILONG_CONSOLE_KEY_SIGN_IN is false and no HAILONG_OIDC_ISSUER is "
        "set: nobody could sign in to the console"
    ]


def test_a_secret_value_refused_is_not_printed() -> None:
    from service.settings import setting_problems

    refused = ValidationError.from_exception_data(
        "Settings",
        [
            {
                "type": "string_too_short",
                "loc": ("secret_key",),
                "input": "hunter2",
                "ctx": {"min_length": 32},
            }
        ],
    )
    assert setting_problems(refused) == [
        "Invalid setting HAILONG_SECRET_KEY: String should have at least 32 characters"
    ]


# --- a database that cannot be reached, or not written ------------------------------------

UNREACHABLE = "error: cannot reach the database at "


def _one_error_line(result: Result, code: int) -> str:
    """The one line the command wrote to stderr (a traceback fails here, naming itself)."""
    crash = result.exception
    if crash is not None and not isinstance(crash, SystemExit):
        pytest.fail(f"traceback: {type(crash).__name__}: {crash}")
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _run(database_url: str, *args: str) -> Result:
    """As tests/cli_runner.py, but a traceback is kept in the result (and failed on by
    `_one_error_line`) rather than raised in the middle of the test."""
    env = {
        "HAILONG_DATABASE_URL": database_url,
        "HAILONG_SECRET_KEY": TEST_SECRET,
        "HAILONG_BASE_URL": "http://testserver",
        "HAILONG_LOG_REQUESTS": "false",
    }
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env=env, catch_exceptions=True)
    finally:
        get_settings.cache_clear()


@pytest.fixture
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What `serve` and `worker` started (uvicorn, the delivery loop): stand-ins record it."""
    started: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: started.append("serve"))
    monkeypatch.setattr(DeliveryWorker, "run_forever", lambda *_: started.append("worker"))
    return started


COMMANDS = [("keys", "list"), ("db", "upgrade"), ("demo",), ("serve",), ("worker",)]


@pytest.mark.parametrize(
    "url", ["postgres://postgres@127.0.0.1/db", "mysql://root@127.0.0.1/db"], ids=str
)
def test_a_database_url_of_a_kind_without_a_driver_names_the_forms_taken(url: str) -> None:
    """ "Can't load plugin: sqlalchemy.dialects:postgres" and "No module named 'MySQLdb'"
    said nothing of what to write instead (ops walkthrough)."""
    line = _one_error_line(_run(url, "db", "upgrade"), code=1)
    assert line.startswith(UNREACHABLE + url), line
    assert line.endswith(
        "; write sqlite:///FILE or postgresql+psycopg://USER@HOST:PORT/DATABASE"
    ), line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_postgresql_that_refuses_connections_is_one_line_without_the_password(
    command: tuple[str, ...], nothing_starts: list[str]
) -> None:
    """Every command ended in a traceback (psycopg's OperationalError), the connection
    was opened outside the check that reports a database not set up."""
    url = "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/nothing"
    line = _one_error_line(_run(url, *command), code=1)
    shown = "postgresql+psycopg://postgres:***@127.0.0.1:1/nothing"
    assert line.startswith(f"{UNREACHABLE}{shown}: "), line
    assert "Connection refused" in line and "s3cret" not in line
    assert nothing_starts == []


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_sqlite_file_in_a_missing_directory_is_one_line(
    tmp_path: Path, command: tuple[str, ...], nothing_starts: list[str]
) -> None:
    url = f"sqlite:///{tmp_path}/no/such/dir/h.db"
    line = _one_error_line(_run(url, *command), code=1)
    assert line == f"{UNREACHABLE}{url}: unable to open database file"
    assert not (tmp_path / "no").exists() and nothing_starts == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("not a database url", "not a database url"),
        (
            "postgresql+psycopg://lan:s3cret@db:notaport/h",
            "postgresql+psycopg://lan:***@db:notaport/h",
        ),
    ],
    ids=["no scheme", "a port that is no number"],
)
def test_a_database_url_that_is_not_one_is_one_line_without_the_password(
    url: str, shown: str
) -> None:
    for command in (("keys", "list"), ("db", "upgrade")):
        line = _one_error_line(_run(url, *command), code=1)
        assert line.startswith(f"{UNREACHABLE}{shown}: "), line
        assert "s3cret" not in line


def test_a_read_only_sqlite_database_is_one_line(tmp_path: Path) -> None:
    """A write on a database opened read-only was an OperationalError traceback."""
    path = tmp_path / "h.db"
    assert cli_for(f"sqlite:///{path}")("db", "upgrade").exit_code == 0
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    line = _one_error_line(_run(read_only, "agencies", "add", "80", "X"), code=1)
    assert line == (
        f"error: the database at {read_only} failed: attempt to write a readonly database"
    )
    assert cli_for(f"sqlite:///{path}")("keys", "list").exit_code == 0  # still readable


def test_a_read_only_postgresql_is_one_line(backend: Backend, database_url: str) -> None:
    """(imports audit) PostgreSQL refusing writes (default_transaction_read_only, a
    standby) raises an InternalError, which every command let through as a traceback."""
    if backend.name != "postgresql":
        pytest.skip("SQLite's read-only file: the test above")
    read_only = database_url + "?options=-c%20default_transaction_read_only%3Don"
    line = _one_error_line(_run(read_only, "agencies", "add", "80", "X"), code=1)
    assert line.startswith("error: the database at "), line
    assert "read-only transaction" in line, line


# --- a scoring profile that cannot be loaded ----------------------------------------------


@pytest.mark.usefixtures("agencies")
@pytest.mark.parametrize(
    "command",
    [
        ("scores", "recompute"),
        ("calendar", "set", "2025-09-06", "--off"),
        ("report", "--parent", "79", "--period", "2025-Q3", "--out", "/tmp/never.pdf"),
        ("demo",),
        ("serve",),
        ("worker",),
        # (audit) A traceback and exit 1, which README gives the database.
        ("import", __file__, "--dry-run"),  # any file: the profile is read first
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_an_unknown_scoring_profile_is_one_line_before_anything_starts(
    database_url: str,
    db: DbFactory,
    monkeypatch: pytest.MonkeyPatch,
    nothing_starts: list[str],
    command: tuple[str, ...],
) -> None:
    """A misspelt HAILONG_SCORING_PROFILE was a ProfileError traceback from the commands
    that score, after their transaction had begun; `serve` started, then each worker
    process failed inside uvicorn's factory."""
    monkeypatch.setenv("HAILONG_SCORING_PROFILE", "hcmc-104-2042")
    line = _one_error_line(_run(database_url, *command), code=2)
    assert line.startswith("error: scoring profile 'hcmc-104-2042' not found ("), line
    assert line.endswith("; shipped profiles: hcmc-104-2024, tt-01-2018, vn-766"), line
    assert nothing_starts == []
    with db() as session:
        assert session.exec(select(CalendarOverride)).all() == []
        assert set(session.exec(select(AuditLog.actor)).all()) == {"test"}  # the fixture's


# --- settings the service could not use ---------------------------------------------------


@pytest.mark.servers  # runs `hailong` in a subprocess
@pytest.mark.parametrize(
    ("where", "problem"),
    [
        ("a directory", "is a directory, not a file"),
        ("in a missing directory", "its directory {parent} does not exist"),
        ("an empty file", "holds no key (at least 32 characters)"),
    ],
)
def test_a_secret_key_file_that_cannot_hold_the_key_stops_the_start(
    tmp_path: Path, where: str, problem: str
) -> None:
    """Unset HAILONG_SECRET_KEY and a HAILONG_SECRET_KEY_FILE naming a directory, or a file
    in a missing directory, was an OSError traceback at the first survey link; an empty
    file signed every link with an empty key."""
    path = {
        "a directory": tmp_path,
        "in a missing directory": tmp_path / "no" / "hailong.secret",
        "an empty file": tmp_path / "hailong.secret",
    }[where]
    if where == "an empty file":
        path.write_text("\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
    env |= {
        "HAILONG_DATABASE_URL": f"sqlite:///{tmp_path}/h.db",
        "HAILONG_SECRET_KEY_FILE": str(path),
    }
    done = subprocess.run(
        [str(HAILONG), "demo"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"Invalid setting HAILONG_SECRET_KEY_FILE={path}: {problem.format(parent=path.parent)}"
    ]
    assert not (tmp_path / "h.db").exists()


@pytest.mark.servers  # runs `hailong` in a subprocess
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_key_file_that_cannot_be_created_is_one_line_naming_the_setting(
    tmp_path: Path, command: str
) -> None:
    """(review) A key file in a directory nothing can be written to (a read-only volume:
    /proc stands for one, as the tests run as root, whom access() lets write anywhere)
    passed the check, then each worker stopped with an OSError naming a temporary file the
    operator never configured."""
    path = Path("/proc/hailong.secret")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
    env |= {
        "HAILONG_DATABASE_URL": f"sqlite:///{tmp_path}/h.db",
        "HAILONG_SECRET_KEY_FILE": str(path),
    }
    done = subprocess.run(
        [str(HAILONG), command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(
        f"error: HAILONG_SECRET_KEY_FILE {path} does not exist and cannot be created ("
    ), line
    assert line.endswith("or set HAILONG_SECRET_KEY"), line
    assert not (tmp_path / "h.db").exists()


def _refused_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> list[str]:
    """The lines `get_settings()` stops the start with (exit code 2), `name` set to `value`."""
    monkeypatch.setenv("HAILONG_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as stopped:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert stopped.value.code == 2
    return capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("value", ["", "short", "x" * 31, " " * 40])
def test_an_empty_or_short_secret_key_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """`HAILONG_SECRET_KEY=` signed survey tokens, opt-out hashes and webhook secrets with
    the empty key: anyone could forge them."""
    assert _refused_at_start(monkeypatch, capsys, "HAILONG_SECRET_KEY", value) == [
        "Invalid setting HAILONG_SECRET_KEY: give at least 32 characters, e.g. what "
        "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'` prints"
    ]


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_webhook_encryption_key_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """Set but empty (a compose file's unset `${VAR}`), it was used as the key: every
    webhook signing secret encrypted under sha256(b""), readable from a database copy
    alone (ops audit)."""
    assert _refused_at_start(monkeypatch, capsys, "HAILONG_WEBHOOK_ENCRYPTION_KEY", value) == [
        "Invalid setting HAILONG_WEBHOOK_ENCRYPTION_KEY: is set but empty, which encrypts "
        "webhook secrets with no key: unset it (the key is then derived from the signing key) "
        "or give one, then create the webhook subscriptions again, as secrets stored under the "
        "empty key cannot be read under another"
    ]


def test_a_guess_limit_sqlite_cannot_hold_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """10**20 was accepted, then past 2**63 SQLite could not bind it: after one wrong link
    every lookup from that address was a 500, the right link too (ops audit)."""
    [line] = _refused_at_start(monkeypatch, capsys, "HAILONG_GUESS_LIMIT", str(10**20))
    assert line.startswith("Invalid setting HAILONG_GUESS_LIMIT=") and "1000000" in line


@pytest.mark.servers  # starts four processes together, three times
def test_workers_starting_together_share_one_key_file(tmp_path: Path) -> None:
    """`serve --workers N` on a fresh volume without HAILONG_SECRET_KEY: each worker
    created the key file at the same moment; one could read it between another's
    truncation and its write (the empty key) or each keep its own (ops audit: key lengths
    [0, 0, 64, 64] in one of 40 tries)."""
    context = multiprocessing.get_context("spawn")
    for trial in range(3):
        path = tmp_path / f"trial{trial}" / "hailong.secret"
        path.parent.mkdir()
        barrier, out = context.Barrier(4), context.Queue()
        workers = [
            context.Process(target=key_of_a_worker, args=(str(path), barrier, out))
            for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        keys = {out.get(timeout=60) for _ in workers}
        for worker in workers:
            worker.join(timeout=60)
        assert keys == {path.read_text().strip().encode()}, f"trial {trial}"
        assert len(keys.pop()) >= 32 and path.stat().st_mode & 0o777 == 0o600
        assert [p.name for p in path.parent.iterdir()] == ["hailong.secret"]


@pytest.mark.parametrize("value", ["http://", "https:///survey", "http://:8000", "http://h:99999"])
def test_a_base_url_without_a_host_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """`http://` was taken: every survey link, QR code and slip pointed nowhere."""
    assert _refused_at_start(monkeypatch, capsys, "HAILONG_BASE_URL", value) == [
        f"Invalid setting HAILONG_BASE_URL={value}: HAILONG_BASE_URL must be an http:// or "
        "https:// URL with a host (and a port of 1 to 65535, if any), e.g. "
        "https://hailong.example.gov.vn"
    ]


@pytest.mark.parametrize(
    "value", ["https://hailong.example.gov.vn/?src=qr", "https://hailong.example.gov.vn/#top"]
)
def test_a_base_url_with_a_query_or_fragment_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """(operations audit) Links are the base URL and /s/<token>: https://host/?src=qr/s/<t>
    opened the home page, not the survey, for every citizen."""
    [line] = _refused_at_start(monkeypatch, capsys, "HAILONG_BASE_URL", value)
    assert "must not carry a query (?...) or a fragment (#...)" in line, line


ESMS = {
    "HAILONG_SMS_PROVIDER": "esms",
    "HAILONG_SMS_API_KEY": "key",
    "HAILONG_SMS_SECRET_KEY": "secret",
    "HAILONG_SMS_BRANDNAME": "UBND",
}


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("HAILONG_SMS_URL", "rest.esms.vn/MainService.svc/json/Send/", "must be an http://"),
        ("HAILONG_ZALO_URL", "business.openapi.zalo.me/message/template", "must be an http://"),
        ("HAILONG_SMS_URL", "https://rest.esms.vn:port/", "is not a URL that can be reached"),
    ],
)
def test_a_provider_url_that_is_no_url_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    problem: str,
) -> None:
    """(operations audit) Typed without its scheme, the URL was taken at start, and every
    SMS (or Zalo message) failed at each try until given up: no citizen reached, no word."""
    for setting, given in ESMS.items():
        monkeypatch.setenv(setting, given)
    [line] = _refused_at_start(monkeypatch, capsys, name, value)
    assert line.startswith(f"Invalid setting {name}={value}: {name} {problem}"), line


@pytest.mark.parametrize(
    ("channel", "names"),
    [
        ({"HAILONG_SMTP_HOST": "smtp.phuong.gov.vn"}, "HAILONG_SMTP_HOST"),
        (ESMS, "HAILONG_SMS_PROVIDER"),
        ({"HAILONG_ZALO_ACCESS_TOKEN": "t", "HAILONG_ZALO_TEMPLATE_ID": "1"}, "HAILONG_ZALO"),
    ],
)
def test_messages_without_a_base_url_stop_the_start(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    channel: dict[str, str],
    names: str,
) -> None:
    """(reach audit) A channel set up and HAILONG_BASE_URL left unset: every message carried
    http://127.0.0.1:8000/..., a link no citizen's phone opens. Set on purpose (a trial on
    one machine), a loopback base URL is taken."""
    monkeypatch.delenv("HAILONG_BASE_URL", raising=False)
    for name, value in channel.items():
        monkeypatch.setenv(name, value)
    [line] = _refused_at_start(monkeypatch, capsys, "HAILONG_LOG_REQUESTS", "false")
    assert names in line and "HAILONG_BASE_URL is not set" in line, line
    monkeypatch.setenv("HAILONG_BASE_URL", "http://127.0.0.1:8000")
    get_settings.cache_clear()
    try:
        assert get_settings().base_url == "http://127.0.0.1:8000"
    finally:
        get_settings.cache_clear()


def test_an_sms_url_set_empty_is_the_providers_own() -> None:
    settings = Settings(database_url="sqlite://", secret_key=TEST_SECRET, sms_url="")
    assert settings.sms_url is None


@pytest.mark.parametrize("value", ["Hài lòng UBND", "hailong@", "@phuong.gov.vn"])
def test_a_sender_that_is_no_address_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """(operations audit) A display name alone became the envelope sender "Hài", which mail
    servers refuse for good: every invitation e-mail failed."""
    [line] = _refused_at_start(monkeypatch, capsys, "HAILONG_SMTP_FROM", value)
    assert "HAILONG_SMTP_FROM must hold the sender's e-mail address" in line, line


@pytest.mark.parametrize(
    "value", ["hailong@phuong.gov.vn", "UBND phường Bến Thành <hailong@phuong.gov.vn>"]
)
def test_a_sender_address_with_or_without_a_name_is_taken(value: str) -> None:
    settings = Settings(database_url="sqlite://", secret_key=TEST_SECRET, smtp_from=value)
    assert settings.smtp_from == value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        # a no-break space pasted with the address
        ("https://sso.tphcm.gov.vn\u00a0", "Invalid IDNA hostname"),
        ("https://sso.tphcm.gov.vn:8443:8443", "Invalid port: '8443:8443'"),
        ("https://sso.tphcm.gov.vn:port", "Invalid port: 'port'"),
    ],
)
def test_an_issuer_the_sign_in_cannot_reach_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str, problem: str
) -> None:
    """(audit) HAILONG_OIDC_ISSUER had only to start with http(s)://: an address httpx
    cannot parse was taken, and every sign-in through the provider was a 500."""
    monkeypatch.setenv("HAILONG_OIDC_CLIENT_ID", "hailong-console")
    [line] = _refused_at_start(monkeypatch, capsys, "HAILONG_OIDC_ISSUER", value)
    assert line.startswith(
        f"Invalid setting HAILONG_OIDC_ISSUER={value}: HAILONG_OIDC_ISSUER is not a URL that "
        "can be reached: "
    ), line
    assert problem in line, line


@pytest.mark.parametrize(
    "given",
    [
        " https://hailong.example.gov.vn",  # a space after '=' in an env file
        "https://hailong.example.gov.vn\r",  # an env file saved with CRLF line ends
        "https://hailong.example.gov.vn/\n",
    ],
)
def test_a_base_url_with_stray_whitespace_gives_working_links(given: str) -> None:
    """(review) The value was sliced by its scheme's length where urlsplit had dropped a
    leading space: " https://…" became "httpss://…", and a CR stayed: every survey link,
    QR code and slip pointed nowhere, and the start said nothing."""
    settings = Settings(base_url=given, database_url="sqlite://", secret_key=TEST_SECRET)
    assert settings.base_url == "https://hailong.example.gov.vn"


def test_a_base_url_in_capitals_is_kept_as_browsers_write_it() -> None:
    """(audit) `HTTPS://…` was kept as given: the console decided its cookies' Secure flag
    on "https://" and sent them without it (tests/console/test_sessions.py). The host stays
    as written: the OpenID provider matches the redirect URI built on it exactly (review)."""
    settings = Settings(
        database_url="sqlite://",
        secret_key=TEST_SECRET,
        base_url="HTTPS://Hailong.TPHCM.gov.vn:8443/Khao-Sat/",
    )
    assert settings.base_url == "https://Hailong.TPHCM.gov.vn:8443/Khao-Sat"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("HAILONG_WEBHOOK_GIVE_UP_HOURS", "1e9", "Input should be less than or equal to 720"),
        ("HAILONG_WEBHOOK_GIVE_UP_HOURS", "inf", "Input should be a finite number"),
        ("HAILONG_WORKER_POLL_SECONDS", "nan", "Input should be a finite number"),
        ("HAILONG_MESSAGE_REMINDER_DAYS", "1e9", "Input should be less than or equal to 365"),
        ("HAILONG_AUTH_CACHE_SECONDS", "1e12", "Input should be less than or equal to 3600"),
        (
            "HAILONG_GUESS_WINDOW_SECONDS",
            "10000000",
            "Input should be less than or equal to 604800",
        ),
    ],
)
def test_a_time_setting_past_what_the_calendar_or_a_sleep_takes_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    problem: str,
) -> None:
    """1e9 hours was taken, and every `now + timedelta(hours=...)` (a webhook's give-up
    time, delivery/fan_out.py) overflowed; inf and nan were taken too."""
    assert _refused_at_start(monkeypatch, capsys, name, value) == [
        f"Invalid setting {name}={value}: {problem}"
    ]


def test_a_failing_migration_says_the_upgrade_failed_not_that_the_database_is_unreachable(
    tmp_path: Path,
) -> None:
    """A table of another program in the file: the migration's refusal read "cannot reach
    the database" on SQLite and was a traceback on PostgreSQL (review)."""
    path = tmp_path / "drift.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE agency (id INTEGER)")
    result = cli_for(f"sqlite:///{path}")("db", "upgrade")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "error: upgrading the database at sqlite:///" in result.output
    assert "table agency already exists" in result.output and "cannot reach" not in result.output


def test_a_bug_of_ours_is_not_told_as_an_unreachable_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import service.migrations

    def broken() -> str:
        raise ValueError("a bug in our own code")

    monkeypatch.setattr(service.migrations, "head_revision", broken)
    (tmp_path / "h.db").touch()  # a database file there (a missing one is "not set up")
    with pytest.raises(ValueError, match="a bug in our own code"):
        cli_for(f"sqlite:///{tmp_path}/h.db")("keys", "list")


@pytest.mark.servers  # runs `hailong` in a subprocess
@pytest.mark.parametrize("where", [["--port", "0"], ["--host", "::1", "--port", "8765"]])
def test_serve_on_any_port_or_an_ipv6_address_takes_its_own_base_url(
    tmp_path: Path, where: list[str]
) -> None:
    """serve builds HAILONG_BASE_URL from where it listens: http://127.0.0.1:0 and
    http://::1:8765 were refused as URLs without a host or port (review). Checked up to the
    database (never upgraded here), which comes after the settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
    env |= {"HAILONG_DATABASE_URL": f"sqlite:///{tmp_path}/h.db", "HAILONG_SECRET_KEY": TEST_SECRET}
    started = subprocess.run(
        [str(HAILONG), "serve", *where], env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 1, started.stderr
    assert "is not set up (or not upgraded)" in started.stderr
    assert "HAILONG_BASE_URL" not in started.stderr


def test_a_statement_the_driver_refuses_before_sending_it_is_not_an_unreachable_database() -> None:
    """(audit) psycopg's own refusals carry no SQLSTATE (a stray % in a statement, a NUL in
    a text): they read as "cannot reach the database, send again in 5 seconds", a 503 that
    no retry mends. Only a connection the driver lost or could not open is unreachable."""
    import psycopg
    import sqlalchemy as sa

    from service import db

    def wrapped(kind: type[sa.exc.DBAPIError], error: Exception) -> sa.exc.DBAPIError:
        return kind("SELECT 1", {}, error)

    lost = psycopg.OperationalError("consuming input failed: server closed the connection")
    assert db.unreachable(wrapped(sa.exc.OperationalError, lost))
    assert db.unreachable(wrapped(sa.exc.InterfaceError, psycopg.InterfaceError("closed")))
    placeholder = psycopg.ProgrammingError("only '%s', '%b', '%t' are allowed as placeholders")
    assert not db.unreachable(wrapped(sa.exc.ProgrammingError, placeholder))
    nul = psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    assert not db.unreachable(wrapped(sa.exc.DataError, nul))

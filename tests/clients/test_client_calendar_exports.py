"""The working-day calendar and the score exports through the client (sync and async).

API.md lists `GET/PUT /api/v1/calendar/overrides/{date}` and `GET /api/v1/scores.csv` /
`.xlsx`, and the service also lists and removes overrides; the client reached none of them
(client audit)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from hailong_client import CalendarDay, Forbidden, InvalidInput, NotFound
from openpyxl import load_workbook

from tests.clients.conftest import Connect, HailongServer

pytestmark = pytest.mark.usefixtures("agencies")
HCM = timezone(timedelta(hours=7))
PERIOD = "2025-Q3"
NATIONAL_DAY = date(2025, 9, 2)
FRIDAY = date(2025, 9, 5)


def _late_dossier(server: HailongServer, connect: Connect) -> None:
    """Due Friday 29/8/2025, resolved Monday 8/9: late over the working days between (2/9,
    the national day, is not one of them)."""
    connect(server.key("issuer")).issue_survey(
        "LATE-1",
        "79.BTH",
        datetime(2025, 9, 8, 10, tzinfo=HCM),
        received_at=datetime(2025, 8, 20, 8, tzinfo=HCM),
        due_at=datetime(2025, 8, 29, 17, tzinfo=HCM),
    )


def _overdue(server: HailongServer, connect: Connect) -> int:
    explained = connect(server.key("admin")).explain("79.BTH", "2025-09")
    [row] = explained.dossiers.rows
    return row.overdue_working_days


def test_a_day_off_is_read_set_listed_and_removed(
    hailong_server: HailongServer, connect: Connect
) -> None:
    _late_dossier(hailong_server, connect)
    before = _overdue(hailong_server, connect)
    reader = connect(hailong_server.key("reader"))
    assert reader.calendar_day(NATIONAL_DAY) == CalendarDay(NATIONAL_DAY, False, False, None, 0)
    assert reader.calendar_day(FRIDAY) == CalendarDay(FRIDAY, True, False, None, 0)
    assert reader.calendar_days() == []

    admin = connect(hailong_server.key("admin"))
    off = admin.set_calendar_day(FRIDAY, working=False, note="Nghỉ bù")
    assert off == CalendarDay(FRIDAY, False, True, "Nghỉ bù", dossiers_rescored=1)
    assert _overdue(hailong_server, connect) == before - 1
    assert reader.calendar_day(FRIDAY) == CalendarDay(FRIDAY, False, True, "Nghỉ bù", 0)
    assert reader.calendar_days() == [CalendarDay(FRIDAY, False, True, "Nghỉ bù", 0)]
    # The same again moves nothing; a note left out is sent as none.
    assert admin.set_calendar_day(FRIDAY, working=False).dossiers_rescored == 0
    assert reader.calendar_day(FRIDAY).note is None

    removed = admin.unset_calendar_day(FRIDAY)
    assert removed == CalendarDay(FRIDAY, True, False, None, dossiers_rescored=1)
    assert _overdue(hailong_server, connect) == before
    assert reader.calendar_days() == []
    # A day without an override: nothing to do.
    assert admin.unset_calendar_day(FRIDAY) == CalendarDay(FRIDAY, True, False, None, 0)


def test_calendar_writes_need_an_unscoped_manager_or_admin(
    hailong_server: HailongServer, connect: Connect
) -> None:
    saturday = date(2025, 9, 6)
    for role, agency in [("reader", None), ("issuer", None), ("manager", "79")]:
        client = connect(hailong_server.key(role, agency=agency))
        with pytest.raises(Forbidden) as denied:
            client.set_calendar_day(saturday, working=True)
        assert denied.value.code == "forbidden"
        with pytest.raises(Forbidden):
            client.unset_calendar_day(saturday)
    manager = connect(hailong_server.key("manager"))
    made_up = manager.set_calendar_day(saturday, working=True, note="Làm bù")
    assert (made_up.working, made_up.overridden, made_up.note) == (True, True, "Làm bù")
    # Reads: any key of the API (an issuer's too).
    issuer = connect(hailong_server.key("issuer"))
    assert issuer.calendar_day(saturday).working
    assert [d.date for d in issuer.calendar_days()] == [saturday]
    assert not manager.unset_calendar_day(saturday).working  # a Saturday again


def test_calendar_refuses_bad_days(hailong_server: HailongServer, connect: Connect) -> None:
    admin = connect(hailong_server.key("admin"))
    with pytest.raises(InvalidInput) as bad:
        admin.calendar_day(date(1800, 1, 1))  # outside 1900..2100
    assert bad.value.code == "invalid_input" and bad.value.fields
    with pytest.raises(TypeError):  # its isoformat() is no day: refused before sending
        admin.calendar_day(datetime(2025, 9, 5, tzinfo=HCM))
    with pytest.raises(TypeError):
        admin.set_calendar_day(FRIDAY, working="no")  # type: ignore[arg-type]
    assert admin.calendar_days() == []


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())  # so Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_score_exports_as_csv_and_xlsx(hailong_server: HailongServer, connect: Connect) -> None:
    reader = connect(hailong_server.key("reader"))
    every = _csv_rows(reader.scores_csv(PERIOD))
    header, rows = every[0], every[1:]
    assert header[0] == "Mã cơ quan"
    assert {r[0] for r in rows} == {"79", "79.BTH", "79.SGN", "79.STP", "G22.39"}
    assert "Phường Bến Thành" in {r[1] for r in rows}
    one = _csv_rows(reader.scores_csv(PERIOD, agency_code="79.SGN"))
    assert [r[0] for r in one[1:]] == ["79.SGN"]
    children = _csv_rows(reader.scores_csv(PERIOD, parent_code="79"))
    assert sorted(r[0] for r in children[1:]) == ["79.BTH", "79.SGN", "79.STP", "G22.39"]
    own = reader.scores_csv(PERIOD, profile=hailong_server.profile.name)
    assert _csv_rows(own)[0] == header

    workbook = reader.scores_xlsx(PERIOD, parent_code="79")
    assert workbook.startswith(b"PK\x03\x04")  # a zip: an Office Open XML workbook
    sheet = load_workbook(io.BytesIO(workbook), read_only=True).worksheets[0]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Mã cơ quan"
    assert sorted(str(r[0]) for r in values[1:]) == ["79.BTH", "79.SGN", "79.STP", "G22.39"]
    assert [str(r[0]) for r in values[1:]] == [r[0] for r in children[1:]]


@pytest.mark.parametrize("export", ["scores_csv", "scores_xlsx"])
def test_score_exports_raise_the_contracts_errors(
    hailong_server: HailongServer, connect: Connect, export: str
) -> None:
    reader = connect(hailong_server.key("reader"))
    with pytest.raises(InvalidInput) as bad_period:
        getattr(reader, export)("2025-Q5")
    assert [f["field"] for f in bad_period.value.fields] == ["period"]
    with pytest.raises(InvalidInput) as bad_profile:
        getattr(reader, export)(PERIOD, profile="no-such-profile")
    assert [f["field"] for f in bad_profile.value.fields] == ["profile"]
    with pytest.raises(NotFound):
        getattr(reader, export)(PERIOD, agency_code="NOPE")
    with pytest.raises(Forbidden):
        getattr(connect(hailong_server.key("issuer")), export)(PERIOD)
    with pytest.raises(Forbidden):  # a key scoped to another ward
        getattr(connect(hailong_server.key("reader", agency="79.BTH")), export)(
            PERIOD, agency_code="79.SGN"
        )

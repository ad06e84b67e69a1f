"""A page's form that meets a database it cannot reach: the page says so in the citizen's
language and keeps what was typed, to send again (kiosk503 audit). Its 503 page was
English after a Vietnamese heading and held nothing of the form, which is not kept by the
browser (no-store); inside a portal's frame it was refused to be framed at all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import func, select

from service.models import Response
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, make_settings
from tests.hardening.test_database_restart import database_down
from tests.surveys.conftest import ANSWERS, issue

pytestmark = pytest.mark.usefixtures("agencies")
PORTAL = "https://dichvucong.hochiminhcity.gov.vn"
COMPLAINT = "Cán bộ hẹn ba lần mới trả hồ sơ <b>"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, embed_origins=PORTAL)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _hidden(page: str) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return {unescape(name): unescape(value) for name, value in fields}


@pytest.mark.parametrize("prefix", ["/s", "/embed/s"])
def test_a_form_met_by_an_unreachable_database_can_be_sent_again_as_typed(
    client: TestClient, app: FastAPI, make_key: KeyFactory, db: DbFactory, prefix: str
) -> None:
    survey = issue(client, make_key)
    path = f"{prefix}/{survey.token}"
    form = {**ANSWERS, "lang": "vi", "complaint": COMPLAINT, "wants_reply": "no"}
    with database_down(app.state.engine):
        page = client.post(path, data=form, follow_redirects=False)
    assert page.status_code == 503 and "Retry-After" in page.headers
    assert "Hệ thống tạm thời gián đoạn" in page.text
    assert "Vui lòng gửi lại sau ít giây" in page.text
    assert f'action="{path}"' in page.text and ">Gửi lại</button>" in page.text
    assert _hidden(page.text) == form  # every field, escaped and as typed
    if prefix == "/embed/s":  # shown inside the portal's frame, as the form was
        assert "x-frame-options" not in page.headers
        assert f"frame-ancestors {PORTAL}" in page.headers["content-security-policy"]
    else:
        assert page.headers["x-frame-options"] == "DENY"
    sent_again = client.post(path, data=_hidden(page.text), follow_redirects=False)
    assert sent_again.status_code == 303, sent_again.text[:300]
    with db() as session:
        assert session.exec(select(func.count()).select_from(Response)).one() == 1

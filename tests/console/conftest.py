"""Fixtures for the managers' console: a ward with dossiers, evaluations and petitions in the
current quarter, and a client that signs in the way a browser does (CSRF token included)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.calendar.working_days import local_date
from service.models import utcnow
from service.periods import period_containing
from service.profile import PROFILES_DIR
from service.settings import Settings
from tests.conftest import KeyFactory, earlier_today, handover_body, make_settings
from tests.surveys.conftest import ANSWERS

WARD, WARD_NAME = "79.BTH", "Phường Bến Thành"
OTHER_WARD, OTHER_WARD_NAME = "79.SGN", "Phường Sài Gòn"
COMPLAINT = "Phải chờ hơn một tiếng ở quầy.\nCán bộ hẹn gọi lại nhưng không gọi."
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]*)"')
FOLLOWUP_LINK = re.compile(r'id="followup-link" href="([^"]+)"')
AUTOFOCUS = re.compile(r"<[a-z]+\b[^>]*\sautofocus\b[^>]*>")
ELEMENT_ID = re.compile(r'\sid="([^"]+)"')


def iso(moment: datetime) -> str:
    return moment.isoformat()


def current_period() -> str:
    return period_containing(local_date(utcnow()), "quarter").key


def raw_key(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def browser_text(limit: int, lines: int) -> str:
    """A textarea's text `limit` characters long as its maxlength counts them (a line break
    as one), sent as a browser sends it: each break as CRLF."""
    per_line, extra = divmod(limit - (lines - 1), lines)
    text = "\n".join("x" * (per_line + (1 if i < extra else 0)) for i in range(lines))
    assert len(text) == limit
    return text.replace("\n", "\r\n")


def fields_to_fix(html: str, summary_id: str) -> list[tuple[str, str]]:
    """(field id, name) of each link in a refused form's summary of its problems."""
    found = re.search(rf'<div [^>]*id="{summary_id}".*?</div>', html, re.S)
    assert found, summary_id
    assert "Vui lòng sửa các ô được đánh dấu." in found.group(0)
    return re.findall(r'<li><a href="#([^"]+)"[^>]*>([^<]+)</a></li>', found.group(0))


def autofocused_alert(html: str) -> str:
    """The id of the element a refused form's page moves the focus to as it loads: its
    summary of the problems, read out at once (role="alert") and focusable only by script
    (tabindex="-1"). Fails unless exactly one element on the page asks for the focus."""
    tags = AUTOFOCUS.findall(html)
    assert len(tags) == 1, f"autofocus on {len(tags)} elements: {tags}"
    [tag] = tags
    assert 'role="alert"' in tag and 'tabindex="-1"' in tag, tag
    found = ELEMENT_ID.search(tag)
    assert found, tag
    return found.group(1)


@dataclass
class Office:
    """Drives the public API and the survey page like a one-stop system and citizens."""

    http: httpx.Client
    make_key: KeyFactory
    issuer: dict[str, str] = field(init=False)
    admin: dict[str, str] = field(init=False)
    tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.issuer = self.make_key("issuer")
        self.admin = self.make_key("admin")

    def handover(self, code: str, agency: str = WARD, **extra: Any) -> None:
        now = utcnow()
        body = handover_body(
            dossier_code=code,
            agency_code=agency,
            received_at=iso(now - timedelta(days=1)),
            due_at=iso(now + timedelta(days=1)),
            resolved_at=iso(earlier_today(timedelta(minutes=1))),  # in this quarter
            handed_over_at=None,
        )
        body.update(extra)
        response = self.http.post("/api/v1/handovers", json=body, headers=self.issuer)
        assert response.status_code in (200, 201), response.text
        self.tokens[code] = response.json()["survey_url"].rsplit("/", 1)[1]

    def answer_on_page(
        self, code: str, complaint: str = "", wants_reply: str = "yes", **answers: str
    ) -> str | None:
        """Answer the survey page; returns the follow-up link's path when the complaint asks
        for an answer (the default here: the console's inbox is about those)."""
        # Asking for an answer about nothing is refused (the form again): without a
        # complaint, the form's default ("no").
        asks = wants_reply if complaint else "no"
        form = {**ANSWERS, **answers, "complaint": complaint, "wants_reply": asks}
        # Stored: 303 to the thank-you page, which shows the link.
        response = self.http.post(f"/s/{self.tokens[code]}", data=form, follow_redirects=True)
        assert response.status_code == 200, response.text
        found = FOLLOWUP_LINK.search(response.text)
        return httpx.URL(found.group(1)).path if found else None

    def petition(self, code: str, agency: str = WARD, **fields: Any) -> None:
        body = {"petition_code": code, "agency_code": agency, **fields}
        response = self.http.post("/api/v1/petitions", json=body, headers=self.admin)
        assert response.status_code in (200, 201), response.text

    def score(self, agency: str = WARD, period: str | None = None) -> dict[str, Any]:
        response = self.http.get(
            f"/api/v1/agencies/{agency}/scores/{period or current_period()}", headers=self.admin
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


def seed_ward(office: Office) -> str:
    """Bến Thành this quarter: 4 dossiers on time, 1 late; 3 evaluations returned by CB003
    (under the anonymity minimum of 5), one with a complaint; an overdue imported petition;
    and one in the other ward. Returns the follow-up path of the complaint."""
    for code in ("BT-1", "BT-2", "BT-3", "BT-4"):
        office.handover(code)
    now = utcnow()
    office.handover(
        "BT-LATE",
        received_at=iso(now - timedelta(days=30)),
        due_at=iso(now - timedelta(days=14)),
    )
    followup = office.answer_on_page("BT-1", complaint=COMPLAINT)
    office.answer_on_page("BT-2")
    office.answer_on_page("BT-3", staff_attitude="normal")
    office.petition(
        "PAKN-OVERDUE",
        received_at=iso(now - timedelta(days=40)),
        deadline_at=iso(now - timedelta(days=3)),
    )
    office.handover("SG-1", agency=OTHER_WARD)
    office.answer_on_page("SG-1", complaint="Khiếu nại ở phường Sài Gòn")
    assert followup is not None
    return followup


class _FormFields(HTMLParser):
    """The fields a browser sends from the form posting to `action`, as the page fills them:
    each input's value, each select's chosen option (else its first), each textarea's text."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action = action
        self.found = False
        self.inside = False
        self.fields: dict[str, str] = {}
        self.select: str | None = None
        self.first_option = True
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.inside = found.get("action") == self.action
            self.found = self.found or self.inside
        elif not self.inside:
            return
        elif tag == "option" and self.select is not None:
            self._option(found)
        elif "name" not in found:
            return
        elif tag == "input":
            self.fields[found["name"]] = found.get("value", "")
        elif tag == "select":
            self.select, self.first_option = found["name"], True
        elif tag == "textarea":
            self.textarea = found["name"]
            self.fields[self.textarea] = ""

    def _option(self, found: dict[str, str]) -> None:
        assert self.select is not None
        if self.first_option or "selected" in found:
            self.fields[self.select] = found.get("value", "")
        self.first_option = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # A browser drops the one line break that may follow <textarea>.
            self.fields[self.textarea] = self.fields[self.textarea].removeprefix("\n")
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.fields[self.textarea] += data


def form_fields(html: str, action: str) -> dict[str, str]:
    """What a browser sends from the page's form posting to `action`, left as shown."""
    parser = _FormFields(action)
    parser.feed(html)
    assert parser.found, f"the page has no form posting to {action}"
    return parser.fields


class ConsoleClient:
    """The console as a browser uses it: cookies kept, the CSRF token read from each form."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.last: httpx.Response | None = None

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        self.last = self.client.get(path, **kwargs)
        return self.last

    def csrf(self) -> str:
        assert self.last is not None
        found = CSRF_INPUT.search(self.last.text)
        assert found, "the page has no form with a CSRF token"
        return found.group(1)

    def post(self, path: str, data: dict[str, str], *, csrf: str | None = None) -> httpx.Response:
        form = {"csrf": self.csrf() if csrf is None else csrf, **data}
        self.last = self.client.post(path, data=form)
        return self.last

    def submit(self, action: str, changes: dict[str, str]) -> httpx.Response:
        """The last page's form posting to `action` sent as a browser does: every field as
        the page filled it in (the hidden ones too), but for the official's `changes`."""
        assert self.last is not None
        form = form_fields(self.last.text, action)
        self.last = self.client.post(action, data={**form, **changes})
        return self.last

    def sign_in(self, key: str) -> httpx.Response:
        self.get("/console/sign-in")
        return self.post("/console/sign-in", {"key": key})

    def sign_out(self) -> httpx.Response:
        return self.post("/console/sign-out", {})


__all__ = [
    "COMPLAINT",
    "OTHER_WARD",
    "OTHER_WARD_NAME",
    "WARD",
    "WARD_NAME",
    "ConsoleClient",
    "Office",
    "autofocused_alert",
    "browser_text",
    "counting_survey_petitions",
    "current_period",
    "form_fields",
    "raw_key",
    "seed_ward",
]


def counting_survey_petitions(
    database_url: str, folder: Path, base_url: str = "http://testserver"
) -> Settings:
    """Settings with a profile whose province counts survey comments that ask for an answer
    as petitions (`survey_comments_are_petitions`): the inbox's numbers then move group 5."""
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    text = text.replace(
        "survey_comments_are_petitions = false", "survey_comments_are_petitions = true"
    )
    path = folder / "counting-survey-petitions.toml"
    path.write_text(text, encoding="utf-8")
    settings = make_settings(database_url, base_url=base_url)
    return settings.model_copy(update={"scoring_profile": str(path)})


@pytest.fixture
def office(client: TestClient, make_key: KeyFactory, agencies: None) -> Office:
    return Office(client, make_key)


@pytest.fixture
def console(client: TestClient) -> ConsoleClient:
    return ConsoleClient(client)


@pytest.fixture
def another_console(app: FastAPI, client: TestClient) -> ConsoleClient:
    """A second browser (its own cookies) on the same running app."""
    return ConsoleClient(TestClient(app))


def discovery_only(**endpoints: str) -> type[BaseHTTPRequestHandler]:
    """A provider that publishes its discovery document and nothing else: its issuer (its
    own address) and `endpoints`, each a path on it ("/token") or a whole URL as written.
    Enough to start a sign-in, or to see one fail on what the document names."""

    class Discovery(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            base = f"http://{self.headers['Host']}"
            document = {"issuer": base} | {
                name: value if "://" in value else base + value for name, value in endpoints.items()
            }
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Discovery

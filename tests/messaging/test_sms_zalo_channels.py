"""The SMS (eSMS.vn) and Zalo ZNS channels against receivers on 127.0.0.1 that check each
request against the shape the provider documents (a mistake is answered 400, and recorded)
and answer as the provider does: success, its documented error bodies, a 503, or nothing
before the timeout. No mock of the HTTP client: the adapters' real requests are checked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from service.messaging.channels import providers, sms_esms, zalo_zns
from service.messaging.channels.base import Channel, OutgoingMessage, SendFailed, Sent
from service.messaging.channels.providers import sms_and_zalo_channels
from service.settings import Settings
from tests.conftest import TEST_SECRET
from tests.harness.processes import free_port, http_server

API_KEY, SECRET_KEY, BRANDNAME = "esms-api-key", "esms-secret-key", "TTHCC_HCM"
ACCESS_TOKEN, TEMPLATE_ID, REMINDER_TEMPLATE_ID = "zalo-oa-access-token", "301234", "301235"
ESMS_PATH = urlsplit(sms_esms.DOCUMENTED_URL).path
ZALO_PATH = urlsplit(zalo_zns.DOCUMENTED_URL).path
VIETNAMESE_PHONE = re.compile(r"84[0-9]{9}")  # ASCII: \d took full-width digits too
BASE_URL = "https://hl.example.vn"  # a channel set up needs a base URL citizens can open

MESSAGE = OutgoingMessage(
    message_id=4242,
    channel="sms",
    kind="invitation",
    recipient="84912345678",
    subject="",
    text=(
        "Trung tâm Phục vụ hành chính công mời Ông/Bà đánh giá việc giải quyết hồ sơ "
        "H29.12-241204-0001: https://hl.example.vn/s/AB12CD. Từ chối nhận tin: "
        "https://hl.example.vn/o/AB12CD"
    ),
    link="https://hl.example.vn/s/AB12CD",
    opt_out_link="https://hl.example.vn/o/AB12CD",
    agency_name="UBND phường Bến Nghé",
    dossier_code="H29.12-241204-0001",
    language="vi",
)
PLAIN_TEXT = "Moi Ong/Ba danh gia ho so H29.12-241204-0001: https://hl.example.vn/s/AB12CD"


def message(**changes: Any) -> OutgoingMessage:
    return dataclasses.replace(MESSAGE, **changes)


# -- a provider's API on 127.0.0.1 -------------------------------------------------------------
Check = Callable[[str, Mapping[str, str], bytes], list[str]]


@dataclass
class Seen:
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any


class Provider:
    """Checks every POST with `check` (any problem: 400 with the problems, kept in
    `problems`), then answers `answer` after `delay` seconds."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.url = ""
        self.answer: tuple[int, bytes] = (500, b"no answer set")
        self.delay = 0.0
        self.seen: list[Seen] = []
        self.problems: list[str] = []
        self.release = threading.Event()

    def answer_json(self, body: object, status: int = 200) -> None:
        self.answer = (status, json.dumps(body).encode())

    def handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                provider.handle(self)

            def do_GET(self) -> None:
                provider.problems.append(f"GET {self.path}: the API takes POST")
                provider.reply(self, 405, b'{"problems": ["POST only"]}')

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        raw = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.seen.append(Seen(request.path, headers, body))
        problems = self.check(request.path, headers, raw)
        if problems:
            self.problems.extend(problems)
            self.reply(request, 400, json.dumps({"problems": problems}).encode())
            return
        if self.delay:
            self.release.wait(self.delay)
        self.reply(request, *self.answer)

    @staticmethod
    def reply(request: BaseHTTPRequestHandler, status: int, payload: bytes) -> None:
        with contextlib.suppress(OSError):  # the client may have given up (timeout test)
            request.send_response(status)
            request.send_header("Content-Type", "application/json; charset=utf-8")
            request.send_header("Content-Length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)


@contextlib.contextmanager
def serving(check: Check) -> Iterator[Provider]:
    provider = Provider(check)
    with http_server(provider.handler()) as url:
        provider.url = url
        try:
            yield provider
        finally:
            provider.release.set()


def json_request(path: str, expected_path: str, headers: Mapping[str, str], raw: bytes) -> Any:
    """The request's JSON object, or a list of problems with the envelope."""
    problems = []
    if path != expected_path:
        problems.append(f"path {path!r}, the API is at {expected_path!r}")
    if not headers.get("content-type", "").startswith("application/json"):
        problems.append(f"Content-Type {headers.get('content-type')!r}, not application/json")
    try:
        body = json.loads(raw)
    except ValueError:
        return [*problems, "the body is not JSON"]
    if not isinstance(body, dict):
        return [*problems, "the body is not a JSON object"]
    return problems or body


def fields_problems(body: dict[str, Any], required: set[str], optional: set[str]) -> list[str]:
    problems = [f"{name} missing" for name in sorted(required - body.keys())]
    problems += [
        f"{name}: not a documented field" for name in sorted(body.keys() - required - optional)
    ]
    return problems


# -- eSMS: SendMultipleMessage_V4_post_json ----------------------------------------------------
ESMS_REQUIRED = {"ApiKey", "SecretKey", "Phone", "Content", "Brandname", "SmsType"}
ESMS_OPTIONAL = {"IsUnicode", "Sandbox", "RequestId", "SendDate", "campaignid", "CallbackUrl"}


def esms_problems(path: str, headers: Mapping[str, str], raw: bytes) -> list[str]:
    body = json_request(path, ESMS_PATH, headers, raw)
    if isinstance(body, list):
        return body
    problems = fields_problems(body, ESMS_REQUIRED, ESMS_OPTIONAL)
    problems += [f"{k}: {v!r} is not a string" for k, v in body.items() if not isinstance(v, str)]
    if problems:
        return problems
    if (body["ApiKey"], body["SecretKey"]) != (API_KEY, SECRET_KEY):
        problems.append("ApiKey/SecretKey are not the account's")
    if body["Brandname"] != BRANDNAME:
        problems.append(f"Brandname {body['Brandname']!r}")
    if body["SmsType"] != "2":
        problems.append(f"SmsType {body['SmsType']!r}: customer care is '2'")
    if not VIETNAMESE_PHONE.fullmatch(body["Phone"]):
        problems.append(f"Phone {body['Phone']!r} is not 84 and 9 digits")
    if not body["Content"]:
        problems.append("Content is empty")
    unicode = body.get("IsUnicode", "0")
    if unicode not in ("0", "1"):
        problems.append(f"IsUnicode {unicode!r}: '0' or '1'")
    if unicode != "1" and any(ord(ch) > 127 for ch in body["Content"]):
        problems.append("Vietnamese text without IsUnicode '1' would lose its diacritics")
    if body.get("Sandbox", "0") != "0":
        problems.append("Sandbox is on: nothing would reach the citizen")
    if not body.get("RequestId"):
        problems.append("no RequestId: a message sent again after a timeout would go twice")
    return problems


def esms_answer(code: str, message: str = "") -> dict[str, Any]:
    if code == "100":
        return {"CodeResult": "100", "CountRegenerate": 0, "SMSID": "d533459ee42b2b9525ba9eab"}
    return {"CodeResult": code, "CountRegenerate": 0, "ErrorMessage": message}


@pytest.fixture
def esms() -> Iterator[Provider]:
    with serving(esms_problems) as provider:
        provider.answer_json(esms_answer("100"))
        yield provider


def sms_channel(url: str, timeout: float = 5.0) -> Channel:
    settings = Settings(
        base_url=BASE_URL,
        secret_key=TEST_SECRET,
        sms_provider="esms",
        sms_api_key=API_KEY,
        sms_secret_key=SECRET_KEY,
        sms_brandname=BRANDNAME,
        sms_url=url + ESMS_PATH,
        message_http_timeout_seconds=timeout,
    )
    return sms_and_zalo_channels(settings)["sms"]


def failure(channel: Channel, sent: OutgoingMessage = MESSAGE) -> SendFailed:
    with pytest.raises(SendFailed) as caught:
        channel.send(sent)
    return caught.value


def test_esms_sends_vietnamese_text_as_documented(esms: Provider) -> None:
    assert sms_channel(esms.url).send(MESSAGE) == Sent(provider_id="d533459ee42b2b9525ba9eab")
    assert esms.problems == []
    [request] = esms.seen
    assert request.body["Content"] == MESSAGE.text
    assert request.body["Phone"] == "84912345678"
    assert request.body["IsUnicode"] == "1"
    # The same for every sending of message 4242, and another install's differs: the row
    # id alone ("4242") collided across installs on one eSMS account, and eSMS's
    # "duplicate" (124) then stood for a message never sent (audit).
    assert str(uuid.UUID(request.body["RequestId"])) == request.body["RequestId"]
    assert (
        sms_channel(esms.url).send(MESSAGE)
        and esms.seen[1].body["RequestId"] == (request.body["RequestId"])
    )
    other = sms_esms.EsmsChannel(
        api_key=API_KEY, secret_key=SECRET_KEY, brandname=BRANDNAME, request_id_key=b"other"
    )
    assert other.request_id(MESSAGE) != request.body["RequestId"]
    assert request.body["SmsType"] == "2"


def test_esms_plain_text_goes_without_unicode(esms: Provider) -> None:
    sms_channel(esms.url).send(message(text=PLAIN_TEXT))
    assert esms.problems == []
    assert esms.seen[0].body["IsUnicode"] == "0"


@pytest.mark.parametrize(
    ("code", "said", "retry"),
    [
        ("101", "Authorize Failed", False),  # wrong ApiKey/SecretKey
        ("104", "Brandname khong ton tai", False),
        ("108", "Phone number is not in correct format", False),
        ("99", "Phone number is blocked", False),
        ("146", "Sai template cham soc khach hang", False),
        ("103", "Not enough balance", True),
        ("777", "Something new", False),  # undocumented: never, with the code in the reason
    ],
)
def test_esms_errors_map_to_retry_or_not(esms: Provider, code: str, said: str, retry: bool) -> None:
    esms.answer_json(esms_answer(code, said))
    failed = failure(sms_channel(esms.url))
    assert esms.problems == []
    assert failed.retry is retry
    assert f"CodeResult {code}" in failed.reason and said in failed.reason


def test_esms_duplicate_request_id_means_already_sent(esms: Provider) -> None:
    esms.answer_json(esms_answer("124", "Trung RequestId"))
    assert sms_channel(esms.url).send(MESSAGE) == Sent(provider_id=None)


@pytest.mark.parametrize("status", [503, 502, 429])
def test_esms_server_errors_are_retried(esms: Provider, status: int) -> None:
    esms.answer = (status, b"<html>Service Unavailable</html>")
    failed = failure(sms_channel(esms.url))
    assert failed.retry is True and str(status) in failed.reason


def test_esms_answer_that_is_not_its_json_is_retried(esms: Provider) -> None:
    esms.answer = (200, b"<html>captive portal</html>")
    assert failure(sms_channel(esms.url)).retry is True


def test_esms_timeout_is_retried(esms: Provider) -> None:
    esms.delay = 5.0
    failed = failure(sms_channel(esms.url, timeout=0.3))
    assert failed.retry is True and "0.3 s" in failed.reason


def test_esms_unreachable_is_retried() -> None:
    failed = failure(sms_channel(f"http://127.0.0.1:{free_port()}"))
    assert failed.retry is True and "unreachable" in failed.reason


@pytest.mark.parametrize(
    ("mistake", "problem"),
    [
        ({"Brandname": None}, "Brandname missing"),
        ({"IsUnicode": "0"}, "Vietnamese text without IsUnicode '1' would lose its diacritics"),
        ({"SmsType": 2}, "SmsType: 2 is not a string"),
        ({"Phone": "0912345678"}, "Phone '0912345678' is not 84 and 9 digits"),
        ({"RequestId": None}, "no RequestId: a message sent again after a timeout would go twice"),
    ],
)
def test_a_malformed_request_is_refused_and_not_retried(
    esms: Provider, mistake: dict[str, Any], problem: str
) -> None:
    """The receiver's own check: a request off the documented shape gets 400, which the
    adapter takes as final, so a shape mistake in the adapter fails the tests above."""

    class Broken(sms_esms.EsmsChannel):
        def request_body(self, message: OutgoingMessage) -> dict[str, Any]:
            body: dict[str, Any] = dict(super().request_body(message))
            for name, value in mistake.items():
                if value is None:
                    del body[name]
                else:
                    body[name] = value
            return body

    channel = Broken(
        api_key=API_KEY,
        secret_key=SECRET_KEY,
        brandname=BRANDNAME,
        request_id_key=b"test",
        url=esms.url + ESMS_PATH,
    )
    failed = failure(channel)
    assert failed.retry is False and "HTTP 400" in failed.reason
    assert esms.problems == [problem]


def test_the_receivers_take_post_only(esms: Provider) -> None:
    assert httpx.get(esms.url + ESMS_PATH).status_code == 405


def test_esms_refuses_a_number_not_in_international_form_without_calling(esms: Provider) -> None:
    failed = failure(sms_channel(esms.url), message(recipient="0912345678"))
    assert failed.retry is False and esms.seen == []


# -- Zalo ZNS: POST /message/template -----------------------------------------------------------
ZALO_REQUIRED = {"phone", "template_id", "template_data", "tracking_id"}
ZALO_OPTIONAL = {"mode"}
TEMPLATE_PARAMS = {"agency", "dossier", "link", "opt_out"}  # the approved template's


def zalo_problems(path: str, headers: Mapping[str, str], raw: bytes) -> list[str]:
    body = json_request(path, ZALO_PATH, headers, raw)
    if isinstance(body, list):
        return body
    problems = fields_problems(body, ZALO_REQUIRED, ZALO_OPTIONAL)
    if headers.get("access_token") != ACCESS_TOKEN:
        problems.append("no access_token header with the OA's token")
    if problems:
        return problems
    for name in ("phone", "template_id", "tracking_id"):
        if not isinstance(body[name], str) or not body[name]:
            problems.append(f"{name}: {body[name]!r} is not a non-empty string")
    if isinstance(body["phone"], str) and not VIETNAMESE_PHONE.fullmatch(body["phone"]):
        problems.append(f"phone {body['phone']!r} is not 84 and 9 digits")
    if body["template_id"] not in (TEMPLATE_ID, REMINDER_TEMPLATE_ID):
        problems.append(f"template_id {body['template_id']!r} is not an approved template")
    data = body["template_data"]
    if not isinstance(data, dict):
        return [*problems, "template_data is not an object"]
    if set(data) != TEMPLATE_PARAMS:
        problems.append(f"template_data has {sorted(data)}, the template {sorted(TEMPLATE_PARAMS)}")
    problems += [
        f"template_data.{k} is not a string" for k, v in data.items() if type(v) is not str
    ]
    return problems


def zalo_answer(error: int, message: str = "") -> dict[str, Any]:
    if error == 0:
        return {
            "error": 0,
            "message": "Success",
            "data": {
                "msg_id": "a0f2ab1c6c2c4f7e9d1f",
                "sent_time": "1733320800000",
                "sending_mode": "1",
                "quota": {"dailyQuota": "500", "remainingQuota": "499"},
            },
        }
    return {"error": error, "message": message}


@pytest.fixture
def zalo() -> Iterator[Provider]:
    with serving(zalo_problems) as provider:
        provider.answer_json(zalo_answer(0))
        yield provider


def zalo_channel(url: str, timeout: float = 5.0, **settings: Any) -> Channel:
    return sms_and_zalo_channels(
        Settings(
            base_url=BASE_URL,
            zalo_url=url + ZALO_PATH,
            zalo_access_token=ACCESS_TOKEN,
            zalo_template_id=TEMPLATE_ID,
            message_http_timeout_seconds=timeout,
            **settings,
        )
    )["zalo"]


def test_zalo_sends_the_template_as_documented(zalo: Provider) -> None:
    sent = zalo_channel(zalo.url).send(message(channel="zalo"))
    assert sent == Sent(provider_id="a0f2ab1c6c2c4f7e9d1f")
    assert zalo.problems == []
    [request] = zalo.seen
    assert request.headers["access_token"] == ACCESS_TOKEN
    assert request.body == {
        "phone": "84912345678",
        "template_id": TEMPLATE_ID,
        "template_data": {
            "agency": "UBND phường Bến Nghé",
            "dossier": "H29.12-241204-0001",
            "link": "https://hl.example.vn/s/AB12CD",
            "opt_out": "https://hl.example.vn/o/AB12CD",  # "Từ chối nhận tin", as SMS has
        },
        "tracking_id": "4242",
    }


def test_zalo_reminder_uses_its_own_template_when_set(zalo: Provider) -> None:
    reminder = message(channel="zalo", kind="reminder")
    zalo_channel(zalo.url).send(reminder)
    zalo_channel(zalo.url, zalo_reminder_template_id=REMINDER_TEMPLATE_ID).send(reminder)
    assert zalo.problems == []
    assert [seen.body["template_id"] for seen in zalo.seen] == [TEMPLATE_ID, REMINDER_TEMPLATE_ID]


def test_zalo_template_parameters_follow_the_setting() -> None:
    names = {"co_quan", "ma_ho_so", "loai", "duong_dan", "tu_choi"}

    def problems(path: str, headers: Mapping[str, str], raw: bytes) -> list[str]:
        data = json.loads(raw)["template_data"]
        return [] if set(data) == names else [f"template_data {sorted(data)}"]

    with serving(problems) as provider:
        provider.answer_json(zalo_answer(0))
        params = (
            "co_quan=agency_name,ma_ho_so=dossier_code,loai=kind,duong_dan=link,"
            "tu_choi=opt_out_link"
        )
        zalo_channel(provider.url, zalo_template_params=params).send(message(channel="zalo"))
        assert provider.problems == []
        assert provider.seen[0].body["template_data"] == {
            "co_quan": "UBND phường Bến Nghé",
            "ma_ho_so": "H29.12-241204-0001",
            "loai": "Mời đánh giá",  # the kind in the message's words, not "invitation"
            "duong_dan": "https://hl.example.vn/s/AB12CD",
            "tu_choi": "https://hl.example.vn/o/AB12CD",
        }


@pytest.mark.parametrize(
    ("error", "said", "retry"),
    [
        (-124, "Access token invalid", True),  # the operator refreshes it; messages wait
        (-115, "Out of quota", True),
        (-144, "OA has exceeded the daily quota", True),
        (-100, "Unknown error", True),
        (-108, "Phone number invalid", False),
        (-118, "Zalo account not existed", False),
        (-109, "Template ID invalid", False),
        (-112, "Template data invalid", False),
        (-131, "Template not approved", False),
        (-1999, "Something new", False),
    ],
)
def test_zalo_errors_map_to_retry_or_not(
    zalo: Provider, error: int, said: str, retry: bool
) -> None:
    zalo.answer_json(zalo_answer(error, said))
    failed = failure(zalo_channel(zalo.url), message(channel="zalo"))
    assert zalo.problems == []
    assert failed.retry is retry
    assert f"error {error}" in failed.reason and said in failed.reason
    if error == -124:
        assert "HAILONG_ZALO_ACCESS_TOKEN" in failed.reason


def test_zalo_503_is_retried(zalo: Provider) -> None:
    zalo.answer = (503, b"Service Temporarily Unavailable")
    assert failure(zalo_channel(zalo.url), message(channel="zalo")).retry is True


def test_zalo_timeout_is_retried(zalo: Provider) -> None:
    zalo.delay = 5.0
    failed = failure(zalo_channel(zalo.url, timeout=0.3), message(channel="zalo"))
    assert failed.retry is True and "0.3 s" in failed.reason


# -- which channels the settings configure ------------------------------------------------------
def test_nothing_configured_means_no_channels() -> None:
    assert sms_and_zalo_channels(Settings()) == {}


def test_the_documented_endpoints_are_the_defaults() -> None:
    settings = Settings(
        base_url=BASE_URL,
        secret_key=TEST_SECRET,
        sms_provider="esms",
        sms_api_key=API_KEY,
        sms_secret_key=SECRET_KEY,
        sms_brandname=BRANDNAME,
        zalo_access_token=ACCESS_TOKEN,
        zalo_template_id=TEMPLATE_ID,
    )
    channels = sms_and_zalo_channels(settings)
    assert sorted(channels) == ["sms", "zalo"]
    sms, zalo = channels["sms"], channels["zalo"]
    assert isinstance(sms, sms_esms.EsmsChannel) and isinstance(zalo, zalo_zns.ZaloZnsChannel)
    assert sms.url == "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/"
    assert zalo.url == "https://business.openapi.zalo.me/message/template"
    assert sms.timeout == zalo.timeout == 10.0


def test_a_zalo_mapping_without_the_opt_out_starts_a_server_that_sends_no_zalo() -> None:
    """(review) The README's default before the opt-out joined it, kept in the .env of a
    server that never turned Zalo on, stopped the start: asked only of Zalo in use."""
    providers.check(Settings(zalo_template_params="agency=agency_name,link=link"))


ZALO_ON = {"zalo_access_token": ACCESS_TOKEN, "zalo_template_id": TEMPLATE_ID}


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (
            {"sms_provider": "esms", "sms_api_key": API_KEY},
            ["HAILONG_SMS_SECRET_KEY", "HAILONG_SMS_BRANDNAME"],
        ),
        ({"sms_provider": "viettel"}, ["sms_viettel.py"]),
        ({"zalo_access_token": ACCESS_TOKEN}, ["HAILONG_ZALO_TEMPLATE_ID"]),
        ({"zalo_template_id": TEMPLATE_ID}, ["HAILONG_ZALO_ACCESS_TOKEN"]),
        ({"zalo_template_params": "agency=agency"}, ["HAILONG_ZALO_TEMPLATE_PARAMS"]),
        # (audit) A mapping without the opt-out link sent Zalo messages without the "Từ chối
        # nhận tin" every message ends with; without the link, invitations nobody could open.
        (
            {**ZALO_ON, "zalo_template_params": "agency=agency_name,link=link"},
            ["HAILONG_ZALO_TEMPLATE_PARAMS", "opt_out_link"],
        ),
        (
            {**ZALO_ON, "zalo_template_params": "agency=agency_name,opt_out=opt_out_link"},
            ["HAILONG_ZALO_TEMPLATE_PARAMS", "link"],
        ),
    ],
)
def test_half_configured_stops_the_start_naming_what_is_missing(
    settings: dict[str, Any], named: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        providers.check(Settings(base_url=BASE_URL, **settings))
    for name in named:
        assert name in str(caught.value)

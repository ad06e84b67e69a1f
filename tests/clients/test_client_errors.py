"""Client errors cross process boundaries and copies whole (client audit).

HailongError is a dataclass exception built with keywords, so Exception.args was () and
pickle and copy.deepcopy rebuilt it as cls(): TypeError "missing 3 required positional
arguments". In a ProcessPoolExecutor one 404 became BrokenProcessPool."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import httpx
import pytest
from hailong_client import (
    Conflict,
    Forbidden,
    Gone,
    HailongError,
    InvalidInput,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
)
from hailong_client.errors import raise_for_error

from tests.clients.conftest import HailongServer
from tests.clients.pool_call import missing_score

FIELDS = [{"field": "period", "problem": "2025-Q5 is no period"}]
SIMPLE: list[type[HailongError]] = [
    HailongError,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Gone,
    InvalidInput,
]
Copy = Callable[[HailongError], HailongError]
COPIES: dict[str, Copy] = {
    "pickle": lambda error: pickle.loads(pickle.dumps(error)),
    "deepcopy": copy.deepcopy,
    "copy": copy.copy,
}


def _errors() -> list[HailongError]:
    """Built with keywords, as raise_for_error builds them: Exception.args stays () (built
    positionally, BaseException.__new__ keeps the arguments and pickle happened to work)."""
    made: list[HailongError] = [
        cls(status=400 + i, code=f"code_{i}", detail="Say why.", fields=FIELDS)
        for i, cls in enumerate(SIMPLE)
    ]
    made += [
        RateLimited(status=429, code="rate_limited", detail="Wait.", retry_after=2.5),
        RateLimited(status=429, code="rate_limited", detail="Wait."),  # no hint
        ServiceUnavailable(
            status=503, code="service_unavailable", detail="Again in 5 s.", retry_after=5.0
        ),
        ServiceUnavailable(503, "service_unavailable", "Again later.", [], None),  # positional
    ]
    return made


def _same(copied: HailongError, error: HailongError) -> None:
    assert type(copied) is type(error)
    assert (copied.status, copied.code, copied.detail, copied.fields) == (
        error.status,
        error.code,
        error.detail,
        error.fields,
    )
    assert getattr(copied, "retry_after", "none") == getattr(error, "retry_after", "none")
    assert str(copied) == str(error) and repr(copied) == repr(error)


@pytest.mark.parametrize("how", sorted(COPIES))
@pytest.mark.parametrize("error", _errors(), ids=lambda e: f"{type(e).__name__}-{e.status}")
def test_every_error_survives_pickle_and_copies(error: HailongError, how: str) -> None:
    copied = COPIES[how](error)
    _same(copied, error)
    if how != "copy":  # a deep copy's fields are its own
        assert copied.fields is not error.fields or not error.fields


def test_notes_and_attributes_set_later_are_kept() -> None:
    error = NotFound(status=404, code="not_found", detail="No such agency.")
    error.add_note("while exporting 79.BTH")
    error.request_id = "r-1"  # type: ignore[attr-defined]
    for how in COPIES.values():
        copied = how(error)
        _same(copied, error)
        assert copied.__notes__ == ["while exporting 79.BTH"]
        assert copied.request_id == "r-1"  # type: ignore[attr-defined]


def test_errors_read_from_answers_survive_pickle() -> None:
    answers = [
        httpx.Response(422, json={"error": "invalid_input", "detail": "Fix it.", "fields": FIELDS}),
        httpx.Response(
            429, json={"error": "rate_limited", "detail": "Wait."}, headers={"Retry-After": "30"}
        ),
        httpx.Response(503, text="down", headers={"Retry-After": "5"}),
        httpx.Response(502, json=["not", "an", "error"]),
    ]
    for answer in answers:
        with pytest.raises(HailongError) as raised:
            raise_for_error(answer)
        _same(pickle.loads(pickle.dumps(raised.value)), raised.value)


def test_a_404_in_a_process_pool_reaches_the_caller_as_not_found(
    hailong_server: HailongServer,
) -> None:
    key = hailong_server.key("reader")
    # spawn: a fresh interpreter, as a pool on macOS and Windows (and not a fork of this
    # process and its server's threads).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future = pool.submit(missing_score, hailong_server.url, key)
        with pytest.raises(NotFound) as missing:
            future.result(timeout=60)
        # The pool is not broken: it takes the next call.
        assert pool.submit(len, "abc").result(timeout=60) == 3
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    assert "NO-SUCH-AGENCY" in missing.value.detail  # the server's sentence, whole

"""The dependency aliases routes and pages declare: the request's unit of work and the
posted form."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.errors import ServiceError
from service.unit_of_work import UnitOfWork

MAX_FORM_BYTES = 64 * 1024
# Every request's body, whatever its type (app.LimitedBodies): a 413 before more is read.
# JSON bodies were read whole without one, so a public endpoint (an answer, a kiosk's
# lookup) could be sent gigabytes to hold in memory (answers audit). The largest body
# hailong takes (a handover or petition with every text at its maximum) is under 100 KB.
MAX_BODY_BYTES = 1024 * 1024
# Documentation only (auto_error=False): the key is checked inside the unit of work, and
# only under the Bearer scheme (service/auth/keys.py).
_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer hl_...`")


async def _api_unit_of_work(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UnitOfWork:
    return UnitOfWork(request)


async def _public_unit_of_work(request: Request) -> UnitOfWork:
    return UnitOfWork(request)


class FormTooLarge(ServiceError, status=413, code="form_too_large"):
    """No page's form comes near it (their fields have a maxlength): a paste past one, or a
    script. Said as such: read as a field no form accepts, the console refused it as a
    forged form, "open the page again", which failed the same way (console audit)."""


async def form_fields(request: Request) -> dict[str, str]:
    """The url-encoded form, read without a multipart dependency; repeated keys: last wins.
    Read no further than MAX_FORM_BYTES."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge(
                f"The form is longer than {MAX_FORM_BYTES // 1024} KB, more than any of its "
                "fields holds: shorten the text and send it again."
            )
    fields = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    # Kept for an error page to post again as it was (web/errors.py: a passing refusal).
    request.state.posted_form = fields
    return fields


# API routes: documented as taking a bearer key (checked inside the unit of work).
ApiWork = Annotated[UnitOfWork, Depends(_api_unit_of_work)]
# Public routes (survey pages, QR, slips): the token in the URL is the credential.
PublicWork = Annotated[UnitOfWork, Depends(_public_unit_of_work)]
# A page's posted form (survey, follow-up, console).
FormDep = Annotated[dict[str, str], Depends(form_fields)]

"""The dependency aliases routes and pages declare: the request's unit of work and the
posted form."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.unit_of_work import UnitOfWork

MAX_FORM_BYTES = 64 * 1024
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


async def form_fields(request: Request) -> dict[str, str]:
    """The url-encoded form, read without a multipart dependency; repeated keys: last wins.
    An oversized body comes back as the one field `__too_large__`, which no form accepts."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {"__too_large__": "1"}
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


# API routes: documented as taking a bearer key (checked inside the unit of work).
ApiWork = Annotated[UnitOfWork, Depends(_api_unit_of_work)]
# Public routes (survey pages, QR, slips): the token in the URL is the credential.
PublicWork = Annotated[UnitOfWork, Depends(_public_unit_of_work)]
# A page's posted form (survey, follow-up, console).
FormDep = Annotated[dict[str, str], Depends(form_fields)]

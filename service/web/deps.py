"""The dependency aliases routes and pages declare: the request's unit of work and the
posted form."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.auth.keys import bearer_key_or_401
from service.auth.roles import (
    ADMINS,
    API_ROLES,
    AUDITORS,
    ISSUERS,
    MANAGERS,
    PETITION_SENDERS,
    READERS,
    SUBSCRIBERS,
)
from service.errors import InvalidInput, ServiceError
from service.unit_of_work import UnitOfWork

MAX_FORM_BYTES = 64 * 1024
# Every request's body, whatever its type (app.LimitedBodies): a 413 before more is read.
# JSON bodies were read whole without one, so a public endpoint (an answer, a kiosk's
# lookup) could be sent gigabytes to hold in memory (answers audit). The largest body
# hailong takes (a handover or petition with every text at its maximum) is under 100 KB.
MAX_BODY_BYTES = 1024 * 1024
# Documentation only (auto_error=False): the key is checked by KeyedWork, and only under
# the Bearer scheme (service/auth/keys.py).
_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer hl_...`")


class KeyedWork:
    """A keyed API route's unit of work, for a key of one of `roles`.

    A request without a usable Authorization header is a 401, and a key of another role a
    403, before its body is validated (a dependency raising ends the request before
    FastAPI judges the body's fields): a request without a key, or with a reader's key on
    an issuer's route, was told to fix its fields first, and then, fixed, that it could not
    come in at all (contract audit). A cached key costs no thread here."""

    def __init__(self, *roles: str) -> None:
        self.roles = roles

    async def __call__(
        self,
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> UnitOfWork:
        bearer_key_or_401(request.headers.get("authorization"))
        work = UnitOfWork(request, self.roles)
        await work.authorize()
        _refuse_unknown_query(request)
        return work


async def _optional_key_unit_of_work(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UnitOfWork:
    _refuse_unknown_query(request)
    return UnitOfWork(request)


async def _public_unit_of_work(request: Request) -> UnitOfWork:
    if request.url.path.startswith(API_PREFIX):
        _refuse_unknown_query(request)  # the public API's (an answer's form); pages take any
    return UnitOfWork(request)


API_PREFIX = "/api/"


def _refuse_unknown_query(request: Request) -> None:
    """An API request names only query parameters its route takes, as its JSON body names
    only known fields: a misspelt or misplaced filter was ignored, and the answer covered
    what it was meant to narrow (an evaluations export given `parent_code`, which it does
    not take, exported every agency the key reaches; audit). Pages take any (a link's
    tracking parameters)."""
    if not request.scope.get("query_string"):
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _query_names(route)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "no query parameters"
        raise InvalidInput(
            f"Unknown query parameter: {', '.join(unknown)}. This endpoint takes: {takes}.",
            [
                {"field": name, "problem": f"not a parameter of this endpoint (it takes: {takes})"}
                for name in unknown
            ],
        )


def takes_key(route: object) -> KeyedWork | Literal["optional"] | None:
    """Whether an API route needs a key (it declares one of the KeyedWork aliases: which
    roles), may take one (OptionalKeyWork: an answer an admin key backdates), or neither."""
    if not isinstance(route, APIRoute):
        return None
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, KeyedWork):
            return dependant.call
        if dependant.call is _optional_key_unit_of_work:
            return "optional"
        pending.extend(dependant.dependencies)
    return None


def _query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters a route takes, its dependencies' included (a walk of a few
    dependants, for requests with a query only; routes cannot be cache keys)."""
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(field.alias for field in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


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


# Keyed API routes, by the roles they take (documented as taking a bearer key). The unit
# of work asks for the key again with each transaction (a key revoked meanwhile).
ApiWork = Annotated[UnitOfWork, Depends(KeyedWork(*API_ROLES))]  # any but a kiosk's
IssuerWork = Annotated[UnitOfWork, Depends(KeyedWork(*ISSUERS))]
ReaderWork = Annotated[UnitOfWork, Depends(KeyedWork(*READERS))]
ManagerWork = Annotated[UnitOfWork, Depends(KeyedWork(*MANAGERS))]
AdminWork = Annotated[UnitOfWork, Depends(KeyedWork(*ADMINS))]
AuditorWork = Annotated[UnitOfWork, Depends(KeyedWork(*AUDITORS))]
SubscriberWork = Annotated[UnitOfWork, Depends(KeyedWork(*SUBSCRIBERS))]
PetitionWork = Annotated[UnitOfWork, Depends(KeyedWork(*PETITION_SENDERS))]
# An API route whose credential is in the request (a citizen's answer: its token), which
# a key may add to (an admin's backdated import).
OptionalKeyWork = Annotated[UnitOfWork, Depends(_optional_key_unit_of_work)]
# Public routes (survey pages, QR, slips): the token in the URL is the credential.
PublicWork = Annotated[UnitOfWork, Depends(_public_unit_of_work)]
# A page's posted form (survey, follow-up, console).
FormDep = Annotated[dict[str, str], Depends(form_fields)]

"""Dependency aliases, defined once and used by every router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from service.admin.keys import Principal, authenticate
from service.db import session_scope
from service.scoring.profile import Profile
from service.settings import Settings


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    yield from session_scope(get_engine(request))


def get_profile(request: Request) -> Profile:
    profile: Profile = request.app.state.profile
    return profile


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
ProfileDep = Annotated[Profile, Depends(get_profile)]
# scope="function": commit before the response is sent, so a 2xx always means "stored".
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer hl_...`")


def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        return authenticate(session, request.headers.get("authorization"))
    return authenticate(session, f"Bearer {credentials.credentials}")


def get_optional_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """For routes open to the public that give more to callers with a key."""
    if credentials is None and not request.headers.get("authorization"):
        return None
    return get_principal(request, session, credentials)


def _role_dependency(*roles: str) -> object:
    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        principal.require_role(*roles)
        return principal

    return Depends(check)


AnyKey = Annotated[Principal, Depends(get_principal)]
OptionalKey = Annotated[Principal | None, Depends(get_optional_principal)]
IssuerKey = Annotated[Principal, _role_dependency("issuer", "admin")]
AdminKey = Annotated[Principal, _role_dependency("admin")]
ScoreReaderKey = Annotated[Principal, _role_dependency("reader", "manager", "admin")]
PetitionWriterKey = Annotated[Principal, _role_dependency("issuer", "manager", "admin")]

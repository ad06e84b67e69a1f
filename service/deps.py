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
from service.settings import Settings


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    yield from session_scope(get_engine(request))


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
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


def _role_dependency(*roles: str) -> object:
    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        principal.require_role(*roles)
        return principal

    return Depends(check)


AnyKey = Annotated[Principal, Depends(get_principal)]
IssuerKey = Annotated[Principal, _role_dependency("issuer", "admin")]
AdminKey = Annotated[Principal, _role_dependency("admin")]

"""Audit log writes, in the same transaction as the change they describe.

A module of its own, below the domains: every one of them records its changes here."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from service.models import AuditLog


def record(
    session: Session, actor: str, action: str, target: str | None, detail: dict[str, Any]
) -> None:
    session.add(AuditLog(actor=actor, action=action, target=target, detail=detail))

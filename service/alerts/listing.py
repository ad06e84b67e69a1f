"""Reading alerts (the console's alerts page and GET /api/v1/alerts): the alerts raised
within a part of the agency tree with the officials each was e-mailed to, and the agencies
there whose rules differ from the profile's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from service.models import Agency, Alert, AlertEmail, AlertRuleOverride, Official
from service.models.agency import path_within


@dataclass(frozen=True)
class Notified:
    """One planned e-mail: to whom, and how it went (pending, sent, failed, skipped). `name`
    is None for an official beyond the viewer's part of the tree: the officials API hides
    them from a scoped key, and the alerts page named them (and, for an official added
    without a name, their e-mail address) to a ward (scope audit)."""

    name: str | None
    status: str
    reason: str | None


@dataclass(frozen=True)
class RaisedAlert:
    id: int
    agency_code: str
    agency_name: str
    rule: str
    subject: str | None
    period: str
    raised_at: datetime
    values: dict[str, Any]
    email_reason: str | None  # why no e-mail was planned, if none was
    notified: list[Notified] = field(default_factory=list)

    @property
    def named(self) -> list[Notified]:
        return [n for n in self.notified if n.name is not None]

    @property
    def unnamed(self) -> list[tuple[str, int]]:
        """How many of the officials e-mailed beyond the viewer's part of the tree are at
        each status, in the order first planned: counted alone, a failed e-mail read as if
        they had been told (review)."""
        counts: dict[str, int] = {}
        for n in self.notified:
            if n.name is None:
                counts[n.status] = counts.get(n.status, 0) + 1
        return list(counts.items())


def _within(query: Any, scope_path: str | None) -> Any:
    if scope_path is None:
        return query
    return query.where(path_within(col(Agency.path), scope_path))


def raised_alerts(
    session: Session,
    scope_path: str | None,
    cursor: int | None,
    limit: int,
    *,
    period: str | None = None,
    rule: str | None = None,
    viewer_path: str | None = None,
) -> tuple[list[RaisedAlert], int | None]:
    """The alerts of the agencies at or under `scope_path` (None: every agency), of `period`
    and `rule` when given, newest first, `limit` of them older than `cursor`; and the cursor
    of the next page, if any. The officials e-mailed are named only when within
    `viewer_path`, the viewer's own part of the tree (None: every agency)."""
    query = _within(
        select(Alert, Agency).join(Agency, col(Agency.id) == col(Alert.agency_id)), scope_path
    )
    if period is not None:
        query = query.where(Alert.period == period)
    if rule is not None:
        query = query.where(Alert.rule == rule)
    if cursor is not None:
        query = query.where(col(Alert.id) < cursor)
    rows = session.exec(query.order_by(col(Alert.id).desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [alert.id for alert, _ in rows if alert.id is not None]
    notified = _notified(session, ids, viewer_path)
    found = []
    for alert, agency in rows:
        assert alert.id is not None
        found.append(
            RaisedAlert(
                id=alert.id,
                agency_code=agency.code,
                agency_name=agency.name,
                rule=alert.rule,
                subject=alert.subject or None,
                period=alert.period,
                raised_at=alert.raised_at,
                values=dict(alert.values),
                email_reason=alert.email_reason,
                notified=notified[alert.id],
            )
        )
    return found, (found[-1].id if more else None)


def _notified(
    session: Session, alert_ids: list[int], viewer_path: str | None
) -> dict[int, list[Notified]]:
    """The e-mails of each alert, in the order planned; an official of every agency, or of
    an agency beyond `viewer_path`, is not named."""
    notified: dict[int, list[Notified]] = {i: [] for i in alert_ids}
    if not alert_ids:
        return notified
    for email, name, agency in session.exec(
        select(AlertEmail, Official.name, Agency)
        .join(Official, col(Official.id) == col(AlertEmail.official_id))
        .join(Agency, col(Agency.id) == col(Official.agency_id), isouter=True)
        .where(col(AlertEmail.alert_id).in_(alert_ids))
        .order_by(col(AlertEmail.id))
    ).all():
        within = viewer_path is None or (agency is not None and agency.is_within(viewer_path))
        shown = Notified(name if within else None, email.status, email.reason)
        notified[email.alert_id].append(shown)
    return notified


def agencies_with_overrides(session: Session, scope_path: str | None) -> list[Agency]:
    """The agencies at or under `scope_path` that set at least one rule themselves."""
    query = _within(
        select(Agency)
        .where(col(Agency.id).in_(select(AlertRuleOverride.agency_id).distinct()))
        .order_by(col(Agency.path)),
        scope_path,
    )
    return list(session.exec(query).all())

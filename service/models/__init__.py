"""Every table, imported here so that Alembic and the app see one complete metadata."""

from service.models.access import (
    EVERY_AGENCY_ROLES,
    OFFICIAL_ROLES,
    ROLES,
    ApiKey,
    AuditLog,
    ConsoleSessionRecord,
    Official,
    SpentOidcSignIn,
)
from service.models.agency import Agency, Counter, Staff
from service.models.alerts import ALERT_RULES, Alert, AlertEmail, AlertRuleOverride
from service.models.announced_ranks import ScoreRankAnnounced
from service.models.base import MAX_ROW_ID, UTCDateTime, utcnow
from service.models.dossier import CHANNELS, Dossier, Invitation
from service.models.imports import ImportJob
from service.models.kiosk import KioskPairing, KioskPresentation
from service.models.messaging import InvitationContact, MessageOptOut, OutgoingMessageRow
from service.models.petition import PeriodInput, Petition
from service.models.response import Response, ResponseContact
from service.models.scoring import (
    COUNT_COLUMNS,
    AgencyDayCounter,
    CalendarOverride,
    ScoringState,
    StaffDayCounter,
)
from service.models.throttle import GuessThrottle
from service.models.webhooks import (
    DeliveryAttempt,
    OutboxEvent,
    ScoreDirty,
    WebhookDelivery,
    WebhookSubscription,
)

__all__ = [
    "ALERT_RULES",
    "CHANNELS",
    "COUNT_COLUMNS",
    "EVERY_AGENCY_ROLES",
    "MAX_ROW_ID",
    "OFFICIAL_ROLES",
    "ROLES",
    "Agency",
    "AgencyDayCounter",
    "Alert",
    "AlertEmail",
    "AlertRuleOverride",
    "ApiKey",
    "AuditLog",
    "CalendarOverride",
    "ConsoleSessionRecord",
    "Counter",
    "DeliveryAttempt",
    "Dossier",
    "GuessThrottle",
    "ImportJob",
    "Invitation",
    "InvitationContact",
    "KioskPairing",
    "KioskPresentation",
    "MessageOptOut",
    "Official",
    "OutboxEvent",
    "OutgoingMessageRow",
    "PeriodInput",
    "Petition",
    "Response",
    "ResponseContact",
    "ScoreDirty",
    "ScoreRankAnnounced",
    "ScoringState",
    "SpentOidcSignIn",
    "Staff",
    "StaffDayCounter",
    "UTCDateTime",
    "WebhookDelivery",
    "WebhookSubscription",
    "utcnow",
]

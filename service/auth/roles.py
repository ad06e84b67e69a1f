"""Which key roles may do what: each group named once, for the routes' dependency aliases
(web/deps.py) and for the rules that ask the same question elsewhere."""

from __future__ import annotations

from service.models.access import ROLES

# Every role that uses /api/v1: all but a kiosk tablet's device key, which is for /kiosk
# only (a device key read the agency list and the calendar: audit).
API_ROLES = tuple(role for role in ROLES if role != "kiosk")
# One-stop systems issue surveys at handover; an admin may too.
ISSUERS = ("issuer", "admin")
# Scores, rankings, evaluations, response rates, alerts: portals and the agencies' people.
READERS = ("reader", "manager", "admin")
# An agency's own data (staff scores, devices, the calendar, period inputs, alert rules,
# reports): its managers and admins.
MANAGERS = ("manager", "admin")
ADMINS = ("admin",)
# The audit log: admins, and auditors who read every agency's (models.EVERY_AGENCY_ROLES).
AUDITORS = ("admin", "auditor")
# Webhook subscriptions: portals for their own, admins for any.
SUBSCRIBERS = ("admin", "reader")
# Petitions: the national system's connector (an issuer key), the competent authority.
PETITION_SENDERS = ("issuer", "manager", "admin")

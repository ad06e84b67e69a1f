"""The handovers domain as other packages use it. Each name is defined in the module that
does its one job, and is imported from here so that those modules can move without
touching their importers:

- registry.py: the agency, dossier, staff and counter a handover names; registering new ones
- one_by_one.py: issuing one handover's survey (create, update, re-issue a revoked one)
- revoking.py: revoking a dossier's survey
- invitations.py: an issued invitation found by its token, and its current status
- views.py: what the one-stop system gets back
"""

from __future__ import annotations

from service.handovers.invitations import (
    Issued,
    current_status,
    find_by_token,
    find_issued,
)
from service.handovers.one_by_one import ATTEMPTS, check_times, issue
from service.handovers.registry import staff_codes
from service.handovers.revoking import revoke
from service.handovers.views import link_view, public_view

__all__ = [
    "ATTEMPTS",
    "Issued",
    "check_times",
    "current_status",
    "find_by_token",
    "find_issued",
    "issue",
    "link_view",
    "public_view",
    "revoke",
    "staff_codes",
]

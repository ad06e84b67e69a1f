"""What both the agency's staff (the console's petition page) and the citizen (the follow-up
page) are shown of a petition, gathered once; each view adds its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.models import Petition


@dataclass
class PetitionFacts:
    agency_name: str
    dossier_code: str | None
    complaint: str | None  # the survey comment that opened it, if one did
    received_at: datetime
    deadline_at: datetime | None
    handled_at: datetime | None
    reply: str | None
    # The handling's result as the national system (or the competent authority) recorded
    # it (POST /api/v1/petitions): the citizen judges it where the agency wrote no reply.
    outcome: str | None
    verdict: str | None  # the citizen's, on the reply

    @staticmethod
    def fields(
        petition: Petition, agency_name: str, dossier_code: str | None, complaint: str | None
    ) -> dict[str, Any]:
        """These fields' values, for the constructor of a view built on them."""
        return {
            "agency_name": agency_name,
            "dossier_code": dossier_code,
            "complaint": complaint,
            "received_at": petition.received_at,
            "deadline_at": petition.deadline_at,
            "handled_at": petition.handled_at,
            "reply": petition.reply,
            "outcome": petition.outcome,
            "verdict": petition.citizen_verdict,
        }

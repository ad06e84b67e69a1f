"""API shapes for importing and updating petitions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from service.text_clean import CodeText, OptionalCodeText, Storable, clean_optional
from service.timebounds import BoundedAwareDatetime, PastMoment
from service.web.schemas import Flag, NullAsAbsent, NullsAsAbsent, strict_with_example


class PetitionUpsert(NullsAsAbsent):
    model_config = strict_with_example(
        {
            "petition_code": "PAKN-2025-000123",
            "agency_code": "G22.39",
            "dossier_code": "G22.39-250915-0001",
            "received_at": "2025-09-16T09:00:00+07:00",
            "handled_at": "2025-09-25T16:00:00+07:00",
            "citizen_verdict": "satisfied",
            "within_authority": True,
        }
    )

    # Codes are matched by their exact text: "PAKN-7 " sent again by a connector was a
    # second petition that looks the same and counted twice in group 5 (audit).
    petition_code: Annotated[str, Storable, CodeText] = Field(min_length=1, max_length=64)
    agency_code: Annotated[str, Storable, CodeText] = Field(min_length=1, max_length=64)
    dossier_code: Annotated[Annotated[str, Storable] | None, OptionalCodeText] = Field(
        default=None, max_length=64
    )
    received_at: PastMoment
    deadline_at: BoundedAwareDatetime | None = Field(
        default=None,
        description="Default: the profile's working days after receipt. Null: the default "
        "(kept as fixed at receipt when it is already); a survey comment's: none",
    )
    handled_at: PastMoment | None = None
    citizen_verdict: Literal["satisfied", "unsatisfied"] | None = None
    # Not sent (or null), an update keeps the stored flag (service.upsert).
    result_complaint: Annotated[bool, Flag, NullAsAbsent()] = False
    within_authority: Annotated[bool, Flag, NullAsAbsent()] = True
    # Direction controls removed (service.text_clean): the citizen reads it on the follow-up page.
    outcome: Annotated[Annotated[str, Storable] | None, AfterValidator(clean_optional)] = Field(
        default=None, max_length=2000
    )


class PetitionPublic(BaseModel):
    petition_code: str
    agency_code: str
    dossier_code: str | None
    source: Literal["survey", "import"]
    received_at: datetime
    deadline_at: datetime | None
    handled_at: datetime | None
    citizen_verdict: Literal["satisfied", "unsatisfied"] | None
    result_complaint: bool
    within_authority: bool
    handled_on_time: bool

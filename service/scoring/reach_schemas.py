"""API shapes of response rates (GET /api/v1/response-rates): how many invitations an
agency issued in a period, and how many citizens opened and answered them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# `message_channel` rows overlap (one invitation may be sent by SMS and by e-mail); every
# other dimension splits the agency's invitations, so its rows add up to the total.
Dimension = Literal["agency", "counter", "staff", "channel", "message_channel"]
DIMENSIONS: tuple[Dimension, ...] = ("agency", "counter", "staff", "channel", "message_channel")
RowGroup = Literal["named", "none", "other_staff"]


class ReachCounts(BaseModel):
    issued: int = Field(
        description="Invitations issued in the period (by issue date, Vietnam local time), "
        "revoked ones left out"
    )
    delivered: int = Field(
        description="Of those, invitations with at least one message (e-mail, SMS, Zalo) "
        "sent, that is accepted by the provider. Slips handed out at the counter are not "
        "known to hailong and are not counted here."
    )
    opened: int = Field(description="Of those, invitations the citizen opened (or answered)")
    answered: int = Field(description="Of those, invitations answered")
    revoked: int = Field(
        description="Invitations of the period revoked by the one-stop system (not in issued)"
    )
    rate: float | None = Field(
        description="answered ÷ issued, exact (pages show a percentage with one decimal); "
        "null when nothing was issued"
    )


class ReachRow(ReachCounts):
    key: str | None = Field(
        description="The counter's or staff member's code, or the channel; null for the "
        "`none` and `other_staff` rows"
    )
    label: str | None = Field(description="The counter's or staff member's name, if known")
    group: RowGroup = Field(
        description="`named`: one counter, staff member or channel; `none`: dossiers that "
        "named none; `other_staff`: staff members below the anonymity minimum, together"
    )
    owner_agency_code: str | None = Field(
        default=None, description="The agency a counter or staff member belongs to"
    )
    folded_staff: int = Field(
        default=0, description="`other_staff` only: how many staff members it holds"
    )
    flagged: bool = Field(
        description="The rate is far below the agency's (profile `reach`): slips may not "
        "have been handed out"
    )


class AgencyReach(BaseModel):
    agency_code: str
    agency_name: str
    total: ReachCounts
    rows: list[ReachRow] = Field(description="One row per value of `by`; empty for by=agency")


class ReachList(BaseModel):
    period: str
    by: Dimension
    subtree: bool = Field(description="Each agency's figures include its descendants")
    profile: str
    staff_role: Literal["receiving", "handling", "returning"] = Field(
        description="Which of a dossier's staff its invitation counts for (the same staff "
        "member the per-staff scores use for evaluations)"
    )
    min_evaluations_for_staff: int = Field(
        description="A staff member gets a row of their own from this many answers"
    )
    flag_min_issued: int
    flag_below_share: float
    data: list[AgencyReach]
    count: int

"""Petitions (complaints) and the per-period inputs D and E."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Index, UniqueConstraint, column
from sqlmodel import Field, SQLModel

from service.models.base import ACTOR_MAX, UTCDateTime, utcnow
from service.models.dossier import DOSSIER_CODE_MAX

# A citizen's comment on a survey is filed as a petition under its dossier's code with this
# prefix (petitions/service.py): one response per dossier, so one comment per dossier. The
# code column holds it on the longest dossier code (migration 0018).
SURVEY_COMMENT_PREFIX = "HL-"
PETITION_CODE_MAX = len(SURVEY_COMMENT_PREFIX) + DOSSIER_CODE_MAX


class Petition(SQLModel, table=True):
    """A petition imported from the national petition system, or a citizen's feedback left
    in hailong's own survey or kiosk (`source` "survey"). Only the former counts in group 5
    by default: see `survey_comments_are_petitions` in the profiles."""

    __tablename__ = "petition"
    __table_args__ = (
        # Reading a score adds the period's open petitions whose deadline has passed: a
        # small partial index, whatever the history behind it.
        Index(
            "ix_petition_open",
            "agency_id",
            "received_day",
            postgresql_where=column("handled_at").is_(None),
            sqlite_where=column("handled_at").is_(None),
        ),
        # Petition codes are unique within an agency: an agency importing a code first
        # cannot block another agency's import of the same code.
        UniqueConstraint("agency_id", "code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=PETITION_CODE_MAX)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    dossier_id: int | None = Field(default=None, foreign_key="dossier.id", index=True)
    # Indexed: the thank-you page and a replayed answer look up the petition of a response.
    response_id: int | None = Field(default=None, foreign_key="response.id", index=True)
    source: str = Field(max_length=16)  # "survey" or "import"
    # "petition": the citizen wants an answer (a phản ánh the agency must handle, with a
    # deadline); "comment": a remark left in the survey, no answer asked, no deadline.
    kind: str = Field(default="petition", max_length=16)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)
    received_day: date = Field(index=True)  # local date: the day counter it feeds
    deadline_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Whether deadline_at is the default (handling_deadline_working_days after the receipt)
    # rather than one the national system gave: a corrected receipt moves only the former
    # (petitions/service.py). Told apart by equality with the default recomputed, it was not
    # once a day off was declared within it (audit; migration 0024 sets it so for older rows).
    deadline_defaulted: bool = False
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=2000)
    citizen_verdict: str | None = Field(default=None, max_length=16)
    result_complaint: bool = False
    within_authority: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The agency's answer to the citizen, written in the managers' console.
    reply: str | None = Field(default=None, max_length=4000)
    replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    replied_by: str | None = Field(default=None, max_length=ACTOR_MAX)
    # The citizen's private follow-up link, built like a survey token: HMAC(signing key,
    # seed). Only the seed and the token's SHA-256 are kept (service/petitions/followup.py).
    followup_seed: str | None = Field(default=None, max_length=64)
    followup_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    verdict_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    # Facts of the row itself, here so that scoring counts them and a webhook reports them
    # from one definition (service/webhooks sits below service/scoring).
    @property
    def handled_on_time(self) -> bool:
        """Handled, by its deadline (one without a deadline is on time once handled)."""
        if self.handled_at is None:
            return False
        return self.deadline_at is None or self.handled_at <= self.deadline_at

    @property
    def handled_late(self) -> bool:
        return (
            self.handled_at is not None
            and self.deadline_at is not None
            and self.handled_at > self.deadline_at
        )


class PeriodInput(SQLModel, table=True):
    __tablename__ = "period_input"
    __table_args__ = (UniqueConstraint("agency_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    period: str = Field(max_length=8)
    d: float | None = None
    e: int | None = None
    note: str | None = Field(default=None, max_length=1000)
    # The last change to D, E or the note (TT 01 indicators keep their own, below): the
    # console's D/E card names who made it.
    set_by: str = Field(max_length=ACTOR_MAX)
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Who entered the current D and E, and when (None while the value is not set): every
    # score says where D and E came from (DESIGN "E, public posting").
    d_set_by: str | None = Field(default=None, max_length=ACTOR_MAX)
    d_set_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    e_set_by: str | None = Field(default=None, max_length=ACTOR_MAX)
    e_set_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # TT 01/2018's entered indicators (desk_organisation, public_posting, online_services:
    # 0..2 each), where that profile is computed; who entered them last, and when.
    indicators: dict[str, int] | None = Field(default=None, sa_type=JSON)
    indicators_set_by: str | None = Field(default=None, max_length=ACTOR_MAX)
    indicators_set_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

"""The rank each agency's score.updated last told subscribers, per period."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class ScoreRankAnnounced(SQLModel, table=True):
    """An agency's rank among its siblings as last fanned out (service/delivery/fan_out.py).

    A score carries its rank, and one agency's change moves its siblings' ranks too; only
    the changed agency is marked (score_dirty), so that the answer and handover writes stay
    as light as they are. The fan-out ranks the marked agencies' siblings and announces
    those whose rank is no longer the one kept here. No row: taken as announced unranked
    (rank None), as an agency without a K is."""

    __tablename__ = "score_rank_announced"

    agency_id: int = Field(foreign_key="agency.id", primary_key=True)
    period: str = Field(max_length=8, primary_key=True)
    rank: int | None = Field(default=None)

"""Records for per-staff scores (GET /api/v1/agencies/{code}/staff-scores/{period})."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hailong_client._json import JSON, to_float_or_none


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class StaffScore:
    """One staff member's A, B, C; B and C are None when `withheld` (anonymity)."""

    staff_code: str
    display_name: str | None
    resolved_dossiers: int
    a: float | None
    evaluations: int
    b: float | None
    c: float | None
    withheld: bool  # too few evaluations, or answers to B's or C's question, or see below
    # The evaluations B and C rest on (those that answered the question, or all, as the
    # profile counts an unanswered one); None from a server that does not say.
    b_evaluations: int | None = None
    c_evaluations: int | None = None
    # Withheld because this month of the period ("2025-09") has too few evaluations: the
    # period's figure less the other months' would show them.
    thin_month: str | None = None
    # Withheld though enough evaluations: shown, the agency's B and C less the shown staff's
    # would give away the few answers of those hidden.
    hidden_with_others: bool = False

    @classmethod
    def from_json(cls, body: JSON) -> StaffScore:
        return cls(
            staff_code=body["staff_code"],
            display_name=body.get("display_name"),
            resolved_dossiers=int(body["resolved_dossiers"]),
            a=to_float_or_none(body.get("a")),
            evaluations=int(body["evaluations"]),
            b=to_float_or_none(body.get("b")),
            c=to_float_or_none(body.get("c")),
            withheld=bool(body["withheld"]),
            b_evaluations=_int_or_none(body.get("b_evaluations")),
            c_evaluations=_int_or_none(body.get("c_evaluations")),
            thin_month=body.get("thin_month"),
            hidden_with_others=bool(body.get("hidden_with_others", False)),
        )


@dataclass(frozen=True)
class StaffScores:
    agency_code: str
    period: str
    min_evaluations: int  # B and C are shown only from this many evaluations
    data: list[StaffScore]

    @classmethod
    def from_json(cls, body: JSON) -> StaffScores:
        return cls(
            agency_code=body["agency_code"],
            period=body["period"],
            min_evaluations=int(body["min_evaluations"]),
            data=[StaffScore.from_json(s) for s in body["data"]],
        )


__all__ = ["StaffScore", "StaffScores"]

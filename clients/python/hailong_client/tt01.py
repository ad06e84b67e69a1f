"""Records for TT 01/2018 scores (Thông tư 01/2018/TT-VPCP), read with
`profile="tt-01-2018"` from a service that computes them beside the K score (hailong's
README, "Thông tư 01/2018/TT-VPCP beside the K score")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from hailong_client._json import JSON, to_datetime, to_float_or_none
from hailong_client.scores import Counts, InputEntry

TT01: Final = "tt-01-2018"
"""The profile name of TT 01/2018, for `score`, `scores`, `rankings` and the exports."""
Tt01Name = Literal["tt-01-2018"]


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class Tt01Indicator:
    """One of the nine indicators: 0..`max_points`, the mean over what it rests on (`basis`:
    dossiers, evaluations, petitions, or `entered` by the competent authority)."""

    number: int  # 1..9, the circular's order
    key: str  # total_time, agency_time, ... online_services
    name: str  # the indicator's name in Vietnamese
    points: float | None  # None: nothing to score it on (nothing entered, no evaluation)
    max_points: int
    basis: str  # dossiers, evaluations, petitions or entered
    count: int | None  # how many dossiers, evaluations or petitions
    # An entered indicator (5, 6, 9) the period has none of its own for: where its value
    # comes from ("2025-Q3", or "mean of 2025-Q1..Q4 (4 quarters)" for a year).
    entered_from: str | None = None

    @classmethod
    def from_json(cls, body: JSON) -> Tt01Indicator:
        return cls(
            number=int(body["number"]),
            key=body["key"],
            name=body["name"],
            points=to_float_or_none(body.get("points")),
            max_points=int(body["max_points"]),
            basis=body["basis"],
            count=_int_or_none(body.get("count")),
            entered_from=body.get("entered_from"),
        )


@dataclass(frozen=True)
class Tt01Score:
    """One agency's TT 01/2018 score for a period; also each entry of its ranking (`rank`,
    by total). Exact, as K is: `total` is None while an indicator is `missing`, and lies
    between `total_min` and `total_max` whatever they turn out to be. `classification` is
    the profile's class of the total (`tot`, `dat`, `khong_dat`) or `chua_du_du_lieu`."""

    agency_code: str
    agency_name: str
    period: str
    profile: str
    indicators: list[Tt01Indicator]
    total: float | None
    total_min: float
    total_max: float
    max_total: int  # 18: nine indicators of 2 points
    classification: str
    missing: list[str]  # the keys of the indicators without data
    rank: int | None  # among siblings by total; ties share a rank
    entered: InputEntry | None  # who last entered indicators 5, 6, 9, and when
    counts: Counts
    computed_at: datetime

    def indicator(self, key: str) -> Tt01Indicator:
        """The indicator with this key (KeyError if there is none)."""
        for indicator in self.indicators:
            if indicator.key == key:
                return indicator
        raise KeyError(key)

    @classmethod
    def from_json(cls, body: JSON) -> Tt01Score:
        return cls(
            agency_code=body["agency_code"],
            agency_name=body["agency_name"],
            period=body["period"],
            profile=body["profile"],
            indicators=[Tt01Indicator.from_json(i) for i in body["indicators"]],
            total=to_float_or_none(body.get("total")),
            total_min=float(body["total_min"]),
            total_max=float(body["total_max"]),
            max_total=int(body["max_total"]),
            classification=body["classification"],
            missing=list(body.get("missing", [])),
            rank=_int_or_none(body.get("rank")),
            entered=InputEntry.from_json_or_none(body.get("entered")),
            counts=Counts.from_json(body["counts"]),
            computed_at=to_datetime(body["computed_at"]),
        )


__all__ = ["TT01", "Tt01Indicator", "Tt01Name", "Tt01Score"]

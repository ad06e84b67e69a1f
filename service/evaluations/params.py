"""The filters GET /api/v1/evaluations and the evaluation and petition exports share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from service.evaluations.service import Filters
from service.periods import PERIOD_HELP, period_field
from service.text_clean import OptionalCodeText


def _filters(
    agency_code: Annotated[
        str | None,
        Query(max_length=64, description="Only this agency (see `subtree`)"),
        OptionalCodeText,
    ] = None,
    subtree: Annotated[
        bool, Query(description="With `agency_code`: its descendants' rows too")
    ] = False,
    period: Annotated[
        str | None,
        Query(
            max_length=16,
            description=f"By the row's local day, as scores count it: {PERIOD_HELP}",
        ),
    ] = None,
    source: Annotated[
        str | None,
        Query(
            max_length=16,
            description="Only this source: phone, kiosk or api (evaluations); survey or "
            "import (petitions)",
        ),
    ] = None,
    staff_code: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Only the evaluations this staff member is scored on (the profile "
            "names the role: by default the one who returned the result)",
        ),
        # As handovers write it (spaces around it are not part of it): "CB013 " found
        # nothing once the officer was stored "CB013" (review).
        OptionalCodeText,
    ] = None,
    include_private: Annotated[
        bool,
        Query(
            description="Add the complaint text and the contact (admin keys only; the read "
            "is recorded in the audit log)"
        ),
    ] = False,
) -> Filters:
    return Filters(
        agency_code=agency_code,
        subtree=subtree,
        period=period_field(period) if period is not None else None,
        source=source,
        staff_code=staff_code,
        include_private=include_private,
    )


FiltersDep = Annotated[Filters, Depends(_filters)]

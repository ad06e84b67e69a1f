"""The path and query parameters routes and pages share, each declared once with the limits
and words /openapi.json shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BeforeValidator

from service.models import MAX_ROW_ID
from service.periods import PERIOD_HELP
from service.text_clean import OptionalCodeText, Stripped
from service.timebounds import BoundedDate

CodePath = Annotated[str, Path(max_length=64, description="Agency code")]
# Without the spaces around it, as a handover stores it (text_clean.Stripped).
DossierCodePath = Annotated[str, Stripped, Path(max_length=64, description="Dossier code")]
ParentQuery = Annotated[str | None, Query(max_length=64, description="Only this agency's children")]
# Required on the API (a score is always of some period)...
PeriodQuery = Annotated[str, Query(max_length=16, description=PERIOD_HELP, examples=["2025-Q3"])]
PeriodPath = Annotated[str, Path(max_length=16, description=PERIOD_HELP)]
# ...optional on pages, which show the current quarter without one.
OptionalPeriodQuery = Annotated[
    str | None,
    Query(max_length=16, description="2025-08, 2025-Q3 or 2025; default: the current quarter"),
]
# Named `date` in the path as API.md spells it; `day` in the code (beside datetime's date).
DayPath = Annotated[
    BoundedDate, Path(alias="date", description="A date, YYYY-MM-DD, 1900-01-01..2100-12-31")
]
# No length limit: the value is only compared with the languages we speak, and any other
# falls back to Vietnamese. A limit made a mistyped ?lang=vietnamese an error page instead
# (the widget's frame refused, the badge a broken image; audit) where ?lang=xx was not.
LangQuery = Annotated[
    str | None,
    Query(
        description="vi (default) or en, in any case, a region ignored (en-US); any other "
        "value is ignored"
    ),
]
# The token in a citizen's link is the credential of the public pages reached with it: a
# survey's (its page, QR codes and slip) or a petition's follow-up page. No length limit
# here: a link with text glued to it (a chat app's auto-link) is a wrong link like any
# other, the "link not right" page (404), not a 422 page in pydantic's English (audit).
# The lookups refuse what no token can be (surveys/lookup.py, petitions/followup.py,
# messaging/contacts.py) before hashing or reading it.
TokenPath = Annotated[str, Path(description="The survey token")]
FollowupTokenPath = Annotated[str, Path(description="The petition's follow-up token")]
RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
# Paging of the lists read newest first: the next page is the rows below the cursor.
CursorQuery = Annotated[
    int | None, Query(ge=1, le=MAX_ROW_ID, description="`next_cursor` of the previous page")
]
LimitQuery = Annotated[int, Query(ge=1, le=500)]
# A console list's page (of LIST_LIMIT rows): past any agency's rows, short of an overflow.
PageQuery = Annotated[int, Query(ge=1, le=100_000)]
# Named `id` in the path as API.md spells it; `webhook_id` in the code (`id` is a builtin).
WebhookIdPath = Annotated[
    str, Path(alias="id", max_length=40, description="Subscription id (wh_...)")
]
# Matched as a handover names it (" 79.BTH " is 79.BTH), blank a 422 (review).
AgencyQuery = Annotated[
    str | None, Query(max_length=64, description="Only this agency"), OptionalCodeText
]
# A page's agency picker, whose "every agency" option sends "" (none chosen): a 422 page
# under AgencyQuery (review).
AgencyChoiceQuery = Annotated[
    str | None,
    Query(max_length=64, description="Only this agency; empty: every agency"),
    BeforeValidator(lambda text: text.strip() or None if isinstance(text, str) else text),
    OptionalCodeText,
]
SubtreeQuery = Annotated[
    bool, Query(description="Count each agency's descendants' rows with its own")
]
ShortCodePath = Annotated[str, Path(description="The survey's short code")]
OptOutTokenPath = Annotated[str, Path(description="The opt-out token")]
ProfileQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="The scoring profile to read: the service's own (default) or the TT 01/2018 "
        "profile it computes beside it (e.g. tt-01-2018)",
    ),
]

"""A ward's quarter of invitations, with every figure of its response rates hand-computed.

Bến Thành (79.BTH), 2025-Q3; staff are the returning ones (the profile's
`role_for_evaluations`), the anonymity minimum is 5 answers, the flag needs 20 issued and a
rate below 0.5 x the agency's:

| dossiers | counter | staff | channel | issued | opened | answered |
| -------- | ------- | ----- | ------- | ------ | ------ | -------- |
| A01..A20 | Q01     | CB1   | counter | 20     | 18     | 16       |
| B01..B03 | Q01     | CB2   | counter | 3      | 2      | 2        |
| B04      | Q01     | CB2   | counter | revoked: not issued              |
| C01..C25 | Q02     | CB3   | counter | 25     | 8      | 5        |
| N01..N02 | -       | -     | online  | 2      | 1      | 1        |
| LATE     | Q01     | CB1   | counter | in Q4: not counted               |

B01 was issued on 1 July 00:10 local time (still 30 June in UTC): in the quarter. LATE was
issued on 1 October 00:30 local time (still 30 September in UTC): not in it. N01 was sent
by SMS (invitation and reminder; its e-mail failed), N02 by e-mail; A01's Zalo message is
still pending, so it is not delivered.

Agency: issued 50, opened 29, answered 24, rate 0.48, revoked 1, delivered 2.
Q01: 23 issued, 18 answered; Q02: 25 issued, 5 answered, 0.2 < 0.24: flagged.
CB1 20/16; CB3 25/5 (5 answers: shown), flagged; CB2 (2 answers) folded into other staff.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.calendar.working_days import LOCAL_TZ
from service.models import Dossier, Invitation, OutgoingMessageRow
from tests.conftest import DbFactory, KeyFactory, handover_body

WARD = "79.BTH"
PERIOD = "2025-Q3"
MID_QUARTER = datetime(2025, 8, 15, 9, 0, tzinfo=LOCAL_TZ)

# code -> (counter, returning staff, channel, opened, answered)
Plan = tuple[str | None, str | None, str, bool, bool]


def _plan() -> dict[str, Plan]:
    plan: dict[str, Plan] = {}
    for i in range(1, 21):
        plan[f"A{i:02d}"] = ("Q01", "CB1", "counter", i <= 18, i <= 16)
    for i in range(1, 5):
        plan[f"B{i:02d}"] = ("Q01", "CB2", "counter", i <= 2, i <= 2)
    for i in range(1, 26):
        plan[f"C{i:02d}"] = ("Q02", "CB3", "counter", i <= 8, i <= 5)
    plan["N01"] = (None, None, "online", True, True)
    plan["N02"] = (None, None, "online", False, False)
    plan["LATE"] = ("Q01", "CB1", "counter", True, True)
    return plan


def seed_reach(client: TestClient, make_key: KeyFactory, db: DbFactory) -> None:
    issuer = make_key("issuer")
    for code, (counter, staff, channel, _, _) in _plan().items():
        body = handover_body(
            dossier_code=code,
            agency_code=WARD,
            counter_code=counter,
            channel=channel,
            staff={"returning": staff} if staff else {},
        )
        response = client.post("/api/v1/handovers", json=body, headers=issuer)
        assert response.status_code == 201, response.text
    special = {
        "B01": datetime(2025, 7, 1, 0, 10, tzinfo=LOCAL_TZ),
        "LATE": datetime(2025, 10, 1, 0, 30, tzinfo=LOCAL_TZ),
    }
    with db() as session:
        rows = session.exec(
            select(Dossier, Invitation).join(Invitation, col(Invitation.dossier_id) == Dossier.id)
        ).all()
        by_code = {d.code: i for d, i in rows}
        for code, (_, _, _, opened, answered) in _plan().items():
            invitation = by_code[code]
            issued = special.get(code, MID_QUARTER)
            invitation.issued_at = issued
            invitation.opened_at = issued + timedelta(hours=1) if opened else None
            invitation.answered_at = issued + timedelta(hours=2) if answered else None
            invitation.status = "answered" if answered else "opened" if opened else "issued"
            if code == "B04":
                invitation.status, invitation.revoked_at = "revoked", issued
            session.add(invitation)
        messages = [
            ("N01", "sms", "invitation", "sent"),
            ("N01", "sms", "reminder", "sent"),
            ("N01", "email", "invitation", "failed"),
            ("N02", "email", "invitation", "sent"),
            ("A01", "zalo", "invitation", "pending"),
        ]
        agency_id = rows[0][0].agency_id
        for code, channel, kind, status in messages:
            invitation_id = by_code[code].id
            assert invitation_id is not None
            session.add(
                OutgoingMessageRow(
                    invitation_id=invitation_id,
                    agency_id=agency_id,
                    channel=channel,
                    kind=kind,
                    status=status,
                    sent_at=MID_QUARTER if status == "sent" else None,
                )
            )

"""No key writes outside its scope, directly or through a reference (issue 17, item 4).

The tree: P with children A and B (siblings), and A1 under A. Keys scoped to A try every
write endpoint against A (own), A1 (child), B (sibling) and P (parent), by naming the
agency and by naming a dossier of it. Own and child succeed where the role allows; sibling
and parent are refused (403, or for a reference the same 422/404 as an unknown code, which
does not reveal that the code exists elsewhere). Afterwards B's and P's scores, dossiers,
surveys and petitions are as they were. Runs on SQLite and PostgreSQL (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.admin.agencies import upsert_agency
from service.models import (
    Agency,
    Counter,
    Dossier,
    Invitation,
    KioskPairing,
    Petition,
    WebhookSubscription,
)
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.console.conftest import ConsoleClient, current_period, raw_key
from tests.surveys.conftest import ANSWERS

P, A, B, A1 = "SP", "SA", "SB", "SA1"
TARGETS = {"own": A, "child": A1, "sibling": B, "parent": P}
ALLOWED = {"own", "child"}
PERIOD = "2025-Q3"
RECEIVED = "2025-09-16T09:00:00+07:00"
Json = dict[str, Any]


@pytest.fixture
def tree(db: DbFactory) -> None:
    with db() as session:
        for code, parent in ((P, None), (A, P), (B, P), (A1, A)):
            upsert_agency(session, code, f"Đơn vị {code}", parent, actor="test")


@pytest.fixture
def admin(make_key: KeyFactory, tree: None) -> dict[str, str]:
    return make_key("admin")


def issue(client: TestClient, headers: dict[str, str], code: str, agency: str) -> Json:
    response = client.post(
        "/api/v1/handovers",
        json=handover_body(dossier_code=code, agency_code=agency),
        headers=headers,
    )
    assert response.status_code in (200, 201), response.text
    body: Json = response.json()
    return body


def seed(client: TestClient, admin: dict[str, str]) -> None:
    """One dossier (with its survey) and one petition in every agency, made by an admin."""
    for agency in TARGETS.values():
        issue(client, admin, f"D-{agency}", agency)
        petition = {"petition_code": f"PN-{agency}", "agency_code": agency, "received_at": RECEIVED}
        assert client.post("/api/v1/petitions", json=petition, headers=admin).status_code == 201


def untouched_state(client: TestClient, admin: dict[str, str], db: DbFactory) -> Json:
    """What a write must not change in B and P: scores, dossiers, surveys, petitions."""
    state: Json = {}
    for agency in (B, P):
        score = client.get(f"/api/v1/agencies/{agency}/scores/{PERIOD}", headers=admin).json()
        score.pop("computed_at")
        state[f"score {agency}"] = score
    with db() as session:
        rows = session.exec(
            select(Agency.code, Dossier, Invitation)
            .join(Dossier, col(Dossier.agency_id) == col(Agency.id))
            .join(Invitation, col(Invitation.dossier_id) == col(Dossier.id))
            .where(col(Agency.code).in_([B, P]))
        ).all()
        state["dossiers"] = sorted(
            (
                code,
                d.code,
                d.procedure_code,
                d.has_petition,
                i.status,
                i.token_hash,
                i.short_code,
            )
            for code, d, i in rows
        )
        petitions = session.exec(
            select(Agency.code, Petition)
            .join(Petition, col(Petition.agency_id) == col(Agency.id))
            .where(col(Agency.code).in_([B, P]))
        ).all()
        state["petitions"] = sorted(
            (code, p.code, p.dossier_id, p.handled_at, p.reply) for code, p in petitions
        )
        theirs = col(Agency.code).in_([B, P])
        subscriptions = session.exec(
            select(WebhookSubscription.id)
            .join(Agency, col(Agency.id) == col(WebhookSubscription.agency_id))
            .where(theirs)
        ).all()
        pairings = session.exec(
            select(KioskPairing.id)
            .join(Counter, col(Counter.id) == col(KioskPairing.counter_id))
            .join(Agency, col(Agency.id) == col(Counter.agency_id))
            .where(theirs)
        ).all()
        state["subscriptions and pairings"] = (len(subscriptions), len(pairings))
    return state


def expect(response: Any, relation: str, refused: int, what: str) -> None:
    if relation in ALLOWED:
        assert response.status_code < 400, (what, relation, response.text)
    else:
        assert response.status_code == refused, (what, relation, response.text)


def test_every_write_endpoint_against_own_child_sibling_and_parent(
    client: TestClient, make_key: KeyFactory, admin: dict[str, str], db: DbFactory
) -> None:
    client.app.state.settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"webhook_allow_networks": "127.0.0.0/8"}
    )
    seed(client, admin)
    before = untouched_state(client, admin, db)
    issuer, manager, reader = (make_key(role, agency=A) for role in ("issuer", "manager", "reader"))

    for relation, agency in TARGETS.items():
        # Handovers, directly: a new dossier of the target agency.
        body = handover_body(dossier_code=f"N-{agency}", agency_code=agency)
        expect(client.post("/api/v1/handovers", json=body, headers=issuer), relation, 403, "issue")
        # Handovers, by reference: the target's existing dossier posted again with new facts.
        again = handover_body(dossier_code=f"D-{agency}", agency_code=agency, procedure_code="X")
        expect(
            client.post("/api/v1/handovers", json=again, headers=issuer), relation, 403, "repost"
        )
        # Revoke takes a dossier code: outside the scope it is not found (not revealed).
        revoke = client.post(f"/api/v1/handovers/D-{agency}/revoke", headers=issuer)
        expect(revoke, relation, 404, "revoke")
        named = client.post(
            f"/api/v1/handovers/D-{agency}/revoke?agency_code={agency}", headers=issuer
        )
        expect(named, relation, 404, "revoke with agency_code")
        # Petitions, directly, by an issuer and by a manager.
        for who, key in (("issuer", issuer), ("manager", manager)):
            petition = {
                "petition_code": f"PN-{agency}",
                "agency_code": agency,
                "received_at": RECEIVED,
                "handled_at": "2025-09-17T09:00:00+07:00",
            }
            response = client.post("/api/v1/petitions", json=petition, headers=key)
            if relation == "own":
                # What makes A's group 5 (and so D) is not A's own to import, with its
                # manager key nor with its issuer key (its one-stop system): only the
                # competent authority's or the petition system's connector, unscoped or
                # scoped above A (API.md; audit: A's issuer key backdated the handling of
                # A's late petitions, rate a and D up).
                assert response.status_code == 403, (who, response.text)
                assert "competent authority" in response.json()["detail"]
            else:
                expect(response, relation, 403, f"petition by {who}")
        # Petitions, by reference: a petition of A1 (A's key may import those, A's own it
        # may not: above) naming the target's dossier. A1's dossier may be named; A's is
        # not A1's nor its sub-agencies', and a sibling's or parent's is "unknown" too.
        reference = {
            "petition_code": f"REF-{agency}",
            "agency_code": A1,
            "dossier_code": f"D-{agency}",
            "received_at": RECEIVED,
        }
        response = client.post("/api/v1/petitions", json=reference, headers=issuer)
        if relation == "own":
            assert response.status_code == 422, response.text
        else:
            expect(response, relation, 422, "petition naming a dossier")
        if relation not in ALLOWED:
            unknown = client.post(
                "/api/v1/petitions",
                json={**reference, "dossier_code": "NEVER-POSTED"},
                headers=issuer,
            )
            assert unknown.status_code == 422
            assert [f["field"] for f in response.json()["fields"]] == ["dossier_code"]
            # Word for word the answer for a code that exists nowhere.
            assert response.json()["fields"][0]["problem"] == unknown.json()["fields"][0][
                "problem"
            ].replace("NEVER-POSTED", f"D-{agency}")
            assert response.json()["detail"] == unknown.json()["detail"].replace(
                "NEVER-POSTED", f"D-{agency}"
            )
        # Period inputs: A's manager is the competent authority for A1 only (not for A).
        inputs = client.put(
            f"/api/v1/agencies/{agency}/periods/{PERIOD}/inputs",
            json={"d": 1, "e": 0},
            headers=manager,
        )
        if relation == "child":
            assert inputs.status_code == 200, inputs.text
            assert inputs.json()["inputs"]["d"]["set_by"].endswith("test manager")
        else:
            assert inputs.status_code == 403, (relation, inputs.text)
        # Webhooks for the target agency (reader).
        hook = {
            "url": "http://127.0.0.1:9/hook",
            "events": ["score.updated"],
            "agency_code": agency,
        }
        expect(client.post("/api/v1/webhooks", json=hook, headers=reader), relation, 403, "hook")
        # Kiosk pairing at a counter of the target agency (manager).
        pairing = {"agency_code": agency, "counter_code": "Q01"}
        expect(
            client.post("/api/v1/kiosk/pairings", json=pairing, headers=manager),
            relation,
            403,
            "pairing",
        )

    assert untouched_state(client, admin, db) == before
    # What A's keys could do, they did: A's and A1's dossiers were updated and revoked.
    with db() as session:
        found = session.exec(
            select(Dossier.code, Dossier.procedure_code, Invitation.status).join(
                Invitation, col(Invitation.dossier_id) == col(Dossier.id)
            )
        ).all()
    assert {(c, p, s) for c, p, s in found if c in (f"D-{A}", f"D-{A1}")} == {
        (f"D-{A}", "X", "revoked"),
        (f"D-{A1}", "X", "revoked"),
    }


def test_console_reply_reaches_only_the_keys_own_tree(
    client: TestClient, make_key: KeyFactory, admin: dict[str, str], db: DbFactory
) -> None:
    seed(client, admin)
    with db() as session:
        ids = dict(
            session.exec(
                select(Agency.code, Petition.id).join(
                    Petition, col(Petition.agency_id) == col(Agency.id)
                )
            ).all()
        )
    before = untouched_state(client, admin, db)
    console = ConsoleClient(client)
    console.sign_in(raw_key(make_key("manager", agency=A)))
    for relation, agency in TARGETS.items():
        page = console.get(f"/console/petitions/{ids[agency]}")
        if relation in ALLOWED:
            assert page.status_code == 200, page.text
        else:
            assert page.status_code in (403, 404)
            console.get(f"/console/petitions/{ids[A]}")  # a form to take the CSRF token from
        reply = console.post(
            f"/console/petitions/{ids[agency]}/reply",
            {"reply": "Đã xử lý.", "handled_at": "2025-09-18T09:00"},
        )
        if relation in ALLOWED:
            assert reply.status_code == 200 and "Đã lưu câu trả lời" in reply.text, reply.text
        else:
            assert reply.status_code in (403, 404), (relation, reply.status_code)
    assert untouched_state(client, admin, db) == before


def test_a_squatter_cannot_take_over_another_agencys_dossier_or_survey(
    client: TestClient, make_key: KeyFactory, admin: dict[str, str], db: DbFactory
) -> None:
    squatter, owner = make_key("issuer", agency=A), make_key("issuer", agency=B)
    first = client.post(
        "/api/v1/handovers", json=handover_body(dossier_code="X", agency_code=A), headers=squatter
    )
    assert first.status_code == 201
    # B posts the same code later: B's own new dossier and survey, not A's.
    mine = client.post(
        "/api/v1/handovers", json=handover_body(dossier_code="X", agency_code=B), headers=owner
    )
    assert mine.status_code == 201, mine.text
    assert mine.json()["survey_id"] != first.json()["survey_id"]
    assert mine.json()["survey_url"] != first.json()["survey_url"]
    # The answer is received now: it counts in the current quarter.
    now = current_period()
    b_before = client.get(f"/api/v1/agencies/{B}/scores/{now}", headers=admin).json()
    # The squatter answers its own survey "poor": it counts for A, never for B.
    poor = {**ANSWERS, "staff_attitude": "poor", "overall": "unsatisfied"}
    token = first.json()["survey_url"].rsplit("/", 1)[1]
    answered = client.post("/api/v1/responses", json={"token": token, "answers": poor})
    assert answered.status_code == 201, answered.text
    b_after = client.get(f"/api/v1/agencies/{B}/scores/{now}", headers=admin).json()
    a_after = client.get(f"/api/v1/agencies/{A}/scores/{now}", headers=admin).json()
    assert b_after["counts"]["evaluations"] == 0 and b_after["c"] is None
    assert {k: v for k, v in b_after.items() if k != "computed_at"} == {
        k: v for k, v in b_before.items() if k != "computed_at"
    }
    assert a_after["counts"]["evaluations"] == 1 and a_after["c"] == 0
    # B's survey is still open for B's citizen; revoking "X" as B's issuer revokes B's.
    assert client.get(mine.json()["survey_url"].removeprefix("http://testserver")).is_success
    revoked = client.post("/api/v1/handovers/X/revoke", headers=owner)
    assert revoked.status_code == 200 and revoked.json()["survey_id"] == mine.json()["survey_id"]
    # An unscoped issuer sees both: it must name the agency.
    unscoped = make_key("issuer")
    ambiguous = client.post("/api/v1/handovers/X/revoke", headers=unscoped)
    assert ambiguous.status_code == 409 and "agency_code" in ambiguous.json()["detail"]
    named = client.post(f"/api/v1/handovers/X/revoke?agency_code={A}", headers=unscoped)
    assert named.status_code == 409  # A's survey was answered: it cannot be revoked
    assert "already been answered" in named.json()["detail"]


def test_petition_codes_are_per_agency_and_a_dossier_is_chosen_within_the_agency(
    client: TestClient, make_key: KeyFactory, admin: dict[str, str], db: DbFactory
) -> None:
    # A's petition imported first under a code does not block B's import of it. (Issuer
    # keys of P, above both, and unscoped: an agency's own may not import its petitions.)
    squatter, owner = make_key("issuer", agency=P), make_key("issuer")
    body = {"petition_code": "PAKN-1", "received_at": RECEIVED}
    assert (
        client.post("/api/v1/petitions", json={**body, "agency_code": A}, headers=squatter)
    ).status_code == 201
    own = client.post("/api/v1/petitions", json={**body, "agency_code": B}, headers=owner)
    assert own.status_code == 201 and own.json()["agency_code"] == B
    # The same dossier code in A and in A1: a petition of P's whole subtree is ambiguous,
    # a petition of A1 names A1's dossier.
    issue(client, admin, "SAME", A)
    issue(client, admin, "SAME", A1)
    ambiguous = client.post(
        "/api/v1/petitions",
        json={**body, "petition_code": "PAKN-2", "agency_code": P, "dossier_code": "SAME"},
        headers=admin,
    )
    assert ambiguous.status_code == 422
    assert "agency_code of the dossier" in ambiguous.json()["fields"][0]["problem"]
    chosen = client.post(
        "/api/v1/petitions",
        json={**body, "petition_code": "PAKN-2", "agency_code": A1, "dossier_code": "SAME"},
        headers=admin,
    )
    assert chosen.status_code == 201
    with db() as session:
        flagged = session.exec(
            select(Agency.code)
            .join(Dossier, col(Dossier.agency_id) == col(Agency.id))
            .where(Dossier.code == "SAME", col(Dossier.has_petition).is_(True))
        ).all()
    assert flagged == [A1]

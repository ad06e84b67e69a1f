"""A rebuild announces the scores it changed, and only those: an import's recompute wrote
the counters by SQL and marked nothing, so portals kept the scores they had before the
import (webhooks audit)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select

from service.imports.run import Options, run_import
from service.models import Agency, ScoreDirty
from tests.cli_runner import cli_for
from tests.conftest import DbFactory, KeyFactory
from tests.imports.test_import import _good_rows, write_csv
from tests.webhooks.conftest import Receiver, drain, hooks
from tests.webhooks.test_deliveries import subscribe

pytestmark = pytest.mark.usefixtures("agencies")


def _marked(db: DbFactory) -> set[tuple[str, str]]:
    with db() as session:
        rows = session.exec(
            select(Agency.code, ScoreDirty.period).join(
                Agency, col(Agency.id) == col(ScoreDirty.agency_id)
            )
        ).all()
        return {(code, period) for code, period in rows}


def test_an_import_announces_what_it_changed_and_a_recompute_of_nothing_announces_nothing(
    make_key: KeyFactory, receiver: Receiver, db: DbFactory, database_url: str, tmp_path: Path
) -> None:
    with hooks(database_url) as (client, worker):
        reader = make_key("reader")
        subscribe(client, reader, receiver.url, events=["score.updated"])
        path = write_csv(tmp_path / "past.csv", _good_rows())
        run_import(worker.engine, worker.settings, worker.profile, path, Options())
        # The file's dossiers are 79.BTH's of September 2025: its month, quarter and year.
        marked = _marked(db)
        assert {("79.BTH", "2025-09"), ("79.BTH", "2025-Q3"), ("79.BTH", "2025")} <= marked
        assert {code for code, _ in marked} == {"79.BTH"}
        drain(worker)
        sent = {
            (r.json["data"]["agency_code"], r.json["data"]["period"]): r.json["data"]
            for r in receiver.received
        }
        score = client.get("/api/v1/agencies/79.BTH/scores/2025-Q3", headers=reader).json()
        assert sent[("79.BTH", "2025-Q3")]["counts"] == score["counts"]
        assert score["counts"]["evaluations"] == 4

        assert cli_for(database_url)("scores", "recompute").exit_code == 0
        assert _marked(db) == set()  # the counters came out the same: nothing to announce

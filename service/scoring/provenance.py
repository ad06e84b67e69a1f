"""Who entered a period's D and E, and when: what a Score says about its inputs."""

from __future__ import annotations

from service.models import PeriodInput
from service.scoring.schemas import InputEntry, InputsProvenance

NOTHING_ENTERED = InputsProvenance()


def provenance(given: PeriodInput | None) -> InputsProvenance:
    """None where nothing is entered. A row written before who-entered-what was kept per
    value falls back to its last change."""
    if given is None:
        return NOTHING_ENTERED

    def entry(value: object, by: str | None, at: object) -> InputEntry | None:
        if value is None:
            return None
        return InputEntry(set_by=by or given.set_by, set_at=at or given.set_at)

    return InputsProvenance(
        d=entry(given.d, given.d_set_by, given.d_set_at),
        e=entry(given.e, given.e_set_by, given.e_set_at),
    )

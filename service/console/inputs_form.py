"""Reading the period inputs forms (D, E, note; TT 01/2018's indicators 5, 6, 9) into the
API's InputsUpdate, with problems keyed by field for the page to show in the manager's
language.

A form sends every field back, also those the official left as the page showed them. Saved
as sent, a value changed meanwhile (the petition system's import of D through the API, a
colleague's form) was put back to the page's stale one, and the score named the official
as its author (audit). So the page also sends, in a hidden `shown_<field>` beside each
field, what it showed there, and a field is compared three ways (`FormRead.merge`):
- sent as shown: the official did not touch it, and it is not written at all;
- changed by the official, stored value still as shown: written;
- changed by the official and changed meanwhile too (to another value): a conflict, the
  whole form refused (409) and shown again with the value stored now.
Per field rather than one version of the row: a note added meanwhile is no reason to
refuse an E picked now, and only the field's own shown value tells a change from an echo.
The hidden fields travel in the same POST as the CSRF token, need no script, and prove
nothing: an official who forges them only refuses or writes what the form lets them write.
A form without them (a page from before they existed, a hand-made POST) is read as having
shown empty fields: it may fill an empty one, never replace a value it never saw."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlmodel import Session, select

from service.console.format import typed_number
from service.db import for_update
from service.models import Agency, PeriodInput
from service.periods import Period
from service.scoring.schemas import InputsUpdate
from service.text_clean import is_storable, textarea_text

NOTE_MAX = 1000
SHOWN = "shown_"  # the hidden field beside each field: what the page showed in it

Entered = float | int | str | None  # a field's value read: None for an empty field


class _Unreadable:
    """A shown value that is no value the page writes (a forged hidden field): equal to
    nothing, so the field counts as changed and as changed meanwhile."""

    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0


UNREADABLE = _Unreadable()


@dataclass(frozen=True)
class Merge:
    """What a form changes against the stored row."""

    update: InputsUpdate | None  # None: nothing to write
    touched: list[str]  # the fields the official changed on the page
    conflicts: dict[str, Entered]  # field: its value stored now, changed meanwhile


@dataclass(frozen=True)
class FormRead:
    part: Literal["inputs", "tt01"]
    sent: dict[str, Entered]  # every field, read (empty on problems)
    shown: dict[str, Entered | _Unreadable]  # what the page showed in each
    # The same as the form sent it: a page shown again on problems sends it back unchanged.
    shown_text: dict[str, str]
    problems: dict[str, str] = field(default_factory=dict)

    def stored(self, row: PeriodInput | None) -> dict[str, Entered]:
        if row is None:
            return {}
        if self.part == "tt01":
            return dict(row.indicators or {})
        # The note as the form reads it: one the API stored with a trailing space or CRLF
        # breaks is the same note, not one changed meanwhile.
        return {"d": row.d, "e": row.e, "note": _note(row.note or "")}

    def merge(self, row: PeriodInput | None) -> Merge:
        """The fields to write and those in conflict, against `row` as stored now."""
        stored = self.stored(row)
        touched: list[str] = []
        changes: dict[str, Entered] = {}
        conflicts: dict[str, Entered] = {}
        for name, value in self.sent.items():
            before = self.shown[name]
            if before == value:
                continue  # left as the page showed it: never written
            touched.append(name)
            now = stored.get(name)
            if now == value:
                continue  # already so: nothing to write, nothing lost
            if now == before:
                changes[name] = value
            else:
                conflicts[name] = now
        if conflicts or not changes:
            return Merge(None, touched, conflicts)
        if self.part == "tt01":
            update = InputsUpdate.model_validate({"indicators": changes})
        else:
            update = InputsUpdate.model_validate(changes)
        return Merge(update, touched, {})


def stored_inputs(session: Session, agency: Agency, period: Period) -> PeriodInput | None:
    """The row a form is compared with, locked until the save commits: a change committed
    between the comparison and the write would be overwritten unseen."""
    return session.exec(
        for_update(
            select(PeriodInput).where(
                PeriodInput.agency_id == agency.id, PeriodInput.period == period.key
            )
        )
    ).first()


def _shown(form: dict[str, str], names: Sequence[str]) -> dict[str, str]:
    return {name: form.get(SHOWN + name, "") for name in names}


def _number(text: str) -> float | None:
    return typed_number(text) if text.strip() else None


def _points(text: str) -> int | None:
    return int(text.strip()) if text.strip() else None


def _note(text: str) -> str | None:
    return textarea_text(text).strip() or None


def _read_shown(text: str, read: Callable[[str], Entered]) -> Entered | _Unreadable:
    try:
        return read(text)
    except ValueError:
        return UNREADABLE


def read_inputs_form(form: dict[str, str], d_max: float, e_max: float) -> FormRead:
    """D, E and the note: an empty D or E clears it, as the form shows."""
    problems: dict[str, str] = {}
    d: float | None = None
    try:
        d = _number(form.get("d", ""))
    except ValueError:
        problems["d"] = "not_a_number"
    else:
        if d is not None and not 0 <= d <= d_max:
            problems["d"] = "out_of_range"
    e_text = form.get("e", "").strip()
    if e_text not in ("", "0", f"{e_max:g}"):
        problems["e"] = "zero_or_max"
    note = _note(form.get("note", ""))
    if note is not None and len(note) > NOTE_MAX:
        problems["note"] = "too_long"
    elif note is not None and not is_storable(note):
        # As the API's free text (Storable): a NUL failed only when PostgreSQL wrote the
        # row, the form lost to the error page; SQLite stored it, and the audit log with it.
        problems["note"] = "control_character"
    shown_text = _shown(form, ("d", "e", "note"))
    shown = {
        "d": _read_shown(shown_text["d"], _number),
        "e": _read_shown(shown_text["e"], _points),
        "note": _note(shown_text["note"]),
    }
    sent: dict[str, Entered] = {} if problems else {"d": d, "e": _points(e_text), "note": note}
    return FormRead("inputs", sent, shown, shown_text, problems)


def read_tt01_form(form: dict[str, str], keys: Sequence[str], max_points: int) -> FormRead:
    """TT 01/2018's entered indicators (5, 6, 9): each field is sent, 0..max_points, or empty
    for "not yet" (which clears it, as the form shows)."""
    allowed = {str(points) for points in range(max_points + 1)}
    values: dict[str, Entered] = {}
    problems: dict[str, str] = {}
    for key in keys:
        text = form.get(key, "").strip()
        if text == "":
            values[key] = None
        elif text in allowed:
            values[key] = int(text)
        else:
            problems[key] = "out_of_range"
    shown_text = _shown(form, keys)
    shown = {key: _read_shown(text, _points) for key, text in shown_text.items()}
    return FormRead("tt01", {} if problems else values, shown, shown_text, problems)

"""Reading the period inputs forms (D, E, note; TT 01/2018's indicators 5, 6, 9) into the
API's InputsUpdate, with problems keyed by field for the page to show in the manager's
language."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from service.console.format import typed_number
from service.scoring.schemas import InputsUpdate
from service.text_clean import is_storable, textarea_text

NOTE_MAX = 1000


def read_inputs_form(
    form: dict[str, str], d_max: float, e_max: float
) -> tuple[InputsUpdate | None, dict[str, str]]:
    """Every field is sent: an empty D or E clears it, as the form shows."""
    problems: dict[str, str] = {}
    d: float | None = None
    if form.get("d", "").strip():
        try:
            d = typed_number(form["d"])
        except ValueError:
            problems["d"] = "not_a_number"
        else:
            if not 0 <= d <= d_max:
                problems["d"] = "out_of_range"
    e_text = form.get("e", "").strip()
    if e_text not in ("", "0", f"{e_max:g}"):
        problems["e"] = "zero_or_max"
    note = textarea_text(form.get("note", "")).strip() or None
    if note is not None and len(note) > NOTE_MAX:
        problems["note"] = "too_long"
    elif note is not None and not is_storable(note):
        # As the API's free text (Storable): a NUL failed only when PostgreSQL wrote the
        # row, the form lost to the error page; SQLite stored it, and the audit log with it.
        problems["note"] = "control_character"
    if problems:
        return None, problems
    try:
        update = InputsUpdate(d=d, e=int(e_text) if e_text else None, note=note)
    except ValidationError:  # pragma: no cover - the checks above cover the schema
        return None, {"d": "out_of_range"}
    return update, {}


def read_tt01_form(
    form: dict[str, str], keys: Sequence[str], max_points: int
) -> tuple[InputsUpdate | None, dict[str, str]]:
    """TT 01/2018's entered indicators (5, 6, 9): each field is sent, 0..max_points, or empty
    for "not yet" (which clears it, as the form shows)."""
    allowed = {str(points) for points in range(max_points + 1)}
    values: dict[str, int | None] = {}
    problems: dict[str, str] = {}
    for key in keys:
        text = form.get(key, "").strip()
        if text == "":
            values[key] = None
        elif text in allowed:
            values[key] = int(text)
        else:
            problems[key] = "out_of_range"
    if problems:
        return None, problems
    try:
        return InputsUpdate.model_validate({"indicators": values}), {}
    except ValidationError:  # pragma: no cover - the keys are the profile's, checked at load
        return None, dict.fromkeys(keys, "out_of_range")

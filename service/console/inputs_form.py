"""Reading the period inputs form (D, E, note) into the API's InputsUpdate, with problems
keyed by field for the page to show in the manager's language."""

from __future__ import annotations

import math

from pydantic import ValidationError

from service.scoring.schemas import InputsUpdate

NOTE_MAX = 1000


def _decimal(text: str) -> float:
    # Vietnamese writes 17,5; a point works too.
    value = float(text.strip().replace(",", "."))
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def read_inputs_form(
    form: dict[str, str], d_max: float
) -> tuple[InputsUpdate | None, dict[str, str]]:
    """Every field is sent: an empty D or E clears it, as the form shows."""
    problems: dict[str, str] = {}
    d: float | None = None
    if form.get("d", "").strip():
        try:
            d = _decimal(form["d"])
        except ValueError:
            problems["d"] = "not_a_number"
        else:
            if not 0 <= d <= d_max:
                problems["d"] = "out_of_range"
    e_text = form.get("e", "").strip()
    if e_text not in ("", "0", "1"):
        problems["e"] = "zero_or_one"
    note = form.get("note", "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        problems["note"] = "too_long"
    if problems:
        return None, problems
    try:
        update = InputsUpdate(d=d, e=int(e_text) if e_text else None, note=note)
    except ValidationError:  # pragma: no cover - the checks above cover the schema
        return None, {"d": "out_of_range"}
    return update, {}

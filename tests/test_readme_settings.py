"""README.md's configuration table is the settings the service has, with their defaults.

Every field of `Settings` must have a row `| `HAILONG_<NAME>` | default | meaning |` whose
default is the field's own (a value in backquotes, as one would write it in the
environment; "unset", "derived" or "empty" for no value), and every row must name a
setting that exists: a setting added, renamed or given a new default fails here until the
README says so.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

from service.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
ROW = re.compile(r"^\| `(HAILONG_[A-Z0-9_]+)` \| ([^|]+) \|", re.MULTILINE)
NO_VALUE = {"unset", "derived", "empty"}


def documented() -> dict[str, str]:
    """The configuration table: variable -> its default cell."""
    rows = ROW.findall(README.read_text(encoding="utf-8"))
    names = [name for name, _ in rows]
    assert len(names) == len(set(names)), f"a variable has two rows: {names}"
    return {name: cell.strip() for name, cell in rows}


def written(value: object) -> str:
    """A default as the README writes it: as an environment variable would carry it."""
    if value is None or value == "":
        return "no value"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


SETTINGS = {
    f"HAILONG_{name.upper()}": field.default for name, field in Settings.model_fields.items()
}


def test_every_row_names_a_setting() -> None:
    assert set(documented()) - set(SETTINGS) == set()


@pytest.mark.parametrize("variable", sorted(SETTINGS))
def test_each_setting_is_documented_with_its_default(variable: str) -> None:
    table = documented()
    assert variable in table, f"{variable} is not in README.md's configuration table"
    default = SETTINGS[variable]
    assert default is not PydanticUndefined, f"{variable} has no default: say what to set"
    cell = table[variable]
    expected = written(default)
    if expected == "no value":
        assert cell in NO_VALUE, f"{variable}: README says {cell}, the code has no default"
    else:
        assert cell == expected, f"{variable}: README says {cell}, the code says {expected}"


def test_every_variable_the_container_image_reads_is_documented() -> None:
    """The image's entrypoint reads HAILONG_WORKERS (its one way to more than one process),
    which compose.yaml sets and README never named (audit)."""
    root = README.parent
    entrypoint = (root / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    compose = (root / "compose.yaml").read_text(encoding="utf-8")
    names = set(re.findall(r"\$\{(HAILONG_[A-Z0-9_]+)", entrypoint))
    names |= set(re.findall(r"^\s+(HAILONG_[A-Z0-9_]+):", compose, re.MULTILINE))
    assert {"HAILONG_SECRET_KEY_FILE", "HAILONG_WORKERS"} <= names  # the patterns still find
    text = README.read_text(encoding="utf-8")
    assert sorted(name for name in names if name not in text) == []

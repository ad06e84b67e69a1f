"""What the API's models share: input models' config, optional fields whose null means
"not sent", and the cursor-paged list shape."""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

Item = TypeVar("Item", bound=BaseModel)


def strict_with_example(example: JsonDict) -> ConfigDict:
    """An input model's config: unknown fields refused (a misspelt field is a 422, not
    silently dropped), and `example` shown as the request body in /openapi.json."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


class NullAsAbsent:
    """Field metadata (`Annotated[bool, NullAsAbsent()] = False`) of a `NullsAsAbsent`
    model: an explicit JSON null is the field not sent. Shown nullable in /openapi.json,
    as the API's other optional fields."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [handler(schema), {"type": "null"}]}


class NullsAsAbsent(BaseModel):
    """An input model whose `NullAsAbsent` fields take null as left out: the default, and
    not in `model_fields_set`, so that an update keeps the stored value. Serializers of
    one-stop systems (Jackson, Newtonsoft.Json, Go pointers) write null for an unset
    property: every handover without staff was a 422 (audit)."""

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls_meant_absent(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        absent = _null_as_absent_fields(cls)
        return {k: v for k, v in data.items() if v is not None or k not in absent}


@cache  # once per model: every handover passes here
def _null_as_absent_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if any(isinstance(meta, NullAsAbsent) for meta in field.metadata)
    )


_PLAIN_COUNT = re.compile(r"\s*[0-9]+\s*")


def _whole_count(value: Any) -> Any:
    """A count as JSON gives it, or as digits (a spreadsheet cell, as an import reads it):
    pydantic's lax mode took true as 1 and "1_0" as 10 (audit), and a dossier's supplement
    requests decide B (and overdue under the 766 profile)."""
    whole = (
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer())
        or (isinstance(value, str) and _PLAIN_COUNT.fullmatch(value) is not None)
    )
    if not whole:
        raise ValueError("must be a whole number, such as 0, 1 or 2")
    return value


def _flag(value: Any) -> Any:
    """true or false, as JSON gives it or as an import's cell spells it: lax mode took
    "yes" and 1 as true and "off" as false (audit), for flags that move a score (a petition
    within the agency's authority) or a citizen's consent."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


# For an input model's count and flag fields: `Annotated[int, WholeCount]`.
WholeCount = BeforeValidator(_whole_count)
Flag = BeforeValidator(_flag)


class CursorPage(BaseModel, Generic[Item]):
    """A page of a list read a page at a time: subclass `CursorPage[ItsItem]` under the name
    /openapi.json shows."""

    data: list[Item]
    count: int
    next_cursor: int | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )
